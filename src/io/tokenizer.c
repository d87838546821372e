/* The tokenizer as the rest of the program sees it: loading by type (tokenizer_spm.c or
 * tokenizer_tiktoken.c), encoding with BOS and special tokens, decoding and the streaming
 * detokenizer. The BPE helpers both types share are in bpe.c. */
#include "io/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "base/utf8.h"
#include "io/tokenizer_spm.h"
#include "io/tokenizer_tiktoken.h"

/* ---- types ---- */

bool lvk_tokenizer_type_from_name(const char *name, lvk_tokenizer_type *out, lvk_err *err)
{
    if (name && strcmp(name, "sentencepiece") == 0) {
        *out = LVK_TOKENIZER_SPM;
        return true;
    }
    if (name && strcmp(name, "tiktoken") == 0) {
        *out = LVK_TOKENIZER_TIKTOKEN;
        return true;
    }
    return lvk_fail(err, "unknown tokenizer type '%s' (expected 'sentencepiece' or 'tiktoken')",
                    name ? name : "(null)");
}

const char *lvk_tokenizer_type_name(lvk_tokenizer_type type)
{
    return type == LVK_TOKENIZER_SPM ? "sentencepiece" : "tiktoken";
}

/* ---- loading ---- */

static bool collect_special_ids(lvk_tokenizer *tok, lvk_err *err)
{
    size_t n = 0;
    for (int id = 0; id < tok->n_vocab; id++) {
        uint8_t k = tok->vocab.tokens[id].kind;
        if ((k == LVK_TOKEN_CONTROL || k == LVK_TOKEN_UNKNOWN || k == LVK_TOKEN_SPECIAL) && tok->vocab.tokens[id].text_len)
            n++;
    }
    tok->special_ids = lvk_malloc((n ? n : 1) * sizeof *tok->special_ids);
    if (!tok->special_ids)
        return lvk_fail(err, "out of host memory");
    for (int id = 0; id < tok->n_vocab; id++) {
        uint8_t k = tok->vocab.tokens[id].kind;
        if ((k == LVK_TOKEN_CONTROL || k == LVK_TOKEN_UNKNOWN || k == LVK_TOKEN_SPECIAL) && tok->vocab.tokens[id].text_len)
            tok->special_ids[tok->n_special++] = id;
    }
    return true;
}

bool lvk_tokenizer_load_memory(lvk_tokenizer **out, lvk_tokenizer_type type, const uint8_t *data, size_t size,
                               const char *name, lvk_err *err)
{
    *out = NULL;
    lvk_tokenizer *tok = lvk_calloc(1, sizeof *tok);
    if (!tok)
        return lvk_fail(err, "out of host memory");
    tok->type = type;
    tok->bos_id = tok->eos_id = tok->unk_id = -1;
    bool ok = type == LVK_TOKENIZER_SPM ? lvk_spm_load(tok, data, size, name, err)
                                        : lvk_tiktoken_load(tok, data, size, name, err);
    if (ok)
        ok = collect_special_ids(tok, err);
    if (!ok) {
        lvk_tokenizer_free(tok);
        return false;
    }
    *out = tok;
    return true;
}

bool lvk_tokenizer_load(lvk_tokenizer **out, lvk_tokenizer_type type, const char *path, lvk_err *err)
{
    *out = NULL;
    lvk_file_map map;
    if (!lvk_file_map_open(&map, path, err)) {
        lvk_err_prefix(err, "%s tokenizer", lvk_tokenizer_type_name(type));
        return false;
    }
    if (map.size > (uint64_t)1 << 30) {
        lvk_file_map_close(&map);
        return lvk_fail(err, "%s: %llu bytes is too large for a tokenizer file", path,
                        (unsigned long long)map.size);
    }
    bool ok = lvk_tokenizer_load_memory(out, type, map.data, (size_t)map.size, path, err);
    lvk_file_map_close(&map);
    return ok;
}

void lvk_tokenizer_free(lvk_tokenizer *tok)
{
    if (!tok)
        return;
    lvk_tiktoken_free_regex(tok);
    lvk_vocab_free(&tok->vocab);
    free(tok->user_defined);
    free(tok->special_ids);
    free(tok);
}

