/* CPU twin of shaders/silu_mul_f32.comp in fp64: out[i] = gate[i] / (1 + exp(-gate[i])) * up[i]. */
#ifndef LVK_REF_SILU_MUL_H
#define LVK_REF_SILU_MUL_H
#include <stddef.h>

void lvk_ref_silu_mul(const float *gate, const float *up, double *out, size_t n);

#endif
