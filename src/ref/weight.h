/* A weight as the CPU twins read it: the checkpoint's packed values (fp16, bf16, fp32) or the q8/q4 blocks
 * lvk_ref_quantize makes (ops/quant_format.h), and its values as fp32, exactly what the kernels decode. */
#ifndef LVK_REF_WEIGHT_H
#define LVK_REF_WEIGHT_H
#include <stdint.h>

#include "base/dtype.h"

typedef struct lvk_ref_weight {
    lvk_dtype dtype;
    uint32_t rows, cols;
    const void *values;    /* F16/BF16/F32: rows x cols, packed row after row (no padding) */
    const uint8_t *quants; /* Q8/Q4: rows x lvk_quant_row_bytes */
    const uint8_t *scales; /* Q8/Q4: rows x lvk_quant_scale_row_bytes */
} lvk_ref_weight;

/* Rows [row0, row0 + n) of w, as a weight of their own (no copy). */
lvk_ref_weight lvk_ref_weight_rows(const lvk_ref_weight *w, uint32_t row0, uint32_t n);

/* out[i] = w[r, c0 + i] for i < n, as fp32: the stored value, or lvk_ref_dequantize's for q8/q4 (then c0
 * must be a multiple of LVK_QUANT_BLOCK). Both are exact in fp32. */
void lvk_ref_weight_values(const lvk_ref_weight *w, uint32_t r, uint32_t c0, uint32_t n, float *out);

#endif
