/* vk-selftest: every kernel run on the device and compared with its CPU twin (src/ref/, fp64 on
 * the same rounded inputs). One case = one row of the table. */
#ifndef LVK_SELFTEST_HARNESS_H
#define LVK_SELFTEST_HARNESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/kernels.h"

typedef struct lvk_selftest {
    lvk_device *d;
    lvk_kernels *k;
    lvk_transfer *xfer;
    bool bench;       /* --bench: more repetitions, speed figures */
    bool json;
    const char *filter;
    double copy_gbps; /* the device's copy bandwidth from the copy case, 0 until measured */
    double read_gbps; /* the device's read bandwidth from the read case, 0 until measured */
    int n_run, n_failed;
    struct lvk_selftest_result *results;
    int n_results, cap_results;
} lvk_selftest;

typedef struct lvk_selftest_result {
    char kernel[32];
    char dtype[16];
    char shape[48];
    bool checked;       /* false for pure speed cases */
    double max_abs_err; /* over all outputs */
    double nmse;        /* sum (got - want)^2 / sum want^2 */
    double tol;         /* pass if nmse <= tol (and every output is finite) */
    bool pass;
    double ms;          /* device time of one run, 0 if not timed */
    double gbps;        /* bytes moved / time, 0 if not meaningful */
    double gflops;      /* 0 if not meaningful */
} lvk_selftest_result;

/* Does --filter select this kernel? */
bool lvk_selftest_wants(const lvk_selftest *t, const char *kernel);

/* Fills max_abs_err, nmse and pass from got vs want (pass also needs every got to be finite). */
void lvk_selftest_compare(lvk_selftest_result *r, const float *got, const double *want, size_t n, double tol);

/* Adds a row to the table (printed at once unless --json). */
void lvk_selftest_report(lvk_selftest *t, const lvk_selftest_result *r);

/* Times `reps` runs of an already recorded command buffer and returns the best, in ms. The
 * command buffer must hold timestamps 0 and 1 around the work (or none: wall clock is used). */
bool lvk_selftest_time(lvk_selftest *t, lvk_cmd *c, int reps, double *ms, lvk_err *err);

/* Deterministic test data: uniform in [-scale, scale). */
void lvk_selftest_fill(float *x, size_t n, uint64_t seed, float scale);

/* Device buffer of `bytes`, filled from host data when src is not NULL. */
bool lvk_selftest_buffer(lvk_selftest *t, lvk_buffer *b, const void *src, uint64_t bytes, lvk_err *err);

/* Every case: `bool lvk_selftest_<name>(lvk_selftest *t, lvk_err *err)` listed in cases.h.
 * A case returns false only when it could not run at all (the harness reports it as a failure);
 * wrong results are reported as failing rows. */
#define LVK_SELFTEST_CASE(name) bool lvk_selftest_##name(lvk_selftest *t, lvk_err *err);
#include "selftest/cases.h"
#undef LVK_SELFTEST_CASE

#endif
