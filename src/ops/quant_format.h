/* The 8- and 4-bit weight layouts (pure data: no Vulkan). A weight [rows, cols] is cut into blocks of
 * 32 along cols; cols is padded up to a multiple of 32 with zeros, which are quantized with the block
 * like any other value (a kernel must not let padded columns reach the output: the activation it
 * multiplies them with must be zero there, or the loop must stop at cols).
 *
 * Quants and scales live in two separate arrays, each row of each starting on a 16-byte boundary, so
 * that every kernel reads them with 16-byte (uvec4) loads and no 16-bit storage feature is needed.
 * Bytes of row padding are zero.
 *
 *   q8: quants  [rows, nb * 32] int8, element j of a block in byte j (little-endian words)
 *       scales  [rows, align16(nb * 2)] fp16 d, one per block;  w = d * q
 *       34 bytes per block: 8.5 bits per weight.
 *   q4: quants  [rows, nb * 16] 4-bit codes L in 0..15, element j of a block in bits 4*(j%8) of
 *               word j/8 of the block's 16 bytes
 *       params  [rows, align16(nb * 4)] one 32-bit word per block: fp16 scale s (low half) and fp16
 *               offset m (high half);  w = m + s * L
 *       20 bytes per block: 5.0 bits per weight.
 *
 * Scales are fp16, not fp32: fp32 would cost 9 and 6 bits per weight instead of 8.5 and 5. fp16 covers
 * every weight we load (fp16 checkpoints are bounded by 65504; LLaMA3's bf16 weights are far below 1) and
 * its 2^-11 relative step is 1/8 of the int8 quant's own resolution at worst. A block whose scale would
 * not fit fp16 is refused with an error, not silently clipped. */
#ifndef LVK_OPS_QUANT_FORMAT_H
#define LVK_OPS_QUANT_FORMAT_H
#include <stdint.h>

#define LVK_QUANT_BLOCK 32u

/* q4 scale/offset search, as in llama.cpp's make_qkx2_quants (Q4_K): the min/max fit and the least-
 * squares refits of the codes from LVK_QUANT_Q4_STEPS + 1 stretched grids (15 - 1 + 0.1 * i steps
 * over the block's range), best squared error after fp16 rounding kept. */
#define LVK_QUANT_Q4_STEPS 20

typedef enum lvk_quant_format {
    LVK_QUANT_Q8,
    LVK_QUANT_Q4,
} lvk_quant_format;

/* Blocks in a row of cols values (cols rounded up to a whole block). */
static inline uint32_t lvk_quant_blocks(uint32_t cols) { return (cols + LVK_QUANT_BLOCK - 1) / LVK_QUANT_BLOCK; }

static inline uint64_t lvk_quant_align16(uint64_t bytes) { return (bytes + 15u) & ~(uint64_t)15u; }

/* Bytes of one row of quants (always a multiple of 16). */
static inline uint64_t lvk_quant_row_bytes(lvk_quant_format f, uint32_t cols)
{
    return (uint64_t)lvk_quant_blocks(cols) * (f == LVK_QUANT_Q8 ? 32u : 16u);
}

/* Bytes of one row of scales (q8: fp16 per block; q4: fp16 scale + fp16 offset per block), padded to 16. */
static inline uint64_t lvk_quant_scale_row_bytes(lvk_quant_format f, uint32_t cols)
{
    return lvk_quant_align16((uint64_t)lvk_quant_blocks(cols) * (f == LVK_QUANT_Q8 ? 2u : 4u));
}

static inline const char *lvk_quant_name(lvk_quant_format f) { return f == LVK_QUANT_Q8 ? "q8" : "q4"; }

#endif
