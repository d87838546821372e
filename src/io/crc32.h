/* CRC-32 (IEEE 802.3, the one zlib's crc32 and Python's binascii.crc32 compute):
 * MindSpore's checkpoint trailer carries it. */
#ifndef LVK_IO_CRC32_H
#define LVK_IO_CRC32_H
#include <stddef.h>
#include <stdint.h>

/* Continues a running CRC: start with crc = 0, feed the bytes in order, the result is the CRC of all. */
uint32_t lvk_crc32_update(uint32_t crc, const void *data, size_t size);

#endif
