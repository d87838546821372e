/* The sampler against a CPU computation of the distribution it should draw from: greedy and top-k 1 take
 * the largest logit (ties to the lower id); temperature, top-k, top-p and the repetition penalty give the
 * probabilities softmax(logit / T) over the kept candidates, checked by the frequencies of many seeded
 * draws (each within 5 standard deviations, and a chi-square bound); the seed repeats a run. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/sampler.h"

#define VOCAB 16
#define DRAWS 40000

static const float base_logits[VOCAB] = {1.0f, 3.0f, 2.5f, -1.0f, 0.5f, 2.9f, -3.0f, 0.0f,
                                         1.5f, 2.0f, -0.5f, 0.25f, 1.25f, -2.0f, 0.75f, 2.2f};

static lvk_sampler make(float temperature, int top_k, float top_p, float penalty, int last_n, uint64_t seed)
{
    lvk_sampler_params p = {.temperature = temperature, .top_k = top_k, .top_p = top_p,
                            .repeat_penalty = penalty, .repeat_last_n = last_n, .seed = seed};
    lvk_sampler s;
    lvk_err err = {{0}};
    if (!lvk_sampler_init(&s, &p, VOCAB, &err))
        fail_msg("%s", err.msg);
    return s;
}

static int32_t pick(lvk_sampler *s, const float *logits, const int32_t *history, size_t n_history)
{
    lvk_candidate cand[VOCAB];
    for (uint32_t i = 0; i < VOCAB; i++)
        cand[i] = (lvk_candidate){.id = i, .logit = logits[i]};
    return lvk_sampler_pick(s, cand, VOCAB, history, n_history);
}

/* The distribution the parameters define, computed independently in double: penalty, then the top_k
 * largest, softmax at temperature T, then the smallest prefix whose mass reaches top_p. */
