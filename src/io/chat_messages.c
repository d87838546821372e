#include "io/chat_messages.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "base/utf8.h"

static const char *const role_names[] = {"system", "user", "assistant"};

bool lvk_chat_role_from_name(const char *name, lvk_chat_role *out, lvk_err *err)
{
    for (int r = 0; r < 3; r++) {
        if (strcmp(name, role_names[r]) == 0) {
            *out = (lvk_chat_role)r;
            return true;
        }
    }
    return lvk_fail(err, "unknown role \"%.40s\": expected \"system\", \"user\" or \"assistant\"", name);
}

const char *lvk_chat_role_name(lvk_chat_role role)
{
    return (int)role >= 0 && (int)role < 3 ? role_names[role] : "?";
}

void lvk_chat_init(lvk_chat *chat) { memset(chat, 0, sizeof *chat); }

void lvk_chat_free(lvk_chat *chat)
{
    for (size_t i = 0; i < chat->n; i++)
        free(chat->messages[i].content);
    free(chat->messages);
    lvk_chat_init(chat);
}

bool lvk_chat_add(lvk_chat *chat, lvk_chat_role role, const char *content, size_t len, lvk_err *err)
{
    size_t bad;
    if (!lvk_utf8_validate((const uint8_t *)content, len, &bad))
        return lvk_fail(err, "the %s message is not valid UTF-8 (byte offset %zu)", lvk_chat_role_name(role), bad);
    if (chat->n == chat->cap) {
        size_t cap = chat->cap ? 2 * chat->cap : 8;
        lvk_chat_message *grown = lvk_realloc(chat->messages, cap * sizeof *grown);
        if (!grown)
            return lvk_fail(err, "out of host memory for %zu chat messages", cap);
        chat->messages = grown;
        chat->cap = cap;
    }
    char *copy = lvk_malloc(len + 1);
    if (!copy)
        return lvk_fail(err, "out of host memory for a chat message of %zu bytes", len);
    if (len)
        memcpy(copy, content, len);
    copy[len] = '\0';
    chat->messages[chat->n++] = (lvk_chat_message){role, copy, len};
    return true;
}

bool lvk_chat_set_system(lvk_chat *chat, const char *content, size_t len, lvk_err *err)
{
    bool has = chat->n && chat->messages[0].role == LVK_CHAT_SYSTEM;
    if (!content) {
        if (has)
            lvk_chat_remove(chat, 0, 1);
        return true;
    }
    /* appended, then moved to the front */
    if (!lvk_chat_add(chat, LVK_CHAT_SYSTEM, content, len, err))
        return false;
    lvk_chat_message added = chat->messages[chat->n - 1];
    chat->n--;
    if (has) {
        free(chat->messages[0].content);
    } else {
        memmove(chat->messages + 1, chat->messages, chat->n * sizeof *chat->messages);
        chat->n++;
    }
    chat->messages[0] = added;
    return true;
}

void lvk_chat_remove(lvk_chat *chat, size_t first, size_t count)
{
    if (first >= chat->n)
        return;
    if (count > chat->n - first)
        count = chat->n - first;
    for (size_t i = first; i < first + count; i++)
        free(chat->messages[i].content);
    memmove(chat->messages + first, chat->messages + first + count,
            (chat->n - first - count) * sizeof *chat->messages);
    chat->n -= count;
}

