#include "vk/bandwidth.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "lvk_shaders.h"

/* bandwidth_fill.comp and bandwidth_sum.comp: 128 invocations a workgroup, each summing LVK_SUM_PER
 * uvec4, so one workgroup reads LVK_SUM_CHUNK bytes and every range is a whole number of those. */
#define LVK_SUM_WG 128u
#define LVK_SUM_PER 256u
#define LVK_SUM_CHUNK (LVK_SUM_WG * LVK_SUM_PER * 16u)
#define LVK_FILL_WG 128u

/* CPU twin of shaders/bandwidth_pattern.glsl. */
static uint32_t pattern_word(uint32_t i)
{
    uint32_t x = (i ^ 0x5bd1e995u) * 0x9e3779b1u;
    return x ^ (x >> 15);
}

/* The shaders over one buffer, bound in ranges of at most maxStorageBufferRange (128 MiB on
 * lavapipe), each with its own descriptor sets: the pattern fill, and the sum into its own slice
 * of the partial sums (so no two dispatches write the same bytes). */
typedef struct bw_kernels {
    lvk_pipeline fill, sum;
    lvk_descriptor_pool pool;
    bool texel;               /* the sum reads through texel fetches (CPU devices) */
    uint32_t lanes;           /* invocations that read side by side: the subgroup size */
    int n_ranges;
    VkDeviceSize range_bytes; /* every range but maybe the last */
    VkDescriptorSet *fill_sets, *sum_sets;
    VkBufferView *views;      /* per range, when texel */
    lvk_buffer partials;      /* host-visible: LVK_SUM_WG partials per LVK_SUM_CHUNK bytes */
} bw_kernels;

static void bw_destroy(lvk_device *d, bw_kernels *k)
{
    lvk_buffer_destroy(d, &k->partials);
    lvk_descriptor_pool_destroy(d, &k->pool);
    lvk_pipeline_destroy(d, &k->sum);
    lvk_pipeline_destroy(d, &k->fill);
    for (int r = 0; k->views && r < k->n_ranges; r++)
        if (k->views[r])
            vkDestroyBufferView(d->dev, k->views[r], NULL);
    free(k->views);
    free(k->fill_sets);
    free(k->sum_sets);
    memset(k, 0, sizeof *k);
}

static VkDeviceSize range_size(const bw_kernels *k, const lvk_buffer *b, int r)
{
    VkDeviceSize off = (VkDeviceSize)r * k->range_bytes;
    return b->size - off < k->range_bytes ? b->size - off : k->range_bytes;
}

