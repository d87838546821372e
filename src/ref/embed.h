/* CPU twin of shaders/embed.comp and embed_quant.comp: out[t, :] = table[ids[t], :] as fp32 (q8/q4
 * dequantized), zeros for ids >= vocab. */
#ifndef LVK_REF_EMBED_H
#define LVK_REF_EMBED_H
#include <stddef.h>
#include <stdint.h>

#include "ref/weight.h"

/* table: [vocab = rows, dim = cols]; out: [n_tokens, dim]. */
void lvk_ref_embed(const lvk_ref_weight *table, const uint32_t *ids, uint32_t n_tokens, double *out);

#endif
