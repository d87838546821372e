/* CPU twin of the matrix x matrix kernels (shaders/matmul_*.comp), in fp64. */
#ifndef LVK_REF_MATMUL_H
#define LVK_REF_MATMUL_H
#include <stdint.h>

#include "base/dtype.h"

/* y[t, r] = sum_c w[r, c] * x[t, c] for t < n_tokens, r < rows, accumulated in fp64.
 * w: rows x cols values of dtype (F16, BF16 or F32), packed row after row as in the checkpoint
 *    (no row padding); x: [n_tokens, cols] fp32; y: [n_tokens, rows]. */
void lvk_ref_matmul(lvk_dtype dtype, const void *w, uint32_t rows, uint32_t cols, const float *x, uint32_t n_tokens,
                    double *y);

#endif
