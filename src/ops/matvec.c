#include "ops/matvec.h"

#include <stdlib.h>
#include <string.h>

#include "base/platform.h"
#include "lvk_shaders.h"

/* Defaults per path, measured on lavapipe (TEXEL) and chosen for 32/64-wide GPUs (SUBGROUP). */
#define TEXEL_ROWS 8
#define TEXEL_WG 8
#define SUBGROUP_WG 128
/* q8/q4 on the TEXEL path (matvec_quant_texel.comp): more rows per workgroup share each fetch of x and its
 * per-block sums; 16 was best for q4, 8 for q8, on lavapipe at 4096x4096 and 4096x11008 (noisy, shared CPUs). */
#define QUANT_TEXEL_ROWS(dtype) ((dtype) == LVK_DTYPE_Q4 ? 16u : 8u)

const char *lvk_matvec_path_name(lvk_matvec_path p)
{
    switch (p) {
    case LVK_MATVEC_AUTO: return "auto";
    case LVK_MATVEC_TEXEL: return "texel";
    case LVK_MATVEC_SUBGROUP: return "subgroup";
    }
    return "?";
}

bool lvk_matvec_path_supported(const lvk_device *d, lvk_matvec_path p, const char **reason)
{
    const char *why = NULL;
    if (p == LVK_MATVEC_SUBGROUP) {
        const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
        if (lvk_env_flag("LLAMA_VK_NO_SUBGROUP"))
            why = "turned off by LLAMA_VK_NO_SUBGROUP";
        else if ((d->info->subgroup_ops & need) != need)
            why = "the device has no subgroup arithmetic in compute shaders";
    } else if (p != LVK_MATVEC_AUTO && p != LVK_MATVEC_TEXEL) {
        why = "unknown path";
    }
    if (reason)
        *reason = why;
    return why == NULL;
}

static lvk_matvec_path choose_path(const lvk_device *d)
{
    if (d->info->type != VK_PHYSICAL_DEVICE_TYPE_CPU && lvk_matvec_path_supported(d, LVK_MATVEC_SUBGROUP, NULL))
        return LVK_MATVEC_SUBGROUP;
    return LVK_MATVEC_TEXEL;
}

/* Checks shapes and sizes common to every path. */
static bool check_shapes(const lvk_weight *w, const lvk_view *x, const lvk_view *y, uint32_t max_tokens, lvk_err *err)
{
    if (!lvk_weight_format_of(w->dtype, "matvec", err))
        return false;
    if (w->n_chunks < 1 || w->rows == 0 || w->cols == 0)
        return lvk_fail(err, "matvec: the weight is empty or not allocated");
    if (max_tokens < 1 || max_tokens > LVK_MATVEC_MAX_TOKENS)
        return lvk_fail(err, "matvec: max_tokens %u; expected 1..%d", max_tokens, LVK_MATVEC_MAX_TOKENS);
    uint64_t x_bytes = (uint64_t)max_tokens * w->cols * sizeof(float);
    uint64_t y_bytes = (uint64_t)max_tokens * w->rows * sizeof(float);
    if (x->size < x_bytes)
        return lvk_fail(err, "matvec: x holds %llu bytes; [%u, %u] fp32 needs %llu", (unsigned long long)x->size,
                        max_tokens, w->cols, (unsigned long long)x_bytes);
    if (y->size < y_bytes)
        return lvk_fail(err, "matvec: y holds %llu bytes; [%u, %u] fp32 needs %llu", (unsigned long long)y->size,
                        max_tokens, w->rows, (unsigned long long)y_bytes);
    return true;
}

/* The TEXEL path reads x through a texel view: RGBA32F when every token's row is 16-byte aligned, else R32F. */
static bool make_x_texel(lvk_device *d, lvk_matvec_op *op, const lvk_weight *w, const lvk_view *x, bool *vec4,
                         lvk_err *err)
{
    uint64_t floats = (uint64_t)op->max_tokens * w->cols;
    if (x->offset % d->info->min_texel_buffer_offset_alignment != 0)
        return lvk_fail(err, "matvec: x starts at byte %llu, not a multiple of the device's texel-buffer alignment %llu",
                        (unsigned long long)x->offset,
                        (unsigned long long)d->info->min_texel_buffer_offset_alignment);
    *vec4 = w->cols % 4 == 0;
    uint64_t texels = *vec4 ? floats / 4 : floats;
    if (texels > d->info->max_texel_buffer_elements)
        return lvk_fail(err, "matvec: x needs %llu texels, over the device's maxTexelBufferElements %llu",
                        (unsigned long long)texels, (unsigned long long)d->info->max_texel_buffer_elements);
    lvk_view v = *x;
    v.size = floats * sizeof(float);
    return lvk_texel_view_create(d, &v, *vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT, &op->x_texel,
                                 err);
}

