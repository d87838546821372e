/* CPU twins of shaders/argmax.comp and shaders/topk.comp. Ranking as in ops/argmax.h: larger value first,
 * ties by lower index, NaN below every number. */
#ifndef LVK_REF_ARGMAX_H
#define LVK_REF_ARGMAX_H
#include <stdbool.h>
#include <stdint.h>

/* Does (av, ai) rank before (bv, bi)? */
bool lvk_ref_rank_better(float av, uint32_t ai, float bv, uint32_t bi);
void lvk_ref_argmax(const float *logits, uint32_t n, uint32_t *index, float *value);
/* The best kk (<= n) entries, best first. Returns false when out of memory. */
bool lvk_ref_topk(const float *logits, uint32_t n, uint32_t kk, uint32_t *index, float *value);

#endif
