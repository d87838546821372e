#include "ops/weight.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

uint64_t lvk_weight_max_chunk_bytes(const lvk_device *d, const lvk_arena *a)
{
    uint64_t limit = d->info->max_storage_buffer_range;
    if (lvk_arena_max_alloc(a) < limit)
        limit = lvk_arena_max_alloc(a);
    uint64_t texel_bytes = d->info->max_texel_buffer_elements * 16u;
    if (texel_bytes < limit)
        limit = texel_bytes;
    return limit;
}

bool lvk_weight_create(lvk_device *d, lvk_arena *a, lvk_weight *w, lvk_dtype dtype, uint32_t rows, uint32_t cols,
                       uint64_t max_chunk_bytes, lvk_err *err)
{
    memset(w, 0, sizeof *w);
    const lvk_weight_format *format = lvk_weight_format_of(dtype, "weight", err);
    if (!format)
        return false;
    if (rows == 0 || cols == 0)
        return lvk_fail(err, "a weight of shape [%u, %u] is empty", rows, cols);
    w->dtype = dtype;
    w->rows = rows;
    w->cols = cols;
    w->row_stride = lvk_weight_format_row_bytes(format, cols);
    w->scale_stride = lvk_weight_format_scale_row_bytes(format, cols);
    uint64_t limit = lvk_weight_max_chunk_bytes(d, a);
    if (max_chunk_bytes && max_chunk_bytes < limit)
        limit = max_chunk_bytes;
    uint64_t per_chunk = limit / w->row_stride;
    if (w->scale_stride) {
        /* The scales of a chunk are one binding and one R32UI texel view too. */
        uint64_t scale_limit = limit;
        if ((uint64_t)d->info->max_texel_buffer_elements * 4u < scale_limit)
            scale_limit = (uint64_t)d->info->max_texel_buffer_elements * 4u;
        if (scale_limit / w->scale_stride < per_chunk)
            per_chunk = scale_limit / w->scale_stride;
    }
    if (per_chunk == 0)
        return lvk_fail(err, "one row of %u values (%u bytes) is larger than the device's %llu-byte binding limit",
                        cols, w->row_stride, (unsigned long long)limit);
    if (per_chunk > rows)
        per_chunk = rows;
    w->rows_per_chunk = (uint32_t)per_chunk;
    uint32_t n_chunks = (rows + w->rows_per_chunk - 1) / w->rows_per_chunk;
    if (n_chunks > LVK_WEIGHT_MAX_CHUNKS)
        return lvk_fail(err, "a [%u, %u] weight needs %u chunks on this device, more than %d", rows, cols, n_chunks,
                        LVK_WEIGHT_MAX_CHUNKS);
    for (uint32_t c = 0; c < n_chunks; c++) {
        lvk_weight_chunk *ch = &w->chunks[c];
        ch->row0 = c * w->rows_per_chunk;
        ch->rows = rows - ch->row0 < w->rows_per_chunk ? rows - ch->row0 : w->rows_per_chunk;
        w->n_chunks = (int)c + 1;
        if (!lvk_arena_alloc(d, a, (VkDeviceSize)ch->rows * w->row_stride, &ch->view, err) ||
            !lvk_texel_view_create(d, &ch->view, VK_FORMAT_R32G32B32A32_UINT, &ch->texel, err) ||
            (w->scale_stride &&
             (!lvk_arena_alloc(d, a, (VkDeviceSize)ch->rows * w->scale_stride, &ch->scales, err) ||
              !lvk_texel_view_create(d, &ch->scales, VK_FORMAT_R32_UINT, &ch->scales_texel, err)))) {
            lvk_weight_destroy(d, w);
            return false;
        }
    }
    return true;
}

void lvk_weight_destroy(lvk_device *d, lvk_weight *w)
{
    for (int c = 0; c < w->n_chunks; c++) {
        if (w->chunks[c].texel)
            vkDestroyBufferView(d->dev, w->chunks[c].texel, NULL);
        if (w->chunks[c].scales_texel)
            vkDestroyBufferView(d->dev, w->chunks[c].scales_texel, NULL);
    }
    w->n_chunks = 0;
}

bool lvk_weight_upload_quantized(lvk_device *d, lvk_transfer *t, const lvk_weight *w, uint32_t row0, uint32_t n_rows,
                                 const void *quants, const void *scales, lvk_err *err)
{
    if (!lvk_dtype_is_quantized(w->dtype))
        return lvk_fail(err, "a %s weight takes values, not quantized blocks", lvk_dtype_name(w->dtype));
    if ((uint64_t)row0 + n_rows > w->rows)
        return lvk_fail(err, "upload of rows %u..%u past a weight of %u rows", row0, row0 + n_rows, w->rows);
    const uint8_t *q = quants, *s = scales;
    while (n_rows > 0) {
        const lvk_weight_chunk *ch = &w->chunks[row0 / w->rows_per_chunk];
        uint32_t in_chunk = row0 - ch->row0;
        uint32_t n = ch->rows - in_chunk < n_rows ? ch->rows - in_chunk : n_rows;
        if (!lvk_upload(d, t, &ch->view, (VkDeviceSize)in_chunk * w->row_stride, q, (VkDeviceSize)n * w->row_stride,
                        err) ||
            !lvk_upload(d, t, &ch->scales, (VkDeviceSize)in_chunk * w->scale_stride, s,
                        (VkDeviceSize)n * w->scale_stride, err))
            return false;
        q += (size_t)n * w->row_stride;
        s += (size_t)n * w->scale_stride;
        row0 += n;
        n_rows -= n;
    }
    return true;
}

bool lvk_weight_upload_rows(lvk_device *d, lvk_transfer *t, const lvk_weight *w, uint32_t row0, uint32_t n_rows,
                            const void *src, lvk_err *err)
{
    if (lvk_dtype_is_quantized(w->dtype))
        return lvk_fail(err, "a %s weight is filled by quantizing, not by uploading values", lvk_dtype_name(w->dtype));
    if ((uint64_t)row0 + n_rows > w->rows)
        return lvk_fail(err, "upload of rows %u..%u past a weight of %u rows", row0, row0 + n_rows, w->rows);
    const uint32_t row_bytes = lvk_weight_row_bytes(w);
    const uint8_t *p = src;
    uint8_t *padded = NULL;
    bool ok = true;
    while (ok && n_rows > 0) {
        const lvk_weight_chunk *ch = &w->chunks[row0 / w->rows_per_chunk];
        uint32_t in_chunk = row0 - ch->row0;
        uint32_t n = ch->rows - in_chunk < n_rows ? ch->rows - in_chunk : n_rows;
        VkDeviceSize offset = (VkDeviceSize)in_chunk * w->row_stride;
        if (row_bytes == w->row_stride) {
            ok = lvk_upload(d, t, &ch->view, offset, p, (VkDeviceSize)n * row_bytes, err);
        } else {
            /* Rows with a pad: spread them out one row at a time through a small buffer. */
            if (!padded && !(padded = lvk_calloc(1, w->row_stride)))
                return lvk_fail(err, "out of host memory");
            for (uint32_t r = 0; ok && r < n; r++) {
                memcpy(padded, p + (size_t)r * row_bytes, row_bytes);
                ok = lvk_upload(d, t, &ch->view, offset + (VkDeviceSize)r * w->row_stride, padded, w->row_stride, err);
            }
        }
        p += (size_t)n * row_bytes;
        row0 += n;
        n_rows -= n;
    }
    if (padded) {
        /* The staging ring copies synchronously from `padded` before lvk_upload returns. */
        free(padded);
    }
    return ok;
}
