#include "model/generate.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"

static bool is_stop(const lvk_model_config *cfg, const lvk_generate_params *p, int32_t id)
{
    const int32_t *ids = p->stop_ids ? p->stop_ids : cfg->eos_ids;
    int n = p->stop_ids ? p->n_stop_ids : cfg->n_eos;
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool lvk_generate(lvk_llama *m, lvk_sequence *s, const lvk_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                  const lvk_generate_params *p, lvk_text_callback on_text, void *user, lvk_generate_result *out,
                  lvk_err *err)
{
    memset(out, 0, sizeof *out);
    const size_t pending = s->pending >= 0 ? 1 : 0, n_input = pending + n_prompt;
    if (n_input == 0)
        return lvk_fail(err, "the prompt is empty (and no BOS was added)");
    if (!lvk_context_fits(s->n_past, n_input + 1, s->max_seq, err)) /* the input and one token to make */
        return false;
    lvk_sampler sampler;
    if (!lvk_sampler_init(&sampler, &p->sampling, (uint32_t)m->cfg.vocab_size, err))
        return false;
    size_t room = s->max_seq - s->n_past - n_input;
    size_t limit = p->n_predict >= 0 && (size_t)p->n_predict < room ? (size_t)p->n_predict : room;
    /* input = the pending token + the prompt; history = prompt + generated, for the repetition penalty */
    int32_t *input = lvk_malloc(n_input * sizeof *input);
    int32_t *history = lvk_malloc((n_prompt + limit + 1) * sizeof *history);
    float *logits = lvk_malloc((size_t)m->cfg.vocab_size * sizeof *logits);
    if (!input || !history || !logits) {
        free(input), free(history), free(logits);
        lvk_sampler_free(&sampler);
        return lvk_fail(err, "out of host memory");
    }
    if (pending)
        input[0] = s->pending;
    if (n_prompt)
        memcpy(input + pending, prompt, n_prompt * sizeof *input);
    if (n_prompt)
        memcpy(history, prompt, n_prompt * sizeof *history);
    size_t n_history = n_prompt;

    uint32_t top_k = 0;
    lvk_llama_output what = lvk_sampler_output(&sampler, (uint32_t)m->cfg.vocab_size, &top_k);
    lvk_llama_result result = {.logits = logits};
    lvk_detokenizer detok;
    lvk_detokenizer_init(&detok, tok);
    char text[LVK_DETOK_MAX_OUT];

    double start = lvk_now();
    bool ok = lvk_llama_forward(m, s, input, (uint32_t)n_input, what, top_k, &result, err);
    if (ok)
        s->pending = -1;
    free(input);
    out->prefill_seconds = lvk_now() - start;
    double decode_start = lvk_now();
    out->stop = limit == room ? LVK_STOP_CONTEXT : LVK_STOP_LIMIT;
    size_t n_made = 0;
    while (ok && n_made < limit) {
        int32_t id = lvk_sampler_pick_result(&sampler, what, &result, history, n_history);
        if (n_made == 0)
            out->first_token_seconds = lvk_now() - start;
        history[n_history++] = id;
        n_made++;
        s->pending = id; /* made but not run: the next call runs it first */
        if (is_stop(&m->cfg, p, id)) {
            out->stop = LVK_STOP_EOS;
            break;
        }
        size_t len = lvk_detokenizer_push(&detok, id, text);
        if (len && on_text)
            on_text(user, text, len);
        if (n_made == limit)
            break;
        if (p->should_stop && p->should_stop(user)) {
            out->stop = LVK_STOP_CANCELLED;
            break;
        }
        ok = lvk_llama_forward(m, s, &id, 1, what, top_k, &result, err);
        if (ok)
            s->pending = -1;
        out->n_decode_steps++;
    }
    size_t len = lvk_detokenizer_flush(&detok, text);
    if (len && on_text)
        on_text(user, text, len);
    out->decode_seconds = lvk_now() - decode_start;
    free(logits);
    lvk_sampler_free(&sampler);
    if (!ok) {
        free(history);
        return false;
    }
    /* hand back the generated part of the history */
    memmove(history, history + n_prompt, n_made * sizeof *history);
    out->ids = history;
    out->n_ids = n_made;
    return true;
}
