/* The generation loop: prefill the prompt, then sample one token at a time until an end-of-
 * sequence token, the token limit, or the end of the context. Text goes out through the streaming
 * detokenizer as it is made.
 *
 * The sequence stays consistent: the last sampled token is not run (nothing needs its logits yet) but kept as
 * the sequence's pending token, and the next lvk_generate on that sequence runs it first. So a conversation
 * goes on with only its new tokens, and two calls give the same tokens as one long one. */
#ifndef LVK_MODEL_GENERATE_H
#define LVK_MODEL_GENERATE_H
#include "io/tokenizer.h"
#include "model/llama.h"
#include "model/sequence.h"
#include "model/sampler.h"

typedef enum lvk_stop_reason {
    LVK_STOP_EOS,       /* the model ended its answer */
    LVK_STOP_LIMIT,     /* -n tokens were made */
    LVK_STOP_CONTEXT,   /* the context is full */
    LVK_STOP_CANCELLED, /* should_stop said so (Ctrl-C, a client gone) */
} lvk_stop_reason;

typedef struct lvk_generate_params {
    int n_predict; /* < 0: until EOS or the context end */
    lvk_sampler_params sampling;
    const int32_t *stop_ids; /* the ids that end the answer; NULL: the config's eos_ids */
    int n_stop_ids;
    bool (*should_stop)(void *user); /* asked after each token (NULL: never); gets the text callback's user */
} lvk_generate_params;

typedef struct lvk_generate_result {
    int32_t *ids; /* generated ids (malloc'd, caller frees), EOS included if it ended the run */
    size_t n_ids;
    lvk_stop_reason stop;
    size_t n_decode_steps;                  /* one-token forward passes after the prefill */
    double prefill_seconds, decode_seconds; /* decode: everything after the prefill */
    double first_token_seconds;             /* prompt in -> first token out */
} lvk_generate_result;

/* Called with each piece of complete UTF-8 text as it is decoded. */
typedef void (*lvk_text_callback)(void *user, const char *text, size_t len);

/* prompt may be empty when the sequence has a pending token (a continuation). */
bool lvk_generate(lvk_llama *m, lvk_sequence *s, const lvk_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                  const lvk_generate_params *p, lvk_text_callback on_text, void *user, lvk_generate_result *out,
                  lvk_err *err);

#endif
