/* matmul (prefill GEMM) against lvk_ref_matmul: every variant the device runs, fp16/bf16/fp32 and q8/q4
 * weights, odd shapes (rows not a multiple of any tile, cols not a multiple of 4, 8 or the 32 of a q8/q4
 * block), a chunked weight, the accumulate option, and fewer tokens than prepared for (rows past n_tokens
 * must stay untouched). --bench adds the LLaMA prefill shapes with GFLOP/s, checked on a subset of output
 * rows. q8/q4 weights are made by lvk_ref_quantize and the twin multiplies their dequantized values, so
 * the comparison measures the kernel's arithmetic, not the quantization error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "ops/matmul.h"
#include "ref/matmul.h"
#include "ref/quant.h"
#include "selftest/harness.h"

/* fp32-accumulated dot products of length K: each output carries a rounding error of about
 * sqrt(K) * 2^-24 relative to the sum of |products| (random-walk), so NMSE is around 1e-12.
 * Measured (lavapipe 22.3.6, every default row): at most 1.33e-12, fp16/bf16/fp32 and q8/q4 alike (the
 * q8/q4 kernels dequantize exactly, so only the sums round). Deliberate bugs: X rounded to fp16
 * in matmul_tiled.comp gives 2.8e-8 .. 3.4e-8 on every row; one wrong, missing or doubled term ~1/K;
 * q4 without its offset 0.16 .. 3.7; q8 taking every block's scale from the low half of its word
 * 9.0e-4 .. 5.2e-2 (neighbouring blocks of uniform data have similar scales).
 * 1e-9 sits ~750x above the measured error and ~30x below the fp16-rounding bug. */
#define MATMUL_TOL 1e-9

/* A value that no correct result equals: Y rows past n_tokens must keep it. */
#define SENTINEL 12345.5f

typedef struct matmul_case {
    lvk_dtype dtype;
    uint32_t n_tokens, max_tokens, rows, cols;
    uint32_t n_chunks;  /* > 1: force about this many weight chunks */
    bool accumulate;
    uint32_t row_step;  /* check every row_step-th output row only (bench shapes); 1 = all */
    int reps;
} matmul_case;

static const char *dtype_label(lvk_dtype dt)
{
    return dt == LVK_DTYPE_F16 ? "f16" : dt == LVK_DTYPE_BF16 ? "bf16" : dt == LVK_DTYPE_F32 ? "f32"
                                                                                                : lvk_dtype_name(dt);
}

/* W on the host: as the checkpoint stores it (rows packed one after another in dtype), or q8/q4 blocks
 * quantized from uniform values by the CPU twin of the device's quantizer. */
typedef struct host_weight {
    lvk_ref_weight ref;
    void *values;
    uint8_t *quants, *scales;
} host_weight;

static void host_weight_free(host_weight *hw) { free(hw->values), free(hw->quants), free(hw->scales); }

static bool make_weight(lvk_dtype dtype, uint32_t rows, uint32_t cols, uint64_t seed, host_weight *hw, lvk_err *err)
{
    memset(hw, 0, sizeof *hw);
    hw->ref = (lvk_ref_weight){.dtype = dtype, .rows = rows, .cols = cols};
    size_t n = (size_t)rows * cols;
    float *f = malloc(n * sizeof(float));
    if (!f)
        return lvk_fail(err, "out of host memory");
    lvk_selftest_fill(f, n, seed, 1.0f);
    bool ok = true;
    if (lvk_dtype_is_quantized(dtype)) {
        lvk_quant_format qf = dtype == LVK_DTYPE_Q8 ? LVK_QUANT_Q8 : LVK_QUANT_Q4;
        hw->quants = malloc(rows * lvk_quant_row_bytes(qf, cols));
        hw->scales = malloc(rows * lvk_quant_scale_row_bytes(qf, cols));
        ok = hw->quants && hw->scales ? lvk_ref_quantize(qf, LVK_DTYPE_F32, f, rows, cols, true, hw->quants,
                                                         hw->scales, err)
                                      : lvk_fail(err, "out of host memory");
        hw->ref.quants = hw->quants, hw->ref.scales = hw->scales;
    } else if (!(hw->values = malloc(n * lvk_dtype_size(dtype)))) {
        ok = lvk_fail(err, "out of host memory");
    } else if (dtype == LVK_DTYPE_F32) {
        memcpy(hw->values, f, n * sizeof(float));
    } else {
        uint16_t *h = hw->values;
        for (size_t i = 0; i < n; i++)
            h[i] = dtype == LVK_DTYPE_F16 ? lvk_f32_to_f16(f[i]) : lvk_f32_to_bf16(f[i]);
    }
    hw->ref.values = hw->values;
    free(f);
    if (!ok)
        host_weight_free(hw);
    return ok;
}

