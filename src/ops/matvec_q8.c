#include "ops/matvec_q8.h"

#include <string.h>

#include "lvk_shaders.h"
#include "ops/quant_format.h"

enum { Q8_WG = 8, Q8_ROWS = 8 };

static bool texel_view(lvk_device *d, const lvk_view *v, uint64_t bytes, VkFormat format, uint64_t texel_bytes,
                       const char *what, VkBufferView *out, lvk_err *err)
{
    const lvk_device_info *info = d->info;
    if (v->offset % info->min_texel_buffer_offset_alignment != 0)
        return lvk_fail(err, "matvec_q8: %s starts at byte %llu, not a multiple of the device's texel-buffer "
                        "alignment %llu", what, (unsigned long long)v->offset,
                        (unsigned long long)info->min_texel_buffer_offset_alignment);
    if (bytes / texel_bytes > info->max_texel_buffer_elements)
        return lvk_fail(err, "matvec_q8: %s needs %llu texels, over the device's maxTexelBufferElements %llu", what,
                        (unsigned long long)(bytes / texel_bytes), (unsigned long long)info->max_texel_buffer_elements);
    lvk_view w = *v;
    w.size = bytes;
    return lvk_texel_view_create(d, &w, format, out, err);
}

bool lvk_matvec_q8_prepare(lvk_kernels *k, lvk_matvec_q8_op *op, const lvk_view *quants, const lvk_view *scales,
                           uint32_t rows, uint32_t cols, const lvk_view *x, const lvk_view *y, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (rows == 0 || cols == 0)
        return lvk_fail(err, "matvec_q8: empty weight [%u, %u]", rows, cols);
    uint64_t q_bytes = rows * lvk_quant_row_bytes(LVK_QUANT_Q8, cols);
    uint64_t s_bytes = rows * lvk_quant_scale_row_bytes(LVK_QUANT_Q8, cols);
    uint64_t x_bytes = (uint64_t)cols * sizeof(float), y_bytes = (uint64_t)rows * sizeof(float);
    if (quants->size < q_bytes || scales->size < s_bytes || x->size < x_bytes || y->size < y_bytes)
        return lvk_fail(err, "matvec_q8: buffers too small for W [%u, %u] (quants %llu of %llu bytes, scales %llu "
                        "of %llu, x %llu of %llu, y %llu of %llu)", rows, cols, (unsigned long long)quants->size,
                        (unsigned long long)q_bytes, (unsigned long long)scales->size, (unsigned long long)s_bytes,
                        (unsigned long long)x->size, (unsigned long long)x_bytes, (unsigned long long)y->size,
                        (unsigned long long)y_bytes);
    bool x_vec4 = cols % 4 == 0;
    if (!texel_view(k->d, quants, q_bytes, VK_FORMAT_R32G32B32A32_UINT, 16, "quants", &op->q_texel, err) ||
        !texel_view(k->d, scales, s_bytes, VK_FORMAT_R32_UINT, 4, "scales", &op->s_texel, err) ||
        !texel_view(k->d, x, x_bytes, x_vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT,
                    x_vec4 ? 16 : 4, "x", &op->x_texel, err)) {
        lvk_matvec_q8_destroy(k, op);
        return false;
    }
    lvk_pipeline_desc desc = {
        .name = "matvec_q8_texel",
        .spirv = lvk_spv_matvec_q8_texel,
        .spirv_size = lvk_spv_matvec_q8_texel_size,
        .n_bindings = 4,
        .bindings = {LVK_BIND_UNIFORM_TEXEL, LVK_BIND_UNIFORM_TEXEL, LVK_BIND_UNIFORM_TEXEL, LVK_BIND_STORAGE},
        .push_size = sizeof op->push,
        .n_spec = 3,
        .spec = {Q8_WG, Q8_ROWS, x_vec4},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    lvk_binding bind[4] = {{.view = *quants, .texel = op->q_texel}, {.view = *scales, .texel = op->s_texel},
                           {.view = *x, .texel = op->x_texel}, {.view = *y}};
    bind[3].view.size = y_bytes;
    if (!op->pipeline || !lvk_kernels_set(k, op->pipeline, bind, &op->set, err)) {
        lvk_err_prefix(err, "matvec_q8");
        lvk_matvec_q8_destroy(k, op);
        return false;
    }
    op->push.rows = rows, op->push.cols = cols, op->push.nb = lvk_quant_blocks(cols);
    op->push.swords = (uint32_t)(lvk_quant_scale_row_bytes(LVK_QUANT_Q8, cols) / 4);
    op->push.full_blocks = cols / 32;
    lvk_split_groups(k->d, (rows + Q8_ROWS - 1) / Q8_ROWS, &op->groups_x, &op->groups_y);
    return true;
}

void lvk_matvec_q8_record(lvk_cmd *c, const lvk_matvec_q8_op *op)
{
    lvk_cmd_dispatch(c, op->pipeline, op->set, &op->push, op->groups_x, op->groups_y, 1);
}

void lvk_matvec_q8_destroy(lvk_kernels *k, lvk_matvec_q8_op *op)
{
    VkBufferView *views[3] = {&op->q_texel, &op->s_texel, &op->x_texel};
    for (int i = 0; i < 3; i++) {
        if (*views[i])
            vkDestroyBufferView(k->d->dev, *views[i], NULL);
        *views[i] = VK_NULL_HANDLE;
    }
}
