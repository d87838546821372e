#include "ref/matvec.h"

#include <stddef.h>
#include <string.h>

#include "base/half.h"

/* The weight at index i of the packed matrix, widened exactly to fp64. */
static double weight_at(lvk_dtype dtype, const void *w, size_t i)
{
    if (dtype == LVK_DTYPE_F16)
        return lvk_f16_to_f32(((const uint16_t *)w)[i]);
    if (dtype == LVK_DTYPE_BF16)
        return lvk_bf16_to_f32(((const uint16_t *)w)[i]);
    float f;
    memcpy(&f, (const uint8_t *)w + i * sizeof f, sizeof f);
    return f;
}

void lvk_ref_matvec(lvk_dtype dtype, const void *w, uint32_t rows, uint32_t cols, const float *x, uint32_t n_tokens,
                    double *y)
{
    for (uint32_t t = 0; t < n_tokens; t++)
        for (uint32_t r = 0; r < rows; r++) {
            double sum = 0;
            const float *xt = x + (size_t)t * cols;
            for (uint32_t c = 0; c < cols; c++)
                sum += weight_at(dtype, w, (size_t)r * cols + c) * (double)xt[c];
            y[(size_t)t * rows + r] = sum;
        }
}
