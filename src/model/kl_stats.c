#include "model/kl_stats.h"

#include <math.h>
#include <stdlib.h>

double lvk_log_sum_exp(const float *x, int n, double *max_out)
{
    double mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp((double)x[i] - mx);
    *max_out = mx;
    return log(sum);
}

double lvk_kl_divergence(const float *base, const float *logits, int vocab)
{
    double max_p, max_q;
    double lse_p = lvk_log_sum_exp(base, vocab, &max_p), lse_q = lvk_log_sum_exp(logits, vocab, &max_q);
    double kl = 0;
    for (int i = 0; i < vocab; i++) {
        double log_p = (double)base[i] - max_p - lse_p, log_q = (double)logits[i] - max_q - lse_q;
        kl += exp(log_p) * (log_p - log_q);
    }
    /* a sum of terms of both signs can land a rounding error below 0; KL itself never is */
    return kl > 0 ? kl : 0;
}

int lvk_argmax(const float *logits, int vocab)
{
    int best = 0;
    for (int i = 1; i < vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double lvk_percentile(double *values, size_t n, double p)
{
    qsort(values, n, sizeof *values, compare_doubles);
    double rank = p * (double)(n - 1);
    size_t lo = (size_t)rank;
    if (lo + 1 >= n)
        return values[n - 1];
    return values[lo] + (rank - (double)lo) * (values[lo + 1] - values[lo]);
}
