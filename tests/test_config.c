/* Model configs: the built-ins carry DESIGN §2.2's numbers, bad configs name the bad key, files
 * resolve against the config's folder then the models folder, and a config checks a checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "io/ckpt.h"
#include "io/config.h"
#include "io/llama_layout.h"

static const char good_json[] =
    "{\"name\": \"tiny\", \"model\": {\"dim\": 16, \"n_layers\": 2, \"n_heads\": 4, \"n_kv_heads\": 2, \"ffn_dim\": 24,"
    " \"vocab_size\": 40, \"norm_eps\": 1e-6, \"rope_theta\": 10000.0, \"max_seq_len\": 64},"
    " \"tokenizer\": {\"type\": \"sentencepiece\", \"file\": \"tok.model\", \"bos_id\": 1, \"eos_ids\": [2, 3]},"
    " \"checkpoint\": \"tiny.ckpt\"}";

static void builtins_match_the_design_table(void **state)
{
    (void)state;
    lvk_model_config c;
    lvk_err err;
    assert_true(lvk_config_builtin(2, &c, &err));
    assert_string_equal(c.name, "llama2-7b");
    assert_int_equal(c.dim, 4096);
    assert_int_equal(c.n_layers, 32);
    assert_int_equal(c.n_heads, 32);
    assert_int_equal(c.n_kv_heads, 32);
    assert_int_equal(c.ffn_dim, 11008);
    assert_int_equal(c.vocab_size, 32000);
    assert_true(c.rope_theta == 10000.0 && c.norm_eps == 1e-5);
    assert_string_equal(c.tokenizer_type, "sentencepiece");
    assert_int_equal(c.bos_id, 1);
    assert_int_equal(c.n_eos, 1);
    assert_int_equal(c.eos_ids[0], 2);
    assert_string_equal(c.dir, "");
    assert_int_equal(lvk_llama_tensor_count(&c), 291);

    assert_true(lvk_config_builtin(3, &c, &err));
    assert_string_equal(c.name, "llama3-8b");
    assert_int_equal(c.n_kv_heads, 8);
    assert_int_equal(c.ffn_dim, 14336);
    assert_int_equal(c.vocab_size, 128256);
    assert_true(c.rope_theta == 500000.0);
    assert_string_equal(c.tokenizer_type, "tiktoken");
    assert_int_equal(c.bos_id, 128000);
    assert_int_equal(c.n_eos, 2);
    assert_int_equal(c.eos_ids[0], 128001);
    assert_int_equal(c.eos_ids[1], 128009);

    assert_false(lvk_config_builtin(4, &c, &err));
    assert_non_null(strstr(err.msg, "expected 2"));
}

/* The chat/instruct configs differ from the base ones only in their files and the chat template. */
static void chat_configs_name_their_template(void **state)
{
    (void)state;
    lvk_model_config base, chat;
    lvk_err err;
    assert_true(lvk_config_builtin(2, &base, &err));
    assert_int_equal(base.chat_template, LVK_CHAT_TEMPLATE_NONE);
    assert_true(lvk_config_builtin_named("llama2_7b_chat", &chat, &err));
    assert_string_equal(chat.name, "llama2-7b-chat");
    assert_int_equal(chat.chat_template, LVK_CHAT_TEMPLATE_LLAMA2);
    assert_true(chat.dim == base.dim && chat.n_kv_heads == base.n_kv_heads && chat.vocab_size == base.vocab_size);
    assert_string_equal(chat.checkpoint, "llama2_7b_chat/llama2_7b_chat.ckpt");

    assert_true(lvk_config_builtin(3, &base, &err));
    assert_int_equal(base.chat_template, LVK_CHAT_TEMPLATE_NONE);
    assert_true(lvk_config_builtin_named("llama3_8b_instruct", &chat, &err));
    assert_int_equal(chat.chat_template, LVK_CHAT_TEMPLATE_LLAMA3);
    assert_true(chat.n_kv_heads == base.n_kv_heads && chat.ffn_dim == base.ffn_dim && chat.rope_theta == 500000.0);
    assert_int_equal(chat.n_eos, 2);
    assert_string_equal(chat.tokenizer_file, "llama3_8b_instruct/tokenizer.model");

    assert_false(lvk_config_builtin_named("llama4", &chat, &err));
    assert_non_null(strstr(err.msg, "no built-in config \"llama4\""));
    assert_non_null(strstr(err.msg, "llama3_8b_instruct"));
}

