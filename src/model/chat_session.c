#include "model/chat_session.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "model/sequence.h"

bool lvk_chat_session_init(lvk_chat_session *s, lvk_model *m, lvk_chat_template t, lvk_err *err)
{
    memset(s, 0, sizeof *s);
    s->model = m;
    s->tmpl = t;
    lvk_chat_init(&s->chat);
    if (t == LVK_CHAT_TEMPLATE_NONE)
        return lvk_fail(err, "this model has no chat template: give one with --chat-template llama2|llama3");
    const lvk_tokenizer *tok = lvk_model_get_info(m).tok;
    if (!lvk_chat_stop_ids(t, tok, s->stop_ids, &s->n_stop, err) || !lvk_model_new_sequence(m, &s->seq, err))
        return false;
    return true;
}

void lvk_chat_session_free(lvk_chat_session *s)
{
    if (s->model)
        lvk_model_free_sequence(s->model, s->seq);
    lvk_chat_free(&s->chat);
    memset(s, 0, sizeof *s);
}

static void forget_cache(lvk_chat_session *s)
{
    lvk_sequence_reset(s->seq);
    s->n_in_cache = 0;
    s->need_end = false;
}

bool lvk_chat_session_set_system(lvk_chat_session *s, const char *text, size_t len, lvk_err *err)
{
    if (!lvk_chat_set_system(&s->chat, text, len, err))
        return false;
    forget_cache(s);
    return true;
}

void lvk_chat_session_reset(lvk_chat_session *s)
{
    bool system = s->chat.n > 0 && s->chat.messages[0].role == LVK_CHAT_SYSTEM;
    lvk_chat_remove(&s->chat, system ? 1 : 0, s->chat.n);
    forget_cache(s);
}

/* What this turn must run: the end of the last answer if it lacked one, then the rendered new messages. */
static bool turn_input(lvk_chat_session *s, int32_t **ids, size_t *n, lvk_err *err)
{
    const lvk_tokenizer *tok = lvk_model_get_info(s->model).tok;
    int32_t *r = NULL;
    size_t nr = 0;
    if (!lvk_chat_render_from(s->tmpl, tok, s->chat.messages, s->chat.n, s->n_in_cache, true, &r, &nr, err))
        return false;
    size_t extra = s->n_in_cache > 0 && s->need_end ? 1 : 0;
    *ids = lvk_malloc((nr + extra + 1) * sizeof **ids);
    if (!*ids) {
        free(r);
        return lvk_fail(err, "out of host memory");
    }
    if (extra)
        (*ids)[0] = s->stop_ids[0];
    if (nr)
        memcpy(*ids + extra, r, nr * sizeof *r);
    free(r);
    *n = nr + extra;
    return true;
}

typedef struct collector {
    lvk_text_callback on_text;
    void *user;
    bool (*should_stop)(void *user);
    char *buf;
    size_t len, cap;
    bool failed;
} collector;

static void collect(void *user, const char *text, size_t len)
{
    collector *c = user;
    if (c->on_text)
        c->on_text(c->user, text, len);
    if (c->len + len + 1 > c->cap) {
        size_t cap = (c->cap + len + 1) * 2;
        char *nb = lvk_realloc(c->buf, cap);
        if (!nb) {
            c->failed = true;
            return;
        }
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, text, len);
    c->len += len;
    c->buf[c->len] = '\0';
}

static bool collector_should_stop(void *user)
{
    collector *c = user;
    return c->should_stop && c->should_stop(c->user);
}

bool lvk_chat_session_reply(lvk_chat_session *s, const char *user_text, size_t len, const lvk_generate_params *p,
                            lvk_text_callback on_text, void *user, lvk_chat_turn *out, lvk_err *err)
{
    memset(out, 0, sizeof *out);
    if (user_text && !lvk_chat_add(&s->chat, LVK_CHAT_USER, user_text, len, err))
        return false;
    if (s->chat.n == 0 || s->chat.messages[s->chat.n - 1].role != LVK_CHAT_USER) {
        if (user_text)
            lvk_chat_remove(&s->chat, s->chat.n - 1, 1);
        return lvk_fail(err, "the conversation does not end with a user turn: nothing to answer");
    }
    /* Until the input and one token of answer fit: drop the oldest turns, prefill what is left anew. */
    int32_t *ids = NULL;
    size_t n_ids = 0;
    for (;;) {
        if (!turn_input(s, &ids, &n_ids, err))
            goto refuse;
        size_t pending = s->seq->pending >= 0 ? 1 : 0;
        if (lvk_context_fits(s->seq->n_past, pending + n_ids + 1, s->seq->max_seq, err))
            break;
        free(ids);
        ids = NULL;
        /* the conversation is more than the last user turn (and a system prompt): something to drop */
        bool system = s->chat.messages[0].role == LVK_CHAT_SYSTEM;
        if (s->chat.n <= (system ? 2u : 1u) || !lvk_chat_drop_oldest_turn(&s->chat)) {
            lvk_err_prefix(err, "this turn alone does not fit the context");
            goto refuse;
        }
        out->dropped_turns++;
        forget_cache(s);
    }
    out->cached_tokens = s->seq->n_past;
    out->prefill_tokens = n_ids + (s->seq->pending >= 0 ? 1 : 0);

    lvk_generate_params gp = *p;
    gp.stop_ids = s->stop_ids;
    gp.n_stop_ids = s->n_stop;
    collector c = {.on_text = on_text, .user = user, .should_stop = p->should_stop};
    gp.should_stop = collector_should_stop;
    bool ok = lvk_model_generate(s->model, s->seq, ids, n_ids, &gp, collect, &c, &out->g, err);
    free(ids);
    if (!ok || c.failed) {
        free(c.buf);
        free(out->g.ids);
        out->g.ids = NULL;
        forget_cache(s); /* the cache may hold part of the turn: start it over next time */
        if (ok)
            lvk_fail(err, "out of host memory");
        if (user_text) /* the conversation is as before: the turn can be typed again */
            lvk_chat_remove(&s->chat, s->chat.n - 1, 1);
        return false;
    }
    /* The cache ends with the answer; the template wants the first end-of-turn id after it. */
    s->need_end = out->g.stop != LVK_STOP_EOS;
    if (!s->need_end)
        s->seq->pending = s->stop_ids[0];
    if (!lvk_chat_add(&s->chat, LVK_CHAT_ASSISTANT, c.buf ? c.buf : "", c.len, err)) {
        free(c.buf);
        free(out->g.ids);
        out->g.ids = NULL;
        forget_cache(s);
        if (user_text) /* as above: the conversation is as before */
            lvk_chat_remove(&s->chat, s->chat.n - 1, 1);
        return false;
    }
    s->n_in_cache = s->chat.n;
    out->text = c.buf;
    out->text_len = c.len;
    return true;
refuse:
    if (user_text)
        lvk_chat_remove(&s->chat, s->chat.n - 1, 1);
    return false;
}
