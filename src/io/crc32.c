#include "io/crc32.h"

#include <stdbool.h>

/* Slicing-by-8: eight table look-ups per 8 input bytes. Checkpoints are 13-16 GB, so a
 * byte-at-a-time loop (about 0.4 GB/s) would dominate opening one with verification on. */
static uint32_t crc_table[8][256];
static bool crc_table_ready;

static void crc_build_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFFu];
    crc_table_ready = true;
}

uint32_t lvk_crc32_update(uint32_t crc, const void *data, size_t size)
{
    if (!crc_table_ready)
        crc_build_tables(); /* idempotent: a race only rebuilds identical tables */
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (size >= 8) {
        /* assembled byte by byte: no alignment or endianness assumptions */
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = crc_table[7][lo & 0xFFu] ^ crc_table[6][(lo >> 8) & 0xFFu] ^ crc_table[5][(lo >> 16) & 0xFFu] ^
            crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFFu] ^ crc_table[2][(hi >> 8) & 0xFFu] ^
            crc_table[1][(hi >> 16) & 0xFFu] ^ crc_table[0][hi >> 24];
        p += 8;
        size -= 8;
    }
    while (size--)
        c = crc_table[0][(c ^ *p++) & 0xFFu] ^ (c >> 8);
    return ~c;
}
