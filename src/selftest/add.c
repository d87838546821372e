/* add_f32 against lvk_ref_add, over sizes that are not multiples of the workgroup. */
#include <stdio.h>
#include <stdlib.h>

#include "ops/add.h"
#include "ref/add.h"
#include "selftest/harness.h"

static bool run_add(lvk_selftest *t, uint32_t n, lvk_err *err)
{
    size_t bytes = (size_t)n * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *got = malloc(bytes);
    double *want = malloc((size_t)n * sizeof(double));
    lvk_buffer ba = {0}, bb = {0}, bc = {0};
    lvk_cmd cmd = {0};
    bool ok = a && b && got && want;
    if (!ok)
        lvk_fail(err, "out of memory");
    lvk_selftest_result r = {.kernel = "add", .dtype = "f32"};
    snprintf(r.shape, sizeof r.shape, "[%u]", n);
    if (ok) {
        lvk_selftest_fill(a, n, 1, 1.0f);
        lvk_selftest_fill(b, n, 2, 1.0f);
        lvk_ref_add(a, b, want, n);
        ok = lvk_selftest_buffer(t, &ba, a, bytes, err) && lvk_selftest_buffer(t, &bb, b, bytes, err) &&
             lvk_selftest_buffer(t, &bc, NULL, bytes, err) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_add_op op;
    lvk_view va = lvk_buffer_view_all(&ba), vb = lvk_buffer_view_all(&bb), vc = lvk_buffer_view_all(&bc);
    ok = ok && lvk_add_prepare(t->k, &op, &va, &vb, &vc, n, err) && lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_add_record(&cmd, &op);
        lvk_cmd_timestamp(&cmd);
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench ? 20 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vc, 0, got, bytes, err);
    }
    if (ok) {
        /* Each output is one fp32 rounding of an exact sum: relative error <= 2^-24, NMSE <= 2^-48. */
        lvk_selftest_compare(&r, got, want, n, 1e-13);
        r.gbps = r.ms > 0 ? 3.0 * (double)bytes / (r.ms * 1e-3) / 1e9 : 0;
        lvk_selftest_report(t, &r);
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &ba);
    lvk_buffer_destroy(t->d, &bb);
    lvk_buffer_destroy(t->d, &bc);
    free(a), free(b), free(got), free(want);
    return ok;
}

bool lvk_selftest_add(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "add"))
        return true;
    const uint32_t sizes[] = {1, 255, 257, 1000003, 16u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (!run_add(t, sizes[i], err))
            return false;
    return true;
}
