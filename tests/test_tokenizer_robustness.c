/* Tokenizer behaviour beyond the conformance strings: BOS, special tokens, random round trips,
 * the streaming detokenizer, invalid UTF-8, and damaged tokenizer files (no crash, a clear error). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/utf8.h"
#include "io/tokenizer.h"
#include "test_files.h"
#include "io/tokenizer_internal.h"

typedef struct model_file {
    uint8_t *data;
    size_t size;
    lvk_tokenizer *tok;
} model_file;

static model_file llama2, llama3;

static int setup_model(model_file *m, lvk_tokenizer_type type, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/%s/tokenizer.model", LVK_TEST_DATA, name);
    m->data = (uint8_t *)test_read_file(path, &m->size);
    lvk_err err;
    if (!m->data || !lvk_tokenizer_load(&m->tok, type, path, &err)) {
        fprintf(stderr, "cannot load %s\n", path);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (setup_model(&llama2, LVK_TOKENIZER_SPM, "llama2") || setup_model(&llama3, LVK_TOKENIZER_TIKTOKEN, "llama3"))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lvk_tokenizer_free(llama2.tok);
    lvk_tokenizer_free(llama3.tok);
    free(llama2.data);
    free(llama3.data);
    return 0;
}

static void encode_ok(const lvk_tokenizer *tok, const char *text, size_t len, int flags, int32_t **ids, size_t *n)
{
    lvk_err err;
    if (!lvk_tokenizer_encode(tok, text, len, flags, ids, n, &err))
        fail_msg("encode failed: %s", err.msg);
}

static bool contains_id(const int32_t *ids, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void type_names(void **state)
{
    (void)state;
    lvk_tokenizer_type t;
    lvk_err err;
    assert_true(lvk_tokenizer_type_from_name("sentencepiece", &t, &err));
    assert_int_equal(t, LVK_TOKENIZER_SPM);
    assert_true(lvk_tokenizer_type_from_name("tiktoken", &t, &err));
    assert_int_equal(t, LVK_TOKENIZER_TIKTOKEN);
    assert_false(lvk_tokenizer_type_from_name("bpe", &t, &err));
    assert_non_null(strstr(err.msg, "bpe"));
}

static void bos_is_added_only_when_asked(void **state)
{
    (void)state;
    const lvk_tokenizer *toks[] = {llama2.tok, llama3.tok};
    const char text[] = "Hello world";
    for (int k = 0; k < 2; k++) {
        int32_t *a, *b;
        size_t na, nb;
        encode_ok(toks[k], text, strlen(text), 0, &a, &na);
        encode_ok(toks[k], text, strlen(text), LVK_ENCODE_BOS, &b, &nb);
        assert_int_equal(nb, na + 1);
        assert_int_equal(b[0], lvk_tokenizer_bos_id(toks[k]));
        assert_false(contains_id(a, na, lvk_tokenizer_bos_id(toks[k])));
        assert_memory_equal(a, b + 1, na * sizeof *a);
        free(a);
        free(b);
    }
}

/* Every name of special_tokens.txt is a special token with that id, parsed only with LVK_ENCODE_SPECIAL. */
static void llama3_special_tokens(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/llama3/special_tokens.txt", LVK_TEST_DATA);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int id, n = 0;
    char name[128];
    while (fscanf(f, "%d %127s", &id, name) == 2) {
        assert_int_equal(lvk_tokenizer_special_id(llama3.tok, name), id);
        size_t len;
        const char *piece = lvk_tokenizer_piece(llama3.tok, id, &len);
        assert_int_equal(len, strlen(name));
        assert_memory_equal(piece, name, len);
        int32_t *ids;
        size_t n_ids;
        encode_ok(llama3.tok, name, strlen(name), LVK_ENCODE_SPECIAL, &ids, &n_ids);
        assert_int_equal(n_ids, 1);
        assert_int_equal(ids[0], id);
        free(ids);
        encode_ok(llama3.tok, name, strlen(name), 0, &ids, &n_ids);
        assert_true(n_ids > 1);
        for (size_t i = 0; i < n_ids; i++)
            assert_true(ids[i] < 128000);
        free(ids);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 256);

    /* Text around specials is encoded as separate runs. */
    const char chat[] = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    int32_t *ids;
    size_t n_ids;
    encode_ok(llama3.tok, chat, strlen(chat), LVK_ENCODE_SPECIAL | LVK_ENCODE_BOS, &ids, &n_ids);
    const int32_t want[] = {128000, 128006, 882, 128007, 271, 13347, 128009};
    assert_int_equal(n_ids, sizeof want / sizeof want[0]);
    assert_memory_equal(ids, want, sizeof want);
    free(ids);
}

