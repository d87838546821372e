/* Compute pipelines from embedded SPIR-V, and the descriptor sets that bind buffers to them.
 * Sets are made once, when a model or test is set up: nothing here runs per token. */
#ifndef LVK_VK_PIPELINE_H
#define LVK_VK_PIPELINE_H
#include <stddef.h>
#include <stdint.h>

#include "vk/memory.h"

#define LVK_MAX_BINDINGS 12
#define LVK_MAX_SPEC 12

typedef enum lvk_binding_kind {
    LVK_BIND_STORAGE = 0,    /* storage buffer: a lvk_view */
    LVK_BIND_UNIFORM_TEXEL,  /* uniform texel buffer: a VkBufferView (texelFetch) */
} lvk_binding_kind;

typedef struct lvk_pipeline_desc {
    const char *name;
    const uint32_t *spirv;
    size_t spirv_size;
    int n_bindings;
    lvk_binding_kind bindings[LVK_MAX_BINDINGS]; /* binding i of set 0 */
    uint32_t push_size;                          /* bytes of push constants, 0 if none */
    int n_spec;
    uint32_t spec[LVK_MAX_SPEC];                 /* constant_id i = spec[i] */
    uint32_t subgroup_size;                      /* required subgroup size, 0 = the driver's choice */
} lvk_pipeline_desc;

typedef struct lvk_pipeline {
    char name[48];
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    int n_bindings;
    lvk_binding_kind bindings[LVK_MAX_BINDINGS];
    uint32_t push_size;
} lvk_pipeline;

bool lvk_pipeline_create(lvk_device *d, lvk_pipeline *p, const lvk_pipeline_desc *desc, lvk_err *err);
void lvk_pipeline_destroy(lvk_device *d, lvk_pipeline *p);

/* What one binding of a set points at: `view` for storage buffers, `texel` for texel buffers. */
typedef struct lvk_binding {
    lvk_view view;
    VkBufferView texel;
} lvk_binding;

typedef struct lvk_descriptor_pool {
    VkDescriptorPool pool;
} lvk_descriptor_pool;

bool lvk_descriptor_pool_create(lvk_device *d, lvk_descriptor_pool *pool, uint32_t max_sets, lvk_err *err);
void lvk_descriptor_pool_destroy(lvk_device *d, lvk_descriptor_pool *pool);
/* Checks that every binding is present and within the device's limits. */
bool lvk_bindings_check(const lvk_device *d, const lvk_pipeline *p, const lvk_binding *b, lvk_err *err);
/* Allocates a set for pipeline p from the pool and points its bindings at b[0..p->n_bindings). */
bool lvk_descriptor_set_create(lvk_device *d, lvk_descriptor_pool *pool, const lvk_pipeline *p, const lvk_binding *b,
                               VkDescriptorSet *out, lvk_err *err);

/* A texel-buffer view of a byte range (format e.g. VK_FORMAT_R32G32B32A32_UINT). The caller
 * checks the range against maxTexelBufferElements. */
bool lvk_texel_view_create(lvk_device *d, const lvk_view *v, VkFormat format, VkBufferView *out, lvk_err *err);

#endif
