/* matvec_q8_texel against lvk_ref_matvec_q8 (fp64 over the same q8 weights, quantized by lvk_ref_quantize): odd
 * shapes (cols not a multiple of 32 or of 4, rows not a multiple of the workgroup's rows) and the LLaMA shapes
 * under --bench, where the speed column is weight bytes (quants + scales) per second. Tolerance as matvec's:
 * fp32 sums, NMSE ~ cols * 2^-48. */
#include <stdio.h>
#include <stdlib.h>

#include "base/half.h"
#include "ops/matvec_q8.h"
#include "ref/matvec_q8.h"
#include "ref/quant.h"
#include "selftest/harness.h"

#define MATVEC_Q8_TOL 1e-9

static bool run_mv_q8(lvk_selftest *t, uint32_t rows, uint32_t cols, lvk_err *err)
{
    uint64_t q_bytes = rows * lvk_quant_row_bytes(LVK_QUANT_Q8, cols);
    uint64_t s_bytes = rows * lvk_quant_scale_row_bytes(LVK_QUANT_Q8, cols);
    size_t n = (size_t)rows * cols;
    float *wf = malloc(n * sizeof *wf), *x = malloc((size_t)cols * sizeof *x), *got = malloc(rows * sizeof *got);
    uint16_t *w = malloc(n * sizeof *w);
    uint8_t *q = malloc(q_bytes), *s = malloc(s_bytes);
    double *want = malloc(rows * sizeof *want);
    lvk_buffer bq = {0}, bs = {0}, bx = {0}, by = {0};
    lvk_cmd cmd = {0};
    lvk_matvec_q8_op op = {0};
    bool ok = wf && x && got && w && q && s && want;
    if (!ok)
        lvk_fail(err, "out of memory");
    lvk_selftest_result r = {.kernel = "matvec_q8_texel", .dtype = "q8"};
    snprintf(r.shape, sizeof r.shape, "[%u, %u] x1", rows, cols);
    if (ok) {
        lvk_selftest_fill(wf, n, rows + 3u * cols, 0.05f);
        for (size_t i = 0; i < n; i++)
            w[i] = lvk_f32_to_f16(wf[i]);
        lvk_selftest_fill(x, cols, cols, 1.0f);
        ok = lvk_ref_quantize(LVK_QUANT_Q8, LVK_DTYPE_F16, w, rows, cols, true, q, s, err);
    }
    if (ok) {
        lvk_ref_matvec_q8(q, s, rows, cols, x, want);
        for (uint32_t i = 0; i < rows; i++)
            got[i] = lvk_bits_to_f32(0x7fc00000u); /* NaN: a row the kernel forgets fails */
        ok = lvk_selftest_buffer(t, &bq, q, q_bytes, err) && lvk_selftest_buffer(t, &bs, s, s_bytes, err) &&
             lvk_selftest_buffer(t, &bx, x, (uint64_t)cols * sizeof(float), err) &&
             lvk_selftest_buffer(t, &by, got, rows * sizeof(float), err) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_view vq = lvk_buffer_view_all(&bq), vs = lvk_buffer_view_all(&bs), vx = lvk_buffer_view_all(&bx),
             vy = lvk_buffer_view_all(&by);
    ok = ok && lvk_matvec_q8_prepare(t->k, &op, &vq, &vs, rows, cols, &vx, &vy, err) &&
         lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_matvec_q8_record(&cmd, &op);
        lvk_cmd_timestamp(&cmd);
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench ? 10 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vy, 0, got, rows * sizeof(float), err);
    }
    if (ok) {
        lvk_selftest_compare(&r, got, want, rows, MATVEC_Q8_TOL);
        r.gbps = r.ms > 0 ? (double)(q_bytes + s_bytes) / (r.ms * 1e-3) / 1e9 : 0;
        lvk_selftest_report(t, &r);
    }
    lvk_matvec_q8_destroy(t->k, &op);
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &bq);
    lvk_buffer_destroy(t->d, &bs);
    lvk_buffer_destroy(t->d, &bx);
    lvk_buffer_destroy(t->d, &by);
    free(wf), free(x), free(got), free(w), free(q), free(s), free(want);
    return ok;
}

bool lvk_selftest_matvec_q8(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "matvec_q8"))
        return true;
    const uint32_t shapes[][2] = {{1, 32}, {37, 96}, {37, 100}, {5, 33}, {300, 4128}, {300, 11008}, {4096, 4096}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!run_mv_q8(t, shapes[i][0], shapes[i][1], err))
            return false;
    if (t->bench) {
        const uint32_t big[][2] = {{11008, 4096}, {4096, 11008}, {4096, 14336}};
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
            if (!run_mv_q8(t, big[i][0], big[i][1], err))
                return false;
    }
    return true;
}
