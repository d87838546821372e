#include "ops/quantize.h"

#include <string.h>

#include "lvk_shaders.h"

/* The shaders' IN_DTYPE spec constant is the lvk_dtype value itself (one numbering, base/dtype.h). */
static bool dtype_code(lvk_dtype dtype, uint32_t *code, uint32_t *esize)
{
    *code = (uint32_t)dtype;
    switch (dtype) {
    case LVK_DTYPE_F32: *esize = 4; return true;
    case LVK_DTYPE_F16: *esize = 2; return true;
    case LVK_DTYPE_BF16: *esize = 2; return true;
    default: return false;
    }
}

bool lvk_quantize_prepare(lvk_kernels *k, lvk_quantize_op *op, lvk_quant_format f, lvk_dtype in_dtype, bool search,
                          const lvk_view *in, const lvk_view *quants, const lvk_view *scales, const lvk_view *flags,
                          uint32_t rows, uint32_t cols, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    const char *name = lvk_quant_name(f);
    uint32_t code, esize;
    if (!dtype_code(in_dtype, &code, &esize))
        return lvk_fail(err, "quantize %s: input dtype %s is not Float32, Float16 or BFloat16", name,
                        lvk_dtype_name(in_dtype));
    if (rows == 0 || cols == 0)
        return lvk_fail(err, "quantize %s: empty input [%u, %u]", name, rows, cols);
    uint64_t swords = lvk_quant_scale_row_bytes(f, cols) / 4;
    if ((uint64_t)rows * cols > UINT32_MAX || (uint64_t)rows * swords > UINT32_MAX)
        return lvk_fail(err, "quantize %s: [%u, %u] too large for one dispatch; cut it into row chunks", name, rows,
                        cols);
    uint64_t in_bytes = ((uint64_t)rows * cols * esize + 3) & ~(uint64_t)3; /* read as whole 32-bit words */
    uint64_t q_bytes = rows * lvk_quant_row_bytes(f, cols), s_bytes = rows * swords * 4;
    const lvk_device_info *info = k->d->info;
    if (in->size < in_bytes || quants->size < q_bytes || scales->size < s_bytes || flags->size < 4)
        return lvk_fail(err,
                        "quantize %s: buffers too small for [%u, %u] (input %llu of %llu bytes, quants %llu of %llu, "
                        "scales %llu of %llu, flags %llu of 4)",
                        name, rows, cols, (unsigned long long)in->size, (unsigned long long)in_bytes,
                        (unsigned long long)quants->size, (unsigned long long)q_bytes,
                        (unsigned long long)scales->size, (unsigned long long)s_bytes,
                        (unsigned long long)flags->size);
    uint64_t range = info->max_storage_buffer_range;
    if (in_bytes > range || q_bytes > range || s_bytes > range)
        return lvk_fail(err, "quantize %s: a chunk of %u rows exceeds the device's %llu-byte binding; use "
                        "lvk_quantize_max_rows rows per chunk", name, rows, (unsigned long long)range);
    uint64_t align = info->min_storage_buffer_offset_alignment;
    if (align && (in->offset % align || quants->offset % align || scales->offset % align || flags->offset % align))
        return lvk_fail(err, "quantize %s: a buffer offset is not a multiple of the device's %llu-byte storage "
                        "offset alignment", name, (unsigned long long)align);
    uint32_t wg = lvk_kernels_elementwise_wg(k);
    lvk_pipeline_desc desc = {
        .name = f == LVK_QUANT_Q8 ? "quantize_q8" : "quantize_q4",
        .spirv = f == LVK_QUANT_Q8 ? lvk_spv_quantize_q8 : lvk_spv_quantize_q4,
        .spirv_size = f == LVK_QUANT_Q8 ? lvk_spv_quantize_q8_size : lvk_spv_quantize_q4_size,
        .n_bindings = 4,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof op->push,
        .n_spec = f == LVK_QUANT_Q4 ? 3 : 2,
        /* q4's STEPS: the refits tried; -1 tries none (min/max only), as lvk_ref_quantize without search. */
        .spec = {wg, code, search ? (uint32_t)LVK_QUANT_Q4_STEPS : (uint32_t)-1},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!op->pipeline)
        return false;
    lvk_binding bind[4] = {{.view = *in}, {.view = *quants}, {.view = *scales}, {.view = *flags}};
    bind[0].view.size = in_bytes;
    bind[1].view.size = q_bytes;
    bind[2].view.size = s_bytes;
    bind[3].view.size = 4;
    if (!lvk_kernels_set(k, op->pipeline, bind, &op->set, err)) {
        lvk_err_prefix(err, "quantize %s", name);
        return false;
    }
    op->push[0] = rows, op->push[1] = cols, op->push[2] = lvk_quant_blocks(cols), op->push[3] = (uint32_t)swords;
    uint32_t invocations = (uint32_t)(rows * swords);
    lvk_split_groups(k->d, (invocations + wg - 1) / wg, &op->groups_x, &op->groups_y);
    return true;
}

void lvk_quantize_record(lvk_cmd *c, const lvk_quantize_op *op)
{
    lvk_cmd_dispatch(c, op->pipeline, op->set, op->push, op->groups_x, op->groups_y, 1);
}

uint32_t lvk_quantize_max_rows(const lvk_device *d, lvk_quant_format f, lvk_dtype in_dtype, uint32_t cols,
                               uint64_t max_chunk_bytes)
{
    uint32_t code, esize;
    if (!dtype_code(in_dtype, &code, &esize) || cols == 0)
        return 0;
    uint64_t limit = d->info->max_storage_buffer_range;
    if (max_chunk_bytes && max_chunk_bytes < limit)
        limit = max_chunk_bytes;
    uint64_t per_row = (uint64_t)cols * esize + 3; /* room for the last partial word */
    if (lvk_quant_row_bytes(f, cols) > per_row)
        per_row = lvk_quant_row_bytes(f, cols);
    if (lvk_quant_scale_row_bytes(f, cols) > per_row)
        per_row = lvk_quant_scale_row_bytes(f, cols);
    uint64_t rows = limit / per_row;
    /* The shaders index elements and scale words of a chunk with 32-bit integers. */
    uint64_t widest = cols > lvk_quant_scale_row_bytes(f, cols) / 4 ? cols : lvk_quant_scale_row_bytes(f, cols) / 4;
    if (rows > UINT32_MAX / widest)
        rows = UINT32_MAX / widest;
    return rows > UINT32_MAX ? UINT32_MAX : (uint32_t)rows;
}

bool lvk_quantize_check(uint32_t flags, lvk_quant_format f, const char *what, lvk_err *err)
{
    if (flags & 1u)
        return lvk_fail(err, "quantize %s: %s holds NaN or infinite values", lvk_quant_name(f), what);
    if (flags & 2u)
        return lvk_fail(err, "quantize %s: %s has a block of values too large for an fp16 block scale",
                        lvk_quant_name(f), what);
    return true;
}
