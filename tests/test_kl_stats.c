/* The numbers of llama-vk-perplexity --kl-base (model/kl_stats.h) against hand-computed values and an
 * independent formula, and its file (io/kl_base.h): the layout byte by byte, a round trip, and every way a
 * base file can fail to match being refused with a message that says which. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "io/kl_base.h"
#include "model/kl_stats.h"
#include "test_files.h"

/* KL(p || q) the textbook way: p_i = e^b_i / sum e^b_j, no max taken out (fine for |b| < 50),
 * sum p_i log(p_i / q_i), in long double. */
static double naive_kl(const float *b, const float *c, int n)
{
    long double zb = 0, zc = 0, kl = 0;
    for (int i = 0; i < n; i++)
        zb += expl(b[i]), zc += expl(c[i]);
    for (int i = 0; i < n; i++) {
        long double p = expl(b[i]) / zb, q = expl(c[i]) / zc;
        kl += p * logl(p / q);
    }
    return (double)kl;
}

static void kl_of_hand_computed_pairs(void **state)
{
    (void)state;
    /* p = (1/2, 1/2), q = (1, e) / (1 + e): KL(p||q) = ln((1 + e) / 2) - 1/2, KL(q||p) = ln 2 + sum q ln q */
    const float p[2] = {0, 0}, q[2] = {0, 1};
    assert_true(fabs(lvk_kl_divergence(p, q, 2) - 0.12011450695827752) < 1e-12);
    assert_true(fabs(lvk_kl_divergence(q, p, 2) - 0.11094407167172737) < 1e-12);
    assert_true(lvk_kl_divergence(q, q, 2) == 0);
    /* a one-hot-ish base against uniform over 4: KL = ln 4 - H(p) */
    const float sharp[4] = {0, -30, -30, -30}, flat[4] = {5, 5, 5, 5};
    assert_true(fabs(lvk_kl_divergence(sharp, flat, 4) - naive_kl(sharp, flat, 4)) < 1e-12);
    assert_true(fabs(lvk_kl_divergence(sharp, flat, 4) - log(4.0)) < 1e-10);
}

/* Logits near 1000 overflow exp() unless the max is taken out; softmax ignores a common shift. */
static void kl_ignores_a_shift_and_survives_large_logits(void **state)
{
    (void)state;
    enum { N = 33 };
    float x[N], shifted[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)((i * 7) % 33 - 16) * 0.25f; /* multiples of 1/4: x + 1024 is exact in float */
        shifted[i] = x[i] + 1024.0f;
    }
    double kl = lvk_kl_divergence(shifted, x, N);
    assert_true(isfinite(kl) && kl < 1e-12);
    assert_true(lvk_kl_divergence(x, shifted, N) < 1e-12);
}

static void kl_matches_the_textbook_formula_on_a_big_vocab(void **state)
{
    (void)state;
    enum { N = 3072 };
    float *b = malloc(sizeof(float) * N), *c = malloc(sizeof(float) * N);
    assert_non_null(b);
    assert_non_null(c);
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        b[i] = (float)((s >> 8) % 10000) / 1000.0f - 5.0f;
        s = s * 1664525u + 1013904223u;
        c[i] = b[i] + (float)((s >> 8) % 1000) / 1000.0f - 0.5f;
    }
    double want = naive_kl(b, c, N), got = lvk_kl_divergence(b, c, N);
    fprintf(stderr, "KL on %d logits: %.15g (textbook %.15g)\n", N, got, want);
    assert_true(want > 1e-3);
    assert_true(fabs(got - want) < 1e-9 * want);
    free(b);
    free(c);
}

static void argmax_takes_the_first_of_a_tie(void **state)
{
    (void)state;
    const float tie[4] = {1, 3, 3, 2}, neg[3] = {-5, -1, -7}, one[1] = {-2}, last[3] = {0, 0, 1};
    assert_int_equal(lvk_argmax(tie, 4), 1);
    assert_int_equal(lvk_argmax(neg, 3), 1);
    assert_int_equal(lvk_argmax(one, 1), 0);
    assert_int_equal(lvk_argmax(last, 3), 2);
}

