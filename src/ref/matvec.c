#include "ref/matvec.h"

#include <stddef.h>
#include <string.h>

#include "base/half.h"
#include "ref/quant.h"

/* A weight as the twin reads it: packed values of a checkpoint dtype, or q8/q4 blocks. */
typedef struct ref_weight {
    lvk_dtype dtype;
    const void *values;                  /* F16, BF16, F32 */
    const uint8_t *quants, *scales;      /* Q8, Q4 */
    uint32_t cols;
} ref_weight;

/* The weight at row r, column c, widened exactly to fp64 (a dequantized weight is an fp32 value). */
static double weight_at(const ref_weight *w, uint32_t r, uint32_t c)
{
    size_t i = (size_t)r * w->cols + c;
    switch (w->dtype) {
    case LVK_DTYPE_F16: return lvk_f16_to_f32(((const uint16_t *)w->values)[i]);
    case LVK_DTYPE_BF16: return lvk_bf16_to_f32(((const uint16_t *)w->values)[i]);
    case LVK_DTYPE_Q8: return lvk_ref_quant_weight(LVK_QUANT_Q8, w->quants, w->scales, w->cols, r, c);
    case LVK_DTYPE_Q4: return lvk_ref_quant_weight(LVK_QUANT_Q4, w->quants, w->scales, w->cols, r, c);
    default: {
        float f;
        memcpy(&f, (const uint8_t *)w->values + i * sizeof f, sizeof f);
        return f;
    }
    }
}

static void matvec(const ref_weight *w, uint32_t rows, const float *x, uint32_t n_tokens, double *y)
{
    for (uint32_t t = 0; t < n_tokens; t++)
        for (uint32_t r = 0; r < rows; r++) {
            double sum = 0;
            const float *xt = x + (size_t)t * w->cols;
            for (uint32_t c = 0; c < w->cols; c++)
                sum += weight_at(w, r, c) * (double)xt[c];
            y[(size_t)t * rows + r] = sum;
        }
}

void lvk_ref_matvec(lvk_dtype dtype, const void *w, uint32_t rows, uint32_t cols, const float *x, uint32_t n_tokens,
                    double *y)
{
    ref_weight rw = {.dtype = dtype, .values = w, .cols = cols};
    matvec(&rw, rows, x, n_tokens, y);
}

void lvk_ref_matvec_quant(lvk_quant_format f, const uint8_t *quants, const uint8_t *scales, uint32_t rows,
                          uint32_t cols, const float *x, uint32_t n_tokens, double *y)
{
    ref_weight rw = {.dtype = f == LVK_QUANT_Q8 ? LVK_DTYPE_Q8 : LVK_DTYPE_Q4, .quants = quants, .scales = scales,
                     .cols = cols};
    matvec(&rw, rows, x, n_tokens, y);
}
