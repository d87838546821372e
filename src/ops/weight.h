/* A weight matrix on the device, as stored in the checkpoint: [rows, cols] in one of the formats of
 * ops/weight_format.h (fp16, bf16, fp32), row-major. A matrix larger than one binding may span
 * (maxStorageBufferRange, the arena's block size) is cut by rows into chunks, each its own binding;
 * kernels loop over the chunks. A 1-D weight (a norm) is one row.
 *
 * Each row starts on a 16-byte boundary (row_stride rounds the row up; the pad is zero), so a
 * kernel may read any row with 16-byte loads: RGBA32UI texel fetches or uvec4 storage loads.
 *
 * A quantized weight (q8, q4: ops/quant_format.h) has per chunk two arrays: the quants in `view`
 * (row_stride bytes per row) and the block scales in `scales` (scale_stride bytes per row, also
 * 16-byte aligned). It is filled on the device by quantizing (model/weights.c) or, in tests, by
 * uploading blocks the CPU twin made (lvk_weight_upload_quantized). */
#ifndef LVK_OPS_WEIGHT_H
#define LVK_OPS_WEIGHT_H
#include "base/dtype.h"
#include "ops/weight_format.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

#define LVK_WEIGHT_MAX_CHUNKS 64

typedef struct lvk_weight_chunk {
    lvk_view view;       /* rows [row0, row0 + rows): the values, or the quants of q8/q4 */
    uint32_t row0, rows;
    VkBufferView texel;  /* RGBA32UI view of the same bytes, for texel-fetch kernels */
    lvk_view scales;     /* q8/q4: the block scales of the same rows; else empty */
    VkBufferView scales_texel; /* q8/q4: R32UI view of scales */
} lvk_weight_chunk;

typedef struct lvk_weight {
    lvk_dtype dtype;     /* a format of ops/weight_format.h */
    uint32_t rows, cols;
    uint32_t row_stride; /* bytes from one row to the next: whole blocks of the format */
    uint32_t scale_stride; /* q8/q4: bytes from one row of scales to the next; else 0 */
    uint32_t rows_per_chunk;
    int n_chunks;
    lvk_weight_chunk chunks[LVK_WEIGHT_MAX_CHUNKS];
} lvk_weight;

/* Largest number of bytes one chunk may span on this device for an arena. */
uint64_t lvk_weight_max_chunk_bytes(const lvk_device *d, const lvk_arena *a);

/* Allocates the chunks from the arena (and their texel views). max_chunk_bytes = 0 means the device's
 * limit; tests pass a small value to exercise chunking on any device. */
bool lvk_weight_create(lvk_device *d, lvk_arena *a, lvk_weight *w, lvk_dtype dtype, uint32_t rows, uint32_t cols,
                       uint64_t max_chunk_bytes, lvk_err *err);
void lvk_weight_destroy(lvk_device *d, lvk_weight *w); /* texel views only: memory belongs to the arena */

/* Uploads n_rows packed rows (cols * elem size bytes each, as in the checkpoint) starting at row0. */
bool lvk_weight_upload_rows(lvk_device *d, lvk_transfer *t, const lvk_weight *w, uint32_t row0, uint32_t n_rows,
                            const void *src, lvk_err *err);

/* Uploads n_rows rows of q8/q4 blocks as lvk_ref_quantize lays them out (row_stride bytes of quants and
 * scale_stride bytes of scales per row), starting at row0. */
bool lvk_weight_upload_quantized(lvk_device *d, lvk_transfer *t, const lvk_weight *w, uint32_t row0, uint32_t n_rows,
                                 const void *quants, const void *scales, lvk_err *err);

/* Bytes of one packed row as the checkpoint stores it (the formats read from files only). */
static inline uint32_t lvk_weight_row_bytes(const lvk_weight *w) { return w->cols * (uint32_t)lvk_dtype_size(w->dtype); }

/* Device bytes of the whole weight: values or quants, and scales. */
static inline uint64_t lvk_weight_bytes(const lvk_weight *w)
{
    return (uint64_t)w->rows * (w->row_stride + w->scale_stride);
}

#endif
