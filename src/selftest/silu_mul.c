/* silu_mul against lvk_ref_silu_mul: LLaMA2/3 FFN widths (11008, 14336) and an odd one (37), 1 and 3 tokens,
 * gates far past exp's fp32 range (+-80 .. +-1000) that must not turn into inf or NaN, and in place. */
#include <stdio.h>
#include <stdlib.h>

#include "ops/silu_mul.h"
#include "ref/silu_mul.h"
#include "selftest/harness.h"

typedef struct silu_case {
    uint32_t width, n_tokens;
    bool in_place;
} silu_case;

static bool run_silu_mul(lvk_selftest *t, const silu_case *sc, lvk_err *err)
{
    size_t n = (size_t)sc->width * sc->n_tokens, bytes = n * sizeof(float);
    float *gate = malloc(bytes), *up = malloc(bytes), *got = malloc(bytes);
    double *want = malloc(n * sizeof(double));
    lvk_buffer bg = {0}, bu = {0}, bo = {0};
    lvk_cmd cmd = {0};
    bool ok = gate && up && got && want;
    if (!ok)
        lvk_fail(err, "out of memory");
    if (ok) {
        lvk_selftest_fill(gate, n, sc->width + 1, 8.0f);
        lvk_selftest_fill(up, n, sc->width + 2, 2.0f);
        /* exp(80) fits fp32, exp(89) and beyond do not: a naive a / (1 + exp(-a)) meets inf there. */
        const float extreme[] = {80.0f, -80.0f, 88.7f, -88.7f, 100.0f, -100.0f, 1000.0f, -1000.0f, 0.0f, -0.0f};
        for (size_t i = 0; i < sizeof extreme / sizeof extreme[0] && i < n; i++)
            gate[(i * 7919) % n] = extreme[i];
        ok = lvk_selftest_buffer(t, &bg, gate, bytes, err) && lvk_selftest_buffer(t, &bu, up, bytes, err) &&
             (sc->in_place || lvk_selftest_buffer(t, &bo, NULL, bytes, err)) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_silu_mul_op op;
    lvk_view vg = lvk_buffer_view_all(&bg), vu = lvk_buffer_view_all(&bu);
    lvk_view vo = sc->in_place ? vg : lvk_buffer_view_all(&bo);
    ok = ok && lvk_silu_mul_prepare(t->k, &op, &vg, &vu, &vo, sc->width, sc->n_tokens, err) &&
         lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_silu_mul_record(&cmd, &op, sc->n_tokens);
        lvk_cmd_timestamp(&cmd);
        lvk_selftest_result r = {.kernel = "silu_mul", .dtype = "f32"};
        snprintf(r.shape, sizeof r.shape, "[%u,%u]%s", sc->n_tokens, sc->width, sc->in_place ? " in-place" : "");
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench && !sc->in_place ? 20 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vo, 0, got, bytes, err);
        if (ok) {
            lvk_ref_silu_mul(gate, up, want, n);
            /* exp is within (3 + 2|x|) ulp (Vulkan precision rules): <= 19 ulp for |x| <= 8, ~1e-6 relative; the
             * divide and two products add a few ulp: |rel err| < ~2e-6, NMSE < ~4e-12. 1e-10 leaves margin. For
             * |a| >= 80 the exp term is below 1e-34 and only finiteness and sign matter: compare checks finiteness. */
            lvk_selftest_compare(&r, got, want, n, 1e-10);
            r.gbps = r.ms > 0 ? 3.0 * (double)bytes / (r.ms * 1e-3) / 1e9 : 0;
            lvk_selftest_report(t, &r);
        }
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &bg);
    lvk_buffer_destroy(t->d, &bu);
    lvk_buffer_destroy(t->d, &bo);
    free(gate), free(up), free(got), free(want);
    return ok;
}

bool lvk_selftest_silu_mul(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "silu_mul"))
        return true;
    const silu_case cases[] = {
        {11008, 1, false}, {11008, 3, false}, {14336, 1, false}, {14336, 3, true}, {37, 1, false}, {37, 3, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!run_silu_mul(t, &cases[i], err))
            return false;
    return true;
}
