#include "ref/argmax.h"

#include <math.h>
#include <stdlib.h>

#include "base/alloc.h"

bool lvk_ref_rank_better(float av, uint32_t ai, float bv, uint32_t bi)
{
    bool a_nan = isnan(av), b_nan = isnan(bv);
    if (a_nan != b_nan)
        return b_nan;
    if (!a_nan && av != bv)
        return av > bv;
    return ai < bi;
}

void lvk_ref_argmax(const float *logits, uint32_t n, uint32_t *index, float *value)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (lvk_ref_rank_better(logits[i], i, logits[best], best))
            best = i;
    *index = best;
    *value = logits[best];
}

typedef struct entry {
    float value;
    uint32_t index;
} entry;

static int compare_rank(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (lvk_ref_rank_better(a->value, a->index, b->value, b->index))
        return -1;
    return lvk_ref_rank_better(b->value, b->index, a->value, a->index) ? 1 : 0;
}

bool lvk_ref_topk(const float *logits, uint32_t n, uint32_t kk, uint32_t *index, float *value)
{
    entry *all = lvk_malloc((size_t)n * sizeof *all);
    if (!all)
        return false;
    for (uint32_t i = 0; i < n; i++)
        all[i] = (entry){logits[i], i};
    qsort(all, n, sizeof *all, compare_rank);
    for (uint32_t i = 0; i < kk && i < n; i++) {
        index[i] = all[i].index;
        value[i] = all[i].value;
    }
    free(all);
    return true;
}
