#include "ops/add.h"

#include "lvk_shaders.h"

bool lvk_add_prepare(lvk_kernels *k, lvk_add_op *op, const lvk_view *a, const lvk_view *b, const lvk_view *c,
                     uint32_t n, lvk_err *err)
{
    uint64_t bytes = (uint64_t)n * sizeof(float);
    if (a->size < bytes || b->size < bytes || c->size < bytes)
        return lvk_fail(err, "add: buffers smaller than %u floats", n);
    uint32_t wg = 0;
    if (!lvk_kernels_elementwise3(k, "add_f32", lvk_spv_add_f32, lvk_spv_add_f32_size, a, b, c, bytes, &op->pipeline,
                                  &op->set, &wg, err))
        return false;
    op->n = n;
    lvk_split_groups(k->d, (n + wg - 1) / wg, &op->groups_x, &op->groups_y);
    return true;
}

void lvk_add_record(lvk_cmd *c, const lvk_add_op *op)
{
    lvk_cmd_dispatch(c, op->pipeline, op->set, &op->n, op->groups_x, op->groups_y, 1);
}