static void layout_names_dims_and_order(void **state)
{
    (void)state;
    lvk_model_config c;
    lvk_err err;
    lvk_tensor_spec s;
    assert_true(lvk_config_builtin(3, &c, &err));
    lvk_llama_tensor_spec(&c, 0, &s);
    assert_string_equal(s.name, "model.tok_embeddings.embedding_weight");
    assert_int_equal(s.dims[0], 128256);
    assert_int_equal(s.dims[1], 4096);
    lvk_llama_tensor_spec(&c, 2, &s);
    assert_string_equal(s.name, "model.layers.0.attention.wk.weight");
    assert_int_equal(s.dims[0], 1024); /* GQA: 8 kv heads x 128 */
    lvk_llama_tensor_spec(&c, 6, &s);
    assert_string_equal(s.name, "model.layers.0.feed_forward.w3.weight"); /* llama3: w1, w3, w2 */
    lvk_llama_tensor_spec(&c, 7, &s);
    assert_string_equal(s.name, "model.layers.0.feed_forward.w2.weight");
    assert_int_equal(s.dims[0], 4096);
    assert_int_equal(s.dims[1], 14336);
    lvk_llama_tensor_spec(&c, 9, &s);
    assert_string_equal(s.name, "model.layers.0.ffn_norm.weight");
    assert_int_equal(s.n_dims, 1);
    lvk_llama_tensor_spec(&c, 10, &s);
    assert_string_equal(s.name, "model.layers.1.attention.wq.weight");
    lvk_llama_tensor_spec(&c, 289, &s);
    assert_string_equal(s.name, "model.norm_out.weight");
    lvk_llama_tensor_spec(&c, 290, &s);
    assert_string_equal(s.name, "lm_head.weight");

    assert_true(lvk_config_builtin(2, &c, &err));
    lvk_llama_tensor_spec(&c, 6, &s);
    assert_string_equal(s.name, "model.layers.0.feed_forward.w2.weight"); /* llama2: w1, w2, w3 */
    lvk_llama_tensor_spec(&c, 2, &s);
    assert_int_equal(s.dims[0], 4096);
}

static void expect_parse_error(const char *json, const char *phrase)
{
    lvk_model_config c;
    lvk_err err = {{0}};
    bool ok = lvk_config_parse(json, "test.json", &c, &err);
    if (ok || !strstr(err.msg, phrase))
        print_error("expected '%s', got %s: %s\n", phrase, ok ? "success" : "error", err.msg);
    assert_false(ok);
    assert_non_null(strstr(err.msg, phrase));
    assert_non_null(strstr(err.msg, "test.json"));
}

/* good_json with one piece of text replaced */
static void expect_edit_error(const char *from, const char *to, const char *phrase)
{
    char json[2048];
    const char *at = strstr(good_json, from);
    assert_non_null(at);
    snprintf(json, sizeof json, "%.*s%s%s", (int)(at - good_json), good_json, to, at + strlen(from));
    expect_parse_error(json, phrase);
}

