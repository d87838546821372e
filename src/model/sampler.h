/* Choosing the next token from the logits: repetition penalty, temperature, top-k, top-p, and a
 * seeded random generator so a run can be repeated. Greedy (temperature 0) takes the largest. */
#ifndef LVK_MODEL_SAMPLER_H
#define LVK_MODEL_SAMPLER_H
#include <stddef.h>
#include <stdint.h>

#include "model/llama.h"

typedef struct lvk_sampler_params {
    float temperature;    /* 0 = greedy */
    int top_k;            /* 0 = the whole vocabulary */
    float top_p;          /* 1 = off */
    float repeat_penalty; /* 1 = off; > 1 discourages tokens seen in the last repeat_last_n */
    int repeat_last_n;
    uint64_t seed;
} lvk_sampler_params;

lvk_sampler_params lvk_sampler_defaults(void);

typedef struct lvk_candidate {
    uint32_t id;
    float logit;
} lvk_candidate;

typedef struct lvk_sampler {
    lvk_sampler_params p;
    uint64_t rng;
    lvk_candidate *cand; /* workspace: vocab_size entries */
    double *prob;        /* workspace: vocab_size entries */
    uint32_t vocab_size;
} lvk_sampler;

bool lvk_sampler_init(lvk_sampler *s, const lvk_sampler_params *p, uint32_t vocab_size, lvk_err *err);
void lvk_sampler_free(lvk_sampler *s);

/* What the model must read back for these parameters: the argmax alone (greedy without penalty),
 * the top 256 (a top-k within that; the spare room lets the penalty reorder), or every logit. */
lvk_llama_output lvk_sampler_output(const lvk_sampler *s, uint32_t vocab_size, uint32_t *top_k);

/* Picks a token from n candidates, given the tokens so far; the candidates are penalized and
 * sorted in place. */
int32_t lvk_sampler_pick(lvk_sampler *s, lvk_candidate *cand, uint32_t n, const int32_t *history, size_t n_history);

/* Picks from a forward's result (any of the three outputs). */
int32_t lvk_sampler_pick_result(lvk_sampler *s, lvk_llama_output what, const lvk_llama_result *r,
                                const int32_t *history, size_t n_history);

#endif
