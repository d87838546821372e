/* matvec (every path the device supports; fp16/bf16/fp32 and q8/q4 weights) against lvk_ref_matvec(_quant):
 * odd shapes, the real LLaMA shapes,
 * batches of 1, 3 and 8 tokens, the fused residual add, weights cut into many chunks, and a matrix
 * over maxStorageBufferRange. With --bench: weight GB/s on the LLaMA shapes, next to the copy bandwidth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "ops/matvec.h"
#include "ref/matvec.h"
#include "ref/quant.h"
#include "selftest/harness.h"
#include "vk/bandwidth.h"

/* Every output is an fp32 sum of cols products of fp32-exact weights and fp32 x. Rounding errors
 * of ~2^-24 relative per step add up like a random walk: NMSE ~ cols * 2^-48, about 5e-11 for
 * cols = 14336. 1e-9 leaves a 20x margin and still catches x or partial sums rounded to fp16/bf16
 * (NMSE ~ 1e-7 and worse), which the bar of 1e-7 would let through. */
#define MATVEC_TOL 1e-9
/* q8/q4 against the twin over the same dequantized weights: the kernels sum s * sum(code * x) + m * sum(x)
 * per block, and the two terms cancel in part (m is about -range/2, and -128 d for q8 read unsigned).
 * Measured on lavapipe: NMSE at most 6.2e-14 for cols <= 4096. 1e-12 is tighter than MATVEC_TOL on purpose:
 * a subnormal scale decoded at half its value in a few tail blocks gave 6e-12 and must fail. */
#define MATVEC_QUANT_TOL 1e-12

/* One matrix on the host and the device, with x for up to max_tokens tokens and the reference y. */
typedef struct mv_data {
    lvk_dtype dtype;
    uint32_t rows, cols, max_tokens;
    float *x;      /* [max_tokens, cols] */
    double *want;  /* [max_tokens, rows] */
    float *y0;     /* [max_tokens, rows]: y before an accumulating run */
    float *got;
    lvk_arena arena;
    lvk_weight w;
    lvk_buffer bx, by;
} mv_data;

static const char *dtype_short(lvk_dtype dt)
{
    return dt == LVK_DTYPE_F16 ? "f16" : dt == LVK_DTYPE_BF16 ? "bf16" : dt == LVK_DTYPE_F32 ? "f32" : lvk_dtype_name(dt);
}

/* Quantizes rows x cols random values to q8/q4 row by row (the fp32 matrix is never whole), uploads the
 * blocks and computes want from them. */
static bool mv_setup_quant(lvk_selftest *t, mv_data *m, float *row, float w_scale, lvk_err *err)
{
    const lvk_quant_format f = m->dtype == LVK_DTYPE_Q8 ? LVK_QUANT_Q8 : LVK_QUANT_Q4;
    const uint64_t qrow = lvk_quant_row_bytes(f, m->cols), srow = lvk_quant_scale_row_bytes(f, m->cols);
    uint8_t *q = malloc(m->rows * qrow), *s = malloc(m->rows * srow);
    bool ok = q && s;
    if (!ok)
        lvk_fail(err, "out of host memory for a [%u, %u] %s matrix", m->rows, m->cols, lvk_dtype_name(m->dtype));
    for (uint32_t r = 0; ok && r < m->rows; r++) {
        lvk_selftest_fill(row, m->cols, 1000003ull * (m->dtype + 1) + r, w_scale);
        /* search = false: plain min/max codes, far quicker on the big shapes; the kernel cannot tell. */
        ok = lvk_ref_quantize(f, LVK_DTYPE_F32, row, 1, m->cols, false, q + r * qrow, s + r * srow, err);
    }
    if (ok) {
        lvk_ref_matvec_quant(f, q, s, m->rows, m->cols, m->x, m->max_tokens, m->want);
        ok = lvk_weight_upload_quantized(t->d, t->xfer, &m->w, 0, m->rows, q, s, err) &&
             lvk_transfer_finish(t->d, t->xfer, err);
    }
    free(q), free(s);
    return ok;
}

