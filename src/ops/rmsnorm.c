#include "ops/rmsnorm.h"

#include <stdlib.h>
#include <string.h>

#include "base/platform.h"
#include "lvk_shaders.h"

typedef struct rmsnorm_push {
    uint32_t n_tokens, dim;
    float eps;
} rmsnorm_push;

bool lvk_rmsnorm_variant_supported(const lvk_kernels *k, lvk_rmsnorm_variant variant)
{
    if (variant != LVK_RMSNORM_SUBGROUP)
        return true;
    const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    return (k->d->info->subgroup_ops & need) == need;
}

const char *lvk_rmsnorm_variant_name(lvk_rmsnorm_variant variant)
{
    switch (variant) {
    case LVK_RMSNORM_SUBGROUP: return "subgroup";
    case LVK_RMSNORM_SHARED: return "shared";
    default: return "auto";
    }
}

static lvk_rmsnorm_variant choose_variant(const lvk_kernels *k)
{
    return !lvk_env_flag("LLAMA_VK_NO_SUBGROUP") && lvk_rmsnorm_variant_supported(k, LVK_RMSNORM_SUBGROUP) ? LVK_RMSNORM_SUBGROUP
                                                                             : LVK_RMSNORM_SHARED;
}

static uint32_t default_workgroup_size(const lvk_kernels *k)
{
    /* lavapipe, [1, 4096] fp16 (vk-selftest --bench): 16 to 128 lanes all take 0.05-0.1 ms, within the noise;
     * 128 was never slower. GPUs: 256, a common sweet spot for one row of 4096-8192 floats. */
    uint32_t wg = k->d->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 128 : 256;
    while (wg > k->d->info->max_workgroup_size[0] || wg > k->d->info->max_workgroup_invocations)
        wg /= 2;
    return wg;
}

bool lvk_rmsnorm_prepare(lvk_kernels *k, lvk_rmsnorm_op *op, const lvk_view *x, const lvk_weight *w, const lvk_view *out,
                         uint32_t dim, float eps, uint32_t max_tokens, lvk_err *err)
{
    return lvk_rmsnorm_prepare_ex(k, op, x, w, out, dim, eps, max_tokens, NULL, err);
}

bool lvk_rmsnorm_prepare_ex(lvk_kernels *k, lvk_rmsnorm_op *op, const lvk_view *x, const lvk_weight *w,
                            const lvk_view *out, uint32_t dim, float eps, uint32_t max_tokens,
                            const lvk_rmsnorm_options *opt, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (!lvk_weight_format_of(w->dtype, "rmsnorm", err))
        return false;
    if (dim == 0 || max_tokens == 0)
        return lvk_fail(err, "rmsnorm: empty shape [%u, %u]", max_tokens, dim);
    if (w->rows != 1 || w->cols != dim || w->n_chunks != 1)
        return lvk_fail(err, "rmsnorm: weight is [%u, %u], expected [1, %u]", w->rows, w->cols, dim);
    if (!(eps >= 0.0f))
        return lvk_fail(err, "rmsnorm: eps %g must be >= 0", (double)eps);
    if ((uint64_t)max_tokens * dim > UINT32_MAX)
        return lvk_fail(err, "rmsnorm: [%u, %u] too large to index", max_tokens, dim);
    if (max_tokens > k->d->info->max_workgroup_count[0])
        return lvk_fail(err, "rmsnorm: %u tokens exceed the device's %u workgroups in x", max_tokens,
                        k->d->info->max_workgroup_count[0]);
    uint64_t bytes = (uint64_t)max_tokens * dim * sizeof(float);
    if (x->size < bytes || out->size < bytes)
        return lvk_fail(err, "rmsnorm: buffers smaller than [%u, %u] floats", max_tokens, dim);

    lvk_rmsnorm_variant variant = opt ? opt->variant : LVK_RMSNORM_AUTO;
    if (variant == LVK_RMSNORM_AUTO)
        variant = choose_variant(k);
    if (!lvk_rmsnorm_variant_supported(k, variant))
        return lvk_fail(err, "rmsnorm: the %s variant needs subgroup arithmetic, which this device lacks",
                        lvk_rmsnorm_variant_name(variant));
    uint32_t wg = opt && opt->workgroup_size ? opt->workgroup_size : default_workgroup_size(k);
    if ((wg & (wg - 1)) != 0 || wg > k->d->info->max_workgroup_size[0] || wg > k->d->info->max_workgroup_invocations)
        return lvk_fail(err, "rmsnorm: workgroup size %u is not a power of two within the device's limits", wg);

    bool subgroup = variant == LVK_RMSNORM_SUBGROUP;
    lvk_pipeline_desc desc = {
        .name = subgroup ? "rmsnorm_subgroup" : "rmsnorm_shared",
        .spirv = subgroup ? lvk_spv_rmsnorm_subgroup : lvk_spv_rmsnorm_shared,
        .spirv_size = subgroup ? lvk_spv_rmsnorm_subgroup_size : lvk_spv_rmsnorm_shared_size,
        .n_bindings = 3,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(rmsnorm_push),
        .n_spec = 2,
        .spec = {wg, (uint32_t)w->dtype},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!op->pipeline)
        return false;
    lvk_binding bind[3] = {{.view = *x}, {.view = w->chunks[0].view}, {.view = *out}};
    bind[0].view.size = bind[2].view.size = bytes;
    bind[1].view.size = w->row_stride;
    if (!lvk_kernels_set(k, op->pipeline, bind, &op->set, err)) {
        lvk_err_prefix(err, "rmsnorm");
        return false;
    }
    op->variant = variant;
    op->dim = dim;
    op->eps = eps;
    op->max_tokens = max_tokens;
    op->workgroup_size = wg;
    return true;
}

void lvk_rmsnorm_record(lvk_cmd *c, const lvk_rmsnorm_op *op, uint32_t n_tokens)
{
    if (n_tokens > op->max_tokens)
        n_tokens = op->max_tokens;
    if (n_tokens == 0)
        return;
    rmsnorm_push push = {n_tokens, op->dim, op->eps};
    lvk_cmd_dispatch(c, op->pipeline, op->set, &push, n_tokens, 1, 1);
}
