/* The demo models shipped in configs/demo/ as a user runs them: llama-vk finds each with -V demo2|demo3
 * (and demo-llama2 with no model named), its greedy continuations of fixed prompts equal those of HF
 * transformers' LlamaForCausalLM in float32 on the same weights, and its held-out perplexity
 * (llama-vk-perplexity) stays within 0.5 % of HF's, so a broken kernel shows as a jump.
 * Fixtures: tests/data/demo/<name>.greedy.json, by tools/make_demo_fixtures.py. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "run_program.h"
#include "test_files.h"

#define NO_MODELS "--models " LVK_TEST_TMP "/no_models_here"

static cJSON *load_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/demo/%s.greedy.json", LVK_TEST_DATA, name);
    char *text = test_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    cJSON *fx = cJSON_Parse(text);
    free(text);
    assert_non_null(fx);
    return fx;
}

static void assert_ids_equal(const cJSON *want, const cJSON *got, const char *what, const char *prompt)
{
    assert_non_null(got);
    int n = cJSON_GetArraySize(want), m = cJSON_GetArraySize(got);
    for (int i = 0; i < n && i < m; i++) {
        int w = cJSON_GetArrayItem(want, i)->valueint, g = cJSON_GetArrayItem(got, i)->valueint;
        if (w != g)
            fail_msg("%s of \"%s\": id %d is %d, HF has %d", what, prompt, i, g, w);
    }
    if (n != m)
        fail_msg("%s of \"%s\": %d ids, HF has %d", what, prompt, m, n);
}

static void greedy_matches_hf(const char *name, const char *flag)
{
    cJSON *fx = load_fixture(name);
    const cJSON *cases = cJSON_GetObjectItem(fx, "cases");
    int n_new = cJSON_GetObjectItem(fx, "n_new")->valueint;
    assert_true(cJSON_GetArraySize(cases) >= 4);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
        char args[1024];
        snprintf(args, sizeof args, "%s %s --temp 0 -n %d --json -q -p \"%s\"", flag, NO_MODELS, n_new, prompt);
        int rc = run_program("llama-vk", args);
        if (rc != 0)
            fail_msg("llama-vk %s: exit %d: %s", args, rc, run_err);
        cJSON *out = cJSON_Parse(run_out);
        assert_non_null(out);
        assert_ids_equal(cJSON_GetObjectItem(c, "prompt_ids"), cJSON_GetObjectItem(out, "prompt_ids"), "tokens",
                         prompt);
        assert_ids_equal(cJSON_GetObjectItem(c, "generated_ids"), cJSON_GetObjectItem(out, "generated_ids"),
                         "greedy continuation", prompt);
        assert_string_equal(cJSON_GetObjectItem(out, "text")->valuestring,
                            cJSON_GetObjectItem(c, "text")->valuestring);
        cJSON_Delete(out);
    }
    cJSON_Delete(fx);
}

static void demo_llama2_greedy_matches_hf(void **state)
{
    (void)state;
    greedy_matches_hf("demo-llama2", "-V demo2");
}

static void demo_llama3_greedy_matches_hf(void **state)
{
    (void)state;
    greedy_matches_hf("demo-llama3", "-V demo3");
}

/* No -V, -C or -M and no LLaMA2-7b in the models folder: the first command of the README. */
static void default_is_demo_llama2(void **state)
{
    (void)state;
    int rc = run_program("llama-vk", NO_MODELS " -n 4 -p \"In the beginning\"");
    if (rc != 0)
        fail_msg("exit %d: %s", rc, run_err);
    assert_non_null(strstr(run_err, "model: demo-llama2 ("));
    assert_non_null(strstr(run_err, "decode:"));
    /* -V 2 means LLaMA2-7b: no quiet fallback to the demo, and the error says where it looked */
    rc = run_program("llama-vk", "-V 2 " NO_MODELS " -p hi");
    assert_true(rc > 0 && rc < 128);
    assert_non_null(strstr(run_err, "llama2_7b.ckpt: not found"));
    assert_non_null(strstr(run_err, "--models"));
}