static bool upload_weight(lvk_selftest *t, const lvk_weight *w, const host_weight *hw, lvk_err *err)
{
    if (lvk_dtype_is_quantized(w->dtype))
        return lvk_weight_upload_quantized(t->d, t->xfer, w, 0, w->rows, hw->quants, hw->scales, err);
    return lvk_weight_upload_rows(t->d, t->xfer, w, 0, w->rows, hw->values, err);
}

/* The reference for the checked rows (every row_step-th), as [n_tokens, n_checked]. */
static void reference(const matmul_case *mc, const host_weight *hw, const float *x, const float *y0, double *want,
                      double *tmp)
{
    uint32_t n_checked = (mc->rows + mc->row_step - 1) / mc->row_step;
    for (uint32_t k = 0; k < n_checked; k++) {
        uint32_t r = k * mc->row_step;
        lvk_ref_weight row = lvk_ref_weight_rows(&hw->ref, r, 1);
        lvk_ref_matmul(&row, x, mc->n_tokens, tmp);
        for (uint32_t t = 0; t < mc->n_tokens; t++)
            want[(size_t)t * n_checked + k] = tmp[t] + (mc->accumulate ? y0[(size_t)t * mc->rows + r] : 0.0);
    }
}

/* Rows past n_tokens: the kernel must not have written them. */
static bool tail_untouched(const matmul_case *mc, const float *y)
{
    for (size_t i = (size_t)mc->n_tokens * mc->rows; i < (size_t)mc->max_tokens * mc->rows; i++)
        if (y[i] != SENTINEL)
            return false;
    return true;
}

static bool run_matmul(lvk_selftest *t, lvk_matmul_path path, const matmul_case *mc, lvk_err *err)
{
    lvk_selftest_result r = {0};
    snprintf(r.kernel, sizeof r.kernel, "matmul_%s", lvk_matmul_path_name(path));
    snprintf(r.dtype, sizeof r.dtype, "%s", dtype_label(mc->dtype));
    int len = snprintf(r.shape, sizeof r.shape, "%ux%ux%u", mc->n_tokens, mc->rows, mc->cols);
    if (mc->max_tokens > mc->n_tokens)
        len += snprintf(r.shape + len, sizeof r.shape - (size_t)len, " of %u", mc->max_tokens);
    if (mc->n_chunks > 1)
        len += snprintf(r.shape + len, sizeof r.shape - (size_t)len, " %uchunks", mc->n_chunks);
    if (mc->accumulate)
        snprintf(r.shape + len, sizeof r.shape - (size_t)len, " +=");

    const uint32_t n_checked = (mc->rows + mc->row_step - 1) / mc->row_step;
    const size_t x_n = (size_t)mc->max_tokens * mc->cols, y_n = (size_t)mc->max_tokens * mc->rows;
    host_weight w_host;
    if (!make_weight(mc->dtype, mc->rows, mc->cols, 11 + mc->rows, &w_host, err))
        return false;
    float *x = malloc(x_n * sizeof(float)), *y0 = malloc(y_n * sizeof(float)), *got = malloc(y_n * sizeof(float));
    float *got_checked = malloc((size_t)mc->n_tokens * n_checked * sizeof(float));
    double *want = malloc((size_t)mc->n_tokens * n_checked * sizeof(double));
    double *tmp = malloc((size_t)mc->n_tokens * sizeof(double));
    lvk_arena arena;
    lvk_arena_init(t->d, &arena, LVK_MEM_DEVICE);
    lvk_weight w = {0};
    lvk_buffer bx = {0}, by = {0};
    lvk_cmd cmd = {0};
    bool ok = x && y0 && got && got_checked && want && tmp;
    if (!ok)
        lvk_fail(err, "out of host memory");
    if (ok) {
        lvk_selftest_fill(x, x_n, 3 + mc->cols, 1.0f);
        for (size_t i = 0; i < y_n; i++)
            y0[i] = SENTINEL;
        if (mc->accumulate)
            lvk_selftest_fill(y0, (size_t)mc->n_tokens * mc->rows, 5, 4.0f);
        reference(mc, &w_host, x, y0, want, tmp);
        uint64_t chunk_bytes = 0;
        if (mc->n_chunks > 1) {
            /* the quants (or values) of about rows / n_chunks rows; a q8/q4 row of scales is smaller */
            const lvk_weight_format *f = lvk_weight_format_of(mc->dtype, "matmul", err);
            uint64_t stride = f ? lvk_weight_format_row_bytes(f, mc->cols) : 16;
            chunk_bytes = stride * ((mc->rows + mc->n_chunks - 1) / mc->n_chunks);
        }
        ok = lvk_weight_create(t->d, &arena, &w, mc->dtype, mc->rows, mc->cols, chunk_bytes, err) &&
             upload_weight(t, &w, &w_host, err) &&
             lvk_transfer_finish(t->d, t->xfer, err) &&
             lvk_selftest_buffer(t, &bx, x, x_n * sizeof(float), err) &&
             lvk_selftest_buffer(t, &by, y0, y_n * sizeof(float), err) && lvk_cmd_create(t->d, &cmd, 2, err);
        if (ok && mc->n_chunks > 1 && w.n_chunks < 2)
            ok = lvk_fail(err, "matmul: the chunked case got %d chunk(s)", w.n_chunks);
    }
    lvk_matmul_op op = {0};
    lvk_matmul_options opt = {.path = path, .accumulate = mc->accumulate};
    lvk_view vx = lvk_buffer_view_all(&bx), vy = lvk_buffer_view_all(&by);
    ok = ok && lvk_matmul_prepare(t->k, &op, &w, &vx, &vy, mc->max_tokens, &opt, err) &&
         lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_matmul_record(&cmd, &op, mc->n_tokens);
        lvk_cmd_timestamp(&cmd);
        /* One checked run first (accumulate changes Y on every run; on lavapipe it also pays for the
         * shader compile), then reps - 1 timed runs. */
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vy, 0, got, y_n * sizeof(float), err);
    }
    if (ok) {
        for (uint32_t tk = 0; tk < mc->n_tokens; tk++)
            for (uint32_t k = 0; k < n_checked; k++)
                got_checked[(size_t)tk * n_checked + k] = got[(size_t)tk * mc->rows + (size_t)k * mc->row_step];
        lvk_selftest_compare(&r, got_checked, want, (size_t)mc->n_tokens * n_checked, MATMUL_TOL);
        if (!tail_untouched(mc, got))
            r.pass = false, r.max_abs_err = INFINITY;
        if (mc->reps > 1) {
            double best;
            ok = lvk_selftest_time(t, &cmd, mc->reps - 1, &best, err);
            if (ok && best < r.ms)
                r.ms = best;
        }
    }
    if (ok) {
        double flops = 2.0 * mc->n_tokens * mc->rows * mc->cols;
        r.gflops = r.ms > 0 ? flops / (r.ms * 1e-3) / 1e9 : 0;
        lvk_selftest_report(t, &r);
    }
    lvk_matmul_destroy(t->k, &op);
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &bx);
    lvk_buffer_destroy(t->d, &by);
    lvk_weight_destroy(t->d, &w);
    lvk_arena_destroy(t->d, &arena);
    host_weight_free(&w_host);
    free(x), free(y0), free(got), free(got_checked), free(want), free(tmp);
    return ok;
}

