/* What quantizing the weights costs in quality, on the demo models' whole held-out text (35-36 chunks of 128,
 * about 2,200 scored tokens; 4 chunks were too few: there q4-plain's ppl came out below stored's by chance):
 * llama-vk-perplexity with --weights stored writes a --kl-base, then q8, q4 and q4-plain (every matrix 4-bit
 * with plain min/max rounding: the baseline the real q4 must beat) are compared with it.
 *   q8: ppl at most 0.5 % above stored's;
 *   q4: at most half of q4-plain's ppl increase over stored, and at most half its mean KL divergence.
 * Each prints ppl, kld_mean, kld_p99 and top1_agree, the figures of docs/benchmarks.md. Measured (lavapipe):
 *   demo2  stored 41.4991, q8 41.5115 (+0.03 %), q4 41.4315 (-0.16 %), q4-plain 41.6128 (+0.27 %)
 *   demo3  stored 47.9908, q8 48.0088 (+0.04 %), q4 48.0365 (+0.10 %), q4-plain 48.7169 (+1.51 %)
 * It is a measurement of quality, about 2.5 minutes in a release build; the sanitizer build skips it (the
 * kl_base test runs the same tool there). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "run_program.h"

#define NO_MODELS "--models " LVK_TEST_TMP "/no_models_here"

typedef struct quality {
    double ppl, kld_mean, kld_p99, top1_agree;
} quality;

static double number(const cJSON *o, const char *key, const char *args)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("llama-vk-perplexity %s: no \"%s\" in %s", args, key, run_out);
    return v->valuedouble;
}

static quality measure(const char *flag, const char *weights, const char *base, bool compared)
{
    char args[1024];
    snprintf(args, sizeof args, "%s %s -f %s/demo/heldout.txt --ctx 128 --weights %s --kl-base %s --json",
             flag, NO_MODELS, LVK_TEST_DATA, weights, base);
    int rc = run_program("llama-vk-perplexity", args);
    if (rc != 0)
        fail_msg("llama-vk-perplexity %s: exit %d: %s", args, rc, run_err);
    cJSON *out = cJSON_Parse(run_out);
    if (!out)
        fail_msg("llama-vk-perplexity %s: not JSON: %s", args, run_out);
    quality q = {.ppl = number(out, "ppl", args), .top1_agree = 1};
    if (compared) {
        q.kld_mean = number(out, "kld_mean", args);
        q.kld_p99 = number(out, "kld_p99", args);
        q.top1_agree = number(out, "top1_agree", args);
    }
    cJSON_Delete(out);
    fprintf(stderr, "%-8s ppl %8.4f  kld_mean %.6f  kld_p99 %.6f  top1_agree %.4f\n", weights, q.ppl, q.kld_mean,
            q.kld_p99, q.top1_agree);
    return q;
}

static void quant_quality(const char *name, const char *flag)
{
    char base[512];
    snprintf(base, sizeof base, "%s/quant_quality_%s.kl", LVK_TEST_TMP, name);
    remove(base);
    fprintf(stderr, "%s, the held-out text in chunks of 128:\n", name);
    quality stored = measure(flag, "stored", base, false);
    quality q8 = measure(flag, "q8", base, true);
    quality q4 = measure(flag, "q4", base, true);
    quality plain = measure(flag, "q4-plain", base, true);
    if (!(q8.ppl <= stored.ppl * 1.005))
        fail_msg("%s: q8's ppl %.4f is more than 0.5 %% above stored's %.4f", name, q8.ppl, stored.ppl);
    if (!(q4.ppl - stored.ppl <= 0.5 * (plain.ppl - stored.ppl)))
        fail_msg("%s: q4's ppl %.4f is %.4f above stored's %.4f, more than half of q4-plain's %.4f above it", name,
                 q4.ppl, q4.ppl - stored.ppl, stored.ppl, plain.ppl - stored.ppl);
    if (!(q4.kld_mean <= 0.5 * plain.kld_mean))
        fail_msg("%s: q4's mean KL divergence %.6f is more than half of q4-plain's %.6f", name, q4.kld_mean,
                 plain.kld_mean);
    if (!(q8.kld_mean < q4.kld_mean))
        fail_msg("%s: q8's mean KL divergence %.6f is not below q4's %.6f", name, q8.kld_mean, q4.kld_mean);
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static void demo_llama2_quant_quality(void **state)
{
    (void)state;
#ifdef SANITIZED
    skip();
#endif
    quant_quality("demo-llama2", "-V demo2");
}

static void demo_llama3_quant_quality(void **state)
{
    (void)state;
#ifdef SANITIZED
    skip();
#endif
    quant_quality("demo-llama3", "-V demo3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_llama2_quant_quality),
        cmocka_unit_test(demo_llama3_quant_quality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
