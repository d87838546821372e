#include "ops/matmul.h"

#include <string.h>

#include "lvk_shaders.h"

/* Tile shape of the TILED variant: a 64x64 tile with 4x4 per invocation is 256 invocations and
 * 8 KiB of shared memory, inside every Vulkan device's guaranteed limits except the invocation
 * count (128 guaranteed); such devices get 32x32 (64 invocations). K goes by 16 (BK in the shader). */
#define TILED_TM 4
#define TILED_TN 4

/* TEXEL variant: workgroup width and register tile, measured on lavapipe (2 vCPUs, 64x1024x4096, best of 8):
 * 8 tokens x 4 rows ~70-90 ms; 4x4 ~85-130; 4x8 ~75-130; 2x8, 8x2 ~110-190; 16x4, 8x8 ~160-330 (spills).
 * Workgroup widths 16..64 were within the noise. */
#define TEXEL_WG 32
#define TEXEL_TM 8
#define TEXEL_TN 4

/* The push constants of all four shaders; scale_words (a row of block scales, in 32-bit words) is read
 * by the q8/q4 ones only. */
typedef struct matmul_push {
    uint32_t n_tokens, cols, rows, row0, y_stride, row_texels, scale_words;
} matmul_push;

const char *lvk_matmul_path_name(lvk_matmul_path path)
{
    switch (path) {
    case LVK_MATMUL_AUTO: return "auto";
    case LVK_MATMUL_TILED: return "tiled";
    case LVK_MATMUL_COOPMAT: return "coopmat";
    case LVK_MATMUL_TEXEL: return "texel";
    }
    return "?";
}

lvk_matmul_path lvk_matmul_auto_path(const lvk_device *d)
{
    /* On a CPU the texel variant wins (DESIGN §3.1); on GPUs the shared-memory tiled one. */
    return d->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? LVK_MATMUL_TEXEL : LVK_MATMUL_TILED;
}

static bool check_shapes(const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                         uint32_t max_tokens, lvk_err *err)
{
    if (!lvk_weight_format_of(w->dtype, "matmul", err))
        return false;
    if (w->n_chunks < 1 || w->rows == 0 || w->cols == 0)
        return lvk_fail(err, "matmul: the weight is empty");
    if (max_tokens == 0)
        return lvk_fail(err, "matmul: max_tokens is 0");
    uint64_t x_elems = (uint64_t)max_tokens * w->cols, y_elems = (uint64_t)max_tokens * w->rows;
    /* The shaders index X and Y with 32-bit integers. */
    if (x_elems > UINT32_MAX || y_elems > UINT32_MAX)
        return lvk_fail(err, "matmul: %u tokens x [%u, %u] is too large for 32-bit indexing", max_tokens, w->rows,
                        w->cols);
    if (x->size < x_elems * sizeof(float))
        return lvk_fail(err, "matmul: X holds %llu bytes, [%u tokens, %u] fp32 needs %llu", (unsigned long long)x->size,
                        max_tokens, w->cols, (unsigned long long)(x_elems * sizeof(float)));
    if (y->size < y_elems * sizeof(float))
        return lvk_fail(err, "matmul: Y holds %llu bytes, [%u tokens, %u] fp32 needs %llu", (unsigned long long)y->size,
                        max_tokens, w->rows, (unsigned long long)(y_elems * sizeof(float)));
    /* The kernels read X while writing Y, so the byte ranges they use must not overlap. */
    VkDeviceSize x_end = x->offset + x_elems * sizeof(float), y_end = y->offset + y_elems * sizeof(float);
    if (x->buffer == y->buffer && x->offset < y_end && y->offset < x_end)
        return lvk_fail(err, "matmul: X and Y overlap");
    return true;
}

/* The TEXEL variant reads X by texel fetches when a row of X is whole texels and the view is allowed
 * (offset alignment, element count); otherwise it falls back to storage-buffer loads. */
