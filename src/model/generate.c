#include "model/generate.h"

#include <stdlib.h>
#include <string.h>

#include "base/platform.h"

static bool is_eos(const lvk_model_config *cfg, int32_t id)
{
    for (int i = 0; i < cfg->n_eos; i++)
        if (cfg->eos_ids[i] == id)
            return true;
    return false;
}

bool lvk_generate(lvk_llama *m, const lvk_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                  const lvk_generate_params *p, lvk_text_callback on_text, void *user, lvk_generate_result *out,
                  lvk_err *err)
{
    memset(out, 0, sizeof *out);
    if (n_prompt == 0)
        return lvk_fail(err, "the prompt is empty (and no BOS was added)");
    if (m->n_past + n_prompt >= m->max_seq)
        return lvk_fail(err, "the prompt has %zu tokens but the context holds %u; nothing would be left to generate "
                             "(raise it with -c, up to the model's %d)",
                        n_prompt, m->max_seq - m->n_past, m->cfg.max_seq_len);
    lvk_sampler sampler;
    if (!lvk_sampler_init(&sampler, &p->sampling, (uint32_t)m->cfg.vocab_size, err))
        return false;
    size_t room = m->max_seq - m->n_past - n_prompt;
    size_t limit = p->n_predict >= 0 && (size_t)p->n_predict < room ? (size_t)p->n_predict : room;
    /* history = prompt + generated, for the repetition penalty */
    int32_t *history = malloc((n_prompt + limit + 1) * sizeof *history);
    float *logits = malloc((size_t)m->cfg.vocab_size * sizeof *logits);
    if (!history || !logits) {
        free(history), free(logits);
        lvk_sampler_free(&sampler);
        return lvk_fail(err, "out of host memory");
    }
    memcpy(history, prompt, n_prompt * sizeof *history);
    size_t n_history = n_prompt;

    uint32_t top_k = 0;
    lvk_llama_output what = lvk_sampler_output(&sampler, (uint32_t)m->cfg.vocab_size, &top_k);
    lvk_llama_result result = {.logits = logits};
    lvk_detokenizer detok;
    lvk_detokenizer_init(&detok, tok);
    char text[LVK_DETOK_MAX_OUT];

    double start = lvk_now();
    bool ok = lvk_llama_forward(m, prompt, (uint32_t)n_prompt, what, top_k, &result, err);
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
        if (is_eos(&m->cfg, id)) {
            out->stop = LVK_STOP_EOS;
            break;
        }
        size_t len = lvk_detokenizer_push(&detok, id, text);
        if (len && on_text)
            on_text(user, text, len);
        if (n_made == limit)
            break;
        ok = lvk_llama_forward(m, &id, 1, what, top_k, &result, err);
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
