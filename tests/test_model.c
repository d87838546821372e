/* The whole model on the device against the CPU reference (src/ref/llama.c), on small models written
 * by llama-vk-testmodel in the real format with the real vocabularies:
 *   - a LLaMA2-style model: Float16, heads = kv heads, theta 1e4, vocab 32000;
 *   - a LLaMA3-style model: BFloat16, GQA, theta 5e5, vocab 128256, embedding and lm_head sliced, CRC trailer.
 * Checks: logits NMSE <= 1e-5 after a prefill; greedy sequences equal; decode with the KV cache equal
 * to a fresh prefill of the same tokens; prefills that cross batch steps and both kernel paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/llama.h"
#include "ref/llama.h"

typedef struct test_model {
    const char *name;
    const char *testmodel_args;
    lvk_model_config cfg;
    char path[512];
    lvk_ckpt ck;
} test_model;

typedef struct fixture {
    lvk_instance inst;
    lvk_device d;
    test_model models[2];
} fixture;

static void config_for(test_model *t, const char *json)
{
    lvk_err err = {{0}};
    if (!lvk_config_parse(json, t->name, &t->cfg, &err))
        fail_msg("config %s: %s", t->name, err.msg);
}

static int write_model(test_model *t)
{
    snprintf(t->path, sizeof t->path, "%s/%s.ckpt", LVK_TEST_TMP, t->name);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s/llama-vk-testmodel\" -o \"%s\" %s", LVK_BIN_DIR, t->path, t->testmodel_args);
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        return -1;
    }
    lvk_err err = {{0}};
    if (!lvk_ckpt_open(&t->ck, t->path, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    lvk_err err = {{0}};
    int index = 0;
    if (!f || !lvk_instance_create(&f->inst, &err) || !lvk_device_choose(&f->inst, NULL, &index, &err) ||
        !lvk_device_create(&f->d, &f->inst, index, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    f->models[0].name = "llama2_small";
    f->models[0].testmodel_args =
        "-V 2 --dim 128 --layers 2 --heads 4 --kv-heads 4 --ffn 344 --vocab 32000 --dtype Float16 --seed 11";
    config_for(&f->models[0],
               "{\"name\": \"llama2-small\", \"model\": {\"dim\": 128, \"n_layers\": 2, \"n_heads\": 4, \"n_kv_heads\": 4,"
               " \"ffn_dim\": 344, \"vocab_size\": 32000, \"norm_eps\": 1e-5, \"rope_theta\": 10000.0,"
               " \"max_seq_len\": 256}, \"tokenizer\": {\"type\": \"sentencepiece\", \"file\": \"tokenizer.model\","
               " \"bos_id\": 1, \"eos_ids\": [2]}, \"checkpoint\": \"llama2_small.ckpt\"}");
    f->models[1].name = "llama3_small";
    f->models[1].testmodel_args = "-V 3 --dim 128 --layers 2 --heads 4 --kv-heads 2 --ffn 320 --vocab 128256 "
                                  "--dtype BFloat16 --seed 12 --slice-bytes 8388608 --crc";
    config_for(&f->models[1],
               "{\"name\": \"llama3-small\", \"model\": {\"dim\": 128, \"n_layers\": 2, \"n_heads\": 4, \"n_kv_heads\": 2,"
               " \"ffn_dim\": 320, \"vocab_size\": 128256, \"norm_eps\": 1e-5, \"rope_theta\": 500000.0,"
               " \"max_seq_len\": 256}, \"tokenizer\": {\"type\": \"tiktoken\", \"file\": \"tokenizer.model\","
               " \"bos_id\": 128000, \"eos_ids\": [128001, 128009]}, \"checkpoint\": \"llama3_small.ckpt\"}");
    for (int i = 0; i < 2; i++)
        if (write_model(&f->models[i]) != 0)
            return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 2; i++) {
        lvk_ckpt_close(&f->models[i].ck);
        remove(f->models[i].path);
    }
    lvk_device_destroy(&f->d);
    lvk_instance_destroy(&f->inst);
    free(f);
    /* With the validation layer on (CI), any error it reported fails the run. */
    if (lvk_validation_error_count() > 0) {
        fprintf(stderr, "the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        return -1;
    }
    return 0;
}

static double nmse(const float *got, const float *want, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        e += d * d;
        r += (double)want[i] * want[i];
    }
    return r > 0 ? e / r : e;
}

