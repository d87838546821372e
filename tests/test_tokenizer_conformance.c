/* Both tokenizers against the reference encoders: every string of
 * tests/data/tokenizers/<model>/expected.jsonl (made by SentencePiece 0.1.97 and tiktoken) must give
 * exactly the expected ids, and decoding them must give the expected text. Also BOS and special tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "io/tokenizer.h"
#include "test_files.h"

static lvk_tokenizer *load(lvk_tokenizer_type type, const char *model)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/%s/tokenizer.model", LVK_TEST_DATA, model);
    lvk_tokenizer *tok = NULL;
    lvk_err err = {{0}};
    if (!lvk_tokenizer_load(&tok, type, path, &err))
        fail_msg("loading %s: %s", path, err.msg);
    return tok;
}


static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The JSON string value of "key" in line, unescaped into a malloc'd buffer with its exact length.
 * (cJSON stops strings at "\u0000", and the fixtures contain NUL characters.) */
static char *json_string_field(const char *line, const char *key, size_t *len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(line, pat);
    assert_non_null(p);
    p += strlen(pat);
    char *out = malloc(strlen(p) + 1);
    size_t w = 0;
    while (*p && *p != '"') {
        if (*p != '\\') {
            out[w++] = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': out[w++] = '\n'; break;
        case 't': out[w++] = '\t'; break;
        case 'r': out[w++] = '\r'; break;
        case 'b': out[w++] = '\b'; break;
        case 'f': out[w++] = '\f'; break;
        case 'u': {
            uint32_t cp = (uint32_t)hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo = (uint32_t)hex4(p + 2);
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80) {
                out[w++] = (char)cp;
            } else if (cp < 0x800) {
                out[w++] = (char)(0xC0 | (cp >> 6));
                out[w++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[w++] = (char)(0xE0 | (cp >> 12));
                out[w++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[w++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[w++] = (char)(0xF0 | (cp >> 18));
                out[w++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[w++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[w++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: out[w++] = c; break; /* \" \\ \/ */
        }
    }
    out[w] = '\0';
    *len = w;
    return out;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, "\n");
}

/* Checks every line; returns the number of mismatches (reported on stderr). */
static int check_fixture(lvk_tokenizer *tok, const char *model, const char *file, int *n_lines)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/%s/%s", LVK_TEST_DATA, model, file);
    size_t size;
    char *data = test_read_file(path, &size);
    assert_non_null(data);
    int bad = 0;
    *n_lines = 0;
    for (char *line = data; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line) {
            cJSON *obj = cJSON_Parse(line);
            assert_non_null(obj);
            cJSON *text = cJSON_GetObjectItem(obj, "text"), *ids = cJSON_GetObjectItem(obj, "ids"),
                  *decoded = cJSON_GetObjectItem(obj, "decoded");
            assert_true(cJSON_IsString(text) && cJSON_IsArray(ids) && cJSON_IsString(decoded));
            size_t t_len, want_len;
            char *t = json_string_field(line, "text", &t_len);
            char *want = json_string_field(line, "decoded", &want_len);
            /* The hand-written unescaper agrees with cJSON wherever cJSON can represent the string. */
            if (strlen(text->valuestring) == t_len)
                assert_memory_equal(t, text->valuestring, t_len);
            int32_t *got = NULL;
            size_t n_got = 0;
            lvk_err err = {{0}};
            int n_exp = cJSON_GetArraySize(ids);
            bool ok = lvk_tokenizer_encode(tok, t, t_len, 0, &got, &n_got, &err);
            bool same = ok && n_got == (size_t)n_exp;
            for (int i = 0; same && i < n_exp; i++)
                same = got[i] == (int32_t)cJSON_GetArrayItem(ids, i)->valuedouble;
            if (!same) {
                bad++;
                fprintf(stderr, "%s line %d: ids differ for %s\n", model, *n_lines, line);
                if (!ok)
                    fprintf(stderr, "  error: %s\n", err.msg);
                else
                    print_ids("got", got, n_got);
            }
            /* decode(expected ids) == decoded */
            int32_t *exp = malloc(sizeof *exp * (size_t)(n_exp + 1));
            for (int i = 0; i < n_exp; i++)
                exp[i] = (int32_t)cJSON_GetArrayItem(ids, i)->valuedouble;
            char *dec = NULL;
            size_t dec_len = 0;
            assert_true(lvk_tokenizer_decode(tok, exp, (size_t)n_exp, &dec, &dec_len, &err));
            if (dec_len != want_len || memcmp(dec, want, dec_len) != 0) {
                bad++;
                fprintf(stderr, "%s line %d: decode differs: got '%s' for %s\n", model, *n_lines, dec, line);
            }
            free(dec);
            free(t);
            free(want);
            free(exp);
            free(got);
            cJSON_Delete(obj);
            (*n_lines)++;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(data);
    return bad;
}

static void llama2_matches_sentencepiece(void **state)
{
    (void)state;
    lvk_tokenizer *tok = load(LVK_TOKENIZER_SPM, "llama2");
    assert_int_equal(lvk_tokenizer_vocab_size(tok), 32000);
    assert_int_equal(lvk_tokenizer_bos_id(tok), 1);
    assert_int_equal(lvk_tokenizer_eos_id(tok), 2);
    int n_lines;
    int bad = check_fixture(tok, "llama2", "expected.jsonl", &n_lines);
    assert_int_equal(n_lines, 350);
    assert_int_equal(bad, 0);
    lvk_tokenizer_free(tok);
}

static void llama3_matches_tiktoken(void **state)
{
    (void)state;
    lvk_tokenizer *tok = load(LVK_TOKENIZER_TIKTOKEN, "llama3");
    assert_int_equal(lvk_tokenizer_vocab_size(tok), 128256);
    assert_int_equal(lvk_tokenizer_bos_id(tok), 128000);
    int n_lines;
    int bad = check_fixture(tok, "llama3", "expected.jsonl", &n_lines);
    assert_int_equal(n_lines, 350);
    assert_int_equal(bad, 0);
    lvk_tokenizer_free(tok);
}

/* 500 random strings per model (mixed scripts, rare whitespace such as U+180E, contractions), expected ids
 * from tiktoken 0.14 and sentencepiece 0.2.3 (tests/data/tokenizers/make_random_expected.py). Only characters
 * assigned by Unicode 14: PCRE2 10.42's tables end there, and newer letters split differently. */
static void random_strings_match_references(void **state)
{
    (void)state;
    lvk_tokenizer *tok = load(LVK_TOKENIZER_SPM, "llama2");
    int n_lines;
    int bad = check_fixture(tok, "llama2", "random_expected.jsonl", &n_lines);
    assert_int_equal(n_lines, 500);
    assert_int_equal(bad, 0);
    lvk_tokenizer_free(tok);
    tok = load(LVK_TOKENIZER_TIKTOKEN, "llama3");
    bad = check_fixture(tok, "llama3", "random_expected.jsonl", &n_lines);
    assert_int_equal(n_lines, 500);
    assert_int_equal(bad, 0);
    lvk_tokenizer_free(tok);
}

/* The demo models' own tokenizers (configs/demo/, trained by tools/train_demo_model.py): a SentencePiece
 * BPE with byte fallback and a tiktoken-format byte-level BPE, against sentencepiece / tiktoken on the
 * strings above plus held-out verses (tools/make_demo_fixtures.py). */
static void demo_tokenizers_match_references(void **state)
{
    (void)state;
    static const struct {
        lvk_tokenizer_type type;
        const char *name;
        int bos;
    } demos[] = {{LVK_TOKENIZER_SPM, "demo-llama2", 1}, {LVK_TOKENIZER_TIKTOKEN, "demo-llama3", 2816}};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/../../configs/demo/%s/tokenizer.model", LVK_TEST_DATA, demos[i].name);
        lvk_tokenizer *tok = NULL;
        lvk_err err = {{0}};
        if (!lvk_tokenizer_load(&tok, demos[i].type, path, &err))
            fail_msg("loading %s: %s", path, err.msg);
        assert_int_equal(lvk_tokenizer_vocab_size(tok), 3072);
        assert_int_equal(lvk_tokenizer_bos_id(tok), demos[i].bos);
        int n_lines;
        int bad = check_fixture(tok, demos[i].name, "expected.jsonl", &n_lines);
        assert_true(n_lines > 850);
        assert_int_equal(bad, 0);
        lvk_tokenizer_free(tok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_matches_sentencepiece),
        cmocka_unit_test(llama3_matches_tiktoken),
        cmocka_unit_test(random_strings_match_references),
        cmocka_unit_test(demo_tokenizers_match_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
