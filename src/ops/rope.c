#include "ops/rope.h"

#include <math.h>
#include <string.h>

#include "lvk_shaders.h"

/* v rounded to 12 significant bits, so that (an integer < 4096) * result is exact in fp32. */
static double round_to_12_bits(double v)
{
    if (v == 0)
        return 0;
    int e;
    frexp(v, &e); /* v = f * 2^e, 0.5 <= |f| < 1 */
    return ldexp(nearbyint(ldexp(v, 12 - e)), e - 12);
}

void lvk_rope_table(float *table, uint32_t head_dim, double theta)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (uint32_t i = 0; i < head_dim / 2; i++) {
        double b = pow(theta, -2.0 * (double)i / (double)head_dim) / two_pi; /* turns per position */
        double a = 4096.0 * b - floor(4096.0 * b);                          /* turns per 4096 positions, mod 1 */
        double b_hi = round_to_12_bits(b), a_hi = round_to_12_bits(a);
        table[4 * i + 0] = (float)b_hi;
        table[4 * i + 1] = (float)(b - b_hi);
        table[4 * i + 2] = (float)a_hi;
        table[4 * i + 3] = (float)(a - a_hi);
    }
}

bool lvk_rope_prepare(lvk_kernels *k, lvk_rope_op *op, const lvk_view *x, const lvk_view *pos, uint32_t n_heads,
                      uint32_t head_dim, double theta, uint32_t max_tokens, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (head_dim == 0 || head_dim % 2 != 0 || head_dim > 1024 || n_heads == 0 || max_tokens == 0)
        return lvk_fail(err, "rope: head_dim %u must be even and <= 1024, n_heads %u and max_tokens %u > 0", head_dim,
                        n_heads, max_tokens);
    if (!(theta > 1.0) || !isfinite(theta))
        return lvk_fail(err, "rope: theta %g must be a finite number > 1", theta);
    uint64_t n = (uint64_t)max_tokens * n_heads * head_dim;
    if (n > UINT32_MAX / 2 || x->size < n * sizeof(float))
        return lvk_fail(err, "rope: x holds %llu bytes, need %llu for [%u, %u, %u] fp32", (unsigned long long)x->size,
                        (unsigned long long)(n * sizeof(float)), max_tokens, n_heads, head_dim);
    if (pos->size < (uint64_t)max_tokens * sizeof(uint32_t))
        return lvk_fail(err, "rope: the position buffer holds %llu bytes, need %llu for %u uint32",
                        (unsigned long long)pos->size, (unsigned long long)max_tokens * sizeof(uint32_t), max_tokens);
    VkDeviceSize table_bytes = (VkDeviceSize)head_dim / 2 * 4 * sizeof(float);
    if (!lvk_buffer_create(k->d, &op->table, table_bytes, LVK_MEM_HOST, err)) {
        lvk_err_prefix(err, "rope: frequency table");
        return false;
    }
    lvk_rope_table(op->table.mapped, head_dim, theta);

    op->wg = lvk_kernels_elementwise_wg(k);
    lvk_pipeline_desc desc = {
        .name = "rope_f32",
        .spirv = lvk_spv_rope_f32,
        .spirv_size = lvk_spv_rope_f32_size,
        .n_bindings = 3,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(uint32_t),
        .n_spec = 3,
        .spec = {op->wg, n_heads, head_dim / 2},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    lvk_binding bind[3] = {{.view = *x}, {.view = lvk_buffer_view_all(&op->table)}, {.view = *pos}};
    bind[0].view.size = n * sizeof(float);
    bind[2].view.size = (VkDeviceSize)max_tokens * sizeof(uint32_t);
    if (!op->pipeline || !lvk_kernels_set(k, op->pipeline, bind, &op->set, err)) {
        lvk_rope_destroy(k, op);
        return false;
    }
    op->n_heads = n_heads;
    op->head_dim = head_dim;
    op->max_tokens = max_tokens;
    op->max_groups_x = k->d->info->max_workgroup_count[0] ? k->d->info->max_workgroup_count[0] : 65535;
    return true;
}

void lvk_rope_record(lvk_cmd *c, const lvk_rope_op *op, uint32_t n_tokens)
{
    if (n_tokens > op->max_tokens)
        n_tokens = op->max_tokens;
    if (n_tokens == 0)
        return;
    uint32_t push[1] = {n_tokens};
    uint32_t n = n_tokens * op->n_heads * (op->head_dim / 2);
    uint32_t groups = (n + op->wg - 1) / op->wg;
    uint32_t gy = (groups + op->max_groups_x - 1) / op->max_groups_x;
    uint32_t gx = (groups + gy - 1) / gy;
    lvk_cmd_dispatch(c, op->pipeline, op->set, push, gx, gy, 1);
}

void lvk_rope_destroy(lvk_kernels *k, lvk_rope_op *op)
{
    lvk_buffer_destroy(k->d, &op->table);
    memset(&op->table, 0, sizeof op->table);
}
