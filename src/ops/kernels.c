#include "ops/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

struct lvk_cached_pipeline {
    const uint32_t *spirv;
    int n_spec;
    uint32_t spec[LVK_MAX_SPEC];
    uint32_t subgroup_size;
    lvk_pipeline *pipeline; /* heap-allocated so pointers handed out stay valid as the array grows */
};

bool lvk_kernels_init(lvk_kernels *k, lvk_device *d, lvk_err *err)
{
    memset(k, 0, sizeof *k);
    k->d = d;
    if (!lvk_descriptor_pool_create(d, &k->pools[0], 256, err))
        return false;
    k->n_pools = 1;
    return true;
}

void lvk_kernels_destroy(lvk_kernels *k)
{
    if (!k->d)
        return;
    for (int i = 0; i < k->n_pipelines; i++) {
        lvk_pipeline_destroy(k->d, k->pipelines[i].pipeline);
        free(k->pipelines[i].pipeline);
    }
    free(k->pipelines);
    for (int i = 0; i < k->n_pools; i++)
        lvk_descriptor_pool_destroy(k->d, &k->pools[i]);
    memset(k, 0, sizeof *k);
}

static bool same_key(const struct lvk_cached_pipeline *c, const lvk_pipeline_desc *desc)
{
    return c->spirv == desc->spirv && c->n_spec == desc->n_spec && c->subgroup_size == desc->subgroup_size &&
           memcmp(c->spec, desc->spec, (size_t)desc->n_spec * sizeof desc->spec[0]) == 0;
}

const lvk_pipeline *lvk_kernels_pipeline(lvk_kernels *k, const lvk_pipeline_desc *desc, lvk_err *err)
{
    for (int i = 0; i < k->n_pipelines; i++)
        if (same_key(&k->pipelines[i], desc))
            return k->pipelines[i].pipeline;
    if (k->n_pipelines == k->cap_pipelines) {
        int cap = k->cap_pipelines ? 2 * k->cap_pipelines : 16;
        struct lvk_cached_pipeline *np = lvk_realloc(k->pipelines, (size_t)cap * sizeof *np);
        if (!np) {
            lvk_fail(err, "out of host memory");
            return NULL;
        }
        k->pipelines = np;
        k->cap_pipelines = cap;
    }
    lvk_pipeline *p = lvk_calloc(1, sizeof *p);
    if (!p) {
        lvk_fail(err, "out of host memory");
        return NULL;
    }
    if (!lvk_pipeline_create(k->d, p, desc, err)) {
        free(p);
        return NULL;
    }
    struct lvk_cached_pipeline *c = &k->pipelines[k->n_pipelines++];
    memset(c, 0, sizeof *c);
    c->spirv = desc->spirv;
    c->n_spec = desc->n_spec;
    memcpy(c->spec, desc->spec, sizeof c->spec);
    c->subgroup_size = desc->subgroup_size;
    c->pipeline = p;
    return p;
}

bool lvk_kernels_set(lvk_kernels *k, const lvk_pipeline *p, const lvk_binding *b, VkDescriptorSet *out, lvk_err *err)
{
    if (!lvk_bindings_check(k->d, p, b, err))
        return false;
    if (lvk_descriptor_set_create(k->d, &k->pools[k->n_pools - 1], p, b, out, NULL))
        return true;
    /* The pool is full: start another. */
    if (k->n_pools == (int)(sizeof k->pools / sizeof k->pools[0]))
        return lvk_fail(err, "too many descriptor sets");
    if (!lvk_descriptor_pool_create(k->d, &k->pools[k->n_pools], 256, err))
        return false;
    k->n_pools++;
    return lvk_descriptor_set_create(k->d, &k->pools[k->n_pools - 1], p, b, out, err);
}

uint32_t lvk_kernels_elementwise_wg(const lvk_kernels *k)
{
    uint32_t wg = 256;
    if (k->d->info->max_workgroup_size[0] < wg)
        wg = k->d->info->max_workgroup_size[0];
    return wg;
}

bool lvk_kernels_elementwise3(lvk_kernels *k, const char *name, const uint32_t *spirv, size_t spirv_size,
                              const lvk_view *a, const lvk_view *b, const lvk_view *c, uint64_t bytes,
                              const lvk_pipeline **pipeline, VkDescriptorSet *set, uint32_t *wg, lvk_err *err)
{
    *wg = lvk_kernels_elementwise_wg(k);
    lvk_pipeline_desc desc = {
        .name = name,
        .spirv = spirv,
        .spirv_size = spirv_size,
        .n_bindings = 3,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(uint32_t),
        .n_spec = 1,
        .spec = {*wg},
    };
    *pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!*pipeline)
        return false;
    lvk_binding bind[3] = {{.view = *a}, {.view = *b}, {.view = *c}};
    bind[0].view.size = bind[1].view.size = bind[2].view.size = bytes;
    return lvk_kernels_set(k, *pipeline, bind, set, err);
}
