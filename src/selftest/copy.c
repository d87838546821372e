/* The device's copy bandwidth: the yardstick later speed figures are divided by. */
#include <stdio.h>

#include "selftest/harness.h"
#include "vk/bandwidth.h"

bool lvk_selftest_copy(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "copy"))
        return true;
    const uint64_t bytes = 256ull << 20;
    lvk_selftest_result r = {.kernel = "copy_bandwidth", .dtype = "u8", .pass = true};
    snprintf(r.shape, sizeof r.shape, "%llu MiB", (unsigned long long)(bytes >> 20));
    if (!lvk_copy_bandwidth(t->d, bytes, t->bench ? 10 : 3, &r.gbps, &r.ms, err))
        return false;
    t->copy_gbps = r.gbps;
    lvk_selftest_report(t, &r);
    return true;
}
