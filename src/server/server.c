#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <civetweb.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/thread.h"
#include "server/engine.h"
#include "server/request.h"

struct lvk_server {
    lvk_server_params p;
    struct mg_context *ctx;
    int port;
    lvk_mutex mu; /* model, engine, ready, next_id */
    lvk_model *model;
    lvk_engine *engine;
    lvk_chat_template tmpl;
    char model_name[64];
    uint32_t context;
    bool ready;
    uint64_t next_id;
};

/* ---- responses */

/* Writes all of text; false when the client is gone. (Not mg_printf: on Windows its formatting is the C
 * runtime's, without %zu.) */
static bool put(struct mg_connection *c, const char *text)
{
    size_t len = strlen(text);
    return len == 0 || mg_write(c, text, len) == (int)len;
}

static bool put_event(struct mg_connection *c, const char *json)
{
    return put(c, "data: ") && put(c, json) && put(c, "\n\n");
}

static void send_body(struct mg_connection *c, int status, const char *type, const char *body, size_t len,
                      const char *extra_headers)
{
    char head[512];
    snprintf(head, sizeof head,
             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
             mg_get_response_code_text(c, status), type, len, extra_headers ? extra_headers : "");
    put(c, head);
    if (len)
        mg_write(c, body, len);
}

static int send_json(struct mg_connection *c, int status, cJSON *root, const char *extra_headers)
{
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        static const char oom[] = "{\"error\":{\"message\":\"out of host memory\",\"type\":\"server_error\","
                                  "\"param\":null,\"code\":null}}";
        send_body(c, 500, "application/json", oom, sizeof oom - 1, NULL);
        return 500;
    }
    send_body(c, status, "application/json", text, strlen(text), extra_headers);
    cJSON_free(text);
    return status;
}

static int send_error(struct mg_connection *c, const lvk_request_error *e, const char *extra_headers)
{
    char *text = lvk_request_error_json(e);
    const char *body = text ? text : "{\"error\":{\"message\":\"out of host memory\"}}";
    send_body(c, e->status, "application/json", body, strlen(body), extra_headers);
    free(text);
    return e->status;
}

static int fail(struct mg_connection *c, int status, const char *type, const char *code, const char *param,
                const char *extra_headers, const char *msg)
{
    lvk_request_error e;
    lvk_request_fail(&e, status, type, code, param, "%s", msg);
    return send_error(c, &e, extra_headers);
}

/* ---- checks every /v1 request goes through */

/* Equal strings, in a time that depends on the length of `secret` only (not on where they differ). */
static bool same_secret(const char *given, const char *secret)
{
    size_t ng = strlen(given), ns = strlen(secret);
    volatile unsigned char diff = (unsigned char)(ng != ns);
    for (size_t i = 0; i < ns; i++)
        diff |= (unsigned char)((i < ng ? (unsigned char)given[i] : 0) ^ (unsigned char)secret[i]);
    return diff == 0;
}

static bool authorized(lvk_server *s, struct mg_connection *c)
{
    if (!s->p.api_key)
        return true;
    const char *h = mg_get_header(c, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    return same_secret(h + 7, s->p.api_key);
}

/* Common gate: loading, method, key. Returns 0 to go on, else the status already sent. */
static int gate(lvk_server *s, struct mg_connection *c, const char *method, bool *ready)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    lvk_mutex_lock(&s->mu);
    *ready = s->ready;
    lvk_mutex_unlock(&s->mu);
    if (strcmp(ri->request_method, method) != 0) {
        char allow[64];
        snprintf(allow, sizeof allow, "Allow: %s\r\n", method);
        return fail(c, 405, "invalid_request_error", "method_not_allowed", NULL, allow,
                    "this endpoint takes a different HTTP method");
    }
    if (!authorized(s, c))
        return fail(c, 401, "invalid_request_error", "invalid_api_key", NULL, "WWW-Authenticate: Bearer\r\n",
                    "a missing or wrong API key: send the header 'Authorization: Bearer KEY'");
    if (!*ready)
        return fail(c, 503, "server_error", "loading", NULL, "Retry-After: 5\r\n", "the model is still loading");
    return 0;
}

