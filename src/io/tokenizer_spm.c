/* SentencePiece BPE (LLaMA-2): reads the protobuf ModelProto and encodes as SentencePiece's
 * bpe_model.cc does: normalize (dummy prefix, ' ' -> '▁'), split into characters (user-defined
 * pieces whole), merge the highest-scoring pair first, unknown pieces fall back to <0xNN> bytes.
 * Only the identity normalizer is supported (no precompiled NFKC charsmap), which is what LLaMA-2 uses. */
#include "io/tokenizer_spm.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/utf8.h"

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581 '▁' */

/* ---- a minimal, bounds-checked protobuf reader ---- */

typedef struct pb_reader {
    const uint8_t *base; /* start of the file, for offsets in messages */
    const uint8_t *p, *end;
    const char *name;
} pb_reader;

typedef struct pb_field {
    uint32_t number;
    uint32_t wire;         /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
    uint64_t value;        /* varint / fixed values */
    const uint8_t *data;   /* wire 2: the bytes */
    size_t len;
    size_t offset;         /* where the field starts in the file */
} pb_field;

static bool pb_varint(pb_reader *r, uint64_t *v, lvk_err *err)
{
    uint64_t x = 0;
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return lvk_fail(err, "%s: at byte %zu: varint runs past the end of its message", r->name,
                            (size_t)(r->p - r->base));
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return lvk_fail(err, "%s: at byte %zu: varint longer than 10 bytes", r->name, (size_t)(r->p - r->base));
}

/* Reads the next field. Returns false at the end of the message (*at_end true) or on an error (*at_end false). */
static bool pb_next(pb_reader *r, pb_field *f, bool *at_end, lvk_err *err)
{
    *at_end = r->p >= r->end;
    if (*at_end)
        return false;
    f->offset = (size_t)(r->p - r->base);
    uint64_t key = 0;
    if (!pb_varint(r, &key, err))
        return false;
    f->number = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    f->data = NULL;
    f->len = 0;
    f->value = 0;
    size_t left;
    switch (f->wire) {
    case 0:
        return pb_varint(r, &f->value, err);
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return lvk_fail(err, "%s: at byte %zu: field %u: fixed value runs past the end", r->name, f->offset,
                            f->number);
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return true;
    }
    case 2:
        if (!pb_varint(r, &f->value, err))
            return false;
        left = (size_t)(r->end - r->p);
        if (f->value > left)
            return lvk_fail(err, "%s: at byte %zu: field %u: length %llu but only %zu bytes left", r->name,
                            f->offset, f->number, (unsigned long long)f->value, left);
        f->data = r->p;
        f->len = (size_t)f->value;
        r->p += f->len;
        return true;
    default:
        return lvk_fail(err, "%s: at byte %zu: field %u has unsupported wire type %u (not a SentencePiece model?)",
                        r->name, f->offset, f->number, f->wire);
    }
}

static pb_reader pb_sub(const pb_reader *parent, const pb_field *f)
{
    pb_reader r = {parent->base, f->data, f->data + f->len, parent->name};
    return r;
}

/* ---- the ModelProto parts we use ---- */

typedef struct spm_spec {
    int model_type; /* trainer_spec.model_type: 1 unigram, 2 bpe */
    bool byte_fallback, treat_whitespace_as_suffix;
    int bos_id, eos_id;
    const uint8_t *unk_surface;
    size_t unk_surface_len;
    const uint8_t *normalizer_name, *charsmap;
    size_t normalizer_name_len, charsmap_len;
    bool add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
} spm_spec;

static bool parse_trainer_spec(pb_reader r, spm_spec *spec, lvk_err *err)
{
    pb_field f;
    bool at_end;
    while (pb_next(&r, &f, &at_end, err)) {
        switch (f.number) {
        case 3: spec->model_type = (int)f.value; break;
        case 24: spec->treat_whitespace_as_suffix = f.value != 0; break;
        case 35: spec->byte_fallback = f.value != 0; break;
        case 41: spec->bos_id = (int)(int32_t)f.value; break;
        case 42: spec->eos_id = (int)(int32_t)f.value; break;
        case 44:
            spec->unk_surface = f.data;
            spec->unk_surface_len = f.len;
            break;
        default: break;
        }
    }
    return at_end;
}

