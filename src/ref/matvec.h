/* CPU twin of the matrix × vector kernels (shaders/matvec_*.comp), in fp64. */
#ifndef LVK_REF_MATVEC_H
#define LVK_REF_MATVEC_H
#include <stdint.h>

#include "base/dtype.h"
#include "ops/quant_format.h"

/* y[t * rows + r] = sum_c W[r, c] * x[t * cols + c] for t < n_tokens, r < rows.
 * w: rows packed rows of cols values of dtype (F16, BF16 or F32) as stored in the checkpoint
 * (no row padding); each value is widened exactly, so the reference sees the same rounded
 * weights as the device. Accumulates in fp64. */
void lvk_ref_matvec(lvk_dtype dtype, const void *w, uint32_t rows, uint32_t cols, const float *x, uint32_t n_tokens,
                    double *y);

/* The same for a q8/q4 weight in the layout of ops/quant_format.h (as lvk_ref_quantize makes it): over
 * the weights the layout stores (lvk_ref_quant_weight, exact fp32 values), in fp64. */
void lvk_ref_matvec_quant(lvk_quant_format f, const uint8_t *quants, const uint8_t *scales, uint32_t rows,
                          uint32_t cols, const float *x, uint32_t n_tokens, double *y);

#endif
