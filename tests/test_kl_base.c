/* llama-vk-perplexity --kl-base on the demo models: a run against the base it wrote itself is at KL 0 with
 * every top-1 agreeing; a base with two positions swapped gives exactly the KL those two contribute (so
 * the comparison reads the base in order, not just the header); and a base that does not belong to the
 * run (garbage, truncated, unfinished, another ctx, chunk count, model or text) is refused with a clear
 * message and an exit code in 1..127. The KL arithmetic itself is checked in test_kl_stats. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "io/kl_base.h"
#include "model/kl_stats.h"
#include "run_program.h"
#include "test_files.h"

#define NO_MODELS "--models " LVK_TEST_TMP "/no_models_here"
#define HELDOUT " -f " LVK_TEST_DATA "/demo/heldout.txt"
#define DEMO2 "-V demo2 " NO_MODELS HELDOUT " --ctx 128 --chunks 4"
#define BASE LVK_TEST_TMP "/kl_base_demo2.bin"
#define COPY LVK_TEST_TMP "/kl_base_copy.bin"

static double json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("no \"%s\" in %s", key, run_out);
    return v->valuedouble;
}

/* Runs llama-vk-perplexity with args --json and returns its output object (the caller frees it). */
static cJSON *run_json(const char *args)
{
    char all[1024];
    snprintf(all, sizeof all, "%s --json", args);
    int rc = run_program("llama-vk-perplexity", all);
    if (rc != 0)
        fail_msg("llama-vk-perplexity %s: exit %d: %s", all, rc, run_err);
    cJSON *out = cJSON_Parse(run_out);
    if (!out)
        fail_msg("llama-vk-perplexity %s: not JSON: %s", all, run_out);
    return out;
}

/* The demo2 base, written afresh; its ppl. */
static double write_demo2_base(void)
{
    remove(BASE);
    cJSON *out = run_json(DEMO2 " --kl-base " BASE);
    assert_null(cJSON_GetObjectItem(out, "kld_mean")); /* a run that writes the base compares nothing */
    double ppl = json_number(out, "ppl");
    cJSON_Delete(out);
    return ppl;
}

static void kl_against_its_own_base_is_zero(void **state)
{
    (void)state;
    double ppl = write_demo2_base();
    size_t size = 0;
    char *bytes = test_read_file(BASE, &size);
    assert_non_null(bytes);
    free(bytes);
    assert_int_equal(size, LVK_KL_BASE_HEADER_BYTES + 252 * 3072 * 4); /* 4 chunks of 63 positions, vocab 3072 */
    cJSON *out = run_json(DEMO2 " --kl-base " BASE);
    fprintf(stderr, "demo-llama2 against its own base: ppl %.4f (base %.4f), kld_mean %g, kld_p99 %g, top1 %g\n",
            json_number(out, "ppl"), ppl, json_number(out, "kld_mean"), json_number(out, "kld_p99"),
            json_number(out, "top1_agree"));
    assert_true(fabs(json_number(out, "ppl") - ppl) < 1e-6 * ppl);
    assert_true(json_number(out, "kld_mean") < 1e-9);
    assert_true(json_number(out, "kld_p99") < 1e-9);
    assert_true(json_number(out, "top1_agree") == 1);
    assert_int_equal((int)json_number(out, "tokens"), 252);
    cJSON_Delete(out);
    /* the text output says the same */
    int rc = run_program("llama-vk-perplexity", DEMO2 " --kl-base " BASE);
    if (rc != 0 || !strstr(run_out, "KL divergence mean 0, p99 0; top-1 agreement 1.0000"))
        fail_msg("exit %d, stdout: %s", rc, run_out);
}

/* Positions a and b of the base's logits swapped in a copy: this run (the base's own logits) is then off
 * by KL(b || a) at position a and KL(a || b) at b, and nowhere else. */
