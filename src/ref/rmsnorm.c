#include "ref/rmsnorm.h"

#include <math.h>
#include <stddef.h>

void lvk_ref_rmsnorm(const float *x, const float *w, uint32_t dim, uint32_t n_tokens, float eps, double *out)
{
    for (uint32_t t = 0; t < n_tokens; t++) {
        const float *xt = x + (size_t)t * dim;
        double sum_sq = 0;
        for (uint32_t i = 0; i < dim; i++)
            sum_sq += (double)xt[i] * xt[i];
        double scale = 1.0 / sqrt(sum_sq / dim + (double)eps);
        for (uint32_t i = 0; i < dim; i++)
            out[(size_t)t * dim + i] = (double)xt[i] * scale * (double)w[i];
    }
}
