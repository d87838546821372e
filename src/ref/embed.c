#include "ref/embed.h"

#include <string.h>

#include "base/half.h"

void lvk_ref_embed(const void *table, lvk_dtype dtype, uint32_t vocab, uint32_t dim, const uint32_t *ids,
                   uint32_t n_tokens, double *out)
{
    for (uint32_t t = 0; t < n_tokens; t++) {
        double *o = out + (size_t)t * dim;
        if (ids[t] >= vocab) {
            for (uint32_t i = 0; i < dim; i++)
                o[i] = 0.0;
            continue;
        }
        size_t row = (size_t)ids[t] * dim;
        for (uint32_t i = 0; i < dim; i++) {
            if (dtype == LVK_DTYPE_F32) {
                float v;
                memcpy(&v, (const char *)table + (row + i) * sizeof(float), sizeof v);
                o[i] = v;
            } else {
                uint16_t h = ((const uint16_t *)table)[row + i];
                o[i] = dtype == LVK_DTYPE_F16 ? lvk_f16_to_f32(h) : lvk_bf16_to_f32(h);
            }
        }
    }
}
