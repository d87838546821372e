#include "io/chat_template.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/utf8.h"

bool lvk_chat_template_from_name(const char *name, lvk_chat_template *out, lvk_err *err)
{
    if (strcmp(name, "llama2") == 0)
        *out = LVK_CHAT_TEMPLATE_LLAMA2;
    else if (strcmp(name, "llama3") == 0)
        *out = LVK_CHAT_TEMPLATE_LLAMA3;
    else if (strcmp(name, "none") == 0)
        *out = LVK_CHAT_TEMPLATE_NONE;
    else
        return lvk_fail(err, "unknown chat template \"%.40s\": expected \"llama2\" (LLaMA-2-chat) or \"llama3\" "
                             "(LLaMA-3-Instruct)",
                        name);
    return true;
}

const char *lvk_chat_template_name(lvk_chat_template t)
{
    return t == LVK_CHAT_TEMPLATE_LLAMA2 ? "llama2" : t == LVK_CHAT_TEMPLATE_LLAMA3 ? "llama3" : "none";
}

/* The template's special tokens, looked up in tok so that a wrong tokenizer is caught here. */
static bool special(const lvk_tokenizer *tok, const char *text, int32_t *id, lvk_err *err)
{
    int found = lvk_tokenizer_special_id(tok, text);
    if (found < 0)
        return lvk_fail(err, "the tokenizer has no special token %s", text);
    *id = found;
    return true;
}

static bool check_tokenizer(lvk_chat_template t, const lvk_tokenizer *tok, lvk_err *err)
{
    if (t == LVK_CHAT_TEMPLATE_NONE)
        return lvk_fail(err, "no chat template: this model has none configured (give --chat-template llama2|llama3)");
    lvk_tokenizer_type want = t == LVK_CHAT_TEMPLATE_LLAMA2 ? LVK_TOKENIZER_SPM : LVK_TOKENIZER_TIKTOKEN;
    if (lvk_tokenizer_get_type(tok) != want)
        return lvk_fail(err, "chat template %s needs the %s tokenizer (%s), not %s", lvk_chat_template_name(t),
                        want == LVK_TOKENIZER_SPM ? "LLaMA-2" : "LLaMA-3", lvk_tokenizer_type_name(want),
                        lvk_tokenizer_type_name(lvk_tokenizer_get_type(tok)));
    return true;
}

bool lvk_chat_stop_ids(lvk_chat_template t, const lvk_tokenizer *tok, int32_t out[LVK_CHAT_MAX_STOP], int *n,
                       lvk_err *err)
{
    *n = 0;
    if (!check_tokenizer(t, tok, err))
        return false;
    if (t == LVK_CHAT_TEMPLATE_LLAMA2)
        return special(tok, "</s>", &out[(*n)++], err);
    /* <|end_of_text|> too: the instruct models emit it now and then, and an engine that stopped only on
     * one of the two produced endless answers. */
    return special(tok, "<|eot_id|>", &out[(*n)++], err) && special(tok, "<|end_of_text|>", &out[(*n)++], err);
}

/* ---- growing buffers ------------------------------------------------------------------------ */

typedef struct id_buf {
    int32_t *ids;
    size_t n, cap;
} id_buf;

static bool ids_reserve(id_buf *b, size_t more, lvk_err *err)
{
    if (b->n + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    int32_t *grown = lvk_realloc(b->ids, cap * sizeof *grown);
    if (!grown)
        return lvk_fail(err, "out of host memory for %zu token ids", cap);
    b->ids = grown;
    b->cap = cap;
    return true;
}

static bool ids_push(id_buf *b, int32_t id, lvk_err *err)
{
    if (!ids_reserve(b, 1, err))
        return false;
    b->ids[b->n++] = id;
    return true;
}

typedef struct text_buf {
    char *s;
    size_t len, cap;
} text_buf;

static bool text_append(text_buf *t, const char *s, size_t len, lvk_err *err)
{
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + len + 1)
            cap *= 2;
        char *grown = lvk_realloc(t->s, cap);
        if (!grown)
            return lvk_fail(err, "out of host memory for %zu bytes of chat text", cap);
        t->s = grown;
        t->cap = cap;
    }
    if (len)
        memcpy(t->s + t->len, s, len);
    t->len += len;
    t->s[t->len] = '\0';
    return true;
}

