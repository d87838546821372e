/* CPU twin of shaders/matvec_q8_texel.comp, in fp64. */
#ifndef LVK_REF_MATVEC_Q8_H
#define LVK_REF_MATVEC_Q8_H
#include <stdint.h>

/* y[r] = sum_{c < cols} d[r, c / 32] * q[r, c] * x[c]: quants and scales in the q8 layout of ops/quant_format.h
 * (each weight d * q is exact in fp32 and fp64), accumulated in fp64. */
void lvk_ref_matvec_q8(const uint8_t *quants, const uint8_t *scales, uint32_t rows, uint32_t cols, const float *x,
                       double *y);

#endif
