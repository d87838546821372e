/* llama-vk-server's HTTP side on CivetWeb: OpenAI-compatible endpoints over the engine (server/engine.h).
 *
 *   GET  /health                200 {"status":"ok", "slots_idle", "slots_processing", "requests_queued",
 *                               "tokens_generated"}; 503 {"status":"loading"} until a model is attached
 *   GET  /v1/models             the one model
 *   POST /v1/completions        {"prompt", ...}           stream: SSE "data: {chunk}" ... "data: [DONE]"
 *   POST /v1/chat/completions   {"messages", ...}
 *
 * Handler threads parse (server/request.h), tokenize, check against the context and enqueue; then they
 * wait for the answer or stream it. A stream whose client has gone (a write fails) cancels its job, which
 * frees the slot at the next step. The HTTP server starts before the model loads so /health can say so. */
#ifndef LVK_SERVER_SERVER_H
#define LVK_SERVER_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "io/chat_template.h"
#include "llamavk/llamavk.h"

typedef struct lvk_server_params {
    const char *host;        /* default 127.0.0.1 */
    int port;                /* 0: any free port (lvk_server_port says which) */
    uint32_t parallel;       /* slots */
    uint32_t queue;          /* requests that may wait for a slot */
    const char *api_key;     /* NULL: no key asked */
    size_t max_body;         /* bytes of a request body; 0: 1 MiB */
    const char *chat_template; /* NULL: the config's */
    bool quiet;
} lvk_server_params;

typedef struct lvk_server lvk_server;

bool lvk_server_start(lvk_server **out, const lvk_server_params *p, lvk_err *err);
int lvk_server_port(const lvk_server *s);
/* Serves m from now on (the model stays the caller's; detach by lvk_server_stop before closing it). */
bool lvk_server_attach(lvk_server *s, lvk_model *m, lvk_err *err);
/* Stops listening, ends the requests in flight, stops the engine. Safe on NULL. */
void lvk_server_stop(lvk_server *s);

#endif
