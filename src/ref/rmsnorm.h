/* CPU twin of shaders/rmsnorm_*.comp in fp64: out[t, i] = x[t, i] / sqrt(mean_i(x[t, i]^2) + eps) * w[i].
 * w holds the weight as the GPU sees it (fp16/bf16 already widened to float). */
#ifndef LVK_REF_RMSNORM_H
#define LVK_REF_RMSNORM_H
#include <stdint.h>

void lvk_ref_rmsnorm(const float *x, const float *w, uint32_t dim, uint32_t n_tokens, float eps, double *out);

#endif
