/* The yardsticks for every speed figure (DESIGN §3.1), over buffers of at least 256 MiB that a
 * shader wrote first (a never-written buffer can be the zero page, which a CPU driver copies and
 * reads faster than memory):
 *   copy: the device's own vkCmdCopyBuffer, bytes read + written per second;
 *   read: a shader summing the buffer, bytes read per second, the bound of a decode step (which
 *         only reads weights).
 * Both check on the host that the device saw the words it wrote (a sum of the destination, or of
 * the buffer read), so a figure is never the speed of reading nothing. */
#ifndef LVK_VK_BANDWIDTH_H
#define LVK_VK_BANDWIDTH_H
#include "vk/command.h"

/* `bytes`: a multiple of 512 KiB, at most 16 GiB. Each runs `reps` times after one warm-up and
 * returns the best rate in GB/s (1e9 bytes/s) and the time of one run in ms, from GPU timestamps
 * where the device has them, else wall-clock time around each submission. Buffers larger than
 * maxStorageBufferRange are bound in ranges. */
bool lvk_copy_bandwidth(lvk_device *d, uint64_t bytes, int reps, double *gbps, double *ms, lvk_err *err);
bool lvk_read_bandwidth(lvk_device *d, uint64_t bytes, int reps, double *gbps, double *ms, lvk_err *err);

#endif
