#include "ref/rope.h"

#include <math.h>
#include <stddef.h>

void lvk_ref_rope(const float *x, double *out, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, double theta,
                  uint32_t pos0)
{
    uint32_t half = head_dim / 2;
    for (uint32_t t = 0; t < n_tokens; t++) {
        double pos = (double)pos0 + t;
        for (uint32_t i = 0; i < half; i++) {
            double angle = pos * pow(theta, -2.0 * (double)i / (double)head_dim);
            double c = cos(angle), s = sin(angle);
            for (uint32_t h = 0; h < n_heads; h++) {
                size_t base = ((size_t)t * n_heads + h) * head_dim + i;
                double x0 = x[base], x1 = x[base + half];
                out[base] = x0 * c - x1 * s;
                out[base + half] = x1 * c + x0 * s;
            }
        }
    }
}
