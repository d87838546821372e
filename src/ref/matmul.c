#include "ref/matmul.h"

#include <stddef.h>
#include <string.h>

#include "base/half.h"

/* Columns converted to double at a time: the W row block lives on the stack and is reused for
 * every token, so each weight is decoded once per row, not once per (row, token). */
#define REF_MATMUL_BLOCK 1024

static double weight_value(lvk_dtype dtype, const void *w, size_t i)
{
    switch (dtype) {
    case LVK_DTYPE_F16: {
        uint16_t h;
        memcpy(&h, (const uint8_t *)w + 2 * i, 2);
        return lvk_f16_to_f32(h);
    }
    case LVK_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, (const uint8_t *)w + 2 * i, 2);
        return lvk_bf16_to_f32(h);
    }
    default: {
        float f;
        memcpy(&f, (const uint8_t *)w + 4 * i, 4);
        return f;
    }
    }
}

void lvk_ref_matmul(lvk_dtype dtype, const void *w, uint32_t rows, uint32_t cols, const float *x, uint32_t n_tokens,
                    double *y)
{
    double wrow[REF_MATMUL_BLOCK];
    for (uint32_t r = 0; r < rows; r++) {
        for (uint32_t t = 0; t < n_tokens; t++)
            y[(size_t)t * rows + r] = 0;
        for (uint32_t c0 = 0; c0 < cols; c0 += REF_MATMUL_BLOCK) {
            uint32_t n = cols - c0 < REF_MATMUL_BLOCK ? cols - c0 : REF_MATMUL_BLOCK;
            for (uint32_t c = 0; c < n; c++)
                wrow[c] = weight_value(dtype, w, (size_t)r * cols + c0 + c);
            for (uint32_t t = 0; t < n_tokens; t++) {
                const float *xt = x + (size_t)t * cols + c0;
                double sum = 0;
                for (uint32_t c = 0; c < n; c++)
                    sum += wrow[c] * (double)xt[c];
                y[(size_t)t * rows + r] += sum;
            }
        }
    }
}