static void percentile_interpolates_between_ranks(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (double)((i * 37) % 100 + 1); /* 1..100, shuffled */
    /* numpy.percentile(range(1, 101), [99, 50, 0, 100]) = 99.01, 50.5, 1, 100 */
    assert_true(fabs(lvk_percentile(v, 100, 0.99) - 99.01) < 1e-12);
    assert_true(fabs(lvk_percentile(v, 100, 0.5) - 50.5) < 1e-12);
    assert_true(lvk_percentile(v, 100, 0) == 1);
    assert_true(lvk_percentile(v, 100, 1) == 100);
    double single = 0.25;
    assert_true(lvk_percentile(&single, 1, 0.99) == 0.25);
    double three[3] = {3, 1, 2}; /* rank 0.99 * 2 = 1.98: 2 + 0.98 */
    assert_true(fabs(lvk_percentile(three, 3, 0.99) - 2.98) < 1e-12);
}

/* ---- the file ---- */

#define BASE_PATH LVK_TEST_TMP "/kl_stats_base.bin"
enum { VOCAB = 5 };
static const lvk_kl_base_header header = {
    .vocab = VOCAB, .ctx = 8, .first = 4, .n_chunks = 2, .n_tokens = 6, .ids_hash = 0x0123456789abcdefull};

static void position_logits(int t, float *out)
{
    for (int i = 0; i < VOCAB; i++)
        out[i] = (float)(t * 10 + i) * (i % 2 ? -0.5f : 1.0f);
}

static void write_base(const char *path, int positions, bool finish)
{
    lvk_kl_base b;
    lvk_err err = {{0}};
    if (!lvk_kl_base_create(&b, path, &header, &err))
        fail_msg("%s", err.msg);
    for (int t = 0; t < positions; t++) {
        float x[VOCAB];
        position_logits(t, x);
        if (!lvk_kl_base_write(&b, x, &err))
            fail_msg("%s", err.msg);
    }
    if (finish) {
        if (!lvk_kl_base_finish(&b, &err))
            fail_msg("%s", err.msg);
    } else {
        lvk_kl_base_close(&b);
    }
}

static void fnv1a_is_the_published_one(void **state)
{
    (void)state;
    const int32_t ids[2] = {0x64636261, 0x68676665}; /* "abcdefgh" as little-endian i32s */
    assert_true(lvk_kl_base_hash(LVK_FNV1A_START, ids, 0) == 0xcbf29ce484222325ull);
    assert_true(lvk_kl_base_hash(LVK_FNV1A_START, ids, 1) == 0xfc179f83ee0724ddull); /* FNV-1a 64 of "abcd" */
    assert_true(lvk_kl_base_hash(LVK_FNV1A_START, ids, 2) == 0x25da8c1836a8d66dull);
    assert_true(lvk_kl_base_hash(lvk_kl_base_hash(LVK_FNV1A_START, ids, 1), ids + 1, 1) == 0x25da8c1836a8d66dull);
}

static void file_layout_is_the_documented_one(void **state)
{
    (void)state;
    write_base(BASE_PATH, 6, true);
    size_t size = 0;
    unsigned char *bytes = (unsigned char *)test_read_file(BASE_PATH, &size);
    assert_non_null(bytes);
    assert_int_equal(size, LVK_KL_BASE_HEADER_BYTES + 6 * VOCAB * 4);
    static const unsigned char want_header[LVK_KL_BASE_HEADER_BYTES] = {
        'L', 'V', 'K', 'K', 'L', 'B', 'A', 'S', 1, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        6, 0, 0, 0, 0, 0, 0, 0, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};
    assert_memory_equal(bytes, want_header, sizeof want_header);
    /* position 0: 0, -0.5 * 1, 2, ...; position 1 starts with 10.0f = 0x41200000 */
    static const unsigned char first_two[8] = {0, 0, 0, 0, 0, 0, 0, 0xbf};
    assert_memory_equal(bytes + LVK_KL_BASE_HEADER_BYTES, first_two, 8);
    static const unsigned char ten[4] = {0, 0, 0x20, 0x41};
    assert_memory_equal(bytes + LVK_KL_BASE_HEADER_BYTES + VOCAB * 4, ten, 4);
    free(bytes);
}

static void file_round_trips(void **state)
{
    (void)state;
    write_base(BASE_PATH, 6, true);
    lvk_kl_base b;
    lvk_err err = {{0}};
    if (!lvk_kl_base_open(&b, BASE_PATH, &header, &err))
        fail_msg("%s", err.msg);
    for (int t = 0; t < 6; t++) {
        float want[VOCAB], got[VOCAB];
        position_logits(t, want);
        assert_true(lvk_kl_base_read(&b, got, &err));
        assert_memory_equal(got, want, sizeof want);
    }
    float extra[VOCAB];
    assert_false(lvk_kl_base_read(&b, extra, &err));
    assert_true(lvk_kl_base_finish(&b, &err));
    lvk_kl_base_close(&b);
}

