/* tiktoken byte-level BPE (LLaMA-3): the file has one line `base64(token bytes) rank` per token, ranks
 * counting up from 0; the 256 special tokens follow the ranked ones. Encoding pre-splits the text with
 * Meta's regex (PCRE2, UTF + UCP), looks each piece up whole, and otherwise merges its bytes
 * lowest rank first, as tiktoken does. No Unicode normalization: tiktoken applies none
 * (the conformance data keeps decomposed "e\u0301" as it is). */
#include "io/tokenizer_tiktoken.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "base/alloc.h"

/* Meta's LLaMA-3 pre-tokenizer pattern (llama/tokenizer.py):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * with \s spelled out as the Unicode White_Space set, which is what tiktoken's Rust regex means by \s:
 * PCRE2's \s also takes U+180E, and text containing it would split differently.
 * Letters and digits come from PCRE2's Unicode tables (Unicode 14 in PCRE2 10.42); characters assigned
 * later are not letters to it, so text with them may split differently than in a newer tiktoken. */
#define WS "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char SPLIT_PATTERN[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                                    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+";

#define N_SPECIAL 256

/* The names of the special tokens, in id order after the ranked tokens (llama/tokenizer.py). */
static void special_name(int i, char *out, size_t size)
{
    static const char *const named[] = {
        "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>", "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|reserved_special_token_4|>", "<|eot_id|>",
    };
    if (i < 10)
        snprintf(out, size, "%s", named[i]);
    else
        snprintf(out, size, "<|reserved_special_token_%d|>", i - 5);
}

static int base64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes standard base64 with '=' padding; returns the length or -1. */
static int base64_decode(const uint8_t *s, size_t len, uint8_t *out, size_t out_size)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t w = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad)
                    return -1; /* '=' followed by data */
                v[k] = base64_value(s[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        uint32_t bits = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits};
        for (int k = 0; k < 3 - pad; k++) {
            if (w >= out_size)
                return -1;
            out[w++] = bytes[k];
        }
    }
    return (int)w;
}

static bool parse_rank(const uint8_t *s, size_t len, uint32_t *rank)
{
    if (len == 0 || len > 9)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *rank = v;
    return true;
}

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        n++;
        p = nl ? nl + 1 : end;
    }
    return n;
}

static bool add_ranked_token(lvk_tokenizer *tok, const uint8_t *line, size_t len, size_t line_no, size_t offset,
                             const char *name, lvk_err *err)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    const uint8_t *space = memchr(line, ' ', len);
    if (!space)
        return lvk_fail(err, "%s: line %zu (byte %zu): expected 'base64 rank'", name, line_no, offset);
    size_t b64_len = (size_t)(space - line);
    uint32_t rank;
    if (!parse_rank(space + 1, len - b64_len - 1, &rank))
        return lvk_fail(err, "%s: line %zu (byte %zu): rank is not a number", name, line_no, offset);
    if (rank != (uint32_t)tok->n_vocab)
        return lvk_fail(err, "%s: line %zu (byte %zu): rank %u, expected %d (ranks must count up from 0)", name,
                        line_no, offset, rank, tok->n_vocab);
    uint8_t bytes[LVK_DETOK_MAX_PIECE];
    int n = base64_decode(line, b64_len, bytes, sizeof bytes);
    if (n <= 0)
        return lvk_fail(err, "%s: line %zu (byte %zu): bad base64 or a token longer than %d bytes", name, line_no,
                        offset, LVK_DETOK_MAX_PIECE);
    lvk_token_info *t = &tok->vocab.tokens[tok->n_vocab];
    memset(t, 0, sizeof *t);
    t->kind = LVK_TOKEN_NORMAL;
    t->score = (float)rank;
    t->text_len = t->surf_len = (uint32_t)n;
    if (!lvk_vocab_add_bytes(&tok->vocab, bytes, (size_t)n, &t->text_off, err))
        return false;
    t->surf_off = t->text_off;
    tok->n_vocab++;
    return true;
}

static bool compile_regex(lvk_tokenizer *tok, lvk_err *err)
{
    int code;
    PCRE2_SIZE where;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)SPLIT_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code,
                                   &where, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return lvk_fail(err, "tiktoken: compiling the split pattern failed at %zu: %s", (size_t)where, (char *)msg);
    }
    /* JIT is an optimisation only: without it (unsupported CPU, or built without) matching still works. */
    tok->regex_jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    tok->regex = re;
    return true;
}

void lvk_tiktoken_free_regex(lvk_tokenizer *tok)
{
    if (tok->regex)
        pcre2_code_free((pcre2_code *)tok->regex);
    tok->regex = NULL;
}