static bool parse_normalizer_spec(pb_reader r, spm_spec *spec, lvk_err *err)
{
    pb_field f;
    bool at_end;
    while (pb_next(&r, &f, &at_end, err)) {
        switch (f.number) {
        case 1:
            spec->normalizer_name = f.data;
            spec->normalizer_name_len = f.len;
            break;
        case 2:
            spec->charsmap = f.data;
            spec->charsmap_len = f.len;
            break;
        case 3: spec->add_dummy_prefix = f.value != 0; break;
        case 4: spec->remove_extra_whitespaces = f.value != 0; break;
        case 5: spec->escape_whitespaces = f.value != 0; break;
        default: break;
        }
    }
    return at_end;
}

/* The surface of a piece: '▁' becomes ' ' (the piece bytes are valid UTF-8, checked by the caller). */
static bool add_surface_with_spaces(lvk_tokenizer *tok, lvk_token_info *t, const uint8_t *s, size_t len,
                                    lvk_err *err)
{
    char buf[4 * LVK_DETOK_MAX_PIECE];
    size_t w = 0;
    for (size_t i = 0; i < len && w < sizeof buf;) {
        if (len - i >= 3 && memcmp(s + i, SPACE_SYMBOL, 3) == 0) {
            buf[w++] = ' ';
            i += 3;
        } else {
            buf[w++] = (char)s[i++];
        }
    }
    t->surf_len = (uint32_t)w;
    return lvk_vocab_add_bytes(&tok->vocab, buf, w, &t->surf_off, err);
}

