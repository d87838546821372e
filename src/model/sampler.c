#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

lvk_sampler_params lvk_sampler_defaults(void)
{
    lvk_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .seed = 0,
    };
    return p;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool lvk_sampler_init(lvk_sampler *s, const lvk_sampler_params *p, uint32_t vocab_size, lvk_err *err)
{
    memset(s, 0, sizeof *s);
    s->p = *p;
    if (!(p->temperature >= 0) || p->top_k < 0 || !(p->top_p > 0 && p->top_p <= 1) || !(p->repeat_penalty > 0))
        return lvk_fail(err, "sampling: need temperature >= 0, top-k >= 0, 0 < top-p <= 1, repeat penalty > 0");
    s->rng = p->seed;
    s->vocab_size = vocab_size;
    s->cand = lvk_malloc(vocab_size * sizeof *s->cand);
    s->prob = lvk_malloc(vocab_size * sizeof *s->prob);
    if (!s->cand || !s->prob) {
        lvk_sampler_free(s);
        return lvk_fail(err, "out of host memory");
    }
    return true;
}

void lvk_sampler_free(lvk_sampler *s)
{
    free(s->cand);
    free(s->prob);
    memset(s, 0, sizeof *s);
}

lvk_llama_output lvk_sampler_output(const lvk_sampler *s, uint32_t vocab_size, uint32_t *top_k)
{
    bool penalty = s->p.repeat_penalty != 1.0f && s->p.repeat_last_n != 0;
    if (s->p.temperature == 0 && !penalty) {
        *top_k = 1;
        return LVK_OUT_ARGMAX;
    }
    uint32_t room = LVK_TOPK_MAX < vocab_size ? LVK_TOPK_MAX : vocab_size;
    if (s->p.top_k > 0 && (uint32_t)s->p.top_k <= room) {
        *top_k = room;
        return LVK_OUT_TOPK;
    }
    *top_k = vocab_size;
    return LVK_OUT_LOGITS;
}

static bool seen_recently(const lvk_sampler *s, uint32_t id, const int32_t *history, size_t n_history)
{
    size_t window = s->p.repeat_last_n < 0 ? n_history : (size_t)s->p.repeat_last_n;
    size_t from = n_history > window ? n_history - window : 0;
    for (size_t i = from; i < n_history; i++)
        if ((uint32_t)history[i] == id)
            return true;
    return false;
}

/* Largest logit first; ties go to the lower id, as the GPU's argmax and top-k do. */
static int by_logit_desc(const void *a, const void *b)
{
    const lvk_candidate *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : 1;
}

int32_t lvk_sampler_pick(lvk_sampler *s, lvk_candidate *cand, uint32_t n, const int32_t *history, size_t n_history)
{
    if (n == 0)
        return 0;
    if (s->p.repeat_penalty != 1.0f && s->p.repeat_last_n != 0) {
        for (uint32_t i = 0; i < n; i++)
            if (seen_recently(s, cand[i].id, history, n_history))
                cand[i].logit = cand[i].logit > 0 ? cand[i].logit / s->p.repeat_penalty
                                                  : cand[i].logit * s->p.repeat_penalty;
    }
    qsort(cand, n, sizeof *cand, by_logit_desc);
    if (s->p.top_k > 0 && (uint32_t)s->p.top_k < n)
        n = (uint32_t)s->p.top_k;
    if (s->p.temperature == 0 || n == 1)
        return (int32_t)cand[0].id;

    /* softmax with temperature over the sorted candidates, then the top-p cut */
    double *prob = s->prob, sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        prob[i] = exp(((double)cand[i].logit - (double)cand[0].logit) / s->p.temperature);
        sum += prob[i];
    }
    uint32_t keep = n;
    double cum = 0, kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        cum += prob[i] / sum;
        if (cum >= s->p.top_p) {
            keep = i + 1;
            break;
        }
    }
    for (uint32_t i = 0; i < keep; i++)
        kept += prob[i];
    double r = (double)(splitmix64(&s->rng) >> 11) * (1.0 / 9007199254740992.0) * kept;
    for (uint32_t i = 0; i < keep; i++) {
        r -= prob[i];
        if (r < 0)
            return (int32_t)cand[i].id;
    }
    return (int32_t)cand[keep - 1].id;
}

int32_t lvk_sampler_pick_result(lvk_sampler *s, lvk_llama_output what, const lvk_llama_result *r,
                                const int32_t *history, size_t n_history)
{
    if (what == LVK_OUT_ARGMAX)
        return (int32_t)r->argmax;
    uint32_t n = what == LVK_OUT_TOPK ? r->n_top : s->vocab_size;
    for (uint32_t i = 0; i < n; i++) {
        s->cand[i].id = what == LVK_OUT_TOPK ? r->top_idx[i] : i;
        s->cand[i].logit = what == LVK_OUT_TOPK ? r->top_val[i] : r->logits[i];
    }
    return lvk_sampler_pick(s, s->cand, n, history, n_history);
}
