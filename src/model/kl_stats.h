/* How far one model's next-token distributions are from a base model's, as llama.cpp's perplexity
 * --kl-divergence reports it: per scored position the KL divergence KL(base || this) of the two softmaxes,
 * and whether the two argmaxes agree; over the positions the mean and the 99th percentile of the KL.
 * Pure functions of the logits, in double, so a test can check them against hand-computed values. */
#ifndef LVK_MODEL_KL_STATS_H
#define LVK_MODEL_KL_STATS_H
#include <stddef.h>

/* log sum_i exp(x_i - max), in double, and the max: so no exp overflows. log p_i = x_i - max - that. */
double lvk_log_sum_exp(const float *x, int n, double *max_out);

/* KL(p || q) = sum_i p_i (log p_i - log q_i) with p = softmax(base), q = softmax(logits), both computed as
 * log-softmax in double (the max subtracted first). 0 when the two vectors are equal. */
double lvk_kl_divergence(const float *base, const float *logits, int vocab);

/* The index of the largest logit; the first one on a tie. */
int lvk_argmax(const float *logits, int vocab);

/* The p-quantile (0 <= p <= 1) of values[0..n), n >= 1, by linear interpolation between the two closest
 * ranks (numpy's default): sorts values in place. */
double lvk_percentile(double *values, size_t n, double p);

#endif
