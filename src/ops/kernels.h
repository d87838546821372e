/* What every op shares: the device, pipelines built on first use (keyed by shader and
 * specialization constants), and descriptor sets from pools that grow as needed.
 *
 * Each op follows one pattern (see ops/add.h):
 *   lvk_<op>_prepare(...)  once, at set-up: checks shapes and device limits, makes descriptor sets;
 *   lvk_<op>_record(...)   per use: only vkCmd* calls, so a decode step allocates nothing. */
#ifndef LVK_OPS_KERNELS_H
#define LVK_OPS_KERNELS_H
#include "vk/command.h"

typedef struct lvk_kernels {
    lvk_device *d;
    int n_pipelines, cap_pipelines;
    struct lvk_cached_pipeline *pipelines;
    int n_pools;
    lvk_descriptor_pool pools[64];
} lvk_kernels;

bool lvk_kernels_init(lvk_kernels *k, lvk_device *d, lvk_err *err);
void lvk_kernels_destroy(lvk_kernels *k);

/* The pipeline for desc, built the first time it is asked for. */
const lvk_pipeline *lvk_kernels_pipeline(lvk_kernels *k, const lvk_pipeline_desc *desc, lvk_err *err);
/* A descriptor set for p with bindings b. */
bool lvk_kernels_set(lvk_kernels *k, const lvk_pipeline *p, const lvk_binding *b, VkDescriptorSet *out, lvk_err *err);

/* Workgroup size for simple element-wise kernels on this device. */
uint32_t lvk_kernels_elementwise_wg(const lvk_kernels *k);

/* An element-wise fp32 kernel over three storage buffers (spec constant 0: the workgroup size, push
 * constant: the element count): its pipeline, and a set over the first `bytes` of a, b and c.
 * *wg gets the workgroup size. */
bool lvk_kernels_elementwise3(lvk_kernels *k, const char *name, const uint32_t *spirv, size_t spirv_size,
                              const lvk_view *a, const lvk_view *b, const lvk_view *c, uint64_t bytes,
                              const lvk_pipeline **pipeline, VkDescriptorSet *set, uint32_t *wg, lvk_err *err);

#endif
