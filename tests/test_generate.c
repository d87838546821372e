/* The generation loop (src/model/generate.c) on the device: greedy ids equal the CPU reference model's
 * greedy sequence, the streamed text equals the decoded ids, and it stops where it should: at each end
 * token, after -n tokens, at the end of the context. A small LLaMA2-style model written by
 * llama-vk-testmodel, with the real LLaMA2 tokenizer for the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "run_program.h"
#include "vk_checks.h"

#include "model/generate.h"
#include "ref/llama.h"

#define N_PROMPT 6
#define N_GREEDY 16

typedef struct fixture {
    lvk_instance inst;
    lvk_device d;
    lvk_model_config cfg;
    lvk_ckpt ck;
    lvk_tokenizer *tok;
    char path[512];
    int32_t prompt[N_PROMPT];
    int32_t greedy[N_GREEDY]; /* the reference's greedy continuation of prompt */
} fixture;

static const char *config_json =
    "{\"name\": \"gen-small\", \"model\": {\"dim\": 128, \"n_layers\": 2, \"n_heads\": 4, \"n_kv_heads\": 4,"
    " \"ffn_dim\": 344, \"vocab_size\": 32000, \"norm_eps\": 1e-5, \"rope_theta\": 10000.0, \"max_seq_len\": 256},"
    " \"tokenizer\": {\"type\": \"sentencepiece\", \"file\": \"tokenizer.model\", \"bos_id\": 1, \"eos_ids\": [2]},"
    " \"checkpoint\": \"gen_small.ckpt\"}";

static uint32_t argmax(const float *x, size_t n)
{
    uint32_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = (uint32_t)i;
    return best;
}

static bool reference_greedy(fixture *f, lvk_err *err)
{
    lvk_ref_llama *ref = NULL;
    float *logits = malloc((size_t)f->cfg.vocab_size * sizeof *logits);
    bool ok = logits && lvk_ref_llama_create(&ref, &f->cfg, &f->ck, 64, err);
    if (ok)
        lvk_ref_llama_set_fp16_kv(ref, true);
    ok = ok && lvk_ref_llama_forward(ref, f->prompt, N_PROMPT, 0, false, logits, err);
    for (uint32_t i = 0; ok && i < N_GREEDY; i++) {
        f->greedy[i] = (int32_t)argmax(logits, (size_t)f->cfg.vocab_size);
        ok = lvk_ref_llama_forward(ref, &f->greedy[i], 1, N_PROMPT + i, false, logits, err);
    }
    lvk_ref_llama_free(ref);
    free(logits);
    return ok;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    lvk_err err = {{0}};
    if (!f)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/gen_small.ckpt", LVK_TEST_TMP);
    char args[1024];
    snprintf(args, sizeof args,
             "-o \"%s\" -V 2 --dim 128 --layers 2 --heads 4 --kv-heads 4 --ffn 344 --vocab 32000 --dtype Float16 "
             "--seed 21",
             f->path);
    const int32_t prompt[N_PROMPT] = {1, 450, 7483, 310, 3444, 338}; /* <s> The capital of France is */
    memcpy(f->prompt, prompt, sizeof prompt);
    if (run_program("llama-vk-testmodel", args) != 0 || !lvk_config_parse(config_json, "gen-small", &f->cfg, &err) ||
        !lvk_ckpt_open(&f->ck, f->path, NULL, &err) ||
        !lvk_tokenizer_load(&f->tok, LVK_TOKENIZER_SPM, LVK_TEST_DATA "/tokenizers/llama2/tokenizer.model", &err) ||
        !reference_greedy(f, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg[0] ? err.msg : run_err);
        return -1;
    }
    if (!vk_test_open_device(&f->inst, &f->d))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vk_test_close_device(&f->inst, &f->d);
    lvk_tokenizer_free(f->tok);
    lvk_ckpt_close(&f->ck);
    remove(f->path);
    free(f);
    return 0;
}

static void load(fixture *f, uint32_t max_seq, lvk_llama *m)
{
    lvk_err err = {{0}};
    lvk_llama_options opt = {.max_seq = max_seq, .max_batch = 8};
    if (!lvk_llama_load(m, &f->d, &f->cfg, &f->ck, &opt, &err))
        fail_msg("load: %s", err.msg);
}

