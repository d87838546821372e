#include "ref/embed.h"

/* Columns decoded at a time (a multiple of the q8/q4 block). */
#define REF_EMBED_BLOCK 1024

void lvk_ref_embed(const lvk_ref_weight *table, const uint32_t *ids, uint32_t n_tokens, double *out)
{
    const uint32_t dim = table->cols;
    float v[REF_EMBED_BLOCK];
    for (uint32_t t = 0; t < n_tokens; t++) {
        double *o = out + (size_t)t * dim;
        for (uint32_t c0 = 0; c0 < dim; c0 += REF_EMBED_BLOCK) {
            uint32_t n = dim - c0 < REF_EMBED_BLOCK ? dim - c0 : REF_EMBED_BLOCK;
            if (ids[t] < table->rows)
                lvk_ref_weight_values(table, ids[t], c0, n, v);
            for (uint32_t i = 0; i < n; i++)
                o[c0 + i] = ids[t] < table->rows ? v[i] : 0.0;
        }
    }
}
