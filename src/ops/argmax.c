#include "ops/argmax.h"

#include <math.h>
#include <string.h>

#include "lvk_shaders.h"

enum {
    ARGMAX_WG = 128,  /* the smallest maxComputeWorkGroupInvocations Vulkan allows: no limit to check */
    ARGMAX_PER = 32,  /* elements per invocation in the partial pass */
    TOPK_WG = 128,    /* fixed in topk.comp */
    TOPK_TILE = 256,  /* entries per tile and per list */
};

/* Both passes of a two-pass op: the same shader with PASS = 0 and 1, and a set for each. */
static bool two_pass_pipelines(lvk_kernels *k, const char *name, const uint32_t *spirv, size_t spirv_size,
                               uint32_t push_size, const uint32_t *spec_before_pass, int n_before,
                               const lvk_binding *bind, const lvk_pipeline **pass0, const lvk_pipeline **pass1,
                               VkDescriptorSet *set0, VkDescriptorSet *set1, lvk_err *err)
{
    lvk_pipeline_desc desc = {
        .name = name,
        .spirv = spirv,
        .spirv_size = spirv_size,
        .n_bindings = 3,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = push_size,
        .n_spec = n_before + 1,
    };
    if (n_before > 0)
        memcpy(desc.spec, spec_before_pass, (size_t)n_before * sizeof desc.spec[0]);
    desc.spec[n_before] = 0;
    if (!(*pass0 = lvk_kernels_pipeline(k, &desc, err)))
        return false;
    desc.spec[n_before] = 1;
    if (!(*pass1 = lvk_kernels_pipeline(k, &desc, err)))
        return false;
    if (!lvk_kernels_set(k, *pass0, bind, set0, err) || !lvk_kernels_set(k, *pass1, bind, set1, err)) {
        lvk_err_prefix(err, "%s", name);
        return false;
    }
    return true;
}

typedef struct argmax_push {
    uint32_t n, n_partials;
} argmax_push;

bool lvk_argmax_prepare(lvk_kernels *k, lvk_argmax_op *op, const lvk_view *logits, const lvk_view *out, uint32_t n,
                        lvk_arena *scratch, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (n == 0)
        return lvk_fail(err, "argmax: no logits");
    if (logits->size < (uint64_t)n * sizeof(float) || out->size < sizeof(lvk_rank_entry))
        return lvk_fail(err, "argmax: buffers smaller than %u logits / one result", n);
    const uint32_t per_group = ARGMAX_WG * ARGMAX_PER;
    op->groups = (uint32_t)(((uint64_t)n + per_group - 1) / per_group);
    if (op->groups > k->d->info->max_workgroup_count[0])
        return lvk_fail(err, "argmax: %u logits need more workgroups than the device allows", n);
    op->n = n;
    op->n_partials = op->groups * ARGMAX_WG;
    lvk_view partials;
    if (!lvk_arena_alloc(k->d, scratch, (VkDeviceSize)op->n_partials * sizeof(lvk_rank_entry), &partials, err)) {
        lvk_err_prefix(err, "argmax scratch");
        return false;
    }
    lvk_binding bind[3] = {{.view = *logits}, {.view = partials}, {.view = *out}};
    bind[0].view.size = (VkDeviceSize)n * sizeof(float);
    bind[2].view.size = sizeof(lvk_rank_entry);
    const uint32_t spec[] = {ARGMAX_WG};
    /* spec ids: 0 workgroup size, 1 PASS, 2 PER (left at its default of 32 = ARGMAX_PER) */
    return two_pass_pipelines(k, "argmax", lvk_spv_argmax, lvk_spv_argmax_size, sizeof(argmax_push), spec, 1, bind,
                              &op->partial_pass, &op->final_pass, &op->partial_set, &op->final_set, err);
}

void lvk_argmax_record(lvk_cmd *c, const lvk_argmax_op *op)
{
    argmax_push push = {op->n, op->n_partials};
    lvk_cmd_dispatch(c, op->partial_pass, op->partial_set, &push, op->groups, 1, 1);
    lvk_cmd_barrier(c);
    lvk_cmd_dispatch(c, op->final_pass, op->final_set, &push, 1, 1, 1);
}

typedef struct topk_push {
    uint32_t n, k, n_groups;
} topk_push;

bool lvk_topk_prepare(lvk_kernels *k, lvk_topk_op *op, const lvk_view *logits, const lvk_view *out, uint32_t n,
                      uint32_t kk, lvk_arena *scratch, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (n == 0 || kk == 0 || kk > n || kk > LVK_TOPK_MAX)
        return lvk_fail(err, "topk: k = %u must be in 1..min(n = %u, %u)", kk, n, LVK_TOPK_MAX);
    if (logits->size < (uint64_t)n * sizeof(float) || out->size < (uint64_t)kk * sizeof(lvk_rank_entry))
        return lvk_fail(err, "topk: buffers smaller than %u logits / %u results", n, kk);
    /* The partial pass folds tiles/G tiles per workgroup, the final pass G lists: G near sqrt(tiles) balances
     * the two; 64 is plenty of parallelism for a 128k vocabulary. */
    uint32_t tiles = (uint32_t)(((uint64_t)n + TOPK_TILE - 1) / TOPK_TILE);
    uint32_t groups = (uint32_t)ceil(sqrt((double)tiles));
    if (groups > 64)
        groups = 64;
    if (groups < 1)
        groups = 1;
    op->n = n;
    op->kk = kk;
    op->groups = groups;
    lvk_view partials;
    if (!lvk_arena_alloc(k->d, scratch, (VkDeviceSize)groups * TOPK_TILE * sizeof(lvk_rank_entry), &partials, err)) {
        lvk_err_prefix(err, "topk scratch");
        return false;
    }
    lvk_binding bind[3] = {{.view = *logits}, {.view = partials}, {.view = *out}};
    bind[0].view.size = (VkDeviceSize)n * sizeof(float);
    bind[2].view.size = (VkDeviceSize)kk * sizeof(lvk_rank_entry);
    return two_pass_pipelines(k, "topk", lvk_spv_topk, lvk_spv_topk_size, sizeof(topk_push), NULL, 0, bind,
                              &op->partial_pass, &op->final_pass, &op->partial_set, &op->final_set, err);
}

void lvk_topk_record(lvk_cmd *c, const lvk_topk_op *op)
{
    topk_push push = {op->n, op->kk, op->groups};
    lvk_cmd_dispatch(c, op->partial_pass, op->partial_set, &push, op->groups, 1, 1);
    lvk_cmd_barrier(c);
    lvk_cmd_dispatch(c, op->final_pass, op->final_set, &push, 1, 1, 1);
}