static void bad_configs_name_the_key(void **state)
{
    (void)state;
    lvk_model_config c;
    lvk_err err;
    assert_true(lvk_config_parse(good_json, "test.json", &c, &err));
    assert_int_equal(c.n_eos, 2);
    assert_string_equal(c.tokenizer_file, "tok.model");
    assert_string_equal(c.checkpoint, "tiny.ckpt");

    expect_edit_error("\"checkpoint\": \"tiny.ckpt\"", "\"checkpoint\": \"tiny.ckpt\", \"chat_template\": \"chatml\"",
                      "key \"chat_template\": unknown chat template \"chatml\"");
    expect_edit_error("\"checkpoint\": \"tiny.ckpt\"", "\"checkpoint\": \"tiny.ckpt\", \"chat_template\": 2",
                      "key \"chat_template\" must be a string");
    char with_template[2048];
    snprintf(with_template, sizeof with_template, "%.*s, \"chat_template\": \"llama3\"}", (int)strlen(good_json) - 1,
             good_json);
    assert_true(lvk_config_parse(with_template, "test.json", &c, &err));
    assert_int_equal(c.chat_template, LVK_CHAT_TEMPLATE_LLAMA3);

    expect_parse_error("{\"name\": \"x\", ", "not valid JSON");
    expect_parse_error("[1, 2]", "must be a JSON object");
    expect_edit_error("\"name\": \"tiny\",", "\"name\": \"tiny\", \"extra\": 1,", "unknown key \"extra\"");
    expect_edit_error("\"dim\": 16", "\"dims\": 16", "unknown key \"model.dims\"");
    expect_edit_error("\"dim\": 16", "\"dim\": \"16\"", "key \"model.dim\" must be an integer");
    expect_edit_error("\"dim\": 16", "\"dim\": 16.5", "key \"model.dim\" must be an integer");
    expect_edit_error("\"norm_eps\": 1e-6", "\"norm_eps\": \"small\"", "key \"model.norm_eps\" must be a number");
    expect_edit_error("\"ffn_dim\": 24,", "", "missing key \"model.ffn_dim\"");
    expect_edit_error("\"sentencepiece\"", "\"bpe\"", "tokenizer.type");
    expect_edit_error("\"sentencepiece\"", "3", "key \"tokenizer.type\" must be a string");
    expect_edit_error("[2, 3]", "2", "tokenizer.eos_ids");
    expect_edit_error("\"file\": \"tok.model\"", "\"file\": \"tok.model\", \"merges\": 1",
                      "unknown key \"tokenizer.merges\"");
    expect_edit_error("\"checkpoint\": \"tiny.ckpt\"", "\"checkpoint\": 5", "key \"checkpoint\" must be a string");
    expect_parse_error("{\"model\": 3, \"tokenizer\": {}}", "key \"model\" must be an object");
    expect_edit_error("\"n_heads\": 4", "\"n_heads\": 5", "n_heads");
    expect_edit_error("\"n_kv_heads\": 2", "\"n_kv_heads\": 3", "not a multiple of n_kv_heads");
    expect_edit_error("\"bos_id\": 1", "\"bos_id\": 40", "outside the vocabulary");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void files_resolve_against_config_dir_then_models_dir(void **state)
{
    (void)state;
    char cfg_path[512], tok[512], models[512], in_models[600], out[1024];
    snprintf(cfg_path, sizeof cfg_path, "%s/tiny_config.json", LVK_TEST_TMP);
    snprintf(tok, sizeof tok, "%s/tok.model", LVK_TEST_TMP);
    snprintf(models, sizeof models, "%s/models_dir_for_config_test", LVK_TEST_DATA);
    write_text(cfg_path, good_json);
    remove(tok);

    lvk_model_config c;
    lvk_err err;
    assert_true(lvk_config_load(cfg_path, &c, &err));
    assert_string_equal(c.dir, LVK_TEST_TMP);
    /* not beside the config, not in the models folder */
    assert_false(lvk_config_resolve_file(&c, c.tokenizer_file, "/nonexistent-models", out, sizeof out, &err));
    assert_non_null(strstr(err.msg, "tok.model"));
    assert_non_null(strstr(err.msg, "/nonexistent-models/tok.model"));
    assert_non_null(strstr(err.msg, LVK_TEST_TMP));
    /* in the models folder (a fixture folder, so no directory needs making) */
    snprintf(models, sizeof models, "%s/ckpt", LVK_TEST_DATA);
    snprintf(in_models, sizeof in_models, "%s/ms_f16_dtypes.ckpt", models);
    assert_true(lvk_config_resolve_file(&c, "ms_f16_dtypes.ckpt", models, out, sizeof out, &err));
    assert_string_equal(out, in_models);
    /* beside the config wins */
    write_text(tok, "x");
    assert_true(lvk_config_resolve_file(&c, c.tokenizer_file, models, out, sizeof out, &err));
    assert_non_null(strstr(out, LVK_TEST_TMP));
    /* absolute names are used as they are */
    assert_true(lvk_config_resolve_file(&c, in_models, "/nowhere", out, sizeof out, &err));
    assert_string_equal(out, in_models);
    assert_false(lvk_config_load("/nonexistent/config.json", &c, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/config.json"));
}

/* ---- a checkpoint a config implies, built in memory -------------------------------------- */

typedef struct buf {
    uint8_t *data;
    size_t size, cap;
} buf;

static void buf_put(buf *b, const void *p, size_t n)
{
    if (b->size + n > b->cap) {
        b->cap = (b->size + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void buf_varint(buf *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)((v & 0x7F) | (v >= 0x80 ? 0x80 : 0));
        buf_put(b, &c, 1);
        v >>= 7;
    } while (v);
}

static void buf_field(buf *b, uint8_t key, const buf *inner)
{
    buf_put(b, &key, 1);
    buf_varint(b, inner->size);
    buf_put(b, inner->data, inner->size);
}

/* Every tensor of cfg in Float16 zeros, except the one named skip. */
static buf model_ckpt(const lvk_model_config *cfg, const char *skip)
{
    buf file = {0};
    for (int i = 0; i < lvk_llama_tensor_count(cfg); i++) {
        lvk_tensor_spec s;
        lvk_llama_tensor_spec(cfg, i, &s);
        if (skip && strcmp(s.name, skip) == 0)
            continue;
        buf tensor = {0}, value = {0}, text = {0}, content = {0};
        uint64_t n = 1;
        for (int d = 0; d < s.n_dims; d++) {
            buf_put(&tensor, "\x08", 1);
            buf_varint(&tensor, (uint64_t)s.dims[d]);
            n *= (uint64_t)s.dims[d];
        }
        buf_put(&text, "Float16", 7);
        buf_field(&tensor, 0x12, &text);
        uint8_t *zeros = calloc(n * 2, 1);
        buf_put(&content, zeros, n * 2);
        free(zeros);
        buf_field(&tensor, 0x1A, &content);
        buf name = {0};
        buf_put(&name, s.name, strlen(s.name));
        buf_field(&value, 0x0A, &name);
        buf_field(&value, 0x12, &tensor);
        buf_field(&file, 0x0A, &value);
        free(tensor.data);
        free(value.data);
        free(text.data);
        free(content.data);
        free(name.data);
    }
    return file;
}

static void config_checks_a_checkpoint(void **state)
{
    (void)state;
    lvk_model_config c, wrong, shaped;
    lvk_err err;
    assert_true(lvk_config_parse(good_json, "tiny.json", &c, &err));
    buf file = model_ckpt(&c, "model.layers.1.attention.wv.weight");
    lvk_ckpt ck;
    assert_true(lvk_ckpt_parse_memory(&ck, file.data, file.size, "tiny.ckpt", NULL, &err));
    assert_false(lvk_config_check_ckpt(&c, &ck, &err));
    assert_non_null(strstr(err.msg, "1 tensor(s) missing or wrong"));
    assert_non_null(strstr(err.msg, "model.layers.1.attention.wv.weight missing (expected [8, 16])"));
    lvk_ckpt_close(&ck);
    free(file.data);

    file = model_ckpt(&c, NULL);
    assert_true(lvk_ckpt_parse_memory(&ck, file.data, file.size, "tiny.ckpt", NULL, &err));
    assert_true(lvk_config_check_ckpt(&c, &ck, &err));
    wrong = c;
    wrong.ffn_dim = 32;
    assert_false(lvk_config_check_ckpt(&wrong, &ck, &err));
    assert_non_null(strstr(err.msg, "6 tensor(s) missing or wrong")); /* w1, w2, w3 in 2 layers */
    assert_non_null(strstr(err.msg, "model.layers.0.feed_forward.w2.weight is [16, 24] Float16, expected [16, 32]"));
    assert_non_null(strstr(err.msg, "model.layers.1.feed_forward.w3.weight"));
    wrong = c;
    wrong.n_layers = 40; /* more problems than fit: the message says how many more */
    assert_false(lvk_config_check_ckpt(&wrong, &ck, &err));
    assert_non_null(strstr(err.msg, "342 tensor(s) missing or wrong"));
    assert_non_null(strstr(err.msg, "more"));

    /* shapes from the checkpoint, the rest from a base config */
    lvk_model_config base;
    assert_true(lvk_config_builtin(2, &base, &err));
    char notes[512];
    assert_false(lvk_config_from_ckpt(&base, &ck, &shaped, notes, sizeof notes, &err)); /* 16 is not 32 heads x2 */
    assert_non_null(strstr(err.msg, "-C"));
    base.n_heads = 4;
    assert_true(lvk_config_from_ckpt(&base, &ck, &shaped, notes, sizeof notes, &err));
    assert_int_equal(shaped.dim, 16);
    assert_int_equal(shaped.n_layers, 2);
    assert_int_equal(shaped.n_kv_heads, 2);
    assert_int_equal(shaped.ffn_dim, 24);
    assert_int_equal(shaped.vocab_size, 40);
    assert_true(shaped.rope_theta == base.rope_theta);
    assert_string_equal(shaped.tokenizer_type, "sentencepiece");
    assert_non_null(strstr(notes, "assumed from llama2-7b"));
    assert_non_null(strstr(notes, "rope theta 10000"));
    lvk_ckpt_close(&ck);
    free(file.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtins_match_the_design_table),
        cmocka_unit_test(chat_configs_name_their_template),
        cmocka_unit_test(layout_names_dims_and_order),
        cmocka_unit_test(bad_configs_name_the_key),
        cmocka_unit_test(files_resolve_against_config_dir_then_models_dir),
        cmocka_unit_test(config_checks_a_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
