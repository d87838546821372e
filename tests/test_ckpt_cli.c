/* llama-vk-testmodel and llama-vk-inspect as programs: exit codes, output, and what they write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "io/ckpt.h"
#include "io/config.h"
#include "run_program.h"
#include "test_files.h"

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

#define SMALL3 "-V 3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --vocab 500"

static void bf16_sliced_crc_model_inspects_cleanly(void **state)
{
    (void)state;
    const char *path = LVK_TEST_TMP "/cli_bf16.ckpt";
    assert_int_equal(run_program("llama-vk-testmodel", "-o \"" LVK_TEST_TMP "/cli_bf16.ckpt\" " SMALL3
                                                        " --slice-bytes 4096 --crc --seed 7"),
                     0);
    assert_int_equal(run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/cli_bf16.ckpt\""), 0);
    assert_non_null(strstr(run_out, "verified"));
    assert_non_null(strstr(run_out, "BFloat16 x21"));
    assert_non_null(strstr(run_out, "llama-shaped (dim 64, layers 2, kv dim 32, ffn 96, vocab 500)"));

    assert_int_equal(run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/cli_bf16.ckpt\" --json"), 0);
    cJSON *root = cJSON_Parse(run_out);
    assert_non_null(root);
    cJSON *tensors = cJSON_GetObjectItem(root, "tensors");
    assert_int_equal(cJSON_GetArraySize(tensors), 21);
    cJSON *last = cJSON_GetArrayItem(tensors, 20);
    assert_string_equal(cJSON_GetObjectItem(last, "name")->valuestring, "lm_head.weight");
    assert_int_equal((int)cJSON_GetObjectItem(last, "slices")->valuedouble, 16); /* 64000 bytes / 4096 */
    assert_int_equal((int)cJSON_GetObjectItem(last, "bytes")->valuedouble, 64000);
    cJSON *summary = cJSON_GetObjectItem(root, "summary");
    assert_string_equal(cJSON_GetObjectItem(summary, "crc")->valuestring, "verified");
    cJSON_Delete(root);

    /* the library agrees: llama3 file order and every shape the config implies */
    lvk_ckpt ck;
    lvk_err err;
    lvk_model_config cfg;
    assert_true(lvk_ckpt_open(&ck, path, NULL, &err));
    assert_true(lvk_config_builtin(3, &cfg, &err));
    cfg.dim = 64, cfg.n_layers = 2, cfg.n_heads = 4, cfg.n_kv_heads = 2, cfg.ffn_dim = 96, cfg.vocab_size = 500;
    assert_true(lvk_config_check_ckpt(&cfg, &ck, &err));
    /* Written out here from DESIGN §2.2 (MindFormers names, LLaMA3 file order: w1, w3, w2), not taken from
     * the layout table the writer itself uses, so a drift in that table shows. */
    static const struct {
        const char *name;
        int64_t rows, cols; /* cols 0: a vector of rows values */
    } want[21] = {
        {"model.tok_embeddings.embedding_weight", 500, 64},
        {"model.layers.0.attention.wq.weight", 64, 64},     {"model.layers.0.attention.wk.weight", 32, 64},
        {"model.layers.0.attention.wv.weight", 32, 64},     {"model.layers.0.attention.wo.weight", 64, 64},
        {"model.layers.0.feed_forward.w1.weight", 96, 64},  {"model.layers.0.feed_forward.w3.weight", 96, 64},
        {"model.layers.0.feed_forward.w2.weight", 64, 96},  {"model.layers.0.attention_norm.weight", 64, 0},
        {"model.layers.0.ffn_norm.weight", 64, 0},
        {"model.layers.1.attention.wq.weight", 64, 64},     {"model.layers.1.attention.wk.weight", 32, 64},
        {"model.layers.1.attention.wv.weight", 32, 64},     {"model.layers.1.attention.wo.weight", 64, 64},
        {"model.layers.1.feed_forward.w1.weight", 96, 64},  {"model.layers.1.feed_forward.w3.weight", 96, 64},
        {"model.layers.1.feed_forward.w2.weight", 64, 96},  {"model.layers.1.attention_norm.weight", 64, 0},
        {"model.layers.1.ffn_norm.weight", 64, 0},
        {"model.norm_out.weight", 64, 0},                   {"lm_head.weight", 500, 64},
    };
    assert_int_equal(ck.n_tensors, 21);
    for (int i = 0; i < 21; i++) {
        const lvk_ckpt_tensor *t = &ck.tensors[i];
        assert_string_equal(t->name, want[i].name);
        assert_int_equal(t->n_dims, want[i].cols ? 2 : 1);
        assert_int_equal(t->dims[0], want[i].rows);
        if (want[i].cols)
            assert_int_equal(t->dims[1], want[i].cols);
        assert_int_equal(t->dtype, LVK_DTYPE_BF16);
    }
    lvk_ckpt_close(&ck);

    /* damage one byte: the CRC catches it, --no-crc lets it through */
    size_t size;
    uint8_t *data = (uint8_t *)test_read_file(path, &size);
    assert_non_null(data);
    data[size / 2] ^= 0x10;
    write_file(path, data, size);
    free(data);
    int rc = run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/cli_bf16.ckpt\"");
    assert_true(rc >= 1 && rc <= 127);
    assert_true(strncmp(run_err, "error: ", 7) == 0);
    assert_non_null(strstr(run_err, "CRC mismatch"));
    assert_non_null(strstr(run_err, "cli_bf16.ckpt"));
    assert_int_equal(run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/cli_bf16.ckpt\" --no-crc"), 0);
    assert_non_null(strstr(run_out, "not checked"));
    remove(path);
}

