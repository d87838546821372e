#include "vk/bandwidth.h"

#include "base/platform.h"

bool lvk_copy_bandwidth(lvk_device *d, uint64_t bytes, int reps, double *gbps, double *ms, lvk_err *err)
{
    lvk_buffer src = {0}, dst = {0};
    lvk_cmd cmd = {0};
    bool ok = lvk_buffer_create(d, &src, bytes, LVK_MEM_DEVICE, err) &&
              lvk_buffer_create(d, &dst, bytes, LVK_MEM_DEVICE, err) && lvk_cmd_create(d, &cmd, 2, err);
    double best = 0;
    lvk_view vs = lvk_buffer_view_all(&src), vd = lvk_buffer_view_all(&dst);
    for (int i = 0; ok && i <= reps; i++) { /* i == 0 warms up: first touch of the pages */
        ok = lvk_cmd_begin(d, &cmd, false, err);
        if (!ok)
            break;
        int t0 = lvk_cmd_timestamp(&cmd);
        lvk_cmd_copy(&cmd, &vs, &vd, bytes);
        int t1 = lvk_cmd_timestamp(&cmd);
        double start = lvk_now();
        ok = lvk_cmd_run(d, &cmd, err);
        double elapsed = (lvk_now() - start) * 1e3;
        if (ok && t0 >= 0 && t1 >= 0)
            ok = lvk_cmd_elapsed_ms(d, &cmd, t0, t1, &elapsed, err);
        if (ok && i > 0 && elapsed > 0 && (best == 0 || elapsed < best))
            best = elapsed;
    }
    if (ok) {
        *ms = best;
        *gbps = best > 0 ? 2.0 * (double)bytes / (best * 1e-3) / 1e9 : 0;
    }
    lvk_cmd_destroy(d, &cmd);
    lvk_buffer_destroy(d, &src);
    lvk_buffer_destroy(d, &dst);
    return ok;
}
