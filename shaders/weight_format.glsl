// The one decoder of weight blocks, for every kernel that reads weights (the table of formats is
// src/ops/weight_format.c). The including shader declares the specialization constant DTYPE first;
// its values are lvk_dtype's (src/base/dtype.h). A block is 16 bytes, read as one uvec4: 8 fp16 or
// bf16 elements, or 4 fp32. 16-bit weights are read through 32-bit words (DESIGN §3), so no optional
// storage feature is needed.
#define LVK_F16 0u
#define LVK_BF16 1u
#define LVK_F32 2u

const uint EPB = DTYPE == LVK_F32 ? 4u : 8u; // elements per block

// The two 16-bit elements of one 32-bit word; the lower half is the earlier element (little-endian).
vec2 lvk_unpack2(uint u)
{
    if (DTYPE == LVK_F16)
        return unpackHalf2x16(u);
    return vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u));
}

// The elements of a block: lo holds 0..3, hi 4..7 (zero for fp32).
void lvk_decode_block(uvec4 u, out vec4 lo, out vec4 hi)
{
    if (DTYPE == LVK_F32) {
        lo = uintBitsToFloat(u);
        hi = vec4(0.0);
    } else {
        lo = vec4(lvk_unpack2(u.x), lvk_unpack2(u.y));
        hi = vec4(lvk_unpack2(u.z), lvk_unpack2(u.w));
    }
}

#include "half_bits.glsl"

// The fp32 bits of element j (< EPB) of a block, bit-exact: for copies such as the embedding gather.
uint lvk_block_bits(uvec4 u, uint j)
{
    if (DTYPE == LVK_F32)
        return u[j];
    uint word = u[j >> 1];
    uint h = (j & 1u) != 0u ? word >> 16 : word & 0xffffu;
    return DTYPE == LVK_F16 ? lvk_half_bits_to_float_bits(h) : h << 16;
}

// Element i of a 1-D weight (a norm) held in 32-bit words: the word it is in, and its value there.
uint lvk_word_of(uint i) { return DTYPE == LVK_F32 ? i : i >> 1; }
float lvk_elem_in_word(uint word, uint i)
{
    if (DTYPE == LVK_F32)
        return uintBitsToFloat(word);
    return (i & 1u) != 0u ? lvk_unpack2(word).y : lvk_unpack2(word).x;
}
