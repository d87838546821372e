/* The Vulkan runtime on whatever device the machine has (lavapipe in CI): device choice, buffers,
 * the arena's block packing, transfers through both the mapped and the staging path, weight
 * chunking, the bandwidth yardsticks. (That validation errors are counted: test_vk_validation.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vk_checks.h"

#include "ops/weight.h"
#include "vk/bandwidth.h"
#include "vk/command.h"

typedef struct fixture {
    lvk_instance inst;
    lvk_device d;
    lvk_transfer xfer;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    lvk_err err = {{0}};
    if (!f || !vk_test_open_device(&f->inst, &f->d))
        return -1;
    if (!lvk_transfer_init(&f->d, &f->xfer, 1u << 20, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lvk_transfer_destroy(&f->d, &f->xfer);
    vk_test_close_device(&f->inst, &f->d);
    free(f);
    return 0;
}

static void device_choice_by_index_and_name(void **state)
{
    fixture *f = *state;
    lvk_err err = {{0}};
    int index = -1;
    assert_true(lvk_device_choose(&f->inst, "0", &index, &err));
    assert_int_equal(index, 0);
    char part[8] = {0};
    memcpy(part, f->inst.devices[0].name, 4); /* a name substring, in other case */
    for (char *p = part; *p; p++)
        *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
    assert_true(lvk_device_choose(&f->inst, part, &index, &err));
    assert_false(lvk_device_choose(&f->inst, "99", &index, &err));
    assert_non_null(strstr(err.msg, "no device 99"));
    assert_false(lvk_device_choose(&f->inst, "no-such-gpu-name", &index, &err));
    assert_non_null(strstr(err.msg, "matches no device"));
}

/* Upload then download through the staging ring: the view is presented as unmapped. */
static void transfer_round_trip_both_paths(void **state)
{
    fixture *f = *state;
    lvk_err err = {{0}};
    const size_t n = (3u << 20) + 12345; /* several staging slots, and a ragged end */
    uint8_t *src = malloc(n), *dst = malloc(n);
    assert_non_null(src);
    assert_non_null(dst);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)(i * 7 + (i >> 11));
    lvk_buffer b;
    assert_true(lvk_buffer_create(&f->d, &b, n, LVK_MEM_DEVICE, &err));
    for (int mapped = 0; mapped < 2; mapped++) {
        lvk_view v = lvk_buffer_view_all(&b);
        if (!mapped)
            v.mapped = NULL;
        memset(dst, 0, n);
        assert_true(lvk_upload(&f->d, &f->xfer, &v, 0, src, n, &err));
        assert_true(lvk_transfer_finish(&f->d, &f->xfer, &err));
        assert_true(lvk_download(&f->d, &f->xfer, &v, 0, dst, n, &err));
        assert_memory_equal(src, dst, n);
    }
    lvk_view v = lvk_buffer_view_all(&b);
    assert_false(lvk_upload(&f->d, &f->xfer, &v, 16, src, n, &err)); /* past the end */
    assert_non_null(strstr(err.msg, "overflows"));
    lvk_buffer_destroy(&f->d, &b);
    free(src);
    free(dst);
}

static void arena_packs_and_aligns(void **state)
{
    fixture *f = *state;
    lvk_err err = {{0}};
    lvk_arena a;
    lvk_arena_init(&f->d, &a, LVK_MEM_DEVICE);
    assert_true(lvk_arena_max_alloc(&a) <= (1ull << 30));
    lvk_view v1, v2, v3;
    assert_true(lvk_arena_alloc(&f->d, &a, 1000, &v1, &err));
    assert_true(lvk_arena_alloc(&f->d, &a, 3000, &v2, &err));
    assert_int_equal(a.n_blocks, 1);
    assert_true(v1.buffer == v2.buffer);
    assert_true(v2.offset >= v1.offset + 1000);
    assert_int_equal(v2.offset % f->d.info->min_storage_buffer_offset_alignment, 0);
    assert_false(lvk_arena_alloc(&f->d, &a, lvk_arena_max_alloc(&a) + 1, &v3, &err));
    lvk_arena_destroy(&f->d, &a);
}