static void llama2_control_tokens(void **state)
{
    (void)state;
    const char text[] = "<s>Hello</s>";
    int32_t *ids;
    size_t n;
    encode_ok(llama2.tok, text, strlen(text), 0, &ids, &n);
    assert_false(contains_id(ids, n, 1));
    assert_false(contains_id(ids, n, 2));
    free(ids);
    encode_ok(llama2.tok, text, strlen(text), LVK_ENCODE_SPECIAL, &ids, &n);
    const int32_t want[] = {1, 15043, 2}; /* each run encoded on its own: "Hello" -> "▁Hello" */
    assert_int_equal(n, 3);
    assert_memory_equal(ids, want, sizeof want);
    /* Control tokens decode to nothing; the dummy-prefix space of the first piece is dropped. */
    char *dec;
    size_t len;
    lvk_err err;
    assert_true(lvk_tokenizer_decode(llama2.tok, ids, n, &dec, &len, &err));
    assert_string_equal(dec, "Hello");
    free(dec);
    free(ids);
    assert_int_equal(lvk_tokenizer_special_id(llama2.tok, "</s>"), 2);
    /* A literal '▁' (U+2581) is indistinguishable from a space: it decodes as one (documented). */
    encode_ok(llama2.tok, "a\xE2\x96\x81" "b", 5, 0, &ids, &n);
    assert_true(lvk_tokenizer_decode(llama2.tok, ids, n, &dec, &len, &err));
    assert_string_equal(dec, "a b");
    free(dec);
    free(ids);
}

/* ---- random text ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Random valid UTF-8 of ASCII, whitespace, Latin, combining marks, Cyrillic, CJK, Hangul, emoji (with ZWJ)
 * and rarities (NUL, U+0085, U+2028, U+FEFF). U+2581 is left out: SentencePiece decodes it as a space. */
static size_t random_text(char *out, size_t max_chars)
{
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {'\n', '\n'}, {'\t', '\r'}, {0xA0, 0x24F}, {0x300, 0x36F},
        {0x400, 0x4FF}, {0x600, 0x6FF}, {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
        {0x1F300, 0x1FAFF}, {0x200D, 0x200D}, {0x0, 0x0}, {0x85, 0x85}, {0x2028, 0x2029}, {0xFEFF, 0xFEFF},
        {0x10000, 0x10FFFF}, {0xE000, 0xF8FF},
    };
    size_t n_chars = rnd((uint32_t)max_chars + 1), w = 0;
    for (size_t i = 0; i < n_chars; i++) {
        const uint32_t *r = ranges[rnd(sizeof ranges / sizeof ranges[0])];
        uint32_t cp = r[0] + rnd(r[1] - r[0] + 1);
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0x2581)
            cp = 'x';
        w += (size_t)lvk_utf8_encode(cp, (uint8_t *)out + w);
    }
    return w;
}

static char *stream_decode(const lvk_tokenizer *tok, const int32_t *ids, size_t n, size_t *len)
{
    char *out = malloc((n + 1) * LVK_DETOK_MAX_OUT);
    lvk_detokenizer d;
    lvk_detokenizer_init(&d, tok);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t got = lvk_detokenizer_push(&d, ids[i], out + w);
        /* Each push hands out whole characters only. */
        assert_true(lvk_utf8_validate((const uint8_t *)out + w, got, NULL));
        w += got;
    }
    w += lvk_detokenizer_flush(&d, out + w);
    *len = w;
    return out;
}

static void round_trip(const lvk_tokenizer *tok, bool raw_pieces_concatenate)
{
    char text[4 * 300 + 1];
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = random_text(text, iter % 10 == 0 ? 300 : 40);
        int32_t *ids;
        size_t n;
        encode_ok(tok, text, len, 0, &ids, &n);
        char *dec;
        size_t dec_len;
        lvk_err err;
        assert_true(lvk_tokenizer_decode(tok, ids, n, &dec, &dec_len, &err));
        if (dec_len != len || memcmp(dec, text, len) != 0)
            fail_msg("round trip %d differs (%zu bytes in, %zu out)", iter, len, dec_len);
        size_t s_len;
        char *streamed = stream_decode(tok, ids, n, &s_len);
        assert_int_equal(s_len, dec_len);
        assert_memory_equal(streamed, dec, dec_len);
        if (raw_pieces_concatenate) { /* tiktoken: the pieces' bytes are exactly the text */
            size_t w = 0;
            for (size_t i = 0; i < n; i++) {
                size_t plen;
                const char *p = lvk_tokenizer_piece(tok, ids[i], &plen);
                assert_true(w + plen <= len);
                assert_memory_equal(p, text + w, plen);
                w += plen;
            }
            assert_int_equal(w, len);
        }
        free(streamed);
        free(dec);
        free(ids);
    }
}

