#include "ops/silu_mul.h"

#include <string.h>

#include "lvk_shaders.h"

bool lvk_silu_mul_prepare(lvk_kernels *k, lvk_silu_mul_op *op, const lvk_view *gate, const lvk_view *up,
                          const lvk_view *out, uint32_t width, uint32_t max_tokens, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (width == 0 || max_tokens == 0)
        return lvk_fail(err, "silu_mul: empty shape [%u, %u]", max_tokens, width);
    if ((uint64_t)max_tokens * width > UINT32_MAX)
        return lvk_fail(err, "silu_mul: [%u, %u] too large to index", max_tokens, width);
    uint64_t bytes = (uint64_t)max_tokens * width * sizeof(float);
    if (gate->size < bytes || up->size < bytes || out->size < bytes)
        return lvk_fail(err, "silu_mul: buffers smaller than [%u, %u] floats", max_tokens, width);
    uint32_t wg = 0;
    if (!lvk_kernels_elementwise3(k, "silu_mul_f32", lvk_spv_silu_mul_f32, lvk_spv_silu_mul_f32_size, gate, up, out,
                                  bytes, &op->pipeline, &op->set, &wg, err)) {
        lvk_err_prefix(err, "silu_mul");
        return false;
    }
    op->width = width;
    op->max_tokens = max_tokens;
    op->workgroup_size = wg;
    op->max_groups_x = k->d->info->max_workgroup_count[0] ? k->d->info->max_workgroup_count[0] : 65535;
    return true;
}

void lvk_silu_mul_record(lvk_cmd *c, const lvk_silu_mul_op *op, uint32_t n_tokens)
{
    if (n_tokens > op->max_tokens)
        n_tokens = op->max_tokens;
    uint32_t n = n_tokens * op->width;
    if (n == 0)
        return;
    /* lvk_split_groups without the device: the limit was read at prepare. */
    uint32_t groups = (n + op->workgroup_size - 1) / op->workgroup_size;
    uint32_t gy = (groups + op->max_groups_x - 1) / op->max_groups_x;
    uint32_t gx = (groups + gy - 1) / gy;
    lvk_cmd_dispatch(c, op->pipeline, op->set, &n, gx, gy, 1);
}