lvk_tokenizer_type lvk_tokenizer_get_type(const lvk_tokenizer *tok) { return tok->type; }
int lvk_tokenizer_vocab_size(const lvk_tokenizer *tok) { return tok->n_vocab; }
int lvk_tokenizer_bos_id(const lvk_tokenizer *tok) { return tok->bos_id; }
int lvk_tokenizer_eos_id(const lvk_tokenizer *tok) { return tok->eos_id; }

int lvk_tokenizer_special_id(const lvk_tokenizer *tok, const char *text)
{
    size_t len = strlen(text);
    for (size_t i = 0; i < tok->n_special; i++) {
        int32_t id = tok->special_ids[i];
        if (tok->vocab.tokens[id].text_len == len && memcmp(lvk_vocab_text(&tok->vocab, id), text, len) == 0)
            return id;
    }
    return -1;
}

/* ---- encoding ---- */

static bool encode_plain(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err)
{
    if (len == 0)
        return true;
    return tok->type == LVK_TOKENIZER_SPM ? lvk_spm_encode(tok, text, len, out, err)
                                          : lvk_tiktoken_encode(tok, text, len, out, err);
}

/* The longest special token whose text starts at text[0..len), or -1. */
static int32_t special_at(const lvk_tokenizer *tok, const char *text, size_t len)
{
    int32_t best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < tok->n_special; i++) {
        int32_t id = tok->special_ids[i];
        size_t n = tok->vocab.tokens[id].text_len;
        if (n <= len && n > best_len && memcmp(lvk_vocab_text(&tok->vocab, id), text, n) == 0) {
            best = id;
            best_len = n;
        }
    }
    return best;
}

static bool encode_with_specials(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out,
                                 lvk_err *err)
{
    /* Only bytes that begin some special token need the (slow) comparison against all of them. */
    bool starts[256] = {false};
    for (size_t i = 0; i < tok->n_special; i++)
        starts[(uint8_t)lvk_vocab_text(&tok->vocab, tok->special_ids[i])[0]] = true;
    size_t run_start = 0;
    for (size_t pos = 0; pos < len;) {
        int32_t id = starts[(uint8_t)text[pos]] ? special_at(tok, text + pos, len - pos) : -1;
        if (id < 0) {
            pos++;
            continue;
        }
        if (!encode_plain(tok, text + run_start, pos - run_start, out, err))
            return false;
        if (!lvk_id_list_push(out, id, err))
            return false;
        pos += tok->vocab.tokens[id].text_len;
        run_start = pos;
    }
    return encode_plain(tok, text + run_start, len - run_start, out, err);
}

bool lvk_tokenizer_encode(const lvk_tokenizer *tok, const char *text, size_t len, int flags, int32_t **ids,
                          size_t *n_ids, lvk_err *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (!text && len)
        return lvk_fail(err, "encode: text is NULL");
    size_t bad;
    if (len && !lvk_utf8_validate((const uint8_t *)text, len, &bad))
        return lvk_fail(err, "encode: text is not valid UTF-8: byte 0x%02X at offset %zu", (uint8_t)text[bad], bad);
    lvk_id_list list = {0};
    bool ok = true;
    if ((flags & LVK_ENCODE_BOS) && tok->bos_id >= 0)
        ok = lvk_id_list_push(&list, tok->bos_id, err);
    if (ok)
        ok = (flags & LVK_ENCODE_SPECIAL) ? encode_with_specials(tok, text, len, &list, err)
                                          : encode_plain(tok, text, len, &list, err);
    if (!ok) {
        free(list.ids);
        return false;
    }
    *ids = list.ids;
    *n_ids = list.n;
    return true;
}

/* ---- decoding ---- */

const char *lvk_tokenizer_piece(const lvk_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || id >= tok->n_vocab)
        return NULL;
    *len = tok->vocab.tokens[id].surf_len;
    return tok->vocab.arena + tok->vocab.tokens[id].surf_off;
}