typedef struct text_buf {
    char text[4096];
    size_t len;
} text_buf;

static void collect(void *user, const char *text, size_t len)
{
    text_buf *b = user;
    if (b->len + len < sizeof b->text) {
        memcpy(b->text + b->len, text, len);
        b->len += len;
        b->text[b->len] = '\0';
    }
}

static lvk_sequence *new_sequence(lvk_llama *m)
{
    lvk_sequence *s = NULL;
    lvk_err err = {{0}};
    if (!lvk_sequence_create(m, 0, &s, &err))
        fail_msg("sequence: %s", err.msg);
    return s;
}

static lvk_generate_result run_from(fixture *f, lvk_llama *m, lvk_sequence *s, const int32_t *prompt, size_t n_prompt,
                                    int n_predict, text_buf *text)
{
    lvk_generate_params p = {.n_predict = n_predict, .sampling = lvk_sampler_defaults()};
    p.sampling.temperature = 0;
    lvk_generate_result g;
    lvk_err err = {{0}};
    if (!lvk_generate(m, s, f->tok, prompt, n_prompt, &p, collect, text, &g, &err))
        fail_msg("generate: %s", err.msg);
    return g;
}

static lvk_generate_result run(fixture *f, lvk_llama *m, lvk_sequence *s, int n_predict, text_buf *text)
{
    return run_from(f, m, s, f->prompt, N_PROMPT, n_predict, text);
}

/* Frees the sequence and the model (a sequence goes before its model). */
static void unload(lvk_llama *m, lvk_sequence *s)
{
    lvk_sequence_free(m, s);
    lvk_llama_destroy(m);
}

/* The end ids of the config do not occur in this continuation: it runs to the limit, id for id. */
static void greedy_equals_the_reference(void **state)
{
    fixture *f = *state;
    lvk_llama m;
    load(f, 64, &m);
    lvk_sequence *s = new_sequence(&m);
    text_buf text = {.len = 0};
    lvk_generate_result g = run(f, &m, s, N_GREEDY, &text);
    assert_int_equal(g.stop, LVK_STOP_LIMIT);
    assert_int_equal(g.n_ids, N_GREEDY);
    for (int i = 0; i < N_GREEDY; i++)
        if (g.ids[i] != f->greedy[i])
            fail_msg("token %d: generated %d, the reference's greedy %d", i, g.ids[i], f->greedy[i]);
    char *want = NULL;
    size_t want_len = 0;
    lvk_err err = {{0}};
    assert_true(lvk_tokenizer_decode(f->tok, g.ids, g.n_ids, &want, &want_len, &err));
    assert_int_equal(text.len, want_len);
    assert_memory_equal(text.text, want, want_len);
    free(want);
    free(g.ids);
    unload(&m, s);
}

/* Position of the first occurrence of id in the reference continuation. */
static int first_at(const fixture *f, int32_t id)
{
    for (int i = 0; i < N_GREEDY; i++)
        if (f->greedy[i] == id)
            return i;
    return -1;
}

/* With the token made at step 3, then the one at step 7, as an end id (each in its own place of the
 * config's list), generation stops right after making it and hands it back. */
static void stops_at_each_end_token(void **state)
{
    fixture *f = *state;
    const int steps[2] = {3, 7};
    for (int slot = 0; slot < 2; slot++) {
        int32_t end = f->greedy[steps[slot]];
        int at = first_at(f, end);
        lvk_llama m;
        load(f, 64, &m);
        lvk_sequence *s = new_sequence(&m);
        m.cfg.n_eos = 2;
        m.cfg.eos_ids[slot] = end;
        m.cfg.eos_ids[1 - slot] = 2;
        text_buf text = {.len = 0};
        lvk_generate_result g = run(f, &m, s, N_GREEDY, &text);
        assert_int_equal(g.stop, LVK_STOP_EOS);
        assert_int_equal(g.n_ids, (size_t)at + 1);
        assert_int_equal(g.ids[at], end);
        free(g.ids);
        unload(&m, s);
    }
}