/* Sets up the fill and sum shaders over every range of b (whose size is a multiple of LVK_SUM_CHUNK). */
static bool bw_create(lvk_device *d, bw_kernels *k, const lvk_buffer *b, lvk_err *err)
{
    memset(k, 0, sizeof *k);
    /* The read path a decode kernel would take on this device (DESIGN §3.1). */
    k->texel = d->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    k->lanes = d->info->subgroup_size;
    if (k->lanes == 0 || k->lanes > LVK_SUM_WG || LVK_SUM_WG % k->lanes)
        k->lanes = 1;
    k->range_bytes = d->info->max_storage_buffer_range < b->size ? d->info->max_storage_buffer_range : b->size;
    if (k->texel && k->range_bytes / 16 > d->info->max_texel_buffer_elements)
        k->range_bytes = d->info->max_texel_buffer_elements * 16;
    k->range_bytes -= k->range_bytes % LVK_SUM_CHUNK; /* offsets stay multiples of 512 KiB: aligned everywhere */
    if (k->range_bytes == 0)
        return lvk_fail(err, "bandwidth: the device's maxStorageBufferRange (%llu bytes) is under %u bytes",
                        (unsigned long long)d->info->max_storage_buffer_range, LVK_SUM_CHUNK);
    k->n_ranges = (int)((b->size + k->range_bytes - 1) / k->range_bytes);
    k->fill_sets = lvk_calloc((size_t)k->n_ranges, sizeof *k->fill_sets);
    k->sum_sets = lvk_calloc((size_t)k->n_ranges, sizeof *k->sum_sets);
    k->views = lvk_calloc((size_t)k->n_ranges, sizeof *k->views);
    lvk_pipeline_desc fill = {
        .name = "bandwidth_fill",
        .spirv = lvk_spv_bandwidth_fill,
        .spirv_size = lvk_spv_bandwidth_fill_size,
        .n_bindings = 1,
        .push_size = 2 * sizeof(uint32_t),
    };
    lvk_pipeline_desc sum = {
        .name = k->texel ? "bandwidth_sum_texel" : "bandwidth_sum",
        .spirv = k->texel ? lvk_spv_bandwidth_sum_texel : lvk_spv_bandwidth_sum,
        .spirv_size = k->texel ? lvk_spv_bandwidth_sum_texel_size : lvk_spv_bandwidth_sum_size,
        .n_bindings = 2,
        .bindings = {k->texel ? LVK_BIND_UNIFORM_TEXEL : LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(uint32_t),
        .n_spec = 1,
        .spec = {k->lanes},
    };
    VkDeviceSize partial_bytes = b->size / LVK_SUM_CHUNK * LVK_SUM_WG * sizeof(uint32_t);
    bool ok = k->fill_sets && k->sum_sets && k->views ? true : lvk_fail(err, "out of host memory");
    ok = ok && lvk_pipeline_create(d, &k->fill, &fill, err) && lvk_pipeline_create(d, &k->sum, &sum, err) &&
         lvk_descriptor_pool_create(d, &k->pool, 2 * (uint32_t)k->n_ranges, err) &&
         lvk_buffer_create(d, &k->partials, partial_bytes, LVK_MEM_HOST, err);
    for (int r = 0; ok && r < k->n_ranges; r++) {
        VkDeviceSize off = (VkDeviceSize)r * k->range_bytes, size = range_size(k, b, r);
        lvk_binding data = {.view = {b->buffer, off, size, NULL}};
        lvk_binding bind[2] = {data, {.view = {k->partials.buffer, off / LVK_SUM_CHUNK * LVK_SUM_WG * sizeof(uint32_t),
                                               size / LVK_SUM_CHUNK * LVK_SUM_WG * sizeof(uint32_t), NULL}}};
        if (k->texel)
            ok = lvk_texel_view_create(d, &data.view, VK_FORMAT_R32G32B32A32_UINT, &k->views[r], err);
        bind[0].texel = k->views[r];
        ok = ok && lvk_descriptor_set_create(d, &k->pool, &k->fill, &data, &k->fill_sets[r], err) &&
             lvk_descriptor_set_create(d, &k->pool, &k->sum, bind, &k->sum_sets[r], err);
    }
    if (!ok)
        bw_destroy(d, k);
    return ok;
}

static void bw_record_fill(lvk_device *d, lvk_cmd *c, const bw_kernels *k, const lvk_buffer *b)
{
    for (int r = 0; r < k->n_ranges; r++) {
        uint32_t push[2] = {(uint32_t)((VkDeviceSize)r * k->range_bytes / 16), (uint32_t)(range_size(k, b, r) / 16)};
        uint32_t gx = 0, gy = 0;
        lvk_split_groups(d, (push[1] + LVK_FILL_WG - 1) / LVK_FILL_WG, &gx, &gy);
        lvk_cmd_dispatch(c, &k->fill, k->fill_sets[r], push, gx, gy, 1);
    }
}

static void bw_record_sum(lvk_device *d, lvk_cmd *c, const bw_kernels *k, const lvk_buffer *b)
{
    for (int r = 0; r < k->n_ranges; r++) {
        uint32_t n_vec4 = (uint32_t)(range_size(k, b, r) / 16), gx = 0, gy = 0;
        lvk_split_groups(d, n_vec4 / (LVK_SUM_WG * LVK_SUM_PER), &gx, &gy);
        lvk_cmd_dispatch(c, &k->sum, k->sum_sets[r], &n_vec4, gx, gy, 1);
    }
}

/* Compares every partial sum the device wrote with the sum of the pattern words it should have read. */
static bool bw_check_sums(const bw_kernels *k, const lvk_buffer *b, const char *what, lvk_err *err)
{
    const uint32_t *got = k->partials.mapped;
    uint64_t n_groups = b->size / LVK_SUM_CHUNK;
    for (uint64_t g = 0; g < n_groups; g++) {
        for (uint32_t inv = 0; inv < LVK_SUM_WG; inv++) {
            uint32_t want = 0;
            uint64_t base = (g * LVK_SUM_WG + inv / k->lanes * k->lanes) * LVK_SUM_PER + inv % k->lanes;
            for (uint32_t j = 0; j < LVK_SUM_PER; j++) {
                uint32_t w = (uint32_t)((base + j * k->lanes) * 4);
                want += pattern_word(w) + pattern_word(w + 1) + pattern_word(w + 2) + pattern_word(w + 3);
            }
            uint64_t i = g * LVK_SUM_WG + inv;
            if (got[i] != want)
                return lvk_fail(err,
                                "%s: the device's sum of bytes %llu.. is 0x%08x, the CPU's 0x%08x: the device did not "
                                "read back what it wrote",
                                what, (unsigned long long)(g * LVK_SUM_CHUNK), got[i], want);
        }
    }
    return true;
}

/* The shaders index words with 32 bits, and every range is a whole number of workgroups. */
static bool check_size(uint64_t bytes, const char *what, lvk_err *err)
{
    if (bytes == 0 || bytes % LVK_SUM_CHUNK || bytes / 4 > UINT32_MAX)
        return lvk_fail(err, "%s: %llu bytes is not a positive multiple of %u up to 16 GiB", what,
                        (unsigned long long)bytes, LVK_SUM_CHUNK);
    return true;
}

/* Times `reps` runs (after one warm-up) of summing b, or of copying it into copy_dst when that is
 * not NULL; the warm-up first writes b's words with k's fill shader. Returns the best time in ms. */
static bool bw_time(lvk_device *d, lvk_cmd *cmd, int reps, const bw_kernels *k, const lvk_buffer *b,
                    const lvk_buffer *copy_dst, double *best_ms, lvk_err *err)
{
    double best = 0;
    bool ok = true;
    lvk_view vs = lvk_buffer_view_all(b), vd = copy_dst ? lvk_buffer_view_all(copy_dst) : vs;
    for (int i = 0; ok && i <= reps; i++) { /* i == 0 warms up: first touch of the pages */
        ok = lvk_cmd_begin(d, cmd, false, err);
        if (!ok)
            break;
        if (i == 0) {
            bw_record_fill(d, cmd, k, b);
            lvk_cmd_barrier(cmd);
        }
        int t0 = lvk_cmd_timestamp(cmd);
        if (copy_dst)
            lvk_cmd_copy(cmd, &vs, &vd, b->size);
        else
            bw_record_sum(d, cmd, k, b);
        int t1 = lvk_cmd_timestamp(cmd);
        lvk_cmd_barrier_host(cmd);
        double start = lvk_now();
        ok = lvk_cmd_run(d, cmd, err);
        double elapsed = (lvk_now() - start) * 1e3;
        if (ok && t0 >= 0 && t1 >= 0)
            ok = lvk_cmd_elapsed_ms(d, cmd, t0, t1, &elapsed, err);
        if (ok && i > 0 && elapsed > 0 && (best == 0 || elapsed < best))
            best = elapsed;
    }
    *best_ms = best;
    return ok;
}

bool lvk_copy_bandwidth(lvk_device *d, uint64_t bytes, int reps, double *gbps, double *ms, lvk_err *err)
{
    if (!check_size(bytes, "copy bandwidth", err))
        return false;
    lvk_buffer src = {0}, dst = {0};
    lvk_cmd cmd = {0};
    bw_kernels src_k = {0}, dst_k = {0};
    bool ok = lvk_buffer_create(d, &src, bytes, LVK_MEM_DEVICE, err) &&
              lvk_buffer_create(d, &dst, bytes, LVK_MEM_DEVICE, err) && lvk_cmd_create(d, &cmd, 2, err) &&
              bw_create(d, &src_k, &src, err) && bw_create(d, &dst_k, &dst, err);
    double best = 0;
    ok = ok && bw_time(d, &cmd, reps, &src_k, &src, &dst, &best, err);
    /* The copy must have carried the written words: sum the destination and check it. */
    if (ok && (ok = lvk_cmd_begin(d, &cmd, false, err))) {
        lvk_cmd_barrier(&cmd);
        bw_record_sum(d, &cmd, &dst_k, &dst);
        lvk_cmd_barrier_host(&cmd);
        ok = lvk_cmd_run(d, &cmd, err) && bw_check_sums(&dst_k, &dst, "copy bandwidth", err);
    }
    if (ok) {
        *ms = best;
        *gbps = best > 0 ? 2.0 * (double)bytes / (best * 1e-3) / 1e9 : 0;
    }
    bw_destroy(d, &dst_k);
    bw_destroy(d, &src_k);
    lvk_cmd_destroy(d, &cmd);
    lvk_buffer_destroy(d, &src);
    lvk_buffer_destroy(d, &dst);
    return ok;
}

bool lvk_read_bandwidth(lvk_device *d, uint64_t bytes, int reps, double *gbps, double *ms, lvk_err *err)
{
    if (!check_size(bytes, "read bandwidth", err))
        return false;
    lvk_buffer b = {0};
    lvk_cmd cmd = {0};
    bw_kernels k = {0};
    bool ok = lvk_buffer_create(d, &b, bytes, LVK_MEM_DEVICE, err) && lvk_cmd_create(d, &cmd, 2, err) &&
              bw_create(d, &k, &b, err);
    double best = 0;
    ok = ok && bw_time(d, &cmd, reps, &k, &b, NULL, &best, err) &&
         bw_check_sums(&k, &b, "read bandwidth", err);
    if (ok) {
        *ms = best;
        *gbps = best > 0 ? (double)bytes / (best * 1e-3) / 1e9 : 0;
    }
    bw_destroy(d, &k);
    lvk_cmd_destroy(d, &cmd);
    lvk_buffer_destroy(d, &b);
    return ok;
}