/* llama-vk-perplexity on the first 4 chunks of 128 tokens of the held-out books (Ruth, Jude). */
static void heldout_perplexity(const char *name, const char *flag)
{
    cJSON *fx = load_fixture(name);
    const cJSON *held = cJSON_GetObjectItem(fx, "heldout");
    double hf = cJSON_GetObjectItem(held, "chunks4_ppl")->valuedouble;
    int hf_tokens = cJSON_GetObjectItem(held, "chunks4_tokens")->valueint;
    char args[1024];
    snprintf(args, sizeof args, "%s %s -f %s/demo/heldout.txt --ctx 128 --chunks 4 --json", flag, NO_MODELS,
             LVK_TEST_DATA);
    int rc = run_program("llama-vk-perplexity", args);
    if (rc != 0)
        fail_msg("llama-vk-perplexity %s: exit %d: %s", args, rc, run_err);
    cJSON *out = cJSON_Parse(run_out);
    assert_non_null(out);
    double ppl = cJSON_GetObjectItem(out, "ppl")->valuedouble;
    int tokens = cJSON_GetObjectItem(out, "tokens")->valueint;
    fprintf(stderr, "%s: held-out perplexity %.4f (HF %.4f) over %d tokens\n", name, ppl, hf, tokens);
    assert_int_equal(tokens, hf_tokens);
    if (!(ppl < hf * 1.005 && ppl > hf * 0.995))
        fail_msg("%s: perplexity %.4f, HF's is %.4f: more than 0.5 %% off", name, ppl, hf);
    cJSON_Delete(out);
    cJSON_Delete(fx);
}

static void demo_llama2_heldout_perplexity(void **state)
{
    (void)state;
    heldout_perplexity("demo-llama2", "-V demo2");
}

static void demo_llama3_heldout_perplexity(void **state)
{
    (void)state;
    heldout_perplexity("demo-llama3", "-V demo3");
}

/* Bad input to llama-vk-perplexity: one clear message, an exit code in 1..127. */
static void perplexity_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"-V demo2 " NO_MODELS, "give the text with -f"},
        {"-V demo2 " NO_MODELS " -f " LVK_TEST_TMP "/no_such_text.txt", "no_such_text.txt: cannot open"},
        {"-V demo2 " NO_MODELS " -f " LVK_TEST_DATA "/demo/heldout.txt --ctx 1024", "longer than the model's"},
        {"-V demo2 " NO_MODELS " -f " LVK_TEST_DATA "/demo/heldout.txt --ctx 0", "bad value '0' for --ctx"},
        {"-V demo4 " NO_MODELS " -f " LVK_TEST_DATA "/demo/heldout.txt", "bad value 'demo4' for -V"},
        {"-V demo2 " NO_MODELS " -f " LVK_TEST_TMP "/short_text.txt --ctx 256", "needs at least --ctx 256"},
    };
    FILE *f = fopen(LVK_TEST_TMP "/short_text.txt", "wb");
    assert_non_null(f);
    fputs("In the beginning God created the heaven and the earth.\n", f);
    fclose(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_program("llama-vk-perplexity", cases[i].args);
        if (rc <= 0 || rc >= 128 || !strstr(run_err, cases[i].message))
            fail_msg("llama-vk-perplexity %s: exit %d, stderr: %s (expected \"%s\")", cases[i].args, rc, run_err,
                     cases[i].message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_llama2_greedy_matches_hf),   cmocka_unit_test(demo_llama3_greedy_matches_hf),
        cmocka_unit_test(default_is_demo_llama2),          cmocka_unit_test(demo_llama2_heldout_perplexity),
        cmocka_unit_test(demo_llama3_heldout_perplexity), cmocka_unit_test(perplexity_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
