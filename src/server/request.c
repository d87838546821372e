#include "server/request.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/utf8.h"

bool lvk_request_fail(lvk_request_error *e, int status, const char *type, const char *code, const char *param,
                      const char *fmt, ...)
{
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

#define BAD(param, ...) lvk_request_fail(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)

char *lvk_request_error_json(const lvk_request_error *e)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(root, "error");
    if (!o) {
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddStringToObject(o, "message", e->message);
    cJSON_AddStringToObject(o, "type", e->type ? e->type : "invalid_request_error");
    if (e->param[0])
        cJSON_AddStringToObject(o, "param", e->param);
    else
        cJSON_AddNullToObject(o, "param");
    if (e->code)
        cJSON_AddStringToObject(o, "code", e->code);
    else
        cJSON_AddNullToObject(o, "code");
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* A copy of a JSON string value that must be valid UTF-8 (cJSON decodes \u escapes without checking). */
static bool copy_text(const cJSON *v, const char *param, char **out, size_t *len, lvk_request_error *e)
{
    const char *s = v->valuestring;
    size_t n = strlen(s), bad = 0;
    if (!lvk_utf8_validate((const uint8_t *)s, n, &bad))
        return BAD(param, "'%s' is not valid UTF-8 (byte %zu)", param, bad);
    *out = lvk_malloc(n + 1);
    if (!*out)
        return lvk_request_fail(e, 500, "server_error", NULL, param, "out of host memory");
    memcpy(*out, s, n + 1);
    if (len)
        *len = n;
    return true;
}

static bool get_number(const cJSON *root, const char *key, double lo, double hi, double *out, bool *given,
                       lvk_request_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *given = false;
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return BAD(key, "'%s' must be a number", key);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return BAD(key, "'%s' is %g; it must be between %g and %g", key, v->valuedouble, lo, hi);
    *out = v->valuedouble;
    *given = true;
    return true;
}

static bool get_integer(const cJSON *root, const char *key, double lo, double hi, double *out, bool *given,
                        lvk_request_error *e)
{
    if (!get_number(root, key, lo, hi, out, given, e))
        return false;
    if (*given && *out != floor(*out))
        return BAD(key, "'%s' must be an integer, not %g", key, *out);
    return true;
}

static bool get_stop(const cJSON *root, lvk_request *r, lvk_request_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (!v || cJSON_IsNull(v))
        return true;
    const cJSON *items[LVK_REQUEST_MAX_STOP];
    int n = 0;
    if (cJSON_IsString(v)) {
        items[n++] = v;
    } else if (cJSON_IsArray(v)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (n == LVK_REQUEST_MAX_STOP)
                return BAD("stop", "'stop' has more than %d strings", LVK_REQUEST_MAX_STOP);
            if (!cJSON_IsString(it))
                return BAD("stop", "'stop' must be a string or an array of strings");
            items[n++] = it;
        }
    } else {
        return BAD("stop", "'stop' must be a string or an array of strings");
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(items[i]->valuestring);
        if (len == 0)
            continue; /* an empty stop string would end every answer at once: OpenAI ignores it too */
        if (len > LVK_REQUEST_MAX_STOP_LEN)
            return BAD("stop", "a stop string is %zu bytes long; at most %d", len, LVK_REQUEST_MAX_STOP_LEN);
        if (!copy_text(items[i], "stop", &r->stop[r->n_stop], &r->stop_len[r->n_stop], e))
            return false;
        r->n_stop++;
    }
    return true;
}

static bool parse_root(lvk_request_kind kind, const cJSON *root, const char *body, size_t len, lvk_request *r,
                       lvk_request_error *e)
{
    if (!cJSON_IsObject(root))
        return BAD(NULL, "the request body must be a JSON object");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v))
            return BAD("model", "'model' must be a string");
        if (!copy_text(v, "model", &r->model, NULL, e))
            return false;
    }
    if (kind == LVK_REQUEST_COMPLETION) {
        v = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        /* the openai client sends a one-string list as well as a string */
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1 && cJSON_IsString(cJSON_GetArrayItem(v, 0)))
            v = cJSON_GetArrayItem(v, 0);
        if (!v || cJSON_IsNull(v))
            return BAD("prompt", "'prompt' is missing");
        if (!cJSON_IsString(v))
            return BAD("prompt", "'prompt' must be a string");
        if (!copy_text(v, "prompt", &r->prompt, &r->prompt_len, e))
            return false;
    } else {
        v = cJSON_GetObjectItemCaseSensitive(root, "messages");
        if (!v || cJSON_IsNull(v))
            return BAD("messages", "'messages' is missing");
        if (!cJSON_IsArray(v))
            return BAD("messages", "'messages' must be an array of {\"role\", \"content\"} objects");
        if (cJSON_GetArraySize(v) == 0)
            return BAD("messages", "'messages' is empty");
        const cJSON *m;
        cJSON_ArrayForEach(m, v)
        {
            if (!cJSON_IsObject(m))
                return BAD("messages", "each message must be an object {\"role\", \"content\"}");
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            if (!cJSON_IsString(role))
                return BAD("messages", "a message lacks its 'role' string");
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "content")))
                return BAD("messages", "a message's 'content' must be a string");
        }
        lvk_err err;
        if (!lvk_chat_parse_json(body, len, "messages", &r->chat, &err))
            return BAD("messages", "%s", err.msg);
    }
    double d = 0;
    bool given = false;
    if (!get_integer(root, "max_tokens", 1, 1e9, &d, &given, e))
        return false;
    if (given)
        r->max_tokens = (int)d;
    if (!get_integer(root, "max_completion_tokens", 1, 1e9, &d, &given, e))
        return false;
    if (given)
        r->max_tokens = (int)d;
    if (!get_number(root, "temperature", 0, 2, &d, &given, e))
        return false;
    r->temperature = given ? (float)d : 1.0f;
    if (!get_number(root, "top_p", 0, 1, &d, &given, e))
        return false;
    if (given && d <= 0)
        return BAD("top_p", "'top_p' must be above 0");
    r->top_p = given ? (float)d : 1.0f;
    /* seeds beyond 2^53 lose their low bits in JSON numbers; what matters is that a seed repeats */
    if (!get_integer(root, "seed", -9.2e18, 1.8e19, &d, &r->seed_given, e))
        return false;
    if (r->seed_given)
        r->seed = d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
    if (!get_integer(root, "n", 1, 1, &d, &given, e))
        return false;
    v = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v))
            return BAD("stream", "'stream' must be true or false");
        r->stream = cJSON_IsTrue(v);
    }
    return get_stop(root, r, e);
}

bool lvk_request_parse(lvk_request_kind kind, const char *body, size_t len, lvk_request *out, lvk_request_error *e)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    lvk_chat_init(&out->chat);
    const char *end = NULL;
    unsigned long failures = lvk_alloc_failures();
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    bool ok;
    if (!root && lvk_alloc_failures() != failures) {
        ok = lvk_request_fail(e, 500, "server_error", NULL, NULL, "out of host memory");
    } else if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        ok = BAD(NULL, "the request body is not valid JSON (near byte %zu)", at);
    } else {
        ok = parse_root(kind, root, body, len, out, e);
    }
    cJSON_Delete(root);
    if (!ok) {
        lvk_request_free(out);
        out->kind = kind;
    }
    return ok;
}

void lvk_request_free(lvk_request *r)
{
    free(r->model);
    free(r->prompt);
    lvk_chat_free(&r->chat);
    for (int i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    memset(r, 0, sizeof *r);
}
