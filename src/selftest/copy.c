/* The device's copy bandwidth: the yardstick later speed figures are divided by. */
#include <stdio.h>

#include "selftest/harness.h"
#include "vk/bandwidth.h"

bool lvk_selftest_copy(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "copy_bandwidth"))
        return true;
    const uint64_t bytes = 256ull << 20;
    lvk_selftest_result r = {.kernel = "copy_bandwidth", .dtype = "u32", .pass = true};
    snprintf(r.shape, sizeof r.shape, "%llu MiB", (unsigned long long)(bytes >> 20));
    /* It fails unless the destination holds every word written into the source: checked exactly. */
    if (!lvk_copy_bandwidth(t->d, bytes, t->bench ? 10 : 3, &r.gbps, &r.ms, err))
        return false;
    r.checked = true;
    t->copy_gbps = r.gbps;
    lvk_selftest_report(t, &r);
    return true;
}