/* A weight cut into chunks lands row for row where it should, with padded rows for odd widths. */
static void weight_chunks_and_padding(void **state)
{
    fixture *f = *state;
    lvk_err err = {{0}};
    lvk_arena a;
    lvk_arena_init(&f->d, &a, LVK_MEM_DEVICE);
    const uint32_t rows = 37, cols = 13; /* fp16 row = 26 bytes, stride 32 */
    uint16_t *src = malloc(rows * cols * sizeof *src);
    assert_non_null(src);
    for (uint32_t i = 0; i < rows * cols; i++)
        src[i] = (uint16_t)(i + 1);
    lvk_weight w;
    assert_true(lvk_weight_create(&f->d, &a, &w, LVK_DTYPE_F16, rows, cols, 5 * 32, &err));
    assert_int_equal(w.row_stride, 32);
    assert_int_equal(w.rows_per_chunk, 5);
    assert_int_equal(w.n_chunks, 8);
    assert_int_equal(w.chunks[7].rows, 2);
    assert_true(lvk_weight_upload_rows(&f->d, &f->xfer, &w, 0, 20, src, &err));
    assert_true(lvk_weight_upload_rows(&f->d, &f->xfer, &w, 20, rows - 20, src + 20 * cols, &err));
    assert_true(lvk_transfer_finish(&f->d, &f->xfer, &err));
    for (uint32_t r = 0; r < rows; r++) {
        const lvk_weight_chunk *ch = &w.chunks[r / w.rows_per_chunk];
        uint16_t row[16];
        assert_true(lvk_download(&f->d, &f->xfer, &ch->view, (VkDeviceSize)(r - ch->row0) * w.row_stride, row, 32, &err));
        assert_memory_equal(row, src + r * cols, cols * sizeof *src);
    }
    assert_false(lvk_weight_upload_rows(&f->d, &f->xfer, &w, 30, 10, src, &err));
    lvk_weight dummy;
    assert_false(lvk_weight_create(&f->d, &a, &dummy, LVK_DTYPE_I32, 4, 4, 0, &err));
    assert_non_null(strstr(err.msg, "Int32")); /* what it is, and what the device formats are */
    assert_non_null(strstr(err.msg, "Float16, BFloat16, Float32"));
    /* rows are whole 16-byte blocks of the format: 13 fp32 = 52 bytes -> 64 */
    assert_true(lvk_weight_create(&f->d, &a, &dummy, LVK_DTYPE_F32, 2, 13, 0, &err));
    assert_int_equal(dummy.row_stride, 64);
    lvk_weight_destroy(&f->d, &dummy);
    lvk_weight_destroy(&f->d, &w);
    lvk_arena_destroy(&f->d, &a);
    free(src);
}

static void split_groups_stays_in_limits(void **state)
{
    fixture *f = *state;
    uint32_t gx, gy;
    uint32_t max_x = f->d.info->max_workgroup_count[0];
    lvk_split_groups(&f->d, 10, &gx, &gy);
    assert_int_equal(gx, 10);
    assert_int_equal(gy, 1);
    lvk_split_groups(&f->d, max_x + 1, &gx, &gy);
    assert_true(gx <= max_x);
    assert_true((uint64_t)gx * gy >= (uint64_t)max_x + 1);
}

/* The yardsticks fail unless the device read back every word a shader wrote (each checks its sums
 * on the host): over 256 MiB, bound in ranges of maxStorageBufferRange (128 MiB on lavapipe), and
 * over a limit shrunk to 1 MiB so that a small buffer needs several ranges and a short last one. */
static void bandwidth_reads_what_was_written(void **state)
{
    fixture *f = *state;
    lvk_err err = {{0}};
    double gbps = 0, ms = 0;
    if (!lvk_read_bandwidth(&f->d, 256ull << 20, 1, &gbps, &ms, &err))
        fail_msg("%s", err.msg);
    assert_true(gbps > 0 && ms > 0);

    const lvk_device_info *real = f->d.info;
    lvk_device_info small = *real;
    small.max_storage_buffer_range = (1u << 20) + 4096;
    small.max_texel_buffer_elements = small.max_storage_buffer_range / 16;
    f->d.info = &small;
    gbps = 0;
    bool read_ok = lvk_read_bandwidth(&f->d, 5u << 19, 1, &gbps, &ms, &err);
    bool copy_ok = read_ok && lvk_copy_bandwidth(&f->d, 5u << 19, 1, &gbps, &ms, &err);
    f->d.info = real;
    if (!read_ok || !copy_ok)
        fail_msg("%s", err.msg);
    assert_true(gbps > 0);

    /* sizes the shaders cannot cover are refused, with the reason */
    assert_false(lvk_read_bandwidth(&f->d, 1000, 1, &gbps, &ms, &err));
    assert_non_null(strstr(err.msg, "multiple of"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        vk_test(device_choice_by_index_and_name),
        vk_test(transfer_round_trip_both_paths),
        vk_test(arena_packs_and_aligns),
        vk_test(weight_chunks_and_padding),
        vk_test(split_groups_stays_in_limits),
        vk_test(bandwidth_reads_what_was_written),
    };
    return vk_checked_run(tests, setup, teardown);
}