static uint32_t argmax(const float *x, size_t n)
{
    uint32_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = (uint32_t)i;
    return best;
}

/* A fixed token sequence inside the vocabulary. */
static void make_tokens(int32_t *ids, uint32_t n, int vocab, uint32_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((s >> 33) % (uint64_t)vocab);
    }
}

static void load(fixture *f, test_model *t, uint32_t max_batch, lvk_llama *m)
{
    lvk_err err = {{0}};
    lvk_llama_options opt = {.max_seq = 128, .max_batch = max_batch};
    if (!lvk_llama_load(m, &f->d, &t->cfg, &t->ck, &opt, &err))
        fail_msg("load %s: %s", t->name, err.msg);
}

/* Prefill of 23 tokens in steps of 16 (GEMM path for the first, matrix×vector for the rest of 7):
 * the last logits match the reference within NMSE 1e-5. The reference keeps its KV cache in fp16 as
 * the device does, so what is left is fp32 accumulation order and fp32 transcendental functions. */
static void prefill_matches_reference(fixture *f, test_model *t)
{
    const uint32_t n = 23;
    const size_t vocab = (size_t)t->cfg.vocab_size;
    int32_t ids[23];
    make_tokens(ids, n, t->cfg.vocab_size, 5);
    float *got = malloc(vocab * sizeof *got), *want = malloc(vocab * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    lvk_err err = {{0}};
    lvk_ref_llama *ref = NULL;
    assert_true(lvk_ref_llama_create(&ref, &t->cfg, &t->ck, 128, &err));
    lvk_ref_llama_set_fp16_kv(ref, true);
    assert_true(lvk_ref_llama_forward(ref, ids, n, 0, false, want, &err));

    lvk_llama m;
    load(f, t, 16, &m);
    lvk_llama_result r = {.logits = got};
    if (!lvk_llama_forward(&m, ids, n, LVK_OUT_LOGITS, 0, &r, &err))
        fail_msg("%s", err.msg);
    double e = nmse(got, want, vocab);
    printf("%s: prefill logits NMSE %.3e\n", t->name, e);
    assert_true(e <= 1e-5);
    assert_int_equal(argmax(got, vocab), argmax(want, vocab));

    /* The device's own argmax and top-k agree with its logits. */
    lvk_llama_reset(&m);
    assert_true(lvk_llama_forward(&m, ids, n, LVK_OUT_ARGMAX, 0, &r, &err));
    assert_int_equal(r.argmax, argmax(got, vocab));
    lvk_llama_reset(&m);
    assert_true(lvk_llama_forward(&m, ids, n, LVK_OUT_TOPK, 40, &r, &err));
    assert_int_equal(r.n_top, 40);
    assert_int_equal(r.top_idx[0], argmax(got, vocab));
    for (uint32_t i = 1; i < r.n_top; i++)
        assert_true(r.top_val[i] <= r.top_val[i - 1]);
    lvk_llama_destroy(&m);
    lvk_ref_llama_free(ref);
    free(got);
    free(want);
}

/* Greedy decoding of 12 tokens after a 9-token prompt: the same sequence as the reference. */
static void greedy_matches_reference(fixture *f, test_model *t)
{
    const uint32_t n_prompt = 9, n_new = 12;
    const size_t vocab = (size_t)t->cfg.vocab_size;
    int32_t seq[9 + 12];
    make_tokens(seq, n_prompt, t->cfg.vocab_size, 9);
    float *want = malloc(vocab * sizeof *want);
    assert_non_null(want);
    lvk_err err = {{0}};
    lvk_ref_llama *ref = NULL;
    assert_true(lvk_ref_llama_create(&ref, &t->cfg, &t->ck, 128, &err));
    lvk_ref_llama_set_fp16_kv(ref, true);
    lvk_llama m;
    load(f, t, 64, &m);
    lvk_llama_result r = {0};
    assert_true(lvk_ref_llama_forward(ref, seq, n_prompt, 0, false, want, &err));
    assert_true(lvk_llama_forward(&m, seq, n_prompt, LVK_OUT_ARGMAX, 0, &r, &err));
    for (uint32_t i = 0; i < n_new; i++) {
        int32_t ref_next = (int32_t)argmax(want, vocab);
        assert_int_equal((int32_t)r.argmax, ref_next);
        seq[n_prompt + i] = ref_next;
        assert_true(lvk_ref_llama_forward(ref, &seq[n_prompt + i], 1, n_prompt + i, false, want, &err));
        assert_true(lvk_llama_forward(&m, &seq[n_prompt + i], 1, LVK_OUT_ARGMAX, 0, &r, &err));
    }
    lvk_llama_destroy(&m);
    lvk_ref_llama_free(ref);
    free(want);
}

/* 30 tokens decoded one at a time through the KV cache give the same last logits as one fresh
 * prefill of all 30 (different kernels: matrix×vector + decode attention vs GEMM + prefill attention). */
static void decode_equals_fresh_prefill(fixture *f, test_model *t)
{
    const uint32_t n = 30;
    const size_t vocab = (size_t)t->cfg.vocab_size;
    int32_t ids[30];
    make_tokens(ids, n, t->cfg.vocab_size, 17);
    float *stepwise = malloc(vocab * sizeof *stepwise), *fresh = malloc(vocab * sizeof *fresh);
    assert_non_null(stepwise);
    assert_non_null(fresh);
    lvk_err err = {{0}};
    lvk_llama m;
    load(f, t, 64, &m);
    lvk_llama_result r = {.logits = stepwise};
    for (uint32_t i = 0; i < n; i++)
        assert_true(lvk_llama_forward(&m, &ids[i], 1, LVK_OUT_LOGITS, 0, &r, &err));
    lvk_llama_reset(&m);
    r.logits = fresh;
    assert_true(lvk_llama_forward(&m, ids, n, LVK_OUT_LOGITS, 0, &r, &err));
    double e = nmse(stepwise, fresh, vocab);
    printf("%s: decode vs fresh prefill NMSE %.3e\n", t->name, e);
    assert_true(e <= 1e-9);
    assert_int_equal(argmax(stepwise, vocab), argmax(fresh, vocab));
    lvk_llama_destroy(&m);
    free(stepwise);
    free(fresh);
}

static void bad_input_is_refused(fixture *f, test_model *t)
{
    lvk_err err = {{0}};
    lvk_llama m;
    load(f, t, 16, &m);
    lvk_llama_result r = {0};
    int32_t bad = t->cfg.vocab_size;
    assert_false(lvk_llama_forward(&m, &bad, 1, LVK_OUT_ARGMAX, 0, &r, &err));
    assert_non_null(strstr(err.msg, "outside the vocabulary"));
    int32_t *many = calloc(200, sizeof *many);
    assert_non_null(many);
    assert_false(lvk_llama_forward(&m, many, 200, LVK_OUT_ARGMAX, 0, &r, &err)); /* context is 128 */
    assert_non_null(strstr(err.msg, "context"));
    free(many);
    lvk_llama_destroy(&m);

    /* A config that does not match the checkpoint is refused before anything is allocated. */
    lvk_model_config wrong = t->cfg;
    wrong.ffn_dim += 8;
    lvk_llama_options opt = {.max_seq = 64};
    assert_false(lvk_llama_load(&m, &f->d, &wrong, &t->ck, &opt, &err));
    assert_non_null(strstr(err.msg, "feed_forward"));
}

static void llama2_prefill(void **state) { prefill_matches_reference(*state, &((fixture *)*state)->models[0]); }
static void llama3_prefill(void **state) { prefill_matches_reference(*state, &((fixture *)*state)->models[1]); }
static void llama2_greedy(void **state) { greedy_matches_reference(*state, &((fixture *)*state)->models[0]); }
static void llama3_greedy(void **state) { greedy_matches_reference(*state, &((fixture *)*state)->models[1]); }
static void llama2_decode(void **state) { decode_equals_fresh_prefill(*state, &((fixture *)*state)->models[0]); }
static void llama3_decode(void **state) { decode_equals_fresh_prefill(*state, &((fixture *)*state)->models[1]); }
static void llama3_bad_input(void **state) { bad_input_is_refused(*state, &((fixture *)*state)->models[1]); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_prefill), cmocka_unit_test(llama3_prefill), cmocka_unit_test(llama2_greedy),
        cmocka_unit_test(llama3_greedy),  cmocka_unit_test(llama2_decode),  cmocka_unit_test(llama3_decode),
        cmocka_unit_test(llama3_bad_input),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    /* cmocka 1.1 prints a failed group teardown but does not count it: validation errors fail here. */
    return failed || lvk_validation_error_count() > 0 ? 1 : 0;
}