/* Fills W row by row (so a 1 GB matrix never needs its fp32 copy), uploads it, and computes want. */
static bool mv_setup(lvk_selftest *t, mv_data *m, lvk_dtype dtype, uint32_t rows, uint32_t cols, uint32_t max_tokens,
                     uint64_t max_chunk_bytes, float w_scale, lvk_err *err)
{
    memset(m, 0, sizeof *m);
    m->dtype = dtype, m->rows = rows, m->cols = cols, m->max_tokens = max_tokens;
    const bool quant = lvk_dtype_is_quantized(dtype);
    const size_t esize = lvk_dtype_size(dtype);
    const size_t n_x = (size_t)max_tokens * cols, n_y = (size_t)max_tokens * rows;
    uint8_t *w = quant ? NULL : malloc((size_t)rows * cols * esize);
    float *row = malloc((size_t)cols * sizeof(float));
    m->x = malloc(n_x * sizeof(float));
    m->want = malloc(n_y * sizeof(double));
    m->y0 = malloc(n_y * sizeof(float));
    m->got = malloc(n_y * sizeof(float));
    bool ok = (w || quant) && row && m->x && m->want && m->y0 && m->got;
    if (!ok)
        lvk_fail(err, "out of host memory for a [%u, %u] matrix", rows, cols);
    for (uint32_t r = 0; ok && !quant && r < rows; r++) {
        lvk_selftest_fill(row, cols, 1000003ull * (dtype + 1) + r, w_scale);
        uint8_t *dst = w + (size_t)r * cols * esize;
        for (uint32_t c = 0; c < cols; c++) {
            if (dtype == LVK_DTYPE_F16)
                ((uint16_t *)dst)[c] = lvk_f32_to_f16(row[c]);
            else if (dtype == LVK_DTYPE_BF16)
                ((uint16_t *)dst)[c] = lvk_f32_to_bf16(row[c]);
            else
                ((float *)dst)[c] = row[c];
        }
    }
    if (ok) {
        lvk_selftest_fill(m->x, n_x, 7, 1.0f);
        lvk_selftest_fill(m->y0, n_y, 9, 1.0f);
        lvk_arena_init(t->d, &m->arena, LVK_MEM_DEVICE);
        ok = lvk_weight_create(t->d, &m->arena, &m->w, dtype, rows, cols, max_chunk_bytes, err);
        if (ok && quant) {
            ok = mv_setup_quant(t, m, row, w_scale, err);
        } else if (ok) {
            lvk_ref_matvec(dtype, w, rows, cols, m->x, max_tokens, m->want);
            ok = lvk_weight_upload_rows(t->d, t->xfer, &m->w, 0, rows, w, err) && lvk_transfer_finish(t->d, t->xfer, err);
        }
        ok = ok && lvk_selftest_buffer(t, &m->bx, m->x, n_x * sizeof(float), err) &&
             lvk_selftest_buffer(t, &m->by, NULL, n_y * sizeof(float), err);
    }
    free(w);
    free(row);
    return ok;
}

static void mv_free(lvk_selftest *t, mv_data *m)
{
    lvk_weight_destroy(t->d, &m->w);
    if (m->arena.blocks || m->arena.n_blocks)
        lvk_arena_destroy(t->d, &m->arena);
    lvk_buffer_destroy(t->d, &m->bx);
    lvk_buffer_destroy(t->d, &m->by);
    free(m->x), free(m->want), free(m->y0), free(m->got);
}

