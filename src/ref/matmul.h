/* CPU twin of the matrix x matrix kernels (shaders/matmul_*.comp), in fp64. */
#ifndef LVK_REF_MATMUL_H
#define LVK_REF_MATMUL_H
#include <stdint.h>

#include "ref/weight.h"

/* y[t, r] = sum_c w[r, c] * x[t, c] for t < n_tokens, r < w->rows, accumulated in fp64 over the weight's
 * fp32 values (lvk_ref_weight_values: q8/q4 dequantized). x: [n_tokens, cols] fp32; y: [n_tokens, rows]. */
void lvk_ref_matmul(const lvk_ref_weight *w, const float *x, uint32_t n_tokens, double *y);

#endif