/* prepare must refuse what the kernels cannot do rather than record out-of-bounds work: a Y too
 * small for max_tokens, X and Y overlapping, max_tokens 0, and the path that is not built. */
static bool run_rejects(lvk_selftest *t, lvk_err *err)
{
    lvk_selftest_result r = {.kernel = "matmul_rejects", .dtype = "f16", .shape = "8x37x99 bad views"};
    lvk_arena arena;
    lvk_arena_init(t->d, &arena, LVK_MEM_DEVICE);
    lvk_weight w = {0};
    lvk_buffer b = {0};
    const uint32_t tokens = 8, rows = 37, cols = 99;
    const VkDeviceSize x_bytes = (VkDeviceSize)tokens * cols * 4, y_bytes = (VkDeviceSize)tokens * rows * 4;
    bool ok = lvk_weight_create(t->d, &arena, &w, LVK_DTYPE_F16, rows, cols, 0, err) &&
              lvk_selftest_buffer(t, &b, NULL, x_bytes + y_bytes, err);
    if (ok) {
        lvk_view all = lvk_buffer_view_all(&b), x = all, y = all, y_short = all, y_overlap = all;
        x.size = x_bytes;
        y.offset = x_bytes, y.size = y_bytes;
        y_short.offset = x_bytes, y_short.size = y_bytes - 4;
        y_overlap.offset = x_bytes - 4, y_overlap.size = y_bytes;
        lvk_matmul_options coopmat = {.path = LVK_MATMUL_COOPMAT};
        lvk_matmul_op op = {0};
        lvk_err e;
        bool good = lvk_matmul_prepare(t->k, &op, &w, &x, &y, tokens, NULL, &e);
        lvk_matmul_destroy(t->k, &op);
        bool short_y = lvk_matmul_prepare(t->k, &op, &w, &x, &y_short, tokens, NULL, &e);
        bool overlap = lvk_matmul_prepare(t->k, &op, &w, &x, &y_overlap, tokens, NULL, &e);
        bool zero = lvk_matmul_prepare(t->k, &op, &w, &x, &y, 0, NULL, &e);
        bool coop = lvk_matmul_prepare(t->k, &op, &w, &x, &y, tokens, &coopmat, &e);
        r.pass = good && !short_y && !overlap && !zero && !coop;
        lvk_selftest_report(t, &r);
    }
    lvk_buffer_destroy(t->d, &b);
    lvk_weight_destroy(t->d, &w);
    lvk_arena_destroy(t->d, &arena);
    return ok;
}