static bool make_x_texel(lvk_device *d, lvk_matmul_op *op, const lvk_view *x, uint32_t max_tokens, lvk_err *err)
{
    lvk_view v = *x;
    v.size = (VkDeviceSize)max_tokens * op->cols * sizeof(float);
    VkDeviceSize align = d->info->min_texel_buffer_offset_alignment ? d->info->min_texel_buffer_offset_alignment : 1;
    if (op->cols % 4 != 0 || v.offset % align != 0 ||
        v.size / 16 > d->info->max_texel_buffer_elements)
        return true;
    if (!lvk_texel_view_create(d, &v, VK_FORMAT_R32G32B32A32_UINT, &op->x_texel, err)) {
        lvk_err_prefix(err, "matmul: X");
        return false;
    }
    return true;
}

void lvk_matmul_destroy(lvk_kernels *k, lvk_matmul_op *op)
{
    if (op->x_texel)
        vkDestroyBufferView(k->d->dev, op->x_texel, NULL);
    op->x_texel = VK_NULL_HANDLE;
}

static bool prepare(lvk_kernels *k, lvk_matmul_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                    uint32_t max_tokens, const lvk_matmul_options *opt, lvk_err *err)
{
    lvk_device *d = k->d;
    memset(op, 0, sizeof *op);
    if (!check_shapes(w, x, y, max_tokens, err))
        return false;
    bool accumulate = opt && opt->accumulate;
    op->path = opt && opt->path != LVK_MATMUL_AUTO ? opt->path : lvk_matmul_auto_path(d);
    op->rows = w->rows;
    op->cols = w->cols;
    op->row_texels = w->row_stride / 16;
    op->scale_words = w->scale_stride / 4;
    /* q8/q4 have kernels of their own (a block is 32 columns over one or two texels plus a scale),
     * with the same tiling and the same bindings plus one for the scales. */
    const bool quant = lvk_dtype_is_quantized(w->dtype);
    op->max_tokens = max_tokens;

    lvk_pipeline_desc desc = {
        .push_size = sizeof(matmul_push),
        .n_bindings = 3,
    };
    uint32_t rows_per_group;
    switch (op->path) {
    case LVK_MATMUL_TILED: {
        uint32_t bm = 64, bn = 64;
        if (d->info->max_workgroup_invocations < 256 || d->info->max_workgroup_size[0] < 256)
            bm = bn = 32;
        uint32_t wg = (bm / TILED_TM) * (bn / TILED_TN);
        desc.name = quant ? "matmul_quant_tiled" : "matmul_tiled";
        desc.spirv = quant ? lvk_spv_matmul_quant_tiled : lvk_spv_matmul_tiled;
        desc.spirv_size = quant ? lvk_spv_matmul_quant_tiled_size : lvk_spv_matmul_tiled_size;
        desc.n_bindings = quant ? 4 : 3;
        desc.bindings[0] = desc.bindings[1] = desc.bindings[2] = desc.bindings[3] = LVK_BIND_STORAGE;
        desc.n_spec = 7;
        uint32_t spec[7] = {wg, (uint32_t)w->dtype, bm, bn, TILED_TM, TILED_TN, accumulate};
        memcpy(desc.spec, spec, sizeof spec);
        op->tokens_per_group = bm;
        rows_per_group = bn;
        break;
    }
    case LVK_MATMUL_TEXEL: {
        uint32_t wg = TEXEL_WG;
        if (d->info->max_workgroup_size[0] < wg)
            wg = d->info->max_workgroup_size[0];
        desc.name = quant ? "matmul_quant_texel" : "matmul_texel";
        desc.spirv = quant ? lvk_spv_matmul_quant_texel : lvk_spv_matmul_texel;
        desc.spirv_size = quant ? lvk_spv_matmul_quant_texel_size : lvk_spv_matmul_texel_size;
        desc.n_bindings = quant ? 5 : 4;
        desc.bindings[0] = desc.bindings[3] = desc.bindings[4] = LVK_BIND_UNIFORM_TEXEL;
        desc.bindings[1] = desc.bindings[2] = LVK_BIND_STORAGE;
        if (!make_x_texel(d, op, x, max_tokens, err))
            return false;
        desc.n_spec = 6;
        uint32_t spec[6] = {wg, (uint32_t)w->dtype, TEXEL_TM, TEXEL_TN, accumulate, op->x_texel != VK_NULL_HANDLE};
        memcpy(desc.spec, spec, sizeof spec);
        op->tokens_per_group = TEXEL_TM;
        rows_per_group = wg * TEXEL_TN;
        break;
    }
    case LVK_MATMUL_COOPMAT:
        /* Not built: the device layer does not enable VK_KHR_cooperative_matrix and our glslc (glslang 11)
         * cannot compile GL_KHR_cooperative_matrix. */
        return lvk_fail(err, "matmul: the cooperative-matrix path is not available in this build");
    default:
        return lvk_fail(err, "matmul: unknown path %d", (int)op->path);
    }

    uint32_t max_groups_y = (max_tokens + op->tokens_per_group - 1) / op->tokens_per_group;
    if (max_groups_y > d->info->max_workgroup_count[1])
        return lvk_fail(err, "matmul: %u tokens need %u workgroups, over the device's limit of %u", max_tokens,
                        max_groups_y, d->info->max_workgroup_count[1]);
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!op->pipeline)
        return false;

    lvk_binding bind[5] = {{.view = *x}, {.view = *x}, {.view = *y}, {.texel = op->x_texel}, {.texel = VK_NULL_HANDLE}};
    bind[1].view.size = (VkDeviceSize)max_tokens * w->cols * sizeof(float);
    bind[2].view.size = (VkDeviceSize)max_tokens * w->rows * sizeof(float);
    for (int c = 0; c < w->n_chunks; c++) {
        const lvk_weight_chunk *ch = &w->chunks[c];
        lvk_matmul_chunk *oc = &op->chunks[c];
        oc->row0 = ch->row0;
        oc->rows = ch->rows;
        oc->groups_x = (ch->rows + rows_per_group - 1) / rows_per_group;
        if (oc->groups_x > d->info->max_workgroup_count[0])
            return lvk_fail(err, "matmul: %u rows need %u workgroups, over the device's limit of %u", ch->rows,
                            oc->groups_x, d->info->max_workgroup_count[0]);
        bind[0] = (lvk_binding){.view = ch->view, .texel = ch->texel};
        if (!op->x_texel)
            bind[3].texel = ch->texel; /* never read: X_TEXEL is off, but the binding must be valid */
        /* q8/q4: the scales, as a storage buffer (TILED) or an R32UI texel view (TEXEL) */
        if (quant)
            bind[op->path == LVK_MATMUL_TILED ? 3 : 4] = (lvk_binding){.view = ch->scales, .texel = ch->scales_texel};
        if (!lvk_kernels_set(k, op->pipeline, bind, &oc->set, err)) {
            lvk_err_prefix(err, "matmul");
            return false;
        }
        op->n_chunks = c + 1;
    }
    return true;
}

bool lvk_matmul_prepare(lvk_kernels *k, lvk_matmul_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                        uint32_t max_tokens, const lvk_matmul_options *opt, lvk_err *err)
{
    if (prepare(k, op, w, x, y, max_tokens, opt, err))
        return true;
    lvk_matmul_destroy(k, op);
    return false;
}

void lvk_matmul_record(lvk_cmd *c, const lvk_matmul_op *op, uint32_t n_tokens)
{
    if (n_tokens == 0)
        return;
    if (n_tokens > op->max_tokens)
        n_tokens = op->max_tokens;
    uint32_t groups_y = (n_tokens + op->tokens_per_group - 1) / op->tokens_per_group;
    for (int i = 0; i < op->n_chunks; i++) {
        const lvk_matmul_chunk *ch = &op->chunks[i];
        matmul_push push = {n_tokens, op->cols, ch->rows, ch->row0, op->rows, op->row_texels, op->scale_words};
        lvk_cmd_dispatch(c, op->pipeline, ch->set, &push, ch->groups_x, groups_y, 1);
    }
}
