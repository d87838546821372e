/* CPU twin of shaders/embed.comp: out[t, :] = float(table[ids[t], :]), zeros for ids >= vocab. */
#ifndef LVK_REF_EMBED_H
#define LVK_REF_EMBED_H
#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"

/* table: [vocab, dim] packed rows of dtype (fp32, fp16 or bf16 bits, as in the checkpoint). */
void lvk_ref_embed(const void *table, lvk_dtype dtype, uint32_t vocab, uint32_t dim, const uint32_t *ids,
                   uint32_t n_tokens, double *out);

#endif
