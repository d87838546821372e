/* CPU twin of the quantize shaders (shaders/quantize_q8.comp, quantize_q4.comp): the layouts of
 * ops/quant_format.h, made bit for bit as the device makes them.
 *
 * Determinism (so a GPU gets the same bytes): the math is fp32 with only add, subtract, multiply,
 * compare, floor and integer operations, each of which Vulkan requires to be exact or correctly
 * rounded; no division (GPUs may be 2.5 ulp off) and no transcendental. A reciprocal is a fixed
 * Newton iteration from a fixed start (lvk_quant_recip), fp32 -> fp16 is done on the bits (round to
 * nearest even), and quants round as floor(t + 0.5). This file is compiled with -ffp-contract=off and
 * the shaders mark their math `precise`, so neither side fuses a multiply and an add.
 * Inputs with |x| < 2^-32 are read as 0: they are far below the smallest fp16 step (2^-24), and it keeps
 * every intermediate out of fp32's subnormal range, which GPUs may flush to zero. */
#ifndef LVK_REF_QUANT_H
#define LVK_REF_QUANT_H
#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "io/ckpt.h"
#include "ops/quant_format.h"


/* Quantizes rows x cols values of dtype (F16, BF16 or F32, packed rows as in the checkpoint) into
 * quants (rows * lvk_quant_row_bytes) and scales (rows * lvk_quant_scale_row_bytes). Fails, naming
 * the row and column, on NaN or infinity, or on a block whose scale does not fit fp16.
 * search = false gives plain min/max rounding for q4 (the baseline the search is measured against);
 * q8 ignores it. */
bool lvk_ref_quantize(lvk_quant_format f, lvk_dtype dtype, const void *src, uint32_t rows, uint32_t cols,
                      bool search, uint8_t *quants, uint8_t *scales, lvk_err *err);

/* out[r * cols + c] = the weight the layout stores, for c < cols. */
void lvk_ref_dequantize(lvk_quant_format f, const uint8_t *quants, const uint8_t *scales, uint32_t rows,
                        uint32_t cols, float *out);

/* The weight at row r, column c < cols that the layout stores (what lvk_ref_dequantize writes there). */
float lvk_ref_quant_weight(lvk_quant_format f, const uint8_t *quants, const uint8_t *scales, uint32_t cols, uint32_t r,
                           uint32_t c);

/* The deterministic reciprocal both sides use, for y > 0 in [2^-100, 2^100]. */
float lvk_quant_recip(float y);

#endif