/* Sets y to y0 (accumulate) or to NaN, so an output the kernel never writes fails the check. */
static bool mv_reset_y(lvk_selftest *t, mv_data *m, bool accumulate, lvk_err *err)
{
    const size_t n_y = (size_t)m->max_tokens * m->rows;
    if (!accumulate)
        for (size_t i = 0; i < n_y; i++)
            m->got[i] = NAN;
    lvk_view vy = lvk_buffer_view_all(&m->by);
    return lvk_upload(t->d, t->xfer, &vy, 0, accumulate ? m->y0 : m->got, n_y * sizeof(float), err) &&
           lvk_transfer_finish(t->d, t->xfer, err);
}

/* Runs one prepared op for n_tokens, checks it and reports a row. reps > 1 only without accumulate. */
static bool mv_check(lvk_selftest *t, mv_data *m, const lvk_matvec_op *op, uint32_t n_tokens, bool accumulate,
                     int reps, const char *note, lvk_err *err)
{
    lvk_cmd cmd = {0};
    lvk_selftest_result r = {0};
    snprintf(r.kernel, sizeof r.kernel, "matvec_%s", lvk_matvec_path_name(op->path));
    snprintf(r.dtype, sizeof r.dtype, "%s", dtype_short(m->dtype));
    bool ok = mv_reset_y(t, m, accumulate, err) && lvk_cmd_create(t->d, &cmd, 2, err) &&
              lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_matvec_record(&cmd, op, n_tokens);
        lvk_cmd_timestamp(&cmd);
        lvk_view vy = lvk_buffer_view_all(&m->by);
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, accumulate ? 1 : reps, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vy, 0, m->got, (size_t)n_tokens * m->rows * sizeof(float), err);
    }
    if (ok) {
        const size_t n = (size_t)n_tokens * m->rows;
        double *want = m->want;
        double *with_y0 = NULL;
        if (accumulate) {
            if (!(with_y0 = malloc(n * sizeof(double)))) {
                lvk_cmd_destroy(t->d, &cmd);
                return lvk_fail(err, "out of host memory");
            }
            for (size_t i = 0; i < n; i++)
                with_y0[i] = m->want[i] + (double)m->y0[i];
            want = with_y0;
        }
        lvk_selftest_compare(&r, m->got, want, n, lvk_dtype_is_quantized(m->dtype) ? MATVEC_QUANT_TOL : MATVEC_TOL);
        free(with_y0);
        double weight_bytes = (double)lvk_weight_bytes(&m->w); /* the values, or the quants and scales */
        r.gbps = r.ms > 0 ? weight_bytes / (r.ms * 1e-3) / 1e9 : 0;
        char ratio[16] = "";
        if (t->bench && t->copy_gbps > 0 && r.gbps > 0)
            snprintf(ratio, sizeof ratio, " %.2fcp", r.gbps / t->copy_gbps);
        snprintf(r.shape, sizeof r.shape, "%ux%u t%u%s%s", m->rows, m->cols, n_tokens, note, ratio);
        lvk_selftest_report(t, &r);
    }
    lvk_cmd_destroy(t->d, &cmd);
    return ok;
}

/* The paths this device can run (AUTO is one of them, not listed twice). */
static int mv_paths(const lvk_selftest *t, lvk_matvec_path *out)
{
    int n = 0;
    const lvk_matvec_path all[] = {LVK_MATVEC_TEXEL, LVK_MATVEC_SUBGROUP};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (lvk_matvec_path_supported(t->d, all[i], NULL))
            out[n++] = all[i];
    return n;
}

/* Every supported path on one matrix: each token count in tokens[] from one op prepared for the
 * largest, then (if asked) the accumulating variant with the largest count. */
