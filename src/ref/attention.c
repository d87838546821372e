#include "ref/attention.h"

#include <math.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/half.h"

void lvk_ref_kv_store(const float *src, uint16_t *cache, uint32_t n_tokens, uint32_t row, uint32_t pos0)
{
    for (size_t i = 0; i < (size_t)n_tokens * row; i++)
        cache[(size_t)pos0 * row + i] = lvk_f32_to_f16(src[i]);
}

void lvk_ref_attention(const float *q, const uint16_t *k_cache, const uint16_t *v_cache, double *out, uint32_t n_tokens,
                       uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos0)
{
    uint32_t group = n_heads / n_kv_heads;
    size_t row = (size_t)n_kv_heads * head_dim;
    double scale = 1.0 / sqrt((double)head_dim);
    double *score = lvk_malloc(((size_t)pos0 + n_tokens) * sizeof(double));
    float *f16 = lvk_malloc(65536 * sizeof(float)); /* every fp16 value: the cache is read ~n_heads times over */
    if (!score || !f16) {
        free(score);
        free(f16);
        return;
    }
    for (uint32_t i = 0; i < 65536; i++)
        f16[i] = lvk_f16_to_f32((uint16_t)i);
    for (uint32_t t = 0; t < n_tokens; t++) {
        size_t n_keys = (size_t)pos0 + t + 1;
        for (uint32_t h = 0; h < n_heads; h++) {
            const float *qh = q + ((size_t)t * n_heads + h) * head_dim;
            size_t kv_off = (size_t)(h / group) * head_dim;
            double m = -INFINITY;
            for (size_t j = 0; j < n_keys; j++) {
                const uint16_t *kj = k_cache + j * row + kv_off;
                double s = 0;
                for (uint32_t d = 0; d < head_dim; d++)
                    s += (double)qh[d] * f16[kj[d]];
                score[j] = s * scale;
                if (score[j] > m)
                    m = score[j];
            }
            double l = 0;
            for (size_t j = 0; j < n_keys; j++) {
                score[j] = exp(score[j] - m);
                l += score[j];
            }
            double *oh = out + ((size_t)t * n_heads + h) * head_dim;
            for (uint32_t d = 0; d < head_dim; d++)
                oh[d] = 0;
            for (size_t j = 0; j < n_keys; j++) {
                const uint16_t *vj = v_cache + j * row + kv_off;
                double p = score[j] / l;
                for (uint32_t d = 0; d < head_dim; d++)
                    oh[d] += p * f16[vj[d]];
            }
        }
    }
    free(score);
    free(f16);
}