static bool text_append_str(text_buf *t, const char *s, lvk_err *err) { return text_append(t, s, strlen(s), err); }

/* Encodes the text gathered since the last special token as one run (special-token text in it stays
 * text) and empties it. */
static bool flush_run(const lvk_tokenizer *tok, text_buf *run, id_buf *out, lvk_err *err)
{
    if (run->len == 0)
        return true;
    int32_t *ids = NULL;
    size_t n = 0;
    bool ok = lvk_tokenizer_encode(tok, run->s, run->len, 0, &ids, &n, err) && ids_reserve(out, n, err);
    if (ok && n)
        memcpy(out->ids + out->n, ids, n * sizeof *ids);
    if (ok)
        out->n += n;
    free(ids);
    run->len = 0;
    return ok;
}

/* ---- Python's str.strip() ------------------------------------------------------------------- */

/* The characters Python's str.isspace() accepts (what Jinja's trim and str.strip remove). */
static bool is_python_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* Narrows s[*start..*end) (valid UTF-8) to its part without whitespace at either end. */
static void strip_python(const char *s, size_t *start, size_t *end)
{
    const uint8_t *u = (const uint8_t *)s;
    while (*start < *end) {
        uint32_t cp;
        int n = lvk_utf8_decode(u + *start, *end - *start, &cp);
        if (n <= 0 || !is_python_space(cp))
            break;
        *start += (size_t)n;
    }
    while (*end > *start) {
        size_t lead = *end - 1;
        while (lead > *start && (u[lead] & 0xC0) == 0x80)
            lead--;
        uint32_t cp;
        int n = lvk_utf8_decode(u + lead, *end - lead, &cp);
        if (n <= 0 || !is_python_space(cp))
            break;
        *end = lead;
    }
}

static bool append_stripped(text_buf *run, const char *s, size_t len, lvk_err *err)
{
    size_t start = 0, end = len;
    strip_python(s, &start, &end);
    return text_append(run, s + start, end - start, err);
}

static bool check_utf8(const lvk_chat_message *m, size_t index, lvk_err *err)
{
    size_t bad;
    if (!lvk_utf8_validate((const uint8_t *)m->content, m->len, &bad))
        return lvk_fail(err, "message %zu (%s) is not valid UTF-8 (byte offset %zu)", index,
                        lvk_chat_role_name(m->role), bad);
    return true;
}

/* ---- the templates --------------------------------------------------------------------------- */

/* {% if messages[0]['role'] == 'system' %} ... content = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + user1;
 * user: bos + '[INST] ' + content.strip() + ' [/INST]'; assistant: ' ' + content.strip() + ' ' + eos. */
static bool render_llama2(const lvk_tokenizer *tok, const lvk_chat_message *m, size_t n, id_buf *out, text_buf *run,
                          text_buf *first, lvk_err *err)
{
    int32_t bos = -1, eos = -1;
    if (!special(tok, "<s>", &bos, err) || !special(tok, "</s>", &eos, err))
        return false;
    size_t begin = n > 0 && m[0].role == LVK_CHAT_SYSTEM ? 1 : 0;
    for (size_t i = begin; i < n; i++) {
        bool want_user = (i - begin) % 2 == 0;
        if ((m[i].role == LVK_CHAT_USER) != want_user || m[i].role == LVK_CHAT_SYSTEM)
            return lvk_fail(err, "message %zu is %s: the llama2 template wants an optional system message first, "
                                 "then user and assistant turns taking turns (user first)",
                            i, lvk_chat_role_name(m[i].role));
        const char *content = m[i].content;
        size_t len = m[i].len;
        if (i == begin && begin == 1) {
            first->len = 0;
            if (!text_append_str(first, "<<SYS>>\n", err) || !text_append(first, m[0].content, m[0].len, err) ||
                !text_append_str(first, "\n<</SYS>>\n\n", err) || !text_append(first, content, len, err))
                return false;
            content = first->s;
            len = first->len;
        }
        bool ok;
        if (m[i].role == LVK_CHAT_USER)
            ok = flush_run(tok, run, out, err) && ids_push(out, bos, err) && text_append_str(run, "[INST] ", err) &&
                 append_stripped(run, content, len, err) && text_append_str(run, " [/INST]", err);
        else
            ok = text_append_str(run, " ", err) && append_stripped(run, content, len, err) &&
                 text_append_str(run, " ", err) && flush_run(tok, run, out, err) && ids_push(out, eos, err);
        if (!ok)
            return false;
    }
    return flush_run(tok, run, out, err);
}