static bool mv_shape(lvk_selftest *t, lvk_dtype dtype, uint32_t rows, uint32_t cols, uint64_t max_chunk_bytes,
                     const uint32_t *tokens, int n_tokens, bool accumulate, float w_scale, lvk_err *err)
{
    uint32_t max_t = 1;
    for (int i = 0; i < n_tokens; i++)
        max_t = tokens[i] > max_t ? tokens[i] : max_t;
    mv_data m;
    bool ok = mv_setup(t, &m, dtype, rows, cols, max_t, max_chunk_bytes, w_scale, err);
    char note[24] = "";
    if (ok && m.w.n_chunks > 1)
        snprintf(note, sizeof note, " %dch", m.w.n_chunks);
    lvk_matvec_path paths[4];
    int n_paths = mv_paths(t, paths);
    for (int p = 0; ok && p < n_paths; p++) {
        lvk_matvec_options opt = {.path = paths[p]};
        lvk_matvec_op op;
        lvk_view vx = lvk_buffer_view_all(&m.bx), vy = lvk_buffer_view_all(&m.by);
        ok = lvk_matvec_prepare(t->k, &op, &m.w, &vx, &vy, max_t, &opt, err);
        for (int i = 0; ok && i < n_tokens; i++)
            ok = mv_check(t, &m, &op, tokens[i], false, 1, note, err);
        lvk_matvec_destroy(t->k, &op);
        if (ok && accumulate) {
            char acc_note[32];
            snprintf(acc_note, sizeof acc_note, "%s acc", note);
            opt.accumulate = true;
            ok = lvk_matvec_prepare(t->k, &op, &m.w, &vx, &vy, max_t, &opt, err) &&
                 mv_check(t, &m, &op, max_t, true, 1, acc_note, err);
            lvk_matvec_destroy(t->k, &op);
        }
    }
    mv_free(t, &m);
    return ok;
}

/* Speed of the AUTO path on one shape (checked too). */
static bool mv_bench(lvk_selftest *t, lvk_dtype dtype, uint32_t rows, uint32_t cols, uint32_t n_tokens,
                     lvk_matvec_path path, lvk_err *err)
{
    mv_data m;
    bool ok = mv_setup(t, &m, dtype, rows, cols, n_tokens, 0, 1.0f, err);
    if (ok) {
        lvk_matvec_options opt = {.path = path};
        lvk_matvec_op op;
        lvk_view vx = lvk_buffer_view_all(&m.bx), vy = lvk_buffer_view_all(&m.by);
        ok = lvk_matvec_prepare(t->k, &op, &m.w, &vx, &vy, n_tokens, &opt, err) &&
             mv_check(t, &m, &op, n_tokens, false, 10, "", err);
        lvk_matvec_destroy(t->k, &op);
    }
    mv_free(t, &m);
    return ok;
}

static bool mv_bench_all(lvk_selftest *t, lvk_err *err)
{
    if (t->copy_gbps == 0) {
        /* --filter matvec skips the copy case: measure the yardstick here. */
        lvk_selftest_result r = {.kernel = "copy_bandwidth", .dtype = "u8", .shape = "256 MiB", .pass = true};
        if (!lvk_copy_bandwidth(t->d, 256ull << 20, 5, &r.gbps, &r.ms, err))
            return false;
        t->copy_gbps = r.gbps;
        lvk_selftest_report(t, &r);
    }
    /* LLaMA 7B/8B: attention (4096x4096), the MLP (11008 and 14336 wide, both ways), LLaMA3's lm_head. */
    const uint32_t shapes[][2] = {{4096, 4096},  {11008, 4096}, {4096, 11008},
                                  {14336, 4096}, {4096, 14336}, {128256, 4096}};
    const lvk_dtype dtypes[] = {LVK_DTYPE_F16, LVK_DTYPE_Q8, LVK_DTYPE_Q4, LVK_DTYPE_BF16};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++)
            if (!mv_bench(t, dtypes[d], shapes[s][0], shapes[s][1], 1, LVK_MATVEC_AUTO, err))
                return false;
    if (!mv_bench(t, LVK_DTYPE_F16, 4096, 4096, 4, LVK_MATVEC_AUTO, err))
        return false;
    /* The paths AUTO did not pick, on one shape, for comparison. */
    lvk_matvec_path paths[4];
    int n_paths = mv_paths(t, paths);
    for (int p = 0; p < n_paths; p++)
        if (!mv_bench(t, LVK_DTYPE_F16, 4096, 4096, 1, paths[p], err))
            return false;
    return true;
}

