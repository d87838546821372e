#include "ops/argmax.h"

#include <string.h>

#include "lvk_shaders.h"

enum {
    ARGMAX_WG = 128,  /* the smallest maxComputeWorkGroupInvocations Vulkan allows: no limit to check */
    ARGMAX_PER = 32,  /* elements per invocation in the partial pass */
    TOPK_WG = 128,    /* fixed in topk.comp */
    TOPK_BLOCK = 32,  /* fixed in topk.comp: entries per block */
};

/* The passes of a multi-pass op: the same shader with the spec constant PASS = 0, 1, ... (after the constants in
 * spec_before), all storage bindings, and a set for each pass. */
static bool pass_pipelines(lvk_kernels *k, const char *name, const uint32_t *spirv, size_t spirv_size,
                           uint32_t push_size, const uint32_t *spec_before, int n_before, int n_passes, int n_bindings,
                           const lvk_binding *bind, const lvk_pipeline **pipelines, VkDescriptorSet *sets, lvk_err *err)
{
    lvk_pipeline_desc desc = {
        .name = name,
        .spirv = spirv,
        .spirv_size = spirv_size,
        .n_bindings = n_bindings,
        .push_size = push_size,
        .n_spec = n_before + 1,
    };
    for (int b = 0; b < n_bindings; b++)
        desc.bindings[b] = LVK_BIND_STORAGE;
    for (int i = 0; i < n_before; i++)
        desc.spec[i] = spec_before[i];
    for (int pass = 0; pass < n_passes; pass++) {
        desc.spec[n_before] = (uint32_t)pass;
        if (!(pipelines[pass] = lvk_kernels_pipeline(k, &desc, err)))
            return false;
        if (!lvk_kernels_set(k, pipelines[pass], bind, &sets[pass], err)) {
            lvk_err_prefix(err, "%s", name);
            return false;
        }
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
    const lvk_pipeline *pipelines[2];
    VkDescriptorSet sets[2];
    if (!pass_pipelines(k, "argmax", lvk_spv_argmax, lvk_spv_argmax_size, sizeof(argmax_push), spec, 1, 2, 3, bind,
                        pipelines, sets, err))
        return false;
    op->partial_pass = pipelines[0], op->final_pass = pipelines[1];
    op->partial_set = sets[0], op->final_set = sets[1];
    return true;
}

void lvk_argmax_record(lvk_cmd *c, const lvk_argmax_op *op)
{
    argmax_push push = {op->n, op->n_partials};
    lvk_cmd_dispatch(c, op->partial_pass, op->partial_set, &push, op->groups, 1, 1);
    lvk_cmd_barrier(c);
    lvk_cmd_dispatch(c, op->final_pass, op->final_set, &push, 1, 1, 1);
}

typedef struct topk_push {
    uint32_t n, k, n_blocks, capacity;
} topk_push;

bool lvk_topk_prepare(lvk_kernels *k, lvk_topk_op *op, const lvk_view *logits, const lvk_view *out, uint32_t n,
                      uint32_t kk, lvk_arena *scratch, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (n == 0 || kk == 0 || kk > n || kk > LVK_TOPK_MAX)
        return lvk_fail(err, "topk: k = %u must be in 1..min(n = %u, %u)", kk, n, LVK_TOPK_MAX);
    if (logits->size < (uint64_t)n * sizeof(float) || out->size < (uint64_t)kk * sizeof(lvk_rank_entry))
        return lvk_fail(err, "topk: buffers smaller than %u logits / %u results", n, kk);
    const uint32_t per_group = TOPK_WG * TOPK_BLOCK;
    op->groups = (uint32_t)(((uint64_t)n + per_group - 1) / per_group);
    if (op->groups > k->d->info->max_workgroup_count[0])
        return lvk_fail(err, "topk: %u logits need more workgroups than the device allows", n);
    op->n = n;
    op->kk = kk;
    op->n_blocks = op->groups * TOPK_WG;
    op->capacity = kk * TOPK_BLOCK;
    /* candidates buffer: {count, pad, threshold (2 words)} then capacity entries */
    lvk_view block_best, candidates;
    if (!lvk_arena_alloc(k->d, scratch, (VkDeviceSize)op->n_blocks * sizeof(lvk_rank_entry), &block_best, err) ||
        !lvk_arena_alloc(k->d, scratch, 16 + (VkDeviceSize)op->capacity * sizeof(lvk_rank_entry), &candidates, err)) {
        lvk_err_prefix(err, "topk scratch");
        return false;
    }
    lvk_binding bind[4] = {{.view = *logits}, {.view = block_best}, {.view = candidates}, {.view = *out}};
    bind[0].view.size = (VkDeviceSize)n * sizeof(float);
    bind[3].view.size = (VkDeviceSize)kk * sizeof(lvk_rank_entry);
    return pass_pipelines(k, "topk", lvk_spv_topk, lvk_spv_topk_size, sizeof(topk_push), NULL, 0, 4, 4, bind,
                          op->passes, op->sets, err);
}

void lvk_topk_record(lvk_cmd *c, const lvk_topk_op *op)
{
    topk_push push = {op->n, op->kk, op->n_blocks, op->capacity};
    const uint32_t groups[4] = {op->groups, 1, op->groups, 1};
    for (int pass = 0; pass < 4; pass++) {
        if (pass > 0)
            lvk_cmd_barrier(c);
        lvk_cmd_dispatch(c, op->passes[pass], op->sets[pass], &push, groups[pass], 1, 1);
    }
}