/* The body, at most max_body bytes (413 beyond). Returns 0 and a malloc'd *body, else the status sent. */
static int read_body(lvk_server *s, struct mg_connection *c, char **body, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    size_t limit = s->p.max_body;
    *body = NULL;
    *len = 0;
    char msg[128];
    snprintf(msg, sizeof msg, "the request body is larger than the server's limit of %zu bytes", limit);
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > limit)
        return fail(c, 413, "invalid_request_error", "request_too_large", NULL, NULL, msg);
    char *buf = lvk_malloc(limit + 1);
    if (!buf)
        return fail(c, 500, "server_error", NULL, NULL, NULL, "out of host memory");
    size_t n = 0;
    for (;;) {
        int r = mg_read(c, buf + n, limit + 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n > limit) {
            free(buf);
            return fail(c, 413, "invalid_request_error", "request_too_large", NULL, NULL, msg);
        }
    }
    buf[n] = '\0';
    *body = buf;
    *len = n;
    return 0;
}

/* ---- /health and /v1/models */

static int on_health(struct mg_connection *c, void *cbdata)
{
    lvk_server *s = cbdata;
    lvk_mutex_lock(&s->mu);
    bool ready = s->ready;
    lvk_mutex_unlock(&s->mu);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", ready ? "ok" : "loading");
    if (ready) {
        /* what a load balancer (and the tests) want to know: is there room here */
        lvk_engine_stats st = lvk_engine_get_stats(s->engine);
        cJSON_AddNumberToObject(root, "slots_idle", st.slots - st.active);
        cJSON_AddNumberToObject(root, "slots_processing", st.active);
        cJSON_AddNumberToObject(root, "requests_queued", st.queued);
        cJSON_AddNumberToObject(root, "tokens_generated", (double)st.tokens);
    }
    return send_json(c, ready ? 200 : 503, root, ready ? NULL : "Retry-After: 5\r\n");
}

/* cJSON_AddItemToArray, freeing the item when it cannot be added (the array is NULL: out of host memory) */
static void add_item(cJSON *array, cJSON *item)
{
    if (!cJSON_AddItemToArray(array, item))
        cJSON_Delete(item);
}

static int on_models(struct mg_connection *c, void *cbdata)
{
    lvk_server *s = cbdata;
    bool ready;
    int rc = gate(s, c, "GET", &ready);
    if (rc)
        return rc;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", s->model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "llama-vk");
    cJSON_AddNumberToObject(m, "context_length", s->context);
    add_item(data, m);
    return send_json(c, 200, root, NULL);
}

/* ---- the completions */

static const char *finish_name(lvk_finish f) { return f == LVK_FINISH_LENGTH ? "length" : "stop"; }

