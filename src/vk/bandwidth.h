/* The yardstick for every speed figure (DESIGN §3.1): the device's own vkCmdCopyBuffer bandwidth,
 * bytes read + written per second, over buffers of at least 256 MiB. */
#ifndef LVK_VK_BANDWIDTH_H
#define LVK_VK_BANDWIDTH_H
#include "vk/command.h"

/* Copies `bytes` between two device-local buffers `reps` times (after one warm-up) and returns the
 * best rate in GB/s (1e9 bytes/s) counting 2 × bytes per copy, and the time of one copy in ms.
 * Uses GPU timestamps where the device has them, else wall-clock time around each submission. */
bool lvk_copy_bandwidth(lvk_device *d, uint64_t bytes, int reps, double *gbps, double *ms, lvk_err *err);

#endif
