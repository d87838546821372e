#include "ops/add.h"

#include "lvk_shaders.h"

bool lvk_add_prepare(lvk_kernels *k, lvk_add_op *op, const lvk_view *a, const lvk_view *b, const lvk_view *c,
                     uint32_t n, lvk_err *err)
{
    uint64_t bytes = (uint64_t)n * sizeof(float);
    if (a->size < bytes || b->size < bytes || c->size < bytes)
        return lvk_fail(err, "add: buffers smaller than %u floats", n);
    uint32_t wg = lvk_kernels_elementwise_wg(k);
    lvk_pipeline_desc desc = {
        .name = "add_f32",
        .spirv = lvk_spv_add_f32,
        .spirv_size = lvk_spv_add_f32_size,
        .n_bindings = 3,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(uint32_t),
        .n_spec = 1,
        .spec = {wg},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!op->pipeline)
        return false;
    lvk_binding bind[3] = {{.view = *a}, {.view = *b}, {.view = *c}};
    bind[0].view.size = bind[1].view.size = bind[2].view.size = bytes;
    if (!lvk_kernels_set(k, op->pipeline, bind, &op->set, err))
        return false;
    op->n = n;
    lvk_split_groups(k->d, (n + wg - 1) / wg, &op->groups_x, &op->groups_y);
    return true;
}

void lvk_add_record(lvk_cmd *c, const lvk_add_op *op)
{
    lvk_cmd_dispatch(c, op->pipeline, op->set, &op->n, op->groups_x, op->groups_y, 1);
}