bool lvk_selftest_matvec(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "matvec"))
        return true;
    /* Token counts are spread over the shapes rather than crossed with them: on lavapipe each
     * (path, dtype, token count, x layout, accumulate, texel-view size) variant costs a JIT compile,
     * ~2 s for 8 tokens. */
    const uint32_t t1_3[] = {1, 3}, t3[] = {3}, t1_8[] = {1, 8}, t1[] = {1}, t1_3_8[] = {1, 3, 8};
    const lvk_dtype dtypes[] = {LVK_DTYPE_F16, LVK_DTYPE_BF16, LVK_DTYPE_F32};
    for (size_t d = 0; d < 3; d++) {
        lvk_dtype dt = dtypes[d];
        const uint64_t row_bytes_77 = (77u * lvk_dtype_size(dt) + 15u) & ~(size_t)15u;
        /* Odd shapes: rows not a multiple of any workgroup, cols not a multiple of 4 or 8; the
         * fused residual add; many chunks on a small matrix (40 rows per chunk: 301 rows -> 8 chunks). */
        if (!mv_shape(t, dt, 37, 99, 0, t1_3, 2, false, 1.0f, err) || !mv_shape(t, dt, 1, 4095, 0, t3, 1, false, 1.0f, err) ||
            /* 8 tokens: here for f32, on the 4096x4096 shape below for f16 and bf16. */
            !mv_shape(t, dt, 513, 260, 0, dt == LVK_DTYPE_F32 ? t1_8 : t1, dt == LVK_DTYPE_F32 ? 2 : 1, false, 1.0f, err) ||
            !mv_shape(t, dt, 301, 77, 40 * row_bytes_77, t1_3, 2, true, 1.0f, err))
            return false;
    }
    /* The real shape, and one over maxStorageBufferRange on lavapipe (262 MB: chunked by the device limit). */
    if (!mv_shape(t, LVK_DTYPE_F16, 4096, 4096, 0, t1_3_8, 3, false, 1.0f, err) ||
        !mv_shape(t, LVK_DTYPE_BF16, 4096, 4096, 0, t1_8, 2, false, 1.0f, err) ||
        !mv_shape(t, LVK_DTYPE_F16, 32000, 4096, 0, t1, 1, false, 1.0f, err))
        return false;
    /* q8 and q4 (their own shaders): cols not a multiple of 32 (228: a group of 4 blocks, 3 more and a part;
     * 33: x one float each), rows
     * not a multiple of any workgroup, 1, 3 and 8 tokens, the residual add, 8 chunks of 40 rows. */
    const lvk_dtype qtypes[] = {LVK_DTYPE_Q8, LVK_DTYPE_Q4};
    for (size_t d = 0; d < 2; d++) {
        lvk_dtype dt = qtypes[d];
        const uint64_t row_bytes_77 = lvk_weight_format_row_bytes(lvk_weight_format_of(dt, "matvec", NULL), 77);
        /* Weights under 3e-4: every block's scale (and q4 offset) is an fp16 subnormal. */
        if (!mv_shape(t, dt, 37, 228, 0, t1_3, 2, true, 1.0f, err) || !mv_shape(t, dt, 5, 33, 0, t3, 1, false, 1.0f, err) ||
            !mv_shape(t, dt, 19, 64, 0, t1, 1, false, 3e-4f, err) ||
            !mv_shape(t, dt, 301, 77, 40 * row_bytes_77, t1_3, 2, true, 1.0f, err) ||
            !mv_shape(t, dt, 4096, 4096, 0, t1_3_8, 3, false, 1.0f, err))
            return false;
    }
    return !t->bench || mv_bench_all(t, err);
}
