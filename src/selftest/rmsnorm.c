/* rmsnorm against lvk_ref_rmsnorm, every variant the device supports, LLaMA dims (4096, 5120) and odd ones
 * (37, 4095), 1 and 7 tokens, fp32/fp16/bf16 weights, in place and not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "ops/rmsnorm.h"
#include "ref/rmsnorm.h"
#include "selftest/harness.h"

typedef struct rmsnorm_case {
    uint32_t dim, n_tokens;
    lvk_dtype dtype;
    bool in_place;
} rmsnorm_case;

static const char *dtype_short(lvk_dtype dtype)
{
    return dtype == LVK_DTYPE_F32 ? "f32" : dtype == LVK_DTYPE_F16 ? "f16" : "bf16";
}

/* Weight bits as stored, and the same values widened to float (what the GPU computes with). */
static void make_weight(lvk_dtype dtype, uint32_t dim, void *bits, float *widened)
{
    lvk_selftest_fill(widened, dim, 7 + dim, 1.0f);
    for (uint32_t i = 0; i < dim; i++) {
        widened[i] += 1.0f; /* norm weights sit around 1 */
        if (dtype == LVK_DTYPE_F16) {
            ((uint16_t *)bits)[i] = lvk_f32_to_f16(widened[i]);
            widened[i] = lvk_f16_to_f32(((uint16_t *)bits)[i]);
        } else if (dtype == LVK_DTYPE_BF16) {
            ((uint16_t *)bits)[i] = lvk_f32_to_bf16(widened[i]);
            widened[i] = lvk_bf16_to_f32(((uint16_t *)bits)[i]);
        } else {
            ((float *)bits)[i] = widened[i];
        }
    }
}

static bool run_rmsnorm(lvk_selftest *t, lvk_arena *arena, lvk_rmsnorm_variant variant, const rmsnorm_case *rc,
                        lvk_err *err)
{
    const float eps = 1e-5f;
    size_t n = (size_t)rc->n_tokens * rc->dim, bytes = n * sizeof(float);
    float *x = malloc(bytes), *got = malloc(bytes), *w = malloc(rc->dim * sizeof(float));
    void *w_bits = malloc(rc->dim * sizeof(float));
    double *want = malloc(n * sizeof(double));
    lvk_weight weight = {0};
    lvk_buffer bx = {0}, bout = {0};
    lvk_cmd cmd = {0};
    bool ok = x && got && w && w_bits && want;
    if (!ok)
        lvk_fail(err, "out of memory");
    if (ok) {
        lvk_selftest_fill(x, n, rc->dim + rc->n_tokens, 2.0f);
        for (uint32_t tok = 0; tok < rc->n_tokens; tok++) /* rows of different magnitude */
            for (uint32_t i = 0; i < rc->dim; i++)
                x[(size_t)tok * rc->dim + i] *= (float)(1u << (tok * 3)) / 16.0f;
        make_weight(rc->dtype, rc->dim, w_bits, w);
        ok = lvk_weight_create(t->d, arena, &weight, rc->dtype, 1, rc->dim, 0, err) &&
             lvk_weight_upload_rows(t->d, t->xfer, &weight, 0, 1, w_bits, err) &&
             lvk_transfer_finish(t->d, t->xfer, err) && lvk_selftest_buffer(t, &bx, x, bytes, err) &&
             (rc->in_place || lvk_selftest_buffer(t, &bout, NULL, bytes, err)) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_rmsnorm_op op;
    lvk_rmsnorm_options opt = {.variant = variant};
    lvk_view vx = lvk_buffer_view_all(&bx), vout = rc->in_place ? vx : lvk_buffer_view_all(&bout);
    ok = ok && lvk_rmsnorm_prepare_ex(t->k, &op, &vx, &weight, &vout, rc->dim, eps, rc->n_tokens, &opt, err) &&
         lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_rmsnorm_record(&cmd, &op, rc->n_tokens);
        lvk_cmd_timestamp(&cmd);
        lvk_selftest_result r = {0};
        snprintf(r.kernel, sizeof r.kernel, "rmsnorm/%s", lvk_rmsnorm_variant_name(op.variant));
        snprintf(r.dtype, sizeof r.dtype, "%s", dtype_short(rc->dtype));
        snprintf(r.shape, sizeof r.shape, "[%u,%u] wg%u%s%s", rc->n_tokens, rc->dim, op.workgroup_size,
                 rc->in_place ? " in-place" : "", variant == LVK_RMSNORM_AUTO ? " auto" : "");
        /* In place, a second run would normalise the output again: time the one run that is checked. */
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench && !rc->in_place ? 20 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vout, 0, got, bytes, err);
        if (ok) {
            lvk_ref_rmsnorm(x, w, rc->dim, rc->n_tokens, eps, want);
            /* Per output: the fp32 sum of dim squares (strided partial sums, then a reduction tree) is within
             * ~(dim/wg + log2 wg) * 2^-24 relative, ~4e-6 at dim 4096 in the worst case; inversesqrt adds 2 ulp
             * and the two products one rounding each: |rel err| < ~3e-6, NMSE < ~1e-11. 1e-10 leaves margin and
             * is 1000x under the 1e-7 bar; one wrong element in 5120 (O(1) off) gives ~1e-4. */
            lvk_selftest_compare(&r, got, want, n, 1e-10);
            r.gbps = r.ms > 0 ? 2.0 * (double)bytes / (r.ms * 1e-3) / 1e9 : 0;
            lvk_selftest_report(t, &r);
        }
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &bx);
    lvk_buffer_destroy(t->d, &bout);
    lvk_weight_destroy(t->d, &weight);
    free(x), free(got), free(w), free(w_bits), free(want);
    return ok;
}

bool lvk_selftest_rmsnorm(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "rmsnorm"))
        return true;
    const rmsnorm_case cases[] = {
        {4096, 1, LVK_DTYPE_F16, false},  {4096, 7, LVK_DTYPE_BF16, false}, {5120, 7, LVK_DTYPE_F32, false},
        {5120, 1, LVK_DTYPE_BF16, false}, {37, 7, LVK_DTYPE_F16, false},    {37, 1, LVK_DTYPE_F32, false},
        {4095, 7, LVK_DTYPE_BF16, false}, {4095, 1, LVK_DTYPE_F16, false},  {4096, 7, LVK_DTYPE_F16, true},
    };
    const lvk_rmsnorm_variant variants[] = {LVK_RMSNORM_SUBGROUP, LVK_RMSNORM_SHARED};
    /* One arena for all cases: each arena reserves a whole block (1 GiB on lavapipe) on first use. */
    lvk_arena arena;
    lvk_arena_init(t->d, &arena, LVK_MEM_DEVICE);
    bool ok = true;
    for (size_t v = 0; ok && v < sizeof variants / sizeof variants[0]; v++) {
        if (!lvk_rmsnorm_variant_supported(t->k, variants[v]))
            continue;
        for (size_t i = 0; ok && i < sizeof cases / sizeof cases[0]; i++)
            ok = run_rmsnorm(t, &arena, variants[v], &cases[i], err);
    }
    /* What prepare picks by itself (the shared variant under LLAMA_VK_NO_SUBGROUP=1). */
    ok = ok && run_rmsnorm(t, &arena, LVK_RMSNORM_AUTO, &cases[0], err);
    lvk_arena_destroy(t->d, &arena);
    return ok;
}