static void stops_after_n_tokens(void **state)
{
    fixture *f = *state;
    lvk_llama m;
    load(f, 64, &m);
    lvk_sequence *s = new_sequence(&m);
    text_buf text = {.len = 0};
    lvk_generate_result g = run(f, &m, s, 5, &text);
    assert_int_equal(g.stop, LVK_STOP_LIMIT);
    assert_int_equal(g.n_ids, 5);
    assert_memory_equal(g.ids, f->greedy, 5 * sizeof(int32_t));
    free(g.ids);
    /* -n 0 makes nothing */
    lvk_sequence_reset(s);
    g = run(f, &m, s, 0, &text);
    assert_int_equal(g.n_ids, 0);
    free(g.ids);
    unload(&m, s);
}

/* A context of N_PROMPT + 4 positions: four tokens come out, the same as without the limit. */
static void stops_at_the_context_end(void **state)
{
    fixture *f = *state;
    lvk_llama m;
    load(f, N_PROMPT + 4, &m);
    lvk_sequence *s = new_sequence(&m);
    text_buf text = {.len = 0};
    lvk_generate_result g = run(f, &m, s, -1, &text);
    assert_int_equal(g.stop, LVK_STOP_CONTEXT);
    assert_int_equal(g.n_ids, 4);
    assert_memory_equal(g.ids, f->greedy, 4 * sizeof(int32_t));
    free(g.ids);
    /* the context is full: going on is refused, and so is a prompt that fills it */
    lvk_generate_params p = {.n_predict = 4, .sampling = lvk_sampler_defaults()};
    lvk_err err = {{0}};
    assert_false(lvk_generate(&m, s, f->tok, NULL, 0, &p, NULL, NULL, &g, &err));
    assert_non_null(strstr(err.msg, "context"));
    unload(&m, s);
    load(f, N_PROMPT, &m);
    s = new_sequence(&m);
    assert_false(lvk_generate(&m, s, f->tok, f->prompt, N_PROMPT, &p, NULL, NULL, &g, &err));
    assert_non_null(strstr(err.msg, "context"));
    unload(&m, s);
}

/* A generation continued in two calls (the second with no new prompt, and one with a few new tokens) is the
 * same as one long generation: the sequence keeps every token it made. */
static void continuing_equals_one_long_generation(void **state)
{
    fixture *f = *state;
    lvk_llama m;
    load(f, 64, &m);
    lvk_sequence *s = new_sequence(&m);
    text_buf text = {.len = 0};
    lvk_generate_result a = run(f, &m, s, 5, &text);
    lvk_generate_result b = run_from(f, &m, s, NULL, 0, N_GREEDY - 5, &text);
    assert_int_equal(a.n_ids + b.n_ids, N_GREEDY);
    assert_memory_equal(a.ids, f->greedy, 5 * sizeof(int32_t));
    assert_memory_equal(b.ids, f->greedy + 5, (N_GREEDY - 5) * sizeof(int32_t));
    assert_int_equal(s->n_past, N_PROMPT + N_GREEDY - 1); /* the last one is pending */
    assert_int_equal(s->pending, f->greedy[N_GREEDY - 1]);
    free(a.ids);
    free(b.ids);

    /* The second call's prompt goes after what the first made: against one generation from the whole. */
    int32_t joined[N_PROMPT + 3 + 2];
    memcpy(joined, f->prompt, sizeof f->prompt);
    memcpy(joined + N_PROMPT, f->greedy, 3 * sizeof(int32_t));
    joined[N_PROMPT + 3] = 1000, joined[N_PROMPT + 4] = 2000;
    lvk_sequence_reset(s);
    a = run(f, &m, s, 3, &text);
    b = run_from(f, &m, s, joined + N_PROMPT + 3, 2, 6, &text);
    lvk_sequence *whole = new_sequence(&m);
    lvk_generate_result c = run_from(f, &m, whole, joined, N_PROMPT + 5, 6, &text);
    assert_int_equal(b.n_ids, c.n_ids);
    assert_memory_equal(b.ids, c.ids, c.n_ids * sizeof(int32_t));
    free(a.ids);
    free(b.ids);
    free(c.ids);
    lvk_sequence_free(&m, whole);
    unload(&m, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        vk_test(greedy_equals_the_reference),
        vk_test(stops_at_each_end_token),
        vk_test(stops_after_n_tokens),
        vk_test(stops_at_the_context_end),
        vk_test(continuing_equals_one_long_generation),
    };
    return vk_checked_run(tests, setup, teardown);
}