bool lvk_tiktoken_load(lvk_tokenizer *tok, const uint8_t *data, size_t size, const char *name, lvk_err *err)
{
    size_t n_lines = count_lines(data, size);
    if (n_lines > (1u << 24))
        return lvk_fail(err, "%s: %zu lines is more than supported", name, n_lines);
    tok->vocab.tokens = lvk_calloc(n_lines + N_SPECIAL, sizeof *tok->vocab.tokens);
    if (!tok->vocab.tokens)
        return lvk_fail(err, "out of host memory for %zu tokens", n_lines);
    size_t line_no = 0;
    for (const uint8_t *p = data, *end = data + size; p < end;) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line_no++;
        if (len > 0 && !add_ranked_token(tok, p, len, line_no, (size_t)(p - data), name, err))
            return false;
        p = nl ? nl + 1 : end;
    }
    if (tok->n_vocab == 0)
        return lvk_fail(err, "%s: no tokens (not a tiktoken file?)", name);
    int n_ranked = tok->n_vocab;
    for (int i = 0; i < N_SPECIAL; i++) {
        char text[64];
        special_name(i, text, sizeof text);
        lvk_token_info *t = &tok->vocab.tokens[tok->n_vocab];
        t->kind = LVK_TOKEN_SPECIAL;
        t->score = (float)tok->n_vocab;
        t->text_len = t->surf_len = (uint32_t)strlen(text);
        if (!lvk_vocab_add_bytes(&tok->vocab, text, t->text_len, &t->text_off, err))
            return false;
        t->surf_off = t->text_off;
        tok->n_vocab++;
    }
    tok->bos_id = n_ranked;     /* <|begin_of_text|> */
    tok->eos_id = n_ranked + 1; /* <|end_of_text|> */
    if (!lvk_vocab_map_build(&tok->vocab, n_ranked, name, err))
        return false;
    /* Byte-level BPE needs every single byte as a token, or some text could not be encoded. */
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        if (lvk_vocab_find(&tok->vocab, &c, 1) < 0)
            return lvk_fail(err, "%s: no token for the single byte 0x%02X", name, b);
    }
    return compile_regex(tok, err);
}

/* Encodes one piece of the pre-split: the whole piece if it is a token, else byte-level BPE. */
static bool encode_piece(const lvk_tokenizer *tok, const char *piece, size_t len, lvk_bpe_work *w, lvk_id_list *out,
                         lvk_err *err)
{
    int32_t id = lvk_vocab_find(&tok->vocab, piece, len);
    if (id >= 0)
        return lvk_id_list_push(out, id, err);
    if (!lvk_bpe_work_reserve(w, len, err))
        return false;
    for (size_t i = 0; i < len; i++) {
        lvk_bpe_symbol *s = &w->syms[i];
        s->start = (uint32_t)i;
        s->len = 1;
        s->prev = (int32_t)i - 1;
        s->next = i + 1 < len ? (int32_t)i + 1 : -1;
        s->frozen = false;
    }
    lvk_bpe_merge(&tok->vocab, LVK_BPE_LOWEST_RANK, piece, w, len);
    for (int32_t i = 0; i >= 0; i = w->syms[i].next) {
        id = lvk_vocab_find(&tok->vocab, piece + w->syms[i].start, w->syms[i].len);
        if (id < 0) /* cannot happen: merges only form tokens and every byte is one (checked at load) */
            return lvk_fail(err, "encode: internal error: no token for a BPE symbol");
        if (!lvk_id_list_push(out, id, err))
            return false;
    }
    return true;
}

bool lvk_tiktoken_encode(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err)
{
    if (len > UINT32_MAX)
        return lvk_fail(err, "encode: text of %zu bytes is too long", len);
    pcre2_code *re = tok->regex;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return lvk_fail(err, "out of host memory for regex match data");
    lvk_bpe_work w = {0};
    bool ok = true;
    size_t pos = 0;
    while (ok && pos < len) {
        /* The text was validated as UTF-8 by the caller. */
        int rc = pcre2_match(re, (PCRE2_SPTR)text, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            ok = lvk_fail(err, "encode: splitting the text failed at byte %zu: %s", pos, (char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t start = ov[0], end = ov[1];
        if (end <= start) { /* the pattern cannot match empty, but never loop forever */
            pos = start + 1;
            while (pos < len && ((uint8_t)text[pos] & 0xC0) == 0x80)
                pos++;
            continue;
        }
        ok = encode_piece(tok, text + start, end - start, &w, out, err);
        pos = end;
    }
    lvk_bpe_work_free(&w);
    pcre2_match_data_free(md);
    return ok;
}