/* bos, then per message '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content|trim + '<|eot_id|>'. */
static bool render_llama3(const lvk_tokenizer *tok, const lvk_chat_message *m, size_t n, bool add_generation_prompt,
                          id_buf *out, text_buf *run, lvk_err *err)
{
    int32_t bos = -1, start = -1, end = -1, eot = -1;
    if (!special(tok, "<|begin_of_text|>", &bos, err) || !special(tok, "<|start_header_id|>", &start, err) ||
        !special(tok, "<|end_header_id|>", &end, err) || !special(tok, "<|eot_id|>", &eot, err))
        return false;
    if (!ids_push(out, bos, err))
        return false;
    for (size_t i = 0; i <= n; i++) {
        bool prompt = i == n;
        if (prompt && !add_generation_prompt)
            break;
        const char *role = lvk_chat_role_name(prompt ? LVK_CHAT_ASSISTANT : m[i].role);
        if (!ids_push(out, start, err) || !text_append_str(run, role, err) || !flush_run(tok, run, out, err) ||
            !ids_push(out, end, err) || !text_append_str(run, "\n\n", err))
            return false;
        if (prompt)
            return flush_run(tok, run, out, err);
        if (!append_stripped(run, m[i].content, m[i].len, err) || !flush_run(tok, run, out, err) ||
            !ids_push(out, eot, err))
            return false;
    }
    return true;
}

bool lvk_chat_render(lvk_chat_template t, const lvk_tokenizer *tok, const lvk_chat_message *messages, size_t n,
                     bool add_generation_prompt, int32_t **ids, size_t *n_ids, lvk_err *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (!check_tokenizer(t, tok, err))
        return false;
    if (n == 0)
        return lvk_fail(err, "the conversation has no messages");
    for (size_t i = 0; i < n; i++)
        if (!check_utf8(&messages[i], i, err))
            return false;
    id_buf out = {0};
    text_buf run = {0}, first = {0};
    bool ok = t == LVK_CHAT_TEMPLATE_LLAMA2 ? render_llama2(tok, messages, n, &out, &run, &first, err)
                                            : render_llama3(tok, messages, n, add_generation_prompt, &out, &run, err);
    free(run.s);
    free(first.s);
    if (!ok) {
        free(out.ids);
        return false;
    }
    *ids = out.ids;
    *n_ids = out.n;
    return true;
}

bool lvk_chat_render_from(lvk_chat_template t, const lvk_tokenizer *tok, const lvk_chat_message *messages,
                          size_t n, size_t first, bool add_generation_prompt, int32_t **ids, size_t *n_ids,
                          lvk_err *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (first > n)
        return lvk_fail(err, "cannot render from message %zu of %zu", first, n);
    int32_t *all, *before = NULL;
    size_t n_all, n_before = 0;
    if (!lvk_chat_render(t, tok, messages, n, add_generation_prompt, &all, &n_all, err))
        return false;
    if (first > 0 && !lvk_chat_render(t, tok, messages, first, false, &before, &n_before, err)) {
        free(all);
        return false;
    }
    bool prefix = n_before <= n_all && (n_before == 0 || memcmp(all, before, n_before * sizeof *all) == 0);
    free(before);
    if (!prefix) {
        free(all);
        return lvk_fail(err, "with the %s template, messages 0..%zu do not render as a prefix of the whole "
                             "conversation: render it whole",
                        lvk_chat_template_name(t), first - 1);
    }
    *n_ids = n_all - n_before;
    *ids = lvk_malloc((*n_ids ? *n_ids : 1) * sizeof **ids);
    if (!*ids) {
        free(all);
        *n_ids = 0;
        return lvk_fail(err, "out of host memory for %zu token ids", n_all - n_before);
    }
    if (*n_ids)
        memcpy(*ids, all + n_before, *n_ids * sizeof **ids);
    free(all);
    return true;
}
