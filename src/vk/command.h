/* Recording and submitting compute work. A lvk_cmd is one command buffer with its fence and,
 * optionally, its own timestamp queries for timing. */
#ifndef LVK_VK_COMMAND_H
#define LVK_VK_COMMAND_H
#include "vk/pipeline.h"

typedef struct lvk_cmd {
    VkCommandBuffer cb;
    VkFence fence;
    VkQueryPool queries;
    uint32_t max_timestamps, n_timestamps;
    uint32_t n_dispatches; /* recorded since begin */
    bool pending;
} lvk_cmd;

/* max_timestamps = 0 when no timing is wanted (or the device has no timestamps). */
bool lvk_cmd_create(lvk_device *d, lvk_cmd *c, uint32_t max_timestamps, lvk_err *err);
void lvk_cmd_destroy(lvk_device *d, lvk_cmd *c);

/* Starts recording. reusable: the buffer may be submitted many times (a recorded decode step). */
bool lvk_cmd_begin(lvk_device *d, lvk_cmd *c, bool reusable, lvk_err *err);
void lvk_cmd_dispatch(lvk_cmd *c, const lvk_pipeline *p, VkDescriptorSet set, const void *push, uint32_t gx,
                      uint32_t gy, uint32_t gz);
/* Makes the writes of everything recorded before visible to what comes after (compute and copies). */
void lvk_cmd_barrier(lvk_cmd *c);
/* Makes device writes visible to the host once the submission's fence has signalled. */
void lvk_cmd_barrier_host(lvk_cmd *c);
void lvk_cmd_copy(lvk_cmd *c, const lvk_view *src, const lvk_view *dst, VkDeviceSize size);
/* Writes a timestamp; returns its index, or -1 when out of queries. */
int lvk_cmd_timestamp(lvk_cmd *c);
bool lvk_cmd_end(lvk_cmd *c, lvk_err *err);

bool lvk_cmd_submit(lvk_device *d, lvk_cmd *c, lvk_err *err);
bool lvk_cmd_wait(lvk_device *d, lvk_cmd *c, lvk_err *err);
/* end + submit + wait */
bool lvk_cmd_run(lvk_device *d, lvk_cmd *c, lvk_err *err);

/* Milliseconds between timestamps a and b of the last completed submission. */
bool lvk_cmd_elapsed_ms(lvk_device *d, lvk_cmd *c, int a, int b, double *ms, lvk_err *err);

/* Splits n workgroups over x and y so that neither exceeds the device's maxComputeWorkGroupCount
 * (65535 on many GPUs); shaders rebuild the linear index from gl_WorkGroupID and gl_NumWorkGroups. */
void lvk_split_groups(const lvk_device *d, uint32_t n, uint32_t *gx, uint32_t *gy);

#endif
