/* The weight formats the kernels read on the device: one table, one entry per format. A row of a
 * weight is a run of blocks; a kernel reads a block with one 16-byte load (a RGBA32UI texel or a
 * uvec4) and decodes it with shaders/weight_format.glsl. Every kernel that reads weights is built
 * with the format's lvk_dtype value as its DTYPE specialization constant: that one number picks
 * the decoder, so adding a format means an entry here and a case in that include.
 * q8 and q4 (ops/quant_format.h) keep their quants and their scales in two arrays; their kernels are
 * their own (shaders/quant_block.glsl decodes them), since a 16-byte block holds 16 or 32 elements. */
#ifndef LVK_OPS_WEIGHT_FORMAT_H
#define LVK_OPS_WEIGHT_FORMAT_H
#include <stdbool.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/status.h"

typedef struct lvk_weight_format {
    lvk_dtype dtype;      /* as stored in the checkpoint, or q8/q4; also the kernels' DTYPE constant */
    uint32_t block_elems; /* elements in one block */
    uint32_t block_bytes; /* bytes of one block on the device (of the quants, for q8/q4) */
    uint32_t scale_bytes; /* q8/q4: bytes of one block's scales, kept in an array of their own; else 0 */
} lvk_weight_format;

/* The format weights of `dtype` are kept in, or NULL with a message naming `what` and the formats
 * there are. */
const lvk_weight_format *lvk_weight_format_of(lvk_dtype dtype, const char *what, lvk_err *err);

/* Bytes of one row of `cols` elements on the device: whole blocks (the pad of the last one is zero). */
static inline uint32_t lvk_weight_format_row_bytes(const lvk_weight_format *f, uint32_t cols)
{
    return (cols + f->block_elems - 1) / f->block_elems * f->block_bytes;
}

/* Bytes of one row of scales (0 for the formats without): rounded up to 16 so every row starts aligned. */
static inline uint32_t lvk_weight_format_scale_row_bytes(const lvk_weight_format *f, uint32_t cols)
{
    return ((cols + f->block_elems - 1) / f->block_elems * f->scale_bytes + 15u) & ~15u;
}

static inline bool lvk_dtype_is_quantized(lvk_dtype d) { return d == LVK_DTYPE_Q8 || d == LVK_DTYPE_Q4; }

#endif
