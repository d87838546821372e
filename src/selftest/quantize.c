/* quantize_q8 / quantize_q4 against lvk_ref_quantize: the device must produce the same BYTES (quants, scales and
 * row padding). In the table, the error column is the number of mismatching bytes and the nmse column their
 * fraction; both must be 0, and the flags word must stay 0. Inputs mix gaussian and heavy-tailed blocks over
 * many magnitudes, zero and constant blocks, fp16 subnormals and (bf16/fp32) values below the 2^-32 flush.
 * Rows are cut into chunks (forced small here; under --bench a 136 MB fp16 input over lavapipe's 128 MiB
 * binding limit). A NaN input must raise the flag. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "ops/quantize.h"
#include "ref/quant.h"
#include "selftest/harness.h"

typedef struct quant_case {
    lvk_quant_format f;
    lvk_dtype dtype;
    uint32_t rows, cols;
    uint64_t max_chunk_bytes; /* 0: the device's limit */
    bool poison;              /* put a NaN in the input: the flag must be raised */
    bool plain;               /* q4 without the search (min/max rounding: --weights q4-plain) */
} quant_case;

static uint64_t rng;
static double uniform01(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gaussian(void) { return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01()); }

static void store(void *dst, lvk_dtype dtype, size_t i, float v)
{
    if (dtype == LVK_DTYPE_F16)
        ((uint16_t *)dst)[i] = lvk_f32_to_f16(v);
    else if (dtype == LVK_DTYPE_BF16)
        ((uint16_t *)dst)[i] = lvk_f32_to_bf16(v);
    else
        ((float *)dst)[i] = v;
}

/* Per stretch of 32 values one kind: gaussian or t-like of a random magnitude, zeros, a constant, fp16
 * subnormals, or values around 2^-32 (flushed to zero by the quantizer, as bits). */
static void fill_input(void *dst, lvk_dtype dtype, size_t n, uint64_t seed)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t b = 0; b < n; b += 32) {
        int kind = (int)(uniform01() * 10);
        double mag = ldexp(1.0, (int)(uniform01() * 20) - 14);
        double c = gaussian() * mag;
        for (size_t i = b; i < n && i < b + 32; i++) {
            double v;
            switch (kind) {
            case 0: v = 0; break;
            case 1: v = c; break;
            case 2: v = ldexp(gaussian(), -20); break;                  /* fp16 subnormals */
            case 3: v = ldexp(gaussian(), dtype == LVK_DTYPE_F16 ? -14 : -32); break;
            case 4: v = gaussian() * mag / sqrt(uniform01() + 1e-3); break; /* heavy tail */
            default: v = gaussian() * mag; break;
            }
            store(dst, dtype, i, (float)v);
        }
    }
}