/* "<0x41>" -> 0x41 */
static int parse_byte_piece(const uint8_t *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static bool add_piece(lvk_tokenizer *tok, const spm_spec *spec, pb_reader r, size_t piece_offset, lvk_err *err)
{
    int id = tok->n_vocab;
    lvk_token_info *t = &tok->vocab.tokens[id];
    memset(t, 0, sizeof *t);
    t->kind = LVK_TOKEN_NORMAL;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    bool have_text = false;
    pb_field f;
    bool at_end;
    while (pb_next(&r, &f, &at_end, err)) {
        if (f.number == 1 && f.wire == 2) {
            text = f.data;
            text_len = f.len;
            have_text = true;
        } else if (f.number == 2 && f.wire == 5) {
            uint32_t bits = (uint32_t)f.value;
            memcpy(&t->score, &bits, sizeof t->score);
        } else if (f.number == 3 && f.wire == 0) {
            if (f.value < LVK_TOKEN_NORMAL || f.value > LVK_TOKEN_BYTE)
                return lvk_fail(err, "%s: at byte %zu: piece %d has unknown type %llu", r.name, f.offset, id,
                                (unsigned long long)f.value);
            t->kind = (uint8_t)f.value;
        }
    }
    if (!at_end)
        return false;
    size_t bad;
    if (!have_text || text_len == 0)
        return lvk_fail(err, "%s: at byte %zu: piece %d has no text", r.name, piece_offset, id);
    if (!lvk_utf8_validate(text, text_len, &bad))
        return lvk_fail(err, "%s: at byte %zu: piece %d is not valid UTF-8", r.name, piece_offset, id);
    if (text_len > LVK_DETOK_MAX_PIECE)
        return lvk_fail(err, "%s: at byte %zu: piece %d is %zu bytes long (at most %d supported)", r.name,
                        piece_offset, id, text_len, LVK_DETOK_MAX_PIECE);
    t->text_len = (uint32_t)text_len;
    if (!lvk_vocab_add_bytes(&tok->vocab, text, text_len, &t->text_off, err))
        return false;
    switch (t->kind) {
    case LVK_TOKEN_CONTROL:
        t->surf_off = t->text_off;
        t->surf_len = 0;
        return true;
    case LVK_TOKEN_UNKNOWN:
        if (tok->unk_id >= 0)
            return lvk_fail(err, "%s: at byte %zu: second unknown piece %d (the first is %d)", r.name, piece_offset,
                            id, tok->unk_id);
        tok->unk_id = id;
        t->surf_len = (uint32_t)spec->unk_surface_len;
        return lvk_vocab_add_bytes(&tok->vocab, spec->unk_surface, spec->unk_surface_len, &t->surf_off, err);
    case LVK_TOKEN_BYTE: {
        int b = parse_byte_piece(text, text_len);
        if (b < 0)
            return lvk_fail(err, "%s: at byte %zu: byte piece %d is '%.*s', expected <0xNN>", r.name, piece_offset, id,
                            (int)text_len, (const char *)text);
        tok->byte_ids[b] = id;
        uint8_t byte = (uint8_t)b;
        t->surf_len = 1;
        return lvk_vocab_add_bytes(&tok->vocab, &byte, 1, &t->surf_off, err);
    }
    default:
        t->drops_bos_space = text_len >= 3 && memcmp(text, SPACE_SYMBOL, 3) == 0 &&
                             (spec->add_dummy_prefix || spec->remove_extra_whitespaces);
        return add_surface_with_spaces(tok, t, text, text_len, err);
    }
}

static bool check_spec(lvk_tokenizer *tok, const spm_spec *spec, const char *name, lvk_err *err)
{
    if (spec->model_type != 2)
        return lvk_fail(err, "%s: trainer_spec.model_type is %d; only BPE (2) is supported", name, spec->model_type);
    if (spec->charsmap_len > 0)
        return lvk_fail(err, "%s: normalizer '%.*s' has a precompiled character map; only the identity normalizer "
                             "is supported", name, (int)spec->normalizer_name_len,
                        spec->normalizer_name ? (const char *)spec->normalizer_name : "");
    if (spec->treat_whitespace_as_suffix)
        return lvk_fail(err, "%s: treat_whitespace_as_suffix is not supported", name);
    if (tok->n_vocab == 0)
        return lvk_fail(err, "%s: the model has no pieces (not a SentencePiece model?)", name);
    if (tok->unk_id < 0)
        return lvk_fail(err, "%s: the model has no unknown piece", name);
    if (spec->byte_fallback)
        for (int b = 0; b < 256; b++)
            if (tok->byte_ids[b] < 0)
                return lvk_fail(err, "%s: byte_fallback is on but there is no piece <0x%02X>", name, b);
    return true;
}

static bool is_user_defined(const lvk_token_info *t)
{
    return t->kind == LVK_TOKEN_USER_DEFINED;
}

static bool is_space_symbol(const char *s)
{
    return memcmp(s, SPACE_SYMBOL, 3) == 0;
}

/* True if some mergeable piece has '▁' after a character that is not '▁' ("a▁b"): a merge could then
 * join the end of one word to the next. */
static bool any_piece_joins_words(const lvk_tokenizer *tok)
{
    for (int id = 0; id < tok->n_vocab; id++) {
        const lvk_token_info *t = &tok->vocab.tokens[id];
        if (t->kind != LVK_TOKEN_NORMAL && t->kind != LVK_TOKEN_USER_DEFINED && t->kind != LVK_TOKEN_UNUSED)
            continue;
        const char *s = lvk_vocab_text(&tok->vocab, id);
        for (size_t i = 1; i + 3 <= t->text_len; i++)
            if (is_space_symbol(s + i) && !(i >= 3 && is_space_symbol(s + i - 3)))
                return true;
    }
    return false;
}

bool lvk_spm_load(lvk_tokenizer *tok, const uint8_t *data, size_t size, const char *name, lvk_err *err)
{
    spm_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.model_type = 1; /* protobuf defaults */
    spec.bos_id = 1;
    spec.eos_id = 2;
    spec.unk_surface = (const uint8_t *)" \xE2\x81\x87 "; /* " ⁇ " */
    spec.unk_surface_len = 5;
    spec.add_dummy_prefix = spec.remove_extra_whitespaces = spec.escape_whitespaces = true;
    for (int b = 0; b < 256; b++)
        tok->byte_ids[b] = -1;

    /* First pass: count pieces and read the specs (they may come after the pieces). */
    pb_reader r = {data, data, data + size, name};
    pb_field f;
    bool at_end;
    size_t n_pieces = 0;
    while (pb_next(&r, &f, &at_end, err)) {
        if (f.number == 1 && f.wire == 2)
            n_pieces++;
        else if (f.number == 2 && f.wire == 2 && !parse_trainer_spec(pb_sub(&r, &f), &spec, err))
            return false;
        else if (f.number == 3 && f.wire == 2 && !parse_normalizer_spec(pb_sub(&r, &f), &spec, err))
            return false;
    }
    if (!at_end)
        return false;
    if (n_pieces > (1u << 24))
        return lvk_fail(err, "%s: %zu pieces is more than supported", name, n_pieces);
    tok->vocab.tokens = lvk_calloc(n_pieces ? n_pieces : 1, sizeof *tok->vocab.tokens);
    if (!tok->vocab.tokens)
        return lvk_fail(err, "out of host memory for %zu pieces", n_pieces);

    r.p = data;
    while (pb_next(&r, &f, &at_end, err)) {
        if (f.number == 1 && f.wire == 2) {
            if (!add_piece(tok, &spec, pb_sub(&r, &f), f.offset, err))
                return false;
            tok->n_vocab++;
        }
    }
    if (!at_end || !check_spec(tok, &spec, name, err))
        return false;

    tok->add_dummy_prefix = spec.add_dummy_prefix;
    tok->remove_extra_whitespaces = spec.remove_extra_whitespaces;
    tok->escape_whitespaces = spec.escape_whitespaces;
    tok->byte_fallback = spec.byte_fallback;
    tok->bos_id = spec.bos_id >= 0 && spec.bos_id < tok->n_vocab ? spec.bos_id : -1;
    tok->eos_id = spec.eos_id >= 0 && spec.eos_id < tok->n_vocab ? spec.eos_id : -1;

    for (int id = 0; id < tok->n_vocab; id++)
        if (is_user_defined(&tok->vocab.tokens[id]))
            tok->n_user_defined++;
    if (tok->n_user_defined) {
        tok->user_defined = lvk_malloc(tok->n_user_defined * sizeof *tok->user_defined);
        if (!tok->user_defined)
            return lvk_fail(err, "out of host memory");
        size_t k = 0;
        for (int id = 0; id < tok->n_vocab; id++)
            if (is_user_defined(&tok->vocab.tokens[id]))
                tok->user_defined[k++] = id;
    }
    tok->words_independent = tok->escape_whitespaces && !any_piece_joins_words(tok);
    return lvk_vocab_map_build(&tok->vocab, tok->n_vocab, name, err);
}

/* ---- encoding ---- */

/* SentencePiece's identity normalizer: optional removal of extra spaces, the dummy prefix, and
 * ' ' -> '▁'. out must hold 3 * (len + 1) bytes. Returns the normalized length. */
static size_t normalize(const lvk_tokenizer *tok, const char *text, size_t len, char *out)
{
    size_t begin = 0, end = len;
    if (tok->remove_extra_whitespaces) {
        while (begin < end && text[begin] == ' ')
            begin++;
        while (end > begin && text[end - 1] == ' ')
            end--;
        if (begin == end)
            return 0;
    }
    size_t w = 0;
    const char *space = tok->escape_whitespaces ? SPACE_SYMBOL : " ";
    size_t space_len = tok->escape_whitespaces ? 3 : 1;
    if (tok->add_dummy_prefix) {
        memcpy(out, space, space_len);
        w += space_len;
    }
    for (size_t i = begin; i < end; i++) {
        if (text[i] != ' ') {
            out[w++] = text[i];
            continue;
        }
        if (tok->remove_extra_whitespaces && i > begin && text[i - 1] == ' ')
            continue;
        memcpy(out + w, space, space_len);
        w += space_len;
    }
    return w;
}

/* Length of the longest user-defined piece at s[0..len), or 0. */
static size_t user_defined_at(const lvk_tokenizer *tok, const char *s, size_t len)
{
    size_t best = 0;
    for (size_t i = 0; i < tok->n_user_defined; i++) {
        const lvk_token_info *t = &tok->vocab.tokens[tok->user_defined[i]];
        if (t->text_len <= len && t->text_len > best && memcmp(lvk_vocab_text(&tok->vocab, tok->user_defined[i]), s, t->text_len) == 0)
            best = t->text_len;
    }
    return best;
}

static bool emit_symbol(const lvk_tokenizer *tok, const char *s, size_t len, bool *prev_unknown, lvk_id_list *out,
                        lvk_err *err)
{
    int32_t id = lvk_vocab_find(&tok->vocab, s, len);
    if (id >= 0) {
        *prev_unknown = false;
        return lvk_id_list_push(out, id, err);
    }
    if (tok->byte_fallback) {
        for (size_t i = 0; i < len; i++)
            if (!lvk_id_list_push(out, tok->byte_ids[(uint8_t)s[i]], err))
                return false;
        *prev_unknown = false;
        return true;
    }
    /* Without byte fallback SentencePiece writes one <unk> for a run of unknown pieces. */
    if (*prev_unknown)
        return true;
    *prev_unknown = true;
    return lvk_id_list_push(out, tok->unk_id, err);
}

/* Merges the symbols w->syms[0..n) and appends their ids. */
static bool merge_and_emit(const lvk_tokenizer *tok, const char *norm, lvk_bpe_work *w, size_t n, bool *prev_unknown,
                           lvk_id_list *out, lvk_err *err)
{
    if (n == 0)
        return true;
    w->syms[n - 1].next = -1;
    lvk_bpe_merge(&tok->vocab, LVK_BPE_HIGHEST_SCORE, norm, w, n);
    for (int32_t i = 0; i >= 0; i = w->syms[i].next)
        if (!emit_symbol(tok, norm + w->syms[i].start, w->syms[i].len, prev_unknown, out, err))
            return false;
    return true;
}

bool lvk_spm_encode(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err)
{
    if (len > (SIZE_MAX / 3) - 3 || len > UINT32_MAX / 4)
        return lvk_fail(err, "encode: text of %zu bytes is too long", len);
    char *norm = lvk_malloc(3 * (len + 1));
    if (!norm)
        return lvk_fail(err, "out of host memory normalizing %zu bytes", len);
    size_t n = normalize(tok, text, len, norm);

    /* Split into characters (user-defined pieces whole); merge word by word when that is exact
     * (see words_independent), which keeps the queue small and the encoder fast on long texts. */
    lvk_bpe_work w = {0};
    bool ok = true, prev_unknown = false;
    size_t n_syms = 0;
    for (size_t i = 0; i < n && ok;) {
        size_t ud = tok->n_user_defined ? user_defined_at(tok, norm + i, n - i) : 0;
        uint32_t cp;
        size_t clen = ud ? ud : (size_t)lvk_utf8_decode((const uint8_t *)norm + i, n - i, &cp);
        if (clen == 0)
            clen = 1; /* cannot happen: the text was validated */
        if (tok->words_independent && n_syms > 0 && !ud && clen == 3 && is_space_symbol(norm + i)) {
            const lvk_bpe_symbol *prev = &w.syms[n_syms - 1];
            if (!(prev->len == 3 && is_space_symbol(norm + prev->start))) {
                ok = merge_and_emit(tok, norm, &w, n_syms, &prev_unknown, out, err);
                n_syms = 0;
            }
        }
        if (!ok || !lvk_bpe_work_reserve(&w, n_syms + 1, err)) {
            ok = false;
            break;
        }
        lvk_bpe_symbol *s = &w.syms[n_syms];
        s->start = (uint32_t)i;
        s->len = (uint32_t)clen;
        s->prev = (int32_t)n_syms - 1;
        s->next = (int32_t)n_syms + 1;
        s->frozen = ud > 0;
        n_syms++;
        i += clen;
    }
    if (ok)
        ok = merge_and_emit(tok, norm, &w, n_syms, &prev_unknown, out, err);
    lvk_bpe_work_free(&w);
    free(norm);
    return ok;
}
