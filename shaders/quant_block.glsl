// The one decoder of q8 and q4 weight blocks (ops/quant_format.h), for every kernel that reads them.
// A block is 32 weights of a row: its quants in the quants array (q8: 32 bytes = two uvec4; q4: 16 bytes =
// one uvec4), its scales in the scales array, one 32-bit word holding two q8 scales or one q4 (s, m) pair.
// The including shader declares the specialization constant DTYPE first (lvk_dtype's numbers:
// src/base/dtype.h): LVK_Q8 or LVK_Q4.
#define LVK_Q8 16u
#define LVK_Q4 17u
#define LVK_QUANT_COLS 32u // columns per block (LVK_QUANT_BLOCK)

// q8: the four signed 8-bit quants of one word (byte k is element k). Shifts sign-extend all four at once
// (cheaper than four bitfieldExtracts on CPU drivers).
vec4 lvk_q8_word(uint w) { return vec4(ivec4(uvec4(w) << uvec4(24u, 16u, 8u, 0u)) >> 24); }

// q4: the eight 4-bit codes of one word (bits 4k..4k+3 are element k): lo holds 0..3, hi 4..7.
void lvk_q4_word(uint w, out vec4 lo, out vec4 hi)
{
    lo = vec4((uvec4(w) >> uvec4(0u, 4u, 8u, 12u)) & 15u);
    hi = vec4((uvec4(w) >> uvec4(16u, 20u, 24u, 28u)) & 15u);
}

// The scale word of block b of a row, from that row's scales (starting at word s0 of the array):
// q8 keeps two blocks per word, q4 one.
uint lvk_quant_scale_word_index(uint s0, uint b) { return DTYPE == LVK_Q8 ? s0 + (b >> 1) : s0 + b; }

#include "half_bits.glsl"

float lvk_quant_half(uint h) { return uintBitsToFloat(lvk_half_bits_to_float_bits(h)); }

// Block b's (scale, offset): w = scale * q + offset. q8: (d, 0) from its half of the word; q4: (s, m).
// Decoded on the bits, not by unpackHalf2x16, which may flush subnormal fp16 to zero: the scale of a
// block whose largest |w| is under 127 * 2^-14 (about 0.008) is subnormal.
vec2 lvk_quant_scale(uint word, uint b)
{
    if (DTYPE == LVK_Q8)
        return vec2(lvk_quant_half((b & 1u) != 0u ? word >> 16 : word & 0xffffu), 0.0);
    return vec2(lvk_quant_half(word & 0xffffu), lvk_quant_half(word >> 16));
}

// Codes 4k..4k+3 of one 16-byte texel of quants, as floats: a q8 texel holds 16 (k < 4), a q4 texel 32
// (k < 8). With k a constant (an unrolled loop) the selection costs nothing.
vec4 lvk_quant_codes4(uvec4 u, uint k)
{
    if (DTYPE == LVK_Q8)
        return lvk_q8_word(u[k]);
    vec4 lo, hi;
    lvk_q4_word(u[k >> 1], lo, hi);
    return (k & 1u) != 0u ? hi : lo;
}

// The weights of four codes of a block with (scale, offset) sc: exactly lvk_ref_dequantize's fp32 values,
// since scale * code is exact in fp32 (11 by at most 8 significant bits) and only the offset's add rounds.
vec4 lvk_quant_dequant4(vec4 codes, vec2 sc) { return DTYPE == LVK_Q8 ? sc.x * codes : sc.x * codes + sc.y; }

// For dot products (the matrix × vector kernels): the codes of a word left where they lie, so each costs
// one AND and one int -> float conversion, no shift. Element e comes out as code_e * 2^(bits * e) (the top
// one is shifted down instead, since its AND would set the sign bit), and the kernel multiplies it with
// x_e * 2^-(bits * e) (lvk_q8_x_scale, lvk_q4_x_scale): powers of two, so each product is exactly
// code_e * x_e as fp32 rounds it (for |x| above 2^-100, where the prescaled x would go subnormal).
// q8 codes come biased to unsigned, u = q + 128 (one XOR per word instead of a sign extension per
// element); the block's offset is then -128 d (lvk_quant_scale_unsigned). The conversions are from
// signed int (one instruction on x86; the values are below 2^31).
vec4 lvk_q8_word_inplace(uint w)
{
    uint u = w ^ 0x80808080u;
    return vec4(ivec4(u & 0xffu, u & 0xff00u, u & 0xff0000u, u >> 24));
}
const vec4 lvk_q8_x_scale = vec4(1.0, 1.0 / 256.0, 1.0 / 65536.0, 1.0);

void lvk_q4_word_inplace(uint w, out vec4 lo, out vec4 hi)
{
    lo = vec4(ivec4(w & 0xfu, w & 0xf0u, w & 0xf00u, w & 0xf000u));
    hi = vec4(ivec4(w & 0xf0000u, w & 0xf00000u, w & 0xf000000u, w >> 28));
}
const vec4 lvk_q4_x_scale_lo = vec4(1.0, 1.0 / 16.0, 1.0 / 256.0, 1.0 / 4096.0);
const vec4 lvk_q4_x_scale_hi = vec4(1.0 / 65536.0, 1.0 / 1048576.0, 1.0 / 16777216.0, 1.0);

// fp16 bits -> fp32 for finite values (scales and offsets are: the quantizer refuses others), exact for
// subnormals too and without branches, for the hot loops of the kernels (lvk_quant_half is the general
// one). The bits moved into fp32 place with the exponent rebiased give 2^(e - 15) * (1 + f); for a
// subnormal (e = 0, value f * 2^-14) that is 2^-15 * (1 + f), and 2 * it - 2^-14 = f * 2^-14 exactly.
// No fp32 subnormal arises (CPU drivers flush those).
float lvk_quant_half_finite(uint h)
{
    float v = uintBitsToFloat(((h & 0x7fffu) << 13) + 0x38000000u);
    v = (h & 0x7c00u) == 0u ? 2.0 * v - 1.0 / 16384.0 : v;
    return (h & 0x8000u) != 0u ? -v : v;
}

// Block b's (scale, offset) for codes read unsigned: w = scale * code + offset. q8: (d, -128 d), q4: (s, m).
vec2 lvk_quant_scale_unsigned(uint word, uint b)
{
    if (DTYPE == LVK_Q8) {
        float d = lvk_quant_half_finite((b & 1u) != 0u ? word >> 16 : word & 0xffffu);
        return vec2(d, -128.0 * d);
    }
    return vec2(lvk_quant_half_finite(word & 0xffffu), lvk_quant_half_finite(word >> 16));
}
