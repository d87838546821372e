#include "selftest/harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"

bool lvk_selftest_wants(const lvk_selftest *t, const char *kernel)
{
    return !t->filter || strstr(kernel, t->filter) != NULL;
}

void lvk_selftest_compare(lvk_selftest_result *r, const float *got, const double *want, size_t n, double tol)
{
    double max_abs = 0, err2 = 0, ref2 = 0;
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]))
            finite = false;
        double e = fabs((double)got[i] - want[i]);
        if (e > max_abs || isnan(e))
            max_abs = e;
        err2 += e * e;
        ref2 += want[i] * want[i];
    }
    r->checked = true;
    r->max_abs_err = max_abs;
    r->nmse = ref2 > 0 ? err2 / ref2 : err2;
    r->tol = tol;
    r->pass = finite && r->nmse <= tol;
}

void lvk_selftest_report(lvk_selftest *t, const lvk_selftest_result *r)
{
    t->n_run++;
    if (!r->pass)
        t->n_failed++;
    /* The row is kept for --json; if there is no memory for it, the run fails rather than lose it. */
    if (t->n_results == t->cap_results) {
        int cap = t->cap_results ? 2 * t->cap_results : 32;
        lvk_selftest_result *nr = realloc(t->results, (size_t)cap * sizeof *nr);
        if (nr) {
            t->results = nr;
            t->cap_results = cap;
        }
    }
    if (t->n_results < t->cap_results) {
        t->results[t->n_results++] = *r;
    } else {
        fprintf(stderr, "error: out of host memory keeping the result of %s %s\n", r->kernel, r->shape);
        t->n_failed++;
    }
    if (t->json)
        return;
    char err_s[16] = "-", nmse_s[16] = "-", tol_s[16] = "-", ms_s[16] = "-", speed_s[24] = "-";
    if (r->checked) {
        snprintf(err_s, sizeof err_s, "%.2e", r->max_abs_err);
        snprintf(nmse_s, sizeof nmse_s, "%.2e", r->nmse);
        snprintf(tol_s, sizeof tol_s, "%.0e", r->tol);
    }
    if (r->ms > 0)
        snprintf(ms_s, sizeof ms_s, "%.3f", r->ms);
    if (r->gbps > 0)
        snprintf(speed_s, sizeof speed_s, "%.2f GB/s", r->gbps);
    else if (r->gflops > 0)
        snprintf(speed_s, sizeof speed_s, "%.1f GFLOP/s", r->gflops);
    printf("%-18s %-6s %-22s %10s %10s %8s  %-4s %10s  %s\n", r->kernel, r->dtype, r->shape, err_s, nmse_s, tol_s,
           r->pass ? "PASS" : "FAIL", ms_s, speed_s);
    fflush(stdout);
}

bool lvk_selftest_time(lvk_selftest *t, lvk_cmd *c, int reps, double *ms, lvk_err *err)
{
    double best = 0;
    for (int i = 0; i < reps; i++) {
        double start = lvk_now();
        if (!lvk_cmd_submit(t->d, c, err) || !lvk_cmd_wait(t->d, c, err))
            return false;
        double elapsed = (lvk_now() - start) * 1e3;
        if (c->n_timestamps >= 2 && !lvk_cmd_elapsed_ms(t->d, c, 0, 1, &elapsed, err))
            return false;
        if (best == 0 || elapsed < best)
            best = elapsed;
    }
    *ms = best;
    return true;
}

void lvk_selftest_fill(float *x, size_t n, uint64_t seed, float scale)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
        x[i] = scale * ((float)(s >> 40) / (float)(1u << 23) - 1.0f);
    }
}

bool lvk_selftest_buffer(lvk_selftest *t, lvk_buffer *b, const void *src, uint64_t bytes, lvk_err *err)
{
    if (!lvk_buffer_create(t->d, b, bytes, LVK_MEM_DEVICE, err))
        return false;
    if (!src)
        return true;
    lvk_view v = lvk_buffer_view_all(b);
    return lvk_upload(t->d, t->xfer, &v, 0, src, bytes, err) && lvk_transfer_finish(t->d, t->xfer, err);
}