/* The job for a parsed request: prompt ids, checked against the context, and the sampling. */
static bool make_job(lvk_server *s, const lvk_request *r, uint64_t id, lvk_job *j, lvk_request_error *e)
{
    memset(j, 0, sizeof *j);
    lvk_model_info info = lvk_model_get_info(s->model);
    lvk_err err;
    int32_t *ids = NULL;
    size_t n = 0;
    if (r->kind == LVK_REQUEST_CHAT) {
        if (s->tmpl == LVK_CHAT_TEMPLATE_NONE)
            return lvk_request_fail(e, 400, "invalid_request_error", "no_chat_template", "messages",
                                    "the model '%s' has no chat template (a base model): use /v1/completions, "
                                    "or start the server with --chat-template llama2|llama3",
                                    s->model_name);
        if (!lvk_chat_render(s->tmpl, info.tok, r->chat.messages, r->chat.n, true, &ids, &n, &err))
            return lvk_request_fail(e, 400, "invalid_request_error", NULL, "messages", "%s", err.msg);
        if (!lvk_chat_stop_ids(s->tmpl, info.tok, j->stop_ids, &j->n_stop_ids, &err)) {
            free(ids);
            return lvk_request_fail(e, 500, "server_error", NULL, NULL, "%s", err.msg);
        }
    } else {
        if (!lvk_tokenizer_encode(info.tok, r->prompt, r->prompt_len, LVK_ENCODE_BOS, &ids, &n, &err))
            return lvk_request_fail(e, 400, "invalid_request_error", NULL, "prompt", "%s", err.msg);
        for (int i = 0; i < info.cfg->n_eos && i < (int)(sizeof j->stop_ids / sizeof *j->stop_ids); i++)
            j->stop_ids[j->n_stop_ids++] = info.cfg->eos_ids[i];
    }
    if (n == 0) {
        free(ids);
        return lvk_request_fail(e, 400, "invalid_request_error", NULL, r->kind == LVK_REQUEST_CHAT ? "messages" : "prompt",
                                "the prompt is empty");
    }
    /* the prompt and at least one token of answer */
    if ((uint64_t)n + 1 > info.context) {
        free(ids);
        return lvk_request_fail(e, 400, "invalid_request_error", "context_length_exceeded",
                                r->kind == LVK_REQUEST_CHAT ? "messages" : "prompt",
                                "the prompt is %zu tokens long; this server's context is %u tokens (the prompt "
                                "and at least 1 token of answer must fit)",
                                n, info.context);
    }
    uint32_t room = info.context - (uint32_t)n;
    j->prompt = ids;
    j->n_prompt = (uint32_t)n;
    /* no max_tokens, or more than fits: until the context is full (finish_reason "length") */
    j->max_tokens = r->max_tokens > 0 && (uint32_t)r->max_tokens < room ? (uint32_t)r->max_tokens : room;
    j->sampling = lvk_sampler_defaults();
    j->sampling.temperature = r->temperature;
    j->sampling.top_p = r->top_p;
    j->sampling.top_k = 0;
    j->sampling.repeat_penalty = 1.0f;
    j->sampling.seed = r->seed_given ? r->seed : (uint64_t)(lvk_now() * 1e6) ^ (id * 0x9E3779B97F4A7C15ull);
    for (int i = 0; i < r->n_stop; i++) {
        j->stop[i] = r->stop[i];
        j->stop_len[i] = r->stop_len[i];
    }
    j->n_stop = r->n_stop;
    return true;
}

/* The fields every answer and chunk carries. */
static cJSON *answer_head(lvk_server *s, const lvk_request *r, uint64_t id, bool chunk)
{
    cJSON *root = cJSON_CreateObject();
    char sid[48];
    snprintf(sid, sizeof sid, "%s-%llu", r->kind == LVK_REQUEST_CHAT ? "chatcmpl" : "cmpl", (unsigned long long)id);
    cJSON_AddStringToObject(root, "id", sid);
    cJSON_AddStringToObject(root, "object", r->kind == LVK_REQUEST_CHAT
                                                ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                : "text_completion");
    cJSON_AddNumberToObject(root, "created", (double)time(NULL));
    cJSON_AddStringToObject(root, "model", s->model_name);
    return root;
}

/* One choice: the text (NULL: none) and the finish reason (NULL: not yet). */
static cJSON *choice(const lvk_request *r, const char *text, size_t len, const char *finish, bool chunk,
                     bool first)
{
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddNumberToObject(ch, "index", 0);
    cJSON *str = cJSON_CreateString(text ? text : "");
    (void)len;
    if (r->kind == LVK_REQUEST_CHAT) {
        cJSON *m = cJSON_AddObjectToObject(ch, chunk ? "delta" : "message");
        if (!chunk || first)
            cJSON_AddStringToObject(m, "role", "assistant");
        if ((text || !chunk) && cJSON_AddItemToObject(m, "content", str))
            str = NULL; /* m has it (m is NULL when out of host memory) */
        cJSON_Delete(str);
    } else {
        if (!cJSON_AddItemToObject(ch, "text", str))
            cJSON_Delete(str);
        cJSON_AddNullToObject(ch, "logprobs");
    }
    if (finish)
        cJSON_AddStringToObject(ch, "finish_reason", finish);
    else
        cJSON_AddNullToObject(ch, "finish_reason");
    return ch;
}

static void add_usage(cJSON *root, const lvk_job *j)
{
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", j->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", j->n_generated);
    cJSON_AddNumberToObject(u, "total_tokens", j->n_prompt + j->n_generated);
}

/* One SSE event; false when the client is gone. */
static bool send_event(struct mg_connection *c, cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return false;
    bool ok = put_event(c, text);
    cJSON_free(text);
    return ok;
}

