/* CPU twin of the matrix × vector kernels (shaders/matvec_*.comp), in fp64. */
#ifndef LVK_REF_MATVEC_H
#define LVK_REF_MATVEC_H
#include <stdint.h>

#include "base/dtype.h"

/* y[t * rows + r] = sum_c W[r, c] * x[t * cols + c] for t < n_tokens, r < rows.
 * w: rows packed rows of cols values of dtype (F16, BF16 or F32) as stored in the checkpoint
 * (no row padding); each value is widened exactly, so the reference sees the same rounded
 * weights as the device. Accumulates in fp64. */
void lvk_ref_matvec(lvk_dtype dtype, const void *w, uint32_t rows, uint32_t cols, const float *x, uint32_t n_tokens,
                    double *y);

#endif
