/* CPU twin of shaders/rope_f32.comp, in fp64 with exact angles. */
#ifndef LVK_REF_ROPE_H
#define LVK_REF_ROPE_H
#include <stdint.h>

/* x fp32 [n_tokens, n_heads, head_dim] -> out [same]; token t at position pos0 + t; rotate_half pairs (i, i + head_dim/2),
 * angle (pos0 + t) * theta^(-2i/head_dim). */
void lvk_ref_rope(const float *x, double *out, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, double theta,
                  uint32_t pos0);

#endif