const char *lvk_tokenizer_piece_text(const lvk_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || id >= tok->n_vocab)
        return NULL;
    *len = tok->vocab.tokens[id].text_len;
    return lvk_vocab_text(&tok->vocab, id);
}

void lvk_detokenizer_init(lvk_detokenizer *d, const lvk_tokenizer *tok)
{
    memset(d, 0, sizeof *d);
    d->tok = tok;
    d->space_pending = tok->type == LVK_TOKENIZER_SPM && (tok->add_dummy_prefix || tok->remove_extra_whitespaces);
}

/* Feeds bytes through the pending buffer, writing each character once it is complete and valid,
 * and U+FFFD for each byte that cannot be part of a valid character. */
static size_t emit_bytes(lvk_detokenizer *d, const uint8_t *bytes, size_t len, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (d->n_pending == 0 && bytes[i] < 0x80) {
            out[w++] = (char)bytes[i];
            continue;
        }
        d->pending[d->n_pending++] = bytes[i];
        while (d->n_pending > 0) {
            uint32_t cp;
            int n = lvk_utf8_decode(d->pending, d->n_pending, &cp);
            if (n == (int)d->n_pending) {
                memcpy(out + w, d->pending, d->n_pending);
                w += d->n_pending;
                d->n_pending = 0;
            } else if (lvk_utf8_is_incomplete_prefix(d->pending, d->n_pending)) {
                break; /* wait for the rest of the character */
            } else {
                memcpy(out + w, LVK_UTF8_REPLACEMENT, 3);
                w += 3;
                memmove(d->pending, d->pending + 1, --d->n_pending);
            }
        }
    }
    return w;
}

size_t lvk_detokenizer_push(lvk_detokenizer *d, int32_t id, char *out)
{
    const lvk_tokenizer *tok = d->tok;
    if (id < 0 || id >= tok->n_vocab)
        return 0;
    const lvk_token_info *t = &tok->vocab.tokens[id];
    const uint8_t *bytes = (const uint8_t *)tok->vocab.arena + t->surf_off;
    size_t len = t->surf_len;
    if (t->kind == LVK_TOKEN_CONTROL)
        return 0;
    /* SentencePiece drops the space of the dummy prefix: the '▁' a first word piece starts with. */
    if (d->space_pending) {
        if (t->drops_bos_space) {
            bytes++;
            len--;
            d->space_pending = false;
        } else if (len > 0) {
            d->space_pending = false;
        }
    }
    return emit_bytes(d, bytes, len, out);
}

size_t lvk_detokenizer_flush(lvk_detokenizer *d, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < d->n_pending; i++) {
        memcpy(out + w, LVK_UTF8_REPLACEMENT, 3);
        w += 3;
    }
    d->n_pending = 0;
    return w;
}

bool lvk_tokenizer_decode(const lvk_tokenizer *tok, const int32_t *ids, size_t n, char **text, size_t *len,
                          lvk_err *err)
{
    *text = NULL;
    *len = 0;
    size_t cap = 64, used = 0;
    char *buf = lvk_malloc(cap);
    if (!buf)
        return lvk_fail(err, "out of host memory");
    lvk_detokenizer d;
    lvk_detokenizer_init(&d, tok);
    char chunk[LVK_DETOK_MAX_OUT];
    for (size_t i = 0; i <= n; i++) {
        size_t got;
        if (i < n) {
            if (ids[i] < 0 || ids[i] >= tok->n_vocab) {
                free(buf);
                return lvk_fail(err, "decode: id %d at position %zu is outside the vocabulary [0, %d)", (int)ids[i],
                                i, tok->n_vocab);
            }
            got = lvk_detokenizer_push(&d, ids[i], chunk);
        } else {
            got = lvk_detokenizer_flush(&d, chunk);
        }
        if (used + got + 1 > cap) {
            while (used + got + 1 > cap)
                cap *= 2;
            char *grown = lvk_realloc(buf, cap);
            if (!grown) {
                free(buf);
                return lvk_fail(err, "out of host memory decoding %zu ids", n);
            }
            buf = grown;
        }
        memcpy(buf + used, chunk, got);
        used += got;
    }
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return true;
}
