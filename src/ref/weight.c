#include "ref/weight.h"

#include <stddef.h>
#include <string.h>

#include "base/half.h"
#include "ref/quant.h"

static lvk_quant_format quant_format(lvk_dtype dtype) { return dtype == LVK_DTYPE_Q8 ? LVK_QUANT_Q8 : LVK_QUANT_Q4; }

lvk_ref_weight lvk_ref_weight_rows(const lvk_ref_weight *w, uint32_t row0, uint32_t n)
{
    lvk_ref_weight v = *w;
    v.rows = n;
    if (w->dtype == LVK_DTYPE_Q8 || w->dtype == LVK_DTYPE_Q4) {
        lvk_quant_format f = quant_format(w->dtype);
        v.quants += (size_t)row0 * lvk_quant_row_bytes(f, w->cols);
        v.scales += (size_t)row0 * lvk_quant_scale_row_bytes(f, w->cols);
    } else {
        v.values = (const uint8_t *)w->values + (size_t)row0 * w->cols * lvk_dtype_size(w->dtype);
    }
    return v;
}

void lvk_ref_weight_values(const lvk_ref_weight *w, uint32_t r, uint32_t c0, uint32_t n, float *out)
{
    if (w->dtype == LVK_DTYPE_Q8 || w->dtype == LVK_DTYPE_Q4) {
        /* Within one row, blocks are consecutive: the run from block c0 / 32 on is a row of its own. */
        lvk_quant_format f = quant_format(w->dtype);
        uint32_t b0 = c0 / LVK_QUANT_BLOCK;
        const uint8_t *q = w->quants + (size_t)r * lvk_quant_row_bytes(f, w->cols) +
                           (size_t)b0 * (f == LVK_QUANT_Q8 ? 32u : 16u);
        const uint8_t *s = w->scales + (size_t)r * lvk_quant_scale_row_bytes(f, w->cols) +
                           (size_t)b0 * (f == LVK_QUANT_Q8 ? 2u : 4u);
        lvk_ref_dequantize(f, q, s, 1, n, out);
        return;
    }
    const uint8_t *row = (const uint8_t *)w->values + ((size_t)r * w->cols + c0) * lvk_dtype_size(w->dtype);
    for (uint32_t i = 0; i < n; i++) {
        if (w->dtype == LVK_DTYPE_F32) {
            memcpy(&out[i], row + 4 * (size_t)i, 4);
        } else {
            uint16_t h;
            memcpy(&h, row + 2 * (size_t)i, 2);
            out[i] = w->dtype == LVK_DTYPE_F16 ? lvk_f16_to_f32(h) : lvk_bf16_to_f32(h);
        }
    }
}