static float weight_at(const lvk_ckpt *ck, const char *name, uint64_t index)
{
    const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, name);
    assert_non_null(t);
    assert_int_equal(t->dtype, LVK_DTYPE_F32);
    float v;
    lvk_err err;
    assert_true(lvk_ckpt_read(ck, t, index * 4, 4, &v, &err));
    return v;
}

static void values_are_deterministic_and_in_range(void **state)
{
    (void)state;
    const char *a = LVK_TEST_TMP "/cli_a.ckpt", *b = LVK_TEST_TMP "/cli_b.ckpt", *c = LVK_TEST_TMP "/cli_c.ckpt";
    const char *shape = "-V 2 --dim 64 --layers 1 --heads 4 --ffn 128 --vocab 300 --dtype Float32";
    char args[512];
    snprintf(args, sizeof args, "-o \"%s\" %s --seed 5", a, shape);
    assert_int_equal(run_program("llama-vk-testmodel", args), 0);
    snprintf(args, sizeof args, "-o \"%s\" %s --seed 5 --slice-bytes 1000", b, shape);
    assert_int_equal(run_program("llama-vk-testmodel", args), 0);
    snprintf(args, sizeof args, "-o \"%s\" %s --seed 6", c, shape);
    assert_int_equal(run_program("llama-vk-testmodel", args), 0);

    lvk_ckpt ka, kb, kc;
    lvk_err err;
    assert_true(lvk_ckpt_open(&ka, a, NULL, &err));
    assert_true(lvk_ckpt_open(&kb, b, NULL, &err));
    assert_true(lvk_ckpt_open(&kc, c, NULL, &err));
    int same_as_other_seed = 0;
    for (int i = 0; i < ka.n_tensors; i++) {
        const lvk_ckpt_tensor *ta = &ka.tensors[i], *tb = &kb.tensors[i];
        assert_string_equal(ta->name, tb->name);
        assert_int_equal(ta->n_bytes, tb->n_bytes);
        uint8_t *da = malloc(ta->n_bytes), *db = malloc(tb->n_bytes), *dc = malloc(ta->n_bytes);
        assert_true(lvk_ckpt_read(&ka, ta, 0, ta->n_bytes, da, &err));
        assert_true(lvk_ckpt_read(&kb, tb, 0, tb->n_bytes, db, &err)); /* same seed, other slicing: same values */
        assert_true(lvk_ckpt_read(&kc, &kc.tensors[i], 0, ta->n_bytes, dc, &err));
        assert_memory_equal(da, db, (size_t)ta->n_bytes);
        same_as_other_seed += memcmp(da, dc, (size_t)ta->n_bytes) == 0;
        free(da);
        free(db);
        free(dc);
    }
    assert_int_equal(same_as_other_seed, 0);
    assert_true(lvk_ckpt_find(&kb, "lm_head.weight")->n_slices > 1);

    /* ranges: embeddings +-1, linear +-1/sqrt(in), norms 1 +- 0.1; and not all alike */
    float lo = 10, hi = -10;
    for (uint64_t i = 0; i < 64 * 64; i++) {
        float w = weight_at(&ka, "model.layers.0.attention.wq.weight", i);
        assert_true(w >= -0.125f && w <= 0.125f);
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    assert_true(lo < -0.1f && hi > 0.1f);
    for (uint64_t i = 0; i < 128 * 64; i++) {
        float w = weight_at(&ka, "model.layers.0.feed_forward.w2.weight", i); /* [64, 128]: in = 128 */
        assert_true(fabsf(w) <= 0.0884f);
    }
    for (uint64_t i = 0; i < 64; i++) {
        float w = weight_at(&ka, "model.norm_out.weight", i);
        assert_true(w >= 0.9f && w <= 1.1f);
    }
    lo = 10, hi = -10;
    for (uint64_t i = 0; i < 300 * 64; i++) {
        float w = weight_at(&ka, "model.tok_embeddings.embedding_weight", i);
        assert_true(w >= -1.0f && w <= 1.0f);
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    assert_true(lo < -0.9f && hi > 0.9f);
    lvk_ckpt_close(&ka);
    lvk_ckpt_close(&kb);
    lvk_ckpt_close(&kc);
    remove(a);
    remove(b);
    remove(c);
}

static void errors_exit_with_one_line(void **state)
{
    (void)state;
    int rc = run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/no_such_file.ckpt\"");
    assert_true(rc >= 1 && rc <= 127);
    assert_true(strncmp(run_err, "error: ", 7) == 0);
    assert_non_null(strstr(run_err, "no_such_file.ckpt"));

    const char *text = LVK_TEST_TMP "/cli_text.ckpt";
    write_file(text, (const uint8_t *)"just some text\n", 15);
    rc = run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/cli_text.ckpt\"");
    assert_true(rc >= 1 && rc <= 127);
    assert_non_null(strstr(run_err, "not a MindSpore checkpoint"));
    remove(text);

    rc = run_program("llama-vk-inspect", "");
    assert_true(rc >= 1 && rc <= 127);
    rc = run_program("llama-vk-testmodel", "-o \"" LVK_TEST_TMP "/x.ckpt\" --dtype Int8");
    assert_true(rc >= 1 && rc <= 127);
    assert_non_null(strstr(run_err, "--dtype Int8"));
    rc = run_program("llama-vk-testmodel", "-o \"" LVK_TEST_TMP "/x.ckpt\" --dim 30 --heads 4");
    assert_true(rc >= 1 && rc <= 127);
    assert_non_null(strstr(run_err, "dim 30"));
    rc = run_program("llama-vk-testmodel", "--dim 64");
    assert_true(rc >= 1 && rc <= 127);
    assert_non_null(strstr(run_err, "-o"));
    remove(LVK_TEST_TMP "/x.ckpt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bf16_sliced_crc_model_inspects_cleanly),
        cmocka_unit_test(values_are_deterministic_and_in_range),
        cmocka_unit_test(errors_exit_with_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
