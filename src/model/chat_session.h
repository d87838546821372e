/* A chat: a conversation kept in one sequence's KV cache, so each turn prefills only its new tokens.
 *
 * Each turn: the user's message is added, the ids the cache lacks are rendered with the chat template
 * (model/../io/chat_template.h), generation stops at the template's end-of-turn ids, and the answer's text
 * is added to the conversation. When the context is full, the oldest turns go (a system prompt stays), the
 * rest is prefilled anew, and the turn goes on. */
#ifndef LVK_MODEL_CHAT_SESSION_H
#define LVK_MODEL_CHAT_SESSION_H
#include "io/chat_messages.h"
#include "io/chat_template.h"
#include "llamavk/llamavk.h"

typedef struct lvk_chat_session {
    lvk_model *model;
    lvk_sequence *seq;
    lvk_chat_template tmpl;
    lvk_chat chat;     /* the conversation so far */
    size_t n_in_cache; /* messages[0..n_in_cache) are in the sequence (0: nothing is) */
    bool need_end;     /* the last answer ended without its end-of-turn id: it goes in first next turn */
    int32_t stop_ids[LVK_CHAT_MAX_STOP];
    int n_stop;
} lvk_chat_session;

typedef struct lvk_chat_turn {
    lvk_generate_result g; /* the answer's ids (caller frees g.ids), stop reason, timings */
    char *text;            /* the answer's text, malloc'd (caller frees) */
    size_t text_len;
    size_t prefill_tokens; /* tokens this turn ran before the answer */
    size_t cached_tokens;  /* tokens the sequence already held */
    size_t dropped_turns;  /* old turns removed to fit the context */
} lvk_chat_turn;

bool lvk_chat_session_init(lvk_chat_session *s, lvk_model *m, lvk_chat_template t, lvk_err *err);
void lvk_chat_session_free(lvk_chat_session *s);
/* The system prompt (NULL: none); the conversation is prefilled anew next turn. */
bool lvk_chat_session_set_system(lvk_chat_session *s, const char *text, size_t len, lvk_err *err);
/* Forgets every turn (the system prompt stays). */
void lvk_chat_session_reset(lvk_chat_session *s);
/* Adds the user's text as a turn and answers it. With user_text NULL the conversation's last message must
 * already be a user turn (a conversation read from a file). On error the conversation is as before. */
bool lvk_chat_session_reply(lvk_chat_session *s, const char *user_text, size_t len, const lvk_generate_params *p,
                            lvk_text_callback on_text, void *user, lvk_chat_turn *out, lvk_err *err);

#endif
