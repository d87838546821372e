/* Quantize on the device: rows of fp32/fp16/bf16 (a chunk of a weight as streamed from the checkpoint) into the
 * q8 / q4 layouts of ops/quant_format.h, bit-identical to lvk_ref_quantize with search on.
 *   in:     [rows, cols] packed rows (the view starts on minStorageBufferOffsetAlignment)
 *   quants: rows * lvk_quant_row_bytes       scales: rows * lvk_quant_scale_row_bytes
 *   flags:  one uint32, zeroed before the first dispatch; afterwards lvk_quantize_check turns it into an error
 *           (NaN/Inf in the input, or a block too large for fp16 scales).
 * search: q4's searched scale and offset (lvk_ref_quantize's search); false: plain min/max rounding, the
 * baseline the search is measured against. q8 ignores it.
 * One dispatch per chunk; chunks write disjoint rows, so no barrier between them. */
#ifndef LVK_OPS_QUANTIZE_H
#define LVK_OPS_QUANTIZE_H
#include "io/ckpt.h"
#include "ops/kernels.h"
#include "ops/quant_format.h"

typedef struct lvk_quantize_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    uint32_t push[4]; /* rows, cols, blocks per row, scale words per row */
    uint32_t groups_x, groups_y;
} lvk_quantize_op;

bool lvk_quantize_prepare(lvk_kernels *k, lvk_quantize_op *op, lvk_quant_format f, lvk_dtype in_dtype, bool search,
                          const lvk_view *in, const lvk_view *quants, const lvk_view *scales, const lvk_view *flags,
                          uint32_t rows, uint32_t cols, lvk_err *err);
void lvk_quantize_record(lvk_cmd *c, const lvk_quantize_op *op);

/* The most rows of one chunk whose input, quants and scales each fit one binding (maxStorageBufferRange, and
 * max_chunk_bytes when not 0); 0 if not even one row fits. */
uint32_t lvk_quantize_max_rows(const lvk_device *d, lvk_quant_format f, lvk_dtype in_dtype, uint32_t cols,
                               uint64_t max_chunk_bytes);

/* false with a message when the flags word of finished dispatches reports bad input. */
bool lvk_quantize_check(uint32_t flags, lvk_quant_format f, const char *what, lvk_err *err);

#endif