static void llama2_round_trips(void **state)
{
    (void)state;
    round_trip(llama2.tok, false);
}

static void llama3_round_trips(void **state)
{
    (void)state;
    round_trip(llama3.tok, true);
}

/* The SentencePiece encoder merges word by word when no piece joins words (true for LLaMA-2); that
 * must give exactly what one merge over the whole text gives. */
static void llama2_word_by_word_equals_whole_text(void **state)
{
    (void)state;
    lvk_tokenizer *tok = llama2.tok;
    assert_true(tok->words_independent);
    char text[4 * 300 + 1];
    for (int iter = 0; iter < 500; iter++) {
        size_t len = random_text(text, 300);
        for (size_t i = 0; i < len; i++) /* more spaces, so there are many words */
            if (text[i] == 'x' || (iter % 3 == 0 && text[i] == 'a'))
                text[i] = ' ';
        int32_t *a, *b;
        size_t na, nb;
        encode_ok(tok, text, len, 0, &a, &na);
        tok->words_independent = false;
        encode_ok(tok, text, len, 0, &b, &nb);
        tok->words_independent = true;
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof *a);
        free(a);
        free(b);
    }
}

/* Tokens that split a character: the detokenizer holds the bytes back until the character is complete,
 * and turns bytes that cannot complete one into U+FFFD. */
static void detokenizer_partial_characters(void **state)
{
    (void)state;
    const lvk_tokenizer *tok = llama3.tok;
    char e4 = (char)0xE4, b8 = (char)0xB8, ad = (char)0xAD; /* 中 = E4 B8 AD, one token per byte */
    int32_t ids[5];
    size_t n;
    int32_t *one;
    const char *bytes[] = {&e4, &b8, &ad, "a"};
    for (int i = 0; i < 4; i++) {
        /* Single bytes are not valid UTF-8 text, so look the byte tokens up by piece. */
        ids[i] = -1;
        for (int32_t id = 0; id < 256 * 4 && ids[i] < 0; id++) {
            size_t len;
            const char *p = lvk_tokenizer_piece(tok, id, &len);
            if (len == 1 && p[0] == *bytes[i])
                ids[i] = id;
        }
        assert_true(ids[i] >= 0);
    }
    lvk_detokenizer d;
    char out[LVK_DETOK_MAX_OUT];
    lvk_detokenizer_init(&d, tok);
    assert_int_equal(lvk_detokenizer_push(&d, ids[0], out), 0);
    assert_int_equal(lvk_detokenizer_push(&d, ids[1], out), 0);
    assert_int_equal(lvk_detokenizer_push(&d, ids[2], out), 3);
    assert_memory_equal(out, "\xE4\xB8\xAD", 3);
    /* E4 B8 then 'a': two replacement characters, then 'a'. */
    lvk_detokenizer_push(&d, ids[0], out);
    lvk_detokenizer_push(&d, ids[1], out);
    assert_int_equal(lvk_detokenizer_push(&d, ids[3], out), 7);
    assert_memory_equal(out, LVK_UTF8_REPLACEMENT LVK_UTF8_REPLACEMENT "a", 7);
    /* A dangling start is flushed as U+FFFD. */
    lvk_detokenizer_push(&d, ids[0], out);
    assert_int_equal(lvk_detokenizer_flush(&d, out), 3);
    assert_memory_equal(out, LVK_UTF8_REPLACEMENT, 3);
    assert_int_equal(lvk_detokenizer_push(&d, -5, out), 0);
    assert_int_equal(lvk_detokenizer_push(&d, 1 << 30, out), 0);
    /* The whole decode agrees. */
    char *dec;
    size_t len;
    lvk_err err;
    int32_t seq[] = {ids[0], ids[1], ids[3], ids[0]};
    assert_true(lvk_tokenizer_decode(tok, seq, 4, &dec, &len, &err));
    assert_string_equal(dec, LVK_UTF8_REPLACEMENT LVK_UTF8_REPLACEMENT "a" LVK_UTF8_REPLACEMENT);
    free(dec);
    /* "中" encodes to whole-character tokens when one exists. */
    encode_ok(tok, "\xE4\xB8\xAD", 3, 0, &one, &n);
    assert_int_equal(n, 1);
    free(one);
    /* Out-of-range ids: decode fails with a message, piece gives NULL. */
    int32_t bad[] = {9906, 128256};
    assert_false(lvk_tokenizer_decode(tok, bad, 2, &dec, &len, &err));
    assert_non_null(strstr(err.msg, "128256"));
    assert_null(lvk_tokenizer_piece(tok, -1, &len));
    assert_null(lvk_tokenizer_piece(llama2.tok, 32000, &len));
}

