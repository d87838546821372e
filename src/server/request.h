/* An OpenAI-style request body read into a struct: a pure function (bytes in, a request or an error out)
 * so it can be fuzzed without a model or a socket (tests/fuzz/fuzz_server_request.c).
 *
 *   POST /v1/completions       {"prompt": "...", ...}
 *   POST /v1/chat/completions  {"messages": [{"role", "content"}, ...], ...}
 *   both: "model" (string), "max_tokens" / "max_completion_tokens" (integer >= 1), "temperature" (0..2),
 *         "top_p" (0 < p <= 1), "seed" (integer), "stop" (string or array of up to 4 strings),
 *         "stream" (bool), "n" (1 only). Other keys are ignored, as OpenAI clients send many; null is
 *         "not given".
 * An error carries what OpenAI answers: the HTTP status, its "type", the "param" it is about and a
 * message that says what was expected. */
#ifndef LVK_SERVER_REQUEST_H
#define LVK_SERVER_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "io/chat_messages.h"

#define LVK_REQUEST_MAX_STOP 4
#define LVK_REQUEST_MAX_STOP_LEN 256 /* bytes of one stop string */

typedef enum lvk_request_kind { LVK_REQUEST_COMPLETION, LVK_REQUEST_CHAT } lvk_request_kind;

typedef struct lvk_request {
    lvk_request_kind kind;
    char *model;         /* NULL: not given */
    char *prompt;        /* completions: NUL-terminated, valid UTF-8 */
    size_t prompt_len;
    lvk_chat chat;       /* chat: the messages */
    int max_tokens;      /* 0: not given */
    float temperature;   /* default 1 */
    float top_p;         /* default 1 */
    uint64_t seed;
    bool seed_given;
    bool stream;
    char *stop[LVK_REQUEST_MAX_STOP];
    size_t stop_len[LVK_REQUEST_MAX_STOP];
    int n_stop;
} lvk_request;

typedef struct lvk_request_error {
    int status;          /* HTTP status: 400, 404, 413, 500, 503, ... */
    const char *type;    /* "invalid_request_error", ... */
    const char *code;    /* NULL or "model_not_found", "context_length_exceeded", ... */
    char param[32];      /* "" when about no parameter */
    char message[512];
} lvk_request_error;

/* Parses body[0..len) (need not be NUL-terminated). On failure *out is empty (nothing to free) and
 * *e says why (status 400). */
bool lvk_request_parse(lvk_request_kind kind, const char *body, size_t len, lvk_request *out, lvk_request_error *e);
void lvk_request_free(lvk_request *r); /* safe on a zeroed request */

/* Fills e and returns false. */
bool lvk_request_fail(lvk_request_error *e, int status, const char *type, const char *code, const char *param,
                      const char *fmt, ...) LVK_PRINTF(6, 7);

/* The OpenAI error body {"error": {"message", "type", "param", "code"}} (malloc'd; NULL when out of memory). */
char *lvk_request_error_json(const lvk_request_error *e);

#endif