static void writing_checks_the_count(void **state)
{
    (void)state;
    lvk_kl_base b;
    lvk_err err = {{0}};
    float x[VOCAB] = {0};
    assert_true(lvk_kl_base_create(&b, BASE_PATH, &header, &err));
    for (int t = 0; t < 6; t++)
        assert_true(lvk_kl_base_write(&b, x, &err));
    assert_false(lvk_kl_base_write(&b, x, &err));
    assert_non_null(strstr(err.msg, "more positions"));
    lvk_kl_base_close(&b);
    assert_true(lvk_kl_base_create(&b, BASE_PATH, &header, &err));
    assert_true(lvk_kl_base_write(&b, x, &err));
    assert_false(lvk_kl_base_finish(&b, &err));
    assert_non_null(strstr(err.msg, "1 of 6 positions written"));
    lvk_kl_base_close(&b);
    assert_false(lvk_kl_base_create(&b, LVK_TEST_TMP "/no_such_dir/base.bin", &header, &err));
    assert_non_null(strstr(err.msg, "cannot create"));
}

static void expect_refused(const lvk_kl_base_header *want, const char *message)
{
    lvk_kl_base b;
    lvk_err err = {{0}};
    if (lvk_kl_base_open(&b, BASE_PATH, want, &err))
        fail_msg("opened; expected \"%s\"", message);
    if (!strstr(err.msg, message))
        fail_msg("error \"%s\", expected \"%s\"", err.msg, message);
    lvk_kl_base_close(&b); /* safe after a refusal */
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void a_base_that_does_not_match_is_refused(void **state)
{
    (void)state;
    write_base(BASE_PATH, 6, true);
    lvk_kl_base_header h = header;
    h.vocab = 6;
    expect_refused(&h, "vocab 5, this run has 6");
    h = header, h.ctx = 16;
    expect_refused(&h, "ctx 8, this run has 16");
    h = header, h.first = 3;
    expect_refused(&h, "first scored position 4");
    h = header, h.n_chunks = 3;
    expect_refused(&h, "chunks 2, this run has 3");
    h = header, h.n_tokens = 7;
    expect_refused(&h, "scored tokens 6, this run has 7");
    h = header, h.ids_hash ^= 1;
    expect_refused(&h, "other tokens");

    size_t size = 0;
    char *bytes = test_read_file(BASE_PATH, &size);
    assert_non_null(bytes);
    write_bytes(BASE_PATH, bytes, size - 1);
    expect_refused(&header, "truncated");
    write_bytes(BASE_PATH, bytes, 30);
    expect_refused(&header, "shorter than the 48-byte header");
    write_bytes(BASE_PATH, bytes, 0);
    expect_refused(&header, "shorter than the 48-byte header");
    bytes[8] = 2;
    write_bytes(BASE_PATH, bytes, size);
    expect_refused(&header, "version 2");
    bytes[8] = 1, bytes[0] = 'X';
    write_bytes(BASE_PATH, bytes, size);
    expect_refused(&header, "bad magic");
    free(bytes);

    char longer[LVK_KL_BASE_HEADER_BYTES + 6 * VOCAB * 4 + 1];
    write_base(BASE_PATH, 6, true);
    bytes = test_read_file(BASE_PATH, &size);
    assert_int_equal(size, sizeof longer - 1);
    memcpy(longer, bytes, size);
    longer[size] = 0;
    write_bytes(BASE_PATH, longer, sizeof longer);
    expect_refused(&header, "trailing bytes");
    free(bytes);

    write_base(BASE_PATH, 3, false); /* a run that stopped early */
    expect_refused(&header, "unfinished");
    remove(BASE_PATH);
    expect_refused(&header, "cannot open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kl_of_hand_computed_pairs),
        cmocka_unit_test(kl_ignores_a_shift_and_survives_large_logits),
        cmocka_unit_test(kl_matches_the_textbook_formula_on_a_big_vocab),
        cmocka_unit_test(argmax_takes_the_first_of_a_tie),
        cmocka_unit_test(percentile_interpolates_between_ranks),
        cmocka_unit_test(fnv1a_is_the_published_one),
        cmocka_unit_test(file_layout_is_the_documented_one),
        cmocka_unit_test(file_round_trips),
        cmocka_unit_test(writing_checks_the_count),
        cmocka_unit_test(a_base_that_does_not_match_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