static int stream_answer(lvk_server *s, struct mg_connection *c, const lvk_request *r, lvk_job *j, uint64_t id)
{
    bool alive = put(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                        "Connection: close\r\n\r\n");
    bool first = true;
    double quiet_since = lvk_now();
    for (;;) {
        char *text = NULL;
        size_t len = 0;
        bool done = lvk_job_wait(s->engine, j, 250, &text, &len);
        if (alive && text) {
            cJSON *root = answer_head(s, r, id, true);
            cJSON *choices = cJSON_AddArrayToObject(root, "choices");
            add_item(choices, choice(r, text, len, NULL, true, first));
            first = false;
            alive = send_event(c, root);
            quiet_since = lvk_now();
        } else if (alive && !done && lvk_now() - quiet_since > 1.0) {
            /* an SSE comment while queued or prefilling: the way to learn that the client went away */
            alive = put(c, ": waiting\n\n");
            quiet_since = lvk_now();
        }
        free(text);
        if (!alive && !j->cancelled)
            lvk_job_cancel(s->engine, j);
        if (done)
            break;
    }
    if (!alive)
        return 200;
    if (j->finish == LVK_FINISH_ERROR) {
        lvk_request_error e;
        lvk_request_fail(&e, 500, "server_error", NULL, NULL, "%s", j->error);
        char *err = lvk_request_error_json(&e);
        if (err)
            put_event(c, err);
        free(err);
    } else {
        cJSON *root = answer_head(s, r, id, true);
        cJSON *choices = cJSON_AddArrayToObject(root, "choices");
        add_item(choices, choice(r, NULL, 0, finish_name(j->finish), true, first));
        add_usage(root, j);
        send_event(c, root);
    }
    put_event(c, "[DONE]");
    return 200;
}

static int whole_answer(lvk_server *s, struct mg_connection *c, const lvk_request *r, lvk_job *j, uint64_t id)
{
    for (;;) {
        char *text = NULL;
        size_t len = 0;
        bool done = lvk_job_wait(s->engine, j, 1000, &text, &len);
        free(text); /* the whole text is in the job once done */
        if (done)
            break;
    }
    if (j->finish == LVK_FINISH_ERROR)
        return fail(c, 500, "server_error", NULL, NULL, NULL, j->error);
    cJSON *root = answer_head(s, r, id, false);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    add_item(choices, choice(r, j->text ? j->text : "", j->len, finish_name(j->finish), false, true));
    add_usage(root, j);
    return send_json(c, 200, root, NULL);
}

static int completion(lvk_server *s, struct mg_connection *c, lvk_request_kind kind)
{
    bool ready;
    int rc = gate(s, c, "POST", &ready);
    if (rc)
        return rc;
    char *body = NULL;
    size_t len = 0;
    if ((rc = read_body(s, c, &body, &len)) != 0)
        return rc;
    lvk_request r;
    lvk_request_error e;
    bool ok = lvk_request_parse(kind, body, len, &r, &e);
    free(body);
    if (!ok)
        return send_error(c, &e, NULL);
    if (r.model && strcmp(r.model, s->model_name) != 0) {
        lvk_request_fail(&e, 404, "invalid_request_error", "model_not_found", "model",
                         "the model '%.200s' does not exist here; this server has '%s' (GET /v1/models)", r.model,
                         s->model_name);
        lvk_request_free(&r);
        return send_error(c, &e, NULL);
    }
    lvk_mutex_lock(&s->mu);
    uint64_t id = ++s->next_id;
    lvk_mutex_unlock(&s->mu);
    lvk_job job;
    if (!make_job(s, &r, id, &job, &e)) {
        lvk_request_free(&r);
        return send_error(c, &e, NULL);
    }
    if (!lvk_engine_submit(s->engine, &job)) {
        lvk_job_free(&job);
        lvk_request_free(&r);
        return fail(c, 503, "server_error", "overloaded", NULL, "Retry-After: 1\r\n",
                    "the server is busy: every slot is answering and the queue is full; try again shortly");
    }
    rc = r.stream ? stream_answer(s, c, &r, &job, id) : whole_answer(s, c, &r, &job, id);
    if (!s->p.quiet)
        lvk_info("%s: %u prompt + %u tokens, %s%s, first token after %.3f s", mg_get_request_info(c)->local_uri,
                     job.n_prompt, job.n_generated, job.cancelled ? "cancelled" : finish_name(job.finish),
                     r.stream ? " (streamed)" : "", job.first_token_at > 0 ? job.first_token_at - job.queued_at : 0);
    lvk_job_free(&job);
    lvk_request_free(&r);
    return rc;
}