bool lvk_matvec_prepare(lvk_kernels *k, lvk_matvec_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                        uint32_t max_tokens, const lvk_matvec_options *opt, lvk_err *err)
{
    lvk_device *d = k->d;
    lvk_matvec_options o = {0};
    if (opt)
        o = *opt;
    memset(op, 0, sizeof *op);
    if (!check_shapes(w, x, y, max_tokens, err))
        return false;
    op->max_tokens = max_tokens;
    const char *why = NULL;
    if (o.path == LVK_MATVEC_AUTO)
        op->path = choose_path(d);
    else if (lvk_matvec_path_supported(d, o.path, &why))
        op->path = o.path;
    else
        return lvk_fail(err, "matvec: the %s path cannot run here: %s", lvk_matvec_path_name(o.path), why);

    const bool texel = op->path == LVK_MATVEC_TEXEL;
    uint32_t wg = o.workgroup_size ? o.workgroup_size : texel ? TEXEL_WG : SUBGROUP_WG;
    const uint32_t max_sg = d->info->max_subgroup_size ? d->info->max_subgroup_size : d->info->subgroup_size;
    if (!texel && !o.workgroup_size && wg < max_sg)
        wg = max_sg; /* at least one whole subgroup */
    if (wg > d->info->max_workgroup_invocations || wg > d->info->max_workgroup_size[0])
        return lvk_fail(err, "matvec: workgroup of %u over the device's limit", wg);
    /* SUBGROUP: one row per subgroup at the smallest subgroup size the driver may pick (a
     * workgroup of bigger subgroups loops over its rows). */
    const uint32_t min_sg = d->info->min_subgroup_size ? d->info->min_subgroup_size : d->info->subgroup_size;
    uint32_t rows_per = o.rows_per_group;
    if (!rows_per)
        rows_per = !texel                           ? (wg + min_sg - 1) / min_sg
                   : lvk_dtype_is_quantized(w->dtype) ? QUANT_TEXEL_ROWS(w->dtype)
                                                      : TEXEL_ROWS;
    if (rows_per > 16)
        return lvk_fail(err, "matvec: %u rows per workgroup; at most 16", rows_per);
    if (texel && (uint64_t)rows_per * max_tokens * wg * sizeof(float) > d->info->max_shared_memory)
        return lvk_fail(err, "matvec: %u rows x %u tokens x %u lanes of partial sums exceed the device's %u bytes of "
                        "shared memory", rows_per, max_tokens, wg, d->info->max_shared_memory);
    op->rows_per_group = rows_per;
    op->workgroup_size = wg;

    bool x_vec4 = false;
    if (texel) {
        if (!make_x_texel(d, op, w, x, &x_vec4, err))
            return false;
    } else {
        x_vec4 = w->cols % 4 == 0 && x->offset % 16 == 0;
    }

    /* q8/q4 have their own shaders, with a second weight binding: the block scales. */
    const bool quant = lvk_dtype_is_quantized(w->dtype);
    const lvk_binding_kind read_kind = texel ? LVK_BIND_UNIFORM_TEXEL : LVK_BIND_STORAGE;
    lvk_pipeline_desc desc = {
        .push_size = sizeof op->chunks[0].push,
        .n_spec = 6,
        .spec = {wg, rows_per, 1, (uint32_t)w->dtype, x_vec4, o.accumulate},
    };
    if (quant) {
        desc.name = texel ? "matvec_quant_texel" : "matvec_quant_subgroup";
        desc.spirv = texel ? lvk_spv_matvec_quant_texel : lvk_spv_matvec_quant_subgroup;
        desc.spirv_size = texel ? lvk_spv_matvec_quant_texel_size : lvk_spv_matvec_quant_subgroup_size;
        desc.n_bindings = 4;
        desc.bindings[0] = desc.bindings[1] = desc.bindings[2] = read_kind;
        desc.bindings[3] = LVK_BIND_STORAGE;
    } else {
        desc.name = texel ? "matvec_texel" : "matvec_subgroup";
        desc.spirv = texel ? lvk_spv_matvec_texel : lvk_spv_matvec_subgroup;
        desc.spirv_size = texel ? lvk_spv_matvec_texel_size : lvk_spv_matvec_subgroup_size;
        desc.n_bindings = 3;
        desc.bindings[0] = desc.bindings[1] = read_kind;
        desc.bindings[2] = LVK_BIND_STORAGE;
    }
    for (uint32_t n = 1; n <= max_tokens; n++) {
        desc.spec[2] = n;
        op->pipelines[n - 1] = lvk_kernels_pipeline(k, &desc, err);
        if (!op->pipelines[n - 1]) {
            lvk_matvec_destroy(k, op);
            return false;
        }
    }

    lvk_view y_all = *y;
    y_all.size = (uint64_t)max_tokens * w->rows * sizeof(float);
    lvk_view x_all = *x;
    x_all.size = (uint64_t)max_tokens * w->cols * sizeof(float);
    const lvk_weight_format *format = lvk_weight_format_of(w->dtype, "matvec", NULL); /* checked above */
    op->n_chunks = w->n_chunks; /* so that destroy frees the views made so far if a chunk fails */
    for (int i = 0; i < w->n_chunks; i++) {
        const lvk_weight_chunk *ch = &w->chunks[i];
        lvk_matvec_chunk *mc = &op->chunks[i];
        lvk_binding bind[4] = {{.view = ch->view, .texel = ch->texel}, {.view = x_all, .texel = op->x_texel},
                               {.view = y_all}};
        if (quant) {
            /* The texel path reads scales 4 words a fetch: RGBA32UI (rows of scales are 16-byte aligned). */
            if (texel && !lvk_texel_view_create(d, &ch->scales, VK_FORMAT_R32G32B32A32_UINT, &mc->scales4, err)) {
                lvk_matvec_destroy(k, op);
                return false;
            }
            bind[3] = bind[2], bind[2] = bind[1];
            bind[1] = (lvk_binding){.view = ch->scales, .texel = mc->scales4};
        }
        /* Every pipeline of the op has an identically defined set layout, so one set serves all token counts. */
        if (!lvk_kernels_set(k, op->pipelines[0], bind, &mc->set, err)) {
            lvk_matvec_destroy(k, op);
            lvk_err_prefix(err, "matvec");
            return false;
        }
        mc->push.rows = ch->rows;
        mc->push.cols = w->cols;
        mc->push.row0 = ch->row0;
        mc->push.y_stride = w->rows;
        mc->push.blocks = w->row_stride / format->block_bytes;
        mc->push.full_blocks = w->cols / format->block_elems;
        mc->push.scale_words = w->scale_stride / 4;
        uint32_t groups = (ch->rows + rows_per - 1) / rows_per;
        lvk_split_groups(d, groups, &mc->groups_x, &mc->groups_y);
    }
    return true;
}

void lvk_matvec_record(lvk_cmd *c, const lvk_matvec_op *op, uint32_t n_tokens)
{
    if (n_tokens < 1 || n_tokens > op->max_tokens)
        return;
    /* Chunks write disjoint rows of y: no barrier between their dispatches. */
    for (int i = 0; i < op->n_chunks; i++) {
        const lvk_matvec_chunk *mc = &op->chunks[i];
        lvk_cmd_dispatch(c, op->pipelines[n_tokens - 1], mc->set, &mc->push, mc->groups_x, mc->groups_y, 1);
    }
}

void lvk_matvec_destroy(lvk_kernels *k, lvk_matvec_op *op)
{
    if (op->x_texel)
        vkDestroyBufferView(k->d->dev, op->x_texel, NULL);
    op->x_texel = VK_NULL_HANDLE;
    for (int i = 0; i < op->n_chunks; i++) {
        if (op->chunks[i].scales4)
            vkDestroyBufferView(k->d->dev, op->chunks[i].scales4, NULL);
        op->chunks[i].scales4 = VK_NULL_HANDLE;
    }
    op->n_chunks = 0;
}
