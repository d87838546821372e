/* A weight matrix on the device, as stored in the checkpoint: [rows, cols] in one of the formats of
 * ops/weight_format.h (fp16, bf16, fp32), row-major. A matrix larger than one binding may span
 * (maxStorageBufferRange, the arena's block size) is cut by rows into chunks, each its own binding;
 * kernels loop over the chunks. A 1-D weight (a norm) is one row.
 *
 * Each row starts on a 16-byte boundary (row_stride rounds the row up; the pad is zero), so a
 * kernel may read any row with 16-byte loads: RGBA32UI texel fetches or uvec4 storage loads. */
#ifndef LVK_OPS_WEIGHT_H
#define LVK_OPS_WEIGHT_H
#include "base/dtype.h"
#include "ops/weight_format.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

#define LVK_WEIGHT_MAX_CHUNKS 64

typedef struct lvk_weight_chunk {
    lvk_view view;       /* rows [row0, row0 + rows) */
    uint32_t row0, rows;
    VkBufferView texel;  /* RGBA32UI view of the same bytes, for texel-fetch kernels */
} lvk_weight_chunk;

typedef struct lvk_weight {
    lvk_dtype dtype;     /* a format of ops/weight_format.h */
    uint32_t rows, cols;
    uint32_t row_stride; /* bytes from one row to the next: whole blocks of the format */
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

static inline uint32_t lvk_weight_row_bytes(const lvk_weight *w) { return w->cols * (uint32_t)lvk_dtype_size(w->dtype); }

#endif