bool lvk_selftest_matmul(lvk_selftest *t, lvk_err *err)
{
    if (lvk_selftest_wants(t, "matmul_rejects") && !run_rejects(t, err))
        return false;
    /* Every variant that runs on core Vulkan; COOPMAT is not built (ops/matmul.c). */
    const lvk_matmul_path paths[] = {LVK_MATMUL_TILED, LVK_MATMUL_TEXEL};
    const lvk_dtype dtypes[] = {LVK_DTYPE_F16, LVK_DTYPE_BF16, LVK_DTYPE_F32};
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        char name[32];
        snprintf(name, sizeof name, "matmul_%s", lvk_matmul_path_name(paths[p]));
        if (!lvk_selftest_wants(t, name))
            continue;
        for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
            const matmul_case cases[] = {
                {dtypes[d], 5, 5, 37, 99, 1, false, 1, 2},
                {dtypes[d], 17, 17, 130, 263, 1, false, 1, 2},
                {dtypes[d], 64, 64, 1024, 4096, 1, false, 1, 2},
            };
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
                if (!run_matmul(t, paths[p], &cases[c], err))
                    return false;
        }
        const matmul_case extra[] = {
            /* a weight cut into 5 chunks: one dispatch each, into the right columns of Y */
            {LVK_DTYPE_F16, 17, 17, 130, 263, 5, false, 1, 2},
            /* Y += X·Wᵀ, and fewer tokens than prepared for */
            {LVK_DTYPE_BF16, 17, 40, 130, 263, 1, true, 1, 2},
            {LVK_DTYPE_F16, 1, 64, 64, 128, 1, false, 1, 2},
            {LVK_DTYPE_F32, 65, 70, 67, 36, 3, false, 1, 2},
        };
        for (size_t c = 0; c < sizeof extra / sizeof extra[0]; c++)
            if (!run_matmul(t, paths[p], &extra[c], err))
                return false;
        const lvk_dtype quants[] = {LVK_DTYPE_Q8, LVK_DTYPE_Q4};
        for (size_t d = 0; d < sizeof quants / sizeof quants[0]; d++) {
            const matmul_case cases[] = {
                /* one token; cols 33: one block and one column (X read by storage loads) */
                {quants[d], 1, 1, 37, 33, 1, false, 1, 2},
                /* cols 100: X by texel fetches, a last block of 4 columns */
                {quants[d], 9, 9, 130, 100, 1, false, 1, 2},
                {quants[d], 64, 64, 1024, 4096, 1, false, 1, 2},
                {quants[d], 77, 77, 67, 263, 1, false, 1, 2},
                {quants[d], 17, 17, 130, 263, 5, false, 1, 2},
                {quants[d], 17, 40, 130, 263, 1, true, 1, 2},
                {quants[d], 65, 70, 67, 36, 3, true, 1, 2},
            };
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
                if (!run_matmul(t, paths[p], &cases[c], err))
                    return false;
        }
        /* On a CPU device only the variant AUTO picks gets the big shapes: the tiled one runs at a
         * tenth of its speed there and would add minutes. */
        bool cpu = t->d->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
        if (!t->bench || (cpu && paths[p] != lvk_matmul_auto_path(t->d)))
            continue;
        /* LLaMA prefill shapes: 512 tokens through wq (4096 x 4096) and w1/w3 (11008 x 4096); 64 tokens
         * (a short prompt) for fp16 against q8 and q4. */
        const matmul_case bench[] = {
            {LVK_DTYPE_F16, 512, 512, 4096, 4096, 1, false, 61, 3},
            {LVK_DTYPE_BF16, 512, 512, 4096, 4096, 1, false, 61, 3},
            {LVK_DTYPE_F16, 512, 512, 11008, 4096, 1, false, 97, 3},
            {LVK_DTYPE_F16, 64, 64, 4096, 4096, 1, false, 61, 6},
            {LVK_DTYPE_Q8, 64, 64, 4096, 4096, 1, false, 61, 6},
            {LVK_DTYPE_Q4, 64, 64, 4096, 4096, 1, false, 61, 6},
            {LVK_DTYPE_F16, 64, 64, 11008, 4096, 1, false, 97, 4},
            {LVK_DTYPE_Q8, 64, 64, 11008, 4096, 1, false, 97, 4},
            {LVK_DTYPE_Q4, 64, 64, 11008, 4096, 1, false, 97, 4},
        };
        for (size_t c = 0; c < sizeof bench / sizeof bench[0]; c++)
            if (!run_matmul(t, paths[p], &bench[c], err))
                return false;
    }
    return true;
}