static void invalid_utf8_is_an_error(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len, offset;
    } cases[] = {
        {"abc\xFF", 4, 3},             /* never valid */
        {"ab\xE4\xB8", 4, 2},          /* truncated */
        {"\xED\xA0\x80", 3, 0},        /* surrogate */
        {"x\xC0\xAF", 3, 1},           /* overlong '/' */
        {"\xF4\x90\x80\x80", 4, 0},    /* above U+10FFFF */
        {"ok \x80 no", 7, 3},          /* lone continuation */
    };
    const lvk_tokenizer *toks[] = {llama2.tok, llama3.tok};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            int32_t *ids = (int32_t *)1;
            size_t n = 99;
            lvk_err err;
            assert_false(lvk_tokenizer_encode(toks[k], cases[i].text, cases[i].len, LVK_ENCODE_SPECIAL, &ids, &n, &err));
            assert_null(ids);
            assert_int_equal(n, 0);
            char want[64];
            snprintf(want, sizeof want, "at offset %zu", cases[i].offset);
            if (!strstr(err.msg, want) || !strstr(err.msg, "UTF-8"))
                fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, want);
        }
    }
}

/* ---- damaged files ---- */

/* Loading must fail with a message or succeed; a tokenizer that loads must encode and decode. */
static bool try_load(lvk_tokenizer_type type, const uint8_t *data, size_t size)
{
    lvk_tokenizer *tok = NULL;
    lvk_err err;
    err.msg[0] = '\0';
    if (!lvk_tokenizer_load_memory(&tok, type, data, size, "damaged.model", &err)) {
        assert_null(tok);
        assert_non_null(strstr(err.msg, "damaged.model"));
        return false;
    }
    const char text[] = "Hello, 世界! 123";
    int32_t *ids;
    size_t n;
    if (lvk_tokenizer_encode(tok, text, strlen(text), LVK_ENCODE_BOS | LVK_ENCODE_SPECIAL, &ids, &n, &err)) {
        char *dec;
        size_t len;
        if (lvk_tokenizer_decode(tok, ids, n, &dec, &len, &err))
            free(dec);
        free(ids);
    }
    lvk_tokenizer_free(tok);
    return true;
}

static void damaged_files(model_file *m, lvk_tokenizer_type type)
{
    /* Cut at several points: in the middle of a structure / line each must fail. */
    const size_t cuts[] = {0, 1, 7, 100, m->size / 3, m->size / 2, m->size - 3};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        bool loaded = try_load(type, m->data, cuts[i]);
        if (loaded)
            fail_msg("a %s file cut at %zu bytes of %zu loaded", lvk_tokenizer_type_name(type), cuts[i], m->size);
    }
    /* Flipped bytes: fail cleanly or load something usable; never crash (the sanitizer build checks). */
    uint8_t *copy = malloc(m->size);
    for (int iter = 0; iter < 60; iter++) {
        memcpy(copy, m->data, m->size);
        int flips = 1 + (int)rnd(8);
        for (int f = 0; f < flips; f++) {
            size_t at = rnd((uint32_t)m->size);
            /* Aim half of the flips at the start, where the structure is. */
            if (iter % 2)
                at %= 4096;
            copy[at] ^= (uint8_t)(1u << rnd(8));
        }
        try_load(type, copy, m->size);
    }
    free(copy);
    /* The other kind of file. */
    model_file *other = m == &llama2 ? &llama3 : &llama2;
    assert_false(try_load(type, other->data, other->size));
}

static void llama2_damaged_files(void **state)
{
    (void)state;
    damaged_files(&llama2, LVK_TOKENIZER_SPM);
}

static void llama3_damaged_files(void **state)
{
    (void)state;
    damaged_files(&llama3, LVK_TOKENIZER_TIKTOKEN);
}

static void missing_file(void **state)
{
    (void)state;
    lvk_tokenizer *tok = (lvk_tokenizer *)1;
    lvk_err err;
    assert_false(lvk_tokenizer_load(&tok, LVK_TOKENIZER_TIKTOKEN, LVK_TEST_DATA "/no/such/tokenizer.model", &err));
    assert_null(tok);
    assert_non_null(strstr(err.msg, "no/such/tokenizer.model"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(type_names),
        cmocka_unit_test(bos_is_added_only_when_asked),
        cmocka_unit_test(llama3_special_tokens),
        cmocka_unit_test(llama2_control_tokens),
        cmocka_unit_test(llama2_round_trips),
        cmocka_unit_test(llama3_round_trips),
        cmocka_unit_test(llama2_word_by_word_equals_whole_text),
        cmocka_unit_test(detokenizer_partial_characters),
        cmocka_unit_test(invalid_utf8_is_an_error),
        cmocka_unit_test(llama2_damaged_files),
        cmocka_unit_test(llama3_damaged_files),
        cmocka_unit_test(missing_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
