/* The device's read bandwidth: a shader summing written memory, the bound of a decode step. */
#include <stdio.h>

#include "selftest/harness.h"
#include "vk/bandwidth.h"

bool lvk_selftest_read(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "read_bandwidth"))
        return true;
    const uint64_t bytes = 256ull << 20;
    lvk_selftest_result r = {.kernel = "read_bandwidth", .dtype = "u32", .pass = true};
    snprintf(r.shape, sizeof r.shape, "%llu MiB", (unsigned long long)(bytes >> 20));
    /* It fails unless every partial sum equals the CPU's sum of the words written: checked exactly. */
    if (!lvk_read_bandwidth(t->d, bytes, t->bench ? 10 : 3, &r.gbps, &r.ms, err))
        return false;
    r.checked = true;
    t->read_gbps = r.gbps;
    lvk_selftest_report(t, &r);
    return true;
}