static int on_completions(struct mg_connection *c, void *cbdata)
{
    return completion(cbdata, c, LVK_REQUEST_COMPLETION);
}

static int on_chat(struct mg_connection *c, void *cbdata) { return completion(cbdata, c, LVK_REQUEST_CHAT); }

static int on_other(struct mg_connection *c, void *cbdata)
{
    (void)cbdata;
    return fail(c, 404, "invalid_request_error", "not_found", NULL, NULL,
                "no such endpoint: there are GET /health, GET /v1/models, POST /v1/completions and POST "
                "/v1/chat/completions");
}

static int log_message(const struct mg_connection *c, const char *message)
{
    (void)c;
    lvk_debug("civetweb: %s", message);
    return 1;
}

/* ---- start and stop */

bool lvk_server_start(lvk_server **out, const lvk_server_params *p, lvk_err *err)
{
    *out = NULL;
    lvk_server *s = lvk_calloc(1, sizeof *s);
    if (!s)
        return lvk_fail(err, "out of host memory");
    s->p = *p;
    if (!s->p.host)
        s->p.host = "127.0.0.1";
    if (!s->p.max_body)
        s->p.max_body = 1u << 20;
    if (!lvk_mutex_init(&s->mu, err)) {
        free(s);
        return false;
    }
    char ports[300], threads[16];
    bool v6 = strchr(s->p.host, ':') != NULL;
    snprintf(ports, sizeof ports, v6 ? "[%s]:%d" : "%s:%d", s->p.host, p->port);
    /* every admitted request holds a thread while it waits or streams; a few more answer the refusals */
    snprintf(threads, sizeof threads, "%u", p->parallel + p->queue + 8);
    const char *options[] = {"listening_ports", ports, "num_threads", threads, "request_timeout_ms", "600000",
                             "enable_keep_alive", "no", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = log_message;
    mg_init_library(0);
    s->ctx = mg_start(&cb, s, options);
    if (!s->ctx) {
        mg_exit_library();
        lvk_mutex_destroy(&s->mu);
        free(s);
        return lvk_fail(err, "cannot listen on %s (is the port in use, or the address not this machine's?)", ports);
    }
    struct mg_server_port sp[4];
    int n = mg_get_server_ports(s->ctx, 4, sp);
    s->port = n > 0 ? sp[0].port : p->port;
    mg_set_request_handler(s->ctx, "/health$", on_health, s);
    mg_set_request_handler(s->ctx, "/v1/models$", on_models, s);
    mg_set_request_handler(s->ctx, "/v1/completions$", on_completions, s);
    mg_set_request_handler(s->ctx, "/v1/chat/completions$", on_chat, s);
    mg_set_request_handler(s->ctx, "/", on_other, s);
    *out = s;
    return true;
}

int lvk_server_port(const lvk_server *s) { return s->port; }

bool lvk_server_attach(lvk_server *s, lvk_model *m, lvk_err *err)
{
    lvk_model_info info = lvk_model_get_info(m);
    lvk_chat_template tmpl = info.cfg->chat_template;
    if (s->p.chat_template && !lvk_chat_template_from_name(s->p.chat_template, &tmpl, err))
        return false;
    lvk_engine_params ep = {.slots = s->p.parallel, .queue = s->p.queue};
    lvk_engine *e = NULL;
    if (!lvk_engine_start(&e, m, &ep, err))
        return false;
    lvk_mutex_lock(&s->mu);
    s->model = m;
    s->engine = e;
    s->tmpl = tmpl;
    s->context = info.context;
    snprintf(s->model_name, sizeof s->model_name, "%s", info.cfg->name[0] ? info.cfg->name : "llama-vk");
    s->ready = true;
    lvk_mutex_unlock(&s->mu);
    return true;
}

void lvk_server_stop(lvk_server *s)
{
    if (!s)
        return;
    /* the jobs end first, so the handlers waiting on them return and mg_stop can join them */
    lvk_engine_halt(s->engine);
    mg_stop(s->ctx);
    mg_exit_library();
    lvk_engine_free(s->engine);
    lvk_mutex_destroy(&s->mu);
    free(s);
}