static bool run_quant(lvk_selftest *t, const quant_case *qc, lvk_err *err)
{
    lvk_quant_format f = qc->f;
    size_t esize = qc->dtype == LVK_DTYPE_F32 ? 4 : 2;
    uint64_t qrow = lvk_quant_row_bytes(f, qc->cols), srow = lvk_quant_scale_row_bytes(f, qc->cols);
    size_t in_bytes = (size_t)qc->rows * qc->cols * esize, q_bytes = qc->rows * qrow, s_bytes = qc->rows * srow;
    uint32_t chunk_rows = lvk_quantize_max_rows(t->d, f, qc->dtype, qc->cols, qc->max_chunk_bytes);
    /* Chunk inputs start on the storage offset alignment (the shapes here keep row bytes aligned). */
    uint64_t align = t->d->info->min_storage_buffer_offset_alignment;
    while (chunk_rows > 1 && align && (((uint64_t)chunk_rows * qc->cols * esize) % align || (chunk_rows * qrow) % align ||
                                       (chunk_rows * srow) % align))
        chunk_rows--;
    int n_chunks = chunk_rows ? (int)((qc->rows + chunk_rows - 1) / chunk_rows) : 0;
    void *in = malloc(in_bytes + 4);
    uint8_t *want_q = malloc(q_bytes), *want_s = malloc(s_bytes), *got_q = malloc(q_bytes), *got_s = malloc(s_bytes);
    lvk_quantize_op *ops = calloc(n_chunks ? (size_t)n_chunks : 1, sizeof *ops);
    lvk_buffer b_in = {0}, b_q = {0}, b_s = {0}, b_f = {0};
    lvk_cmd cmd = {0};
    uint32_t flags = 0, zero = 0;
    bool ok = in && want_q && want_s && got_q && got_s && ops;
    if (!ok)
        lvk_fail(err, "out of memory");
    if (ok && n_chunks == 0)
        ok = lvk_fail(err, "quantize: not one row of %u columns fits a binding", qc->cols);
    lvk_selftest_result r = {.kernel = "", .dtype = "", .checked = true, .tol = 0};
    snprintf(r.kernel, sizeof r.kernel, "quantize_%s%s", lvk_quant_name(f), qc->poison ? " nan" : qc->plain ? " plain" : "");
    snprintf(r.dtype, sizeof r.dtype, "%s", lvk_dtype_name(qc->dtype));
    snprintf(r.shape, sizeof r.shape, "[%u, %u] %d chunk%s", qc->rows, qc->cols, n_chunks, n_chunks == 1 ? "" : "s");
    if (ok) {
        fill_input(in, qc->dtype, (size_t)qc->rows * qc->cols, qc->rows * 7919u + qc->cols + f);
        memset((uint8_t *)in + in_bytes, 0, 4);
        if (qc->poison)
            store(in, qc->dtype, (size_t)qc->rows * qc->cols / 2, NAN);
        else if (!lvk_ref_quantize(f, qc->dtype, in, qc->rows, qc->cols, !qc->plain, want_q, want_s, err))
            ok = false;
        memset(got_q, 0xa5, q_bytes), memset(got_s, 0xa5, s_bytes);
        /* Outputs start as garbage: a byte the shader forgets to write fails the comparison. */
        ok = ok && lvk_selftest_buffer(t, &b_in, in, (in_bytes + 4) & ~(size_t)3, err) &&
             lvk_selftest_buffer(t, &b_q, got_q, q_bytes, err) && lvk_selftest_buffer(t, &b_s, got_s, s_bytes, err) &&
             lvk_selftest_buffer(t, &b_f, &zero, 4, err) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_view vf = lvk_buffer_view_all(&b_f);
    for (int c = 0; ok && c < n_chunks; c++) {
        uint32_t row0 = (uint32_t)c * chunk_rows;
        uint32_t rows = qc->rows - row0 < chunk_rows ? qc->rows - row0 : chunk_rows;
        lvk_view vi = lvk_buffer_view_all(&b_in), vq = lvk_buffer_view_all(&b_q), vs = lvk_buffer_view_all(&b_s);
        vi.offset = (VkDeviceSize)row0 * qc->cols * esize, vi.size = b_in.size - vi.offset;
        vq.offset = row0 * qrow, vq.size = b_q.size - vq.offset;
        vs.offset = row0 * srow, vs.size = b_s.size - vs.offset;
        vi.mapped = vq.mapped = vs.mapped = NULL;
        ok = lvk_quantize_prepare(t->k, &ops[c], f, qc->dtype, !qc->plain, &vi, &vq, &vs, &vf, rows, qc->cols, err);
    }
    ok = ok && lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        for (int c = 0; c < n_chunks; c++)
            lvk_quantize_record(&cmd, &ops[c]);
        lvk_cmd_timestamp(&cmd);
        lvk_view vq = lvk_buffer_view_all(&b_q), vs = lvk_buffer_view_all(&b_s);
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench ? 3 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vq, 0, got_q, q_bytes, err) &&
             lvk_download(t->d, t->xfer, &vs, 0, got_s, s_bytes, err) &&
             lvk_download(t->d, t->xfer, &vf, 0, &flags, 4, err);
    }
    if (ok) {
        if (qc->poison) {
            lvk_err qerr;
            r.pass = !lvk_quantize_check(flags, f, "the input", &qerr) && (flags & 1u);
            r.max_abs_err = r.nmse = 0;
        } else {
            size_t bad = 0;
            for (size_t i = 0; i < q_bytes; i++)
                bad += got_q[i] != want_q[i];
            for (size_t i = 0; i < s_bytes; i++)
                bad += got_s[i] != want_s[i];
            r.max_abs_err = (double)bad;
            r.nmse = (double)bad / (double)(q_bytes + s_bytes);
            r.pass = bad == 0 && flags == 0;
        }
        r.gbps = r.ms > 0 ? (double)(in_bytes + q_bytes + s_bytes) / (r.ms * 1e-3) / 1e9 : 0;
        lvk_selftest_report(t, &r);
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &b_in);
    lvk_buffer_destroy(t->d, &b_q);
    lvk_buffer_destroy(t->d, &b_s);
    lvk_buffer_destroy(t->d, &b_f);
    free(in), free(want_q), free(want_s), free(got_q), free(got_s), free(ops);
    return ok;
}

bool lvk_selftest_quantize(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "quantize"))
        return true;
    const uint32_t rows[] = {1, 37, 300}, cols[] = {32, 96, 4096 + 32, 11008};
    for (int f = 0; f < 2; f++) {
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 4; j++) {
                quant_case qc = {(lvk_quant_format)f, LVK_DTYPE_F16, rows[i], cols[j], 0, false, false};
                if (!run_quant(t, &qc, err))
                    return false;
            }
        const quant_case extra[] = {
            {(lvk_quant_format)f, LVK_DTYPE_BF16, 37, 96, 0, false, false},
            {(lvk_quant_format)f, LVK_DTYPE_BF16, 37, 4096 + 32, 0, false, false},
            {(lvk_quant_format)f, LVK_DTYPE_F32, 37, 96, 0, false, false},
            {(lvk_quant_format)f, LVK_DTYPE_F32, 37, 4096 + 32, 0, false, false},
            {(lvk_quant_format)f, LVK_DTYPE_F16, 300, 4096 + 32, 1u << 20, false, false}, /* cut into many chunks */
            {(lvk_quant_format)f, LVK_DTYPE_F16, 37, 96, 0, true, false},
            {(lvk_quant_format)f, LVK_DTYPE_F16, 37, 4096 + 32, 0, false, true},
        };
        for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
            if (!run_quant(t, &extra[i], err))
                return false;
        if (t->bench) {
            /* 16384 x 4160 fp16 = 136 MB, over lavapipe's 128 MiB binding limit. */
            quant_case big = {(lvk_quant_format)f, LVK_DTYPE_F16, 16384, 4160, 0, false, false};
            if (!run_quant(t, &big, err))
                return false;
        }
    }
    return true;
}