bool lvk_chat_drop_oldest_turn(lvk_chat *chat)
{
    size_t first = chat->n && chat->messages[0].role == LVK_CHAT_SYSTEM ? 1 : 0;
    while (first < chat->n && chat->messages[first].role != LVK_CHAT_USER)
        first++;
    if (first >= chat->n)
        return false;
    size_t count = 1;
    while (first + count < chat->n && chat->messages[first + count].role == LVK_CHAT_ASSISTANT)
        count++;
    lvk_chat_remove(chat, first, count);
    return true;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static bool parse_message(const cJSON *m, size_t index, const char *origin, lvk_chat *chat, lvk_err *err)
{
    if (!cJSON_IsObject(m))
        return lvk_fail(err, "%s: messages[%zu] must be an object {\"role\": ..., \"content\": ...}", origin, index);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!role)
        return lvk_fail(err, "%s: messages[%zu] has no \"role\"", origin, index);
    if (!cJSON_IsString(role))
        return lvk_fail(err, "%s: messages[%zu].role must be a string", origin, index);
    if (!content)
        return lvk_fail(err, "%s: messages[%zu] has no \"content\"", origin, index);
    if (!cJSON_IsString(content))
        return lvk_fail(err, "%s: messages[%zu].content must be a string%s", origin, index,
                        cJSON_IsArray(content) ? " (lists of content parts are not supported)" : "");
    lvk_chat_role r = LVK_CHAT_USER;
    if (!lvk_chat_role_from_name(role->valuestring, &r, err)) {
        lvk_err_prefix(err, "%s: messages[%zu]", origin, index);
        return false;
    }
    if (!lvk_chat_add(chat, r, content->valuestring, strlen(content->valuestring), err)) {
        lvk_err_prefix(err, "%s: messages[%zu]", origin, index);
        return false;
    }
    return true;
}

static bool has_bom(const char *s, size_t len) { return len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0; }

bool lvk_chat_parse_json(const char *json, size_t len, const char *origin, lvk_chat *chat, lvk_err *err)
{
    lvk_chat_free(chat);
    size_t bom = has_bom(json, len) ? 3 : 0;
    json += bom;
    len -= bom;
    const char *end = NULL;
    unsigned long failures = lvk_alloc_failures();
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root && lvk_alloc_failures() != failures)
        return lvk_fail(err, "%s: out of host memory", origin);
    /* Only whitespace may follow the value (cJSON's own check wants a NUL inside len). */
    while (root && end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (!root || (end && end < json + len)) {
        const char *where = root ? end : cJSON_GetErrorPtr();
        long at = where && where >= json && where <= json + len ? (long)(where - json) : 0;
        cJSON_Delete(root);
        return lvk_fail(err, "%s: not valid JSON (near byte %ld)", origin, at);
    }
    const cJSON *list = root;
    if (cJSON_IsObject(root)) {
        list = cJSON_GetObjectItemCaseSensitive(root, "messages");
        if (!list) {
            cJSON_Delete(root);
            return lvk_fail(err, "%s: no key \"messages\" (expected {\"messages\": [...]} or an array of messages)",
                            origin);
        }
    }
    bool ok = cJSON_IsArray(list) ||
              lvk_fail(err, "%s: %s must be an array of messages", origin, list == root ? "the file" : "\"messages\"");
    size_t index = 0;
    for (const cJSON *m = ok ? list->child : NULL; ok && m; m = m->next)
        ok = parse_message(m, index++, origin, chat, err);
    cJSON_Delete(root);
    if (!ok)
        lvk_chat_free(chat);
    return ok;
}

bool lvk_chat_load_json(const char *path, lvk_chat *chat, lvk_err *err)
{
    lvk_file_map map;
    if (!lvk_file_map_open(&map, path, err))
        return false;
    bool ok = lvk_chat_parse_json(map.data ? (const char *)map.data : "", (size_t)map.size, path, chat, err);
    lvk_file_map_close(&map);
    return ok;
}

bool lvk_chat_read_text_file(const char *path, char **text, size_t *len, lvk_err *err)
{
    *text = NULL;
    *len = 0;
    lvk_file_map map;
    if (!lvk_file_map_open(&map, path, err))
        return false;
    const char *s = map.data ? (const char *)map.data : "";
    size_t n = (size_t)map.size, bad;
    size_t start = has_bom(s, n) ? 3 : 0;
    while (n > start && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (!lvk_utf8_validate((const uint8_t *)s + start, n - start, &bad)) {
        lvk_file_map_close(&map);
        return lvk_fail(err, "%s: not valid UTF-8 (byte offset %zu)", path, start + bad);
    }
    *text = lvk_malloc(n - start + 1);
    if (!*text) {
        lvk_file_map_close(&map);
        return lvk_fail(err, "%s: out of host memory reading %zu bytes", path, n - start);
    }
    if (n > start)
        memcpy(*text, s + start, n - start);
    (*text)[n - start] = '\0';
    *len = n - start;
    lvk_file_map_close(&map);
    return true;
}