static void expected_distribution(const float *logits, float t, int top_k, double top_p, float penalty,
                                  const int32_t *history, size_t n_history, double *prob)
{
    double l[VOCAB];
    for (int i = 0; i < VOCAB; i++) {
        l[i] = logits[i];
        for (size_t h = 0; h < n_history; h++)
            if (history[h] == i) {
                l[i] = l[i] > 0 ? l[i] / penalty : l[i] * penalty;
                break;
            }
    }
    int order[VOCAB];
    for (int i = 0; i < VOCAB; i++)
        order[i] = i;
    for (int i = 0; i < VOCAB; i++) /* selection sort, largest first, lower id on ties */
        for (int j = i + 1; j < VOCAB; j++)
            if (l[order[j]] > l[order[i]] || (l[order[j]] == l[order[i]] && order[j] < order[i])) {
                int x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
    int n = top_k > 0 && top_k < VOCAB ? top_k : VOCAB;
    double sum = 0, w[VOCAB] = {0};
    for (int i = 0; i < n; i++)
        sum += (w[i] = exp(l[order[i]] / t));
    int keep = n;
    double cum = 0;
    for (int i = 0; i < n; i++) {
        cum += w[i] / sum;
        if (cum >= top_p) {
            keep = i + 1;
            break;
        }
    }
    double kept = 0;
    for (int i = 0; i < keep; i++)
        kept += w[i];
    memset(prob, 0, VOCAB * sizeof *prob);
    for (int i = 0; i < keep; i++)
        prob[order[i]] = w[i] / kept;
}

/* Draws DRAWS tokens and compares their frequencies with prob: a token of probability 0 never appears;
 * every count within 5 standard deviations; chi-square below the 99.99 % point for 15 degrees of freedom. */
static void check_frequencies(lvk_sampler *s, const float *logits, const int32_t *history, size_t n_history,
                              const double *prob)
{
    int count[VOCAB] = {0};
    for (int d = 0; d < DRAWS; d++) {
        int32_t id = pick(s, logits, history, n_history);
        assert_true(id >= 0 && id < VOCAB);
        count[id]++;
    }
    double chi2 = 0;
    for (int i = 0; i < VOCAB; i++) {
        double want = prob[i] * DRAWS, sd = sqrt(DRAWS * prob[i] * (1 - prob[i]));
        if (prob[i] == 0) {
            if (count[i] != 0)
                fail_msg("token %d has probability 0 but was drawn %d times", i, count[i]);
            continue;
        }
        if (fabs(count[i] - want) > 5 * sd + 1)
            fail_msg("token %d: drawn %d times, expected %.1f +- %.1f", i, count[i], want, sd);
        chi2 += (count[i] - want) * (count[i] - want) / want;
    }
    if (chi2 > 44.3)
        fail_msg("chi-square %.1f over the 99.99 %% point (44.3, 15 degrees of freedom)", chi2);
}

static void greedy_takes_the_largest(void **state)
{
    (void)state;
    lvk_sampler s = make(0.0f, 40, 0.95f, 1.0f, 64, 1);
    assert_int_equal(pick(&s, base_logits, NULL, 0), 1);
    float tie[VOCAB];
    memcpy(tie, base_logits, sizeof tie);
    tie[9] = 3.0f; /* equal to token 1: the lower id wins, as on the device */
    assert_int_equal(pick(&s, tie, NULL, 0), 1);
    lvk_sampler_free(&s);
    /* top-k 1 at any temperature is the argmax too */
    s = make(1.5f, 1, 1.0f, 1.0f, 64, 7);
    for (int i = 0; i < 100; i++)
        assert_int_equal(pick(&s, base_logits, NULL, 0), 1);
    lvk_sampler_free(&s);
}

static void temperature_gives_softmax(void **state)
{
    (void)state;
    const float temps[] = {1.0f, 0.5f, 2.0f};
    for (size_t i = 0; i < 3; i++) {
        double prob[VOCAB];
        expected_distribution(base_logits, temps[i], 0, 1.0, 1.0f, NULL, 0, prob);
        lvk_sampler s = make(temps[i], 0, 1.0f, 1.0f, 64, 100 + i);
        check_frequencies(&s, base_logits, NULL, 0, prob);
        lvk_sampler_free(&s);
    }
}

static void top_k_keeps_the_k_largest(void **state)
{
    (void)state;
    double prob[VOCAB];
    expected_distribution(base_logits, 1.0f, 4, 1.0, 1.0f, NULL, 0, prob);
    /* tokens 1 (3.0), 5 (2.9), 2 (2.5), 15 (2.2) */
    assert_true(prob[1] > 0 && prob[5] > 0 && prob[2] > 0 && prob[15] > 0 && prob[9] == 0);
    lvk_sampler s = make(1.0f, 4, 1.0f, 1.0f, 64, 5);
    check_frequencies(&s, base_logits, NULL, 0, prob);
    lvk_sampler_free(&s);
}

/* Softmax of base_logits at T = 1: 1 -> 0.237, 5 -> 0.214, 2 -> 0.144, 15 -> 0.107, 9 -> 0.087, ...
 * cumulative 0.237, 0.451, 0.595, 0.702: top-p 0.65 keeps four tokens, 0.5 three, 0.2 one. */
static void top_p_cuts_at_the_right_token(void **state)
{
    (void)state;
    const float cuts[] = {0.65f, 0.5f, 0.2f};
    const int kept[] = {4, 3, 1};
    for (size_t c = 0; c < 3; c++) {
        double prob[VOCAB];
        expected_distribution(base_logits, 1.0f, 0, cuts[c], 1.0f, NULL, 0, prob);
        int n = 0;
        for (int i = 0; i < VOCAB; i++)
            n += prob[i] > 0;
        assert_int_equal(n, kept[c]);
        lvk_sampler s = make(1.0f, 0, cuts[c], 1.0f, 64, 9 + c);
        check_frequencies(&s, base_logits, NULL, 0, prob);
        lvk_sampler_free(&s);
    }
}

static void repeat_penalty_divides_and_multiplies(void **state)
{
    (void)state;
    /* Greedy: token 1 (3.0) penalized by 1.5 is 2.0, below token 5 (2.9). */
    int32_t history[] = {7, 1, 3};
    lvk_sampler s = make(0.0f, 0, 1.0f, 1.5f, 64, 1);
    assert_int_equal(pick(&s, base_logits, history, 3), 5);
    /* Outside the window (last 1 token: only 3) it is not penalized. */
    lvk_sampler_free(&s);
    s = make(0.0f, 0, 1.0f, 1.5f, 1, 1);
    assert_int_equal(pick(&s, base_logits, history, 3), 1);
    lvk_sampler_free(&s);
    /* Sampling: positive logits divided, negative multiplied (token 3: -1 -> -1.5). */
    double prob[VOCAB];
    expected_distribution(base_logits, 1.0f, 0, 1.0, 1.5f, history, 3, prob);
    s = make(1.0f, 0, 1.0f, 1.5f, 64, 3);
    check_frequencies(&s, base_logits, history, 3, prob);
    lvk_sampler_free(&s);
}

static void the_seed_repeats_a_run(void **state)
{
    (void)state;
    int32_t a[64], b[64], c[64];
    lvk_sampler s1 = make(1.0f, 0, 1.0f, 1.0f, 64, 42), s2 = make(1.0f, 0, 1.0f, 1.0f, 64, 42),
                s3 = make(1.0f, 0, 1.0f, 1.0f, 64, 43);
    for (int i = 0; i < 64; i++) {
        a[i] = pick(&s1, base_logits, NULL, 0);
        b[i] = pick(&s2, base_logits, NULL, 0);
        c[i] = pick(&s3, base_logits, NULL, 0);
    }
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    lvk_sampler_free(&s1);
    lvk_sampler_free(&s2);
    lvk_sampler_free(&s3);
}

/* What the model reads back: the argmax for plain greedy, the top 256 for a top-k within it, else all. */
static void output_fits_the_parameters(void **state)
{
    (void)state;
    uint32_t k = 0;
    lvk_sampler_params p = lvk_sampler_defaults();
    lvk_sampler s;
    lvk_err err = {{0}};
    p.temperature = 0;
    assert_true(lvk_sampler_init(&s, &p, 32000, &err));
    assert_int_equal(lvk_sampler_output(&s, 32000, &k), LVK_OUT_ARGMAX);
    lvk_sampler_free(&s);
    p = lvk_sampler_defaults();
    assert_true(lvk_sampler_init(&s, &p, 32000, &err));
    assert_int_equal(lvk_sampler_output(&s, 32000, &k), LVK_OUT_TOPK);
    assert_int_equal(k, LVK_TOPK_MAX);
    lvk_sampler_free(&s);
    p.top_k = 0;
    assert_true(lvk_sampler_init(&s, &p, 32000, &err));
    assert_int_equal(lvk_sampler_output(&s, 32000, &k), LVK_OUT_LOGITS);
    lvk_sampler_free(&s);
    p.top_p = 0;
    assert_false(lvk_sampler_init(&s, &p, 32000, &err));
    assert_non_null(strstr(err.msg, "top-p"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_takes_the_largest),      cmocka_unit_test(temperature_gives_softmax),
        cmocka_unit_test(top_k_keeps_the_k_largest),     cmocka_unit_test(top_p_cuts_at_the_right_token),
        cmocka_unit_test(repeat_penalty_divides_and_multiplies), cmocka_unit_test(the_seed_repeats_a_run),
        cmocka_unit_test(output_fits_the_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