static void kl_sees_two_swapped_positions(void **state)
{
    (void)state;
    write_demo2_base();
    size_t size = 0;
    char *bytes = test_read_file(BASE, &size);
    assert_non_null(bytes);
    enum { VOCAB = 3072, TOKENS = 252, A = 5 };
    size_t row = VOCAB * 4;
    /* little-endian host assumed, as the file is */
    float *pa = (float *)(void *)(bytes + LVK_KL_BASE_HEADER_BYTES + A * row), *pb = NULL;
    /* b: a later position whose most likely next token is another, so top-1 agreement drops too */
    for (int b = A + 1; b < TOKENS && !pb; b++) {
        float *p = (float *)(void *)(bytes + LVK_KL_BASE_HEADER_BYTES + (size_t)b * row);
        if (lvk_argmax(p, VOCAB) != lvk_argmax(pa, VOCAB))
            pb = p;
    }
    assert_non_null(pb);
    double want_mean = (lvk_kl_divergence(pb, pa, VOCAB) + lvk_kl_divergence(pa, pb, VOCAB)) / TOKENS;
    double want_top1 = (TOKENS - 2.0) / TOKENS;
    char tmp[VOCAB * 4];
    memcpy(tmp, pa, row), memcpy(pa, pb, row), memcpy(pb, tmp, row);
    FILE *f = fopen(COPY, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    fclose(f);
    free(bytes);
    cJSON *out = run_json(DEMO2 " --kl-base " COPY);
    double mean = json_number(out, "kld_mean"), top1 = json_number(out, "top1_agree");
    fprintf(stderr, "two positions swapped: kld_mean %.9g (expected %.9g), top1 %.6f (expected %.6f)\n", mean,
            want_mean, top1, want_top1);
    assert_true(want_mean > 1e-3);
    assert_true(fabs(mean - want_mean) < 1e-6 * want_mean);
    assert_true(fabs(top1 - want_top1) < 1e-6);
    assert_true(json_number(out, "kld_p99") == 0); /* 250 of 252 are 0: the 99th percentile is too */
    cJSON_Delete(out);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void a_base_that_does_not_belong_is_refused(void **state)
{
    (void)state;
    write_demo2_base();
    size_t size = 0;
    char *bytes = test_read_file(BASE, &size);
    assert_non_null(bytes);
    static const struct {
        const char *file; /* written before the run: "truncated", "garbage", "unfinished", or NULL: BASE as is */
        const char *args, *message;
    } cases[] = {
        {NULL, "-V demo2 " NO_MODELS HELDOUT " --ctx 64 --chunks 4", "ctx 128, this run has 64"},
        {NULL, "-V demo2 " NO_MODELS HELDOUT " --ctx 128 --chunks 3", "chunks 4, this run has 3"},
        /* same vocab size (3072), another tokenizer: the ids differ */
        {NULL, "-V demo3 " NO_MODELS HELDOUT " --ctx 128 --chunks 4", "other tokens"},
        {NULL, "-V demo2 " NO_MODELS " -f " LVK_TEST_DATA "/demo/demo-llama2.greedy.json --ctx 128 --chunks 4",
         "other tokens"},
        {"truncated", DEMO2, "truncated"},
        {"garbage", DEMO2, "bad magic"},
        {"empty", DEMO2, "shorter than the 48-byte header"},
        {"unfinished", DEMO2, "unfinished"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = BASE;
        if (cases[i].file) {
            path = COPY;
            const char *kind = cases[i].file;
            char *copy = malloc(size);
            assert_non_null(copy);
            memcpy(copy, bytes, size);
            if (!strcmp(kind, "garbage"))
                memset(copy, 0x5a, 4096);
            if (!strcmp(kind, "unfinished"))
                memcpy(copy, "LVKKLTMP", 8);
            size_t n = !strcmp(kind, "truncated") ? size - 4 : !strcmp(kind, "empty") ? 0 : size;
            write_file(COPY, copy, n);
            free(copy);
        }
        char args[1024];
        snprintf(args, sizeof args, "%s --kl-base %s", cases[i].args, path);
        int rc = run_program("llama-vk-perplexity", args);
        if (rc <= 0 || rc >= 128 || !strstr(run_err, cases[i].message) || !strstr(run_err, "--kl-base"))
            fail_msg("llama-vk-perplexity %s: exit %d, stderr: %s (expected \"%s\")", args, rc, run_err,
                     cases[i].message);
        /* refused before the model was loaded */
        assert_null(strstr(run_err, "device:"));
    }
    free(bytes);
    /* a base that cannot be written: after the load, still a clear error */
    int rc = run_program("llama-vk-perplexity", DEMO2 " --kl-base " LVK_TEST_TMP "/no_such_dir/base.bin");
    if (rc <= 0 || rc >= 128 || !strstr(run_err, "cannot create"))
        fail_msg("exit %d, stderr: %s", rc, run_err);
}

static void weights_and_vram_reach_the_load(void **state)
{
    (void)state;
    cJSON *out = run_json(DEMO2 " --weights stored --vram 1G");
    assert_true(json_number(out, "ppl") > 1);
    cJSON_Delete(out);
    int rc = run_program("llama-vk-perplexity", DEMO2 " --weights q3");
    if (rc <= 0 || rc >= 128 || !strstr(run_err, "--weights q3: expected auto, stored"))
        fail_msg("exit %d, stderr: %s", rc, run_err);
    rc = run_program("llama-vk-perplexity", DEMO2 " --vram 12X");
    if (rc <= 0 || rc >= 128 || !strstr(run_err, "size '12X'"))
        fail_msg("exit %d, stderr: %s", rc, run_err);
    /* a budget too small for the stored weights: the plan refuses it, so --vram did reach it */
    rc = run_program("llama-vk-perplexity", DEMO2 " --weights stored --vram 1M");
    if (rc <= 0 || rc >= 128 || !strstr(run_err, "(--vram)"))
        fail_msg("exit %d, stderr: %s", rc, run_err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kl_against_its_own_base_is_zero),
        cmocka_unit_test(kl_sees_two_swapped_positions),
        cmocka_unit_test(a_base_that_does_not_belong_is_refused),
        cmocka_unit_test(weights_and_vram_reach_the_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
