// Shared by quantize_q8.comp and quantize_q4.comp: the GPU half of src/ref/quant.c, operation for operation.
// Every float is `precise` (no fused multiply-add, no reassociation) and the math uses only what Vulkan makes
// exact or correctly rounded: add, sub, mul, compare, floor, integer ops. No division (2.5 ulp on GPUs):
// reciprocals are quant_recip's fixed Newton iteration. fp32 -> fp16 is done on the bits.
// Needs: spec constant IN_DTYPE (lvk_dtype's numbers, src/base/dtype.h: 0 fp16, 1 bf16, 2 fp32), buffer `uint in_words[]`, buffer `uint flags[]`.

const uint FLAG_NONFINITE = 1u;
const uint FLAG_RANGE = 2u;

#include "half_bits.glsl"

// fp32 -> fp16 bits, round to nearest even, overflow to infinity: lvk_f32_to_f16 (src/base/half.c).
uint quant_f32_to_f16(float f)
{
    uint u = floatBitsToUint(f);
    uint sign = (u >> 16) & 0x8000u;
    uint a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00u | ((a >> 13) & 0x3ffu);
    if (a >= 0x477ff000u)
        return sign | 0x7c00u;
    if (a < 0x38800000u) {
        if (a < 0x33000000u)
            return sign;
        uint e = a >> 23;
        uint man = (a & 0x7fffffu) | 0x800000u;
        uint shift = 126u - e;
        uint half_ = man >> shift;
        uint rest = man & ((1u << shift) - 1u);
        uint mid = 1u << (shift - 1u);
        if (rest > mid || (rest == mid && (half_ & 1u) != 0u))
            half_++;
        return sign | half_;
    }
    uint r = a - 0x38000000u;
    r += 0xfffu + ((r >> 13) & 1u);
    return sign | (r >> 13);
}

float quant_f16_value(uint h) { return uintBitsToFloat(lvk_half_bits_to_float_bits(h)); }

bool quant_f16_finite(uint h) { return (h & 0x7c00u) != 0x7c00u; }

// lvk_quant_recip: 1/y for y > 0 in [2^-100, 2^100].
float quant_recip(float y)
{
    uint u = floatBitsToUint(y);
    uint e = u >> 23;
    precise float f = uintBitsToFloat((u & 0x7fffffu) | 0x3f800000u);
    precise float t = uintBitsToFloat(0x3ef0f0f1u) * f;
    precise float r = uintBitsToFloat(0x3fb4b4b5u) - t;
    for (int i = 0; i < 3; i++) {
        precise float fr = f * r;
        precise float err = 1.0 - fr;
        precise float c = r * err;
        r = r + c;
    }
    precise float out_ = r * uintBitsToFloat((254u - e) << 23);
    return out_;
}

float quant_round_half_up(float t)
{
    precise float u = t + 0.5;
    return floor(u);
}

float quant_clamp(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

// Bits of input element i (a global element index into this dispatch's input binding).
uint quant_input_bits(uint i)
{
    if (IN_DTYPE == 2u) /* fp32 */
        return in_words[i];
    uint word = in_words[i >> 1];
    uint h = (i & 1u) != 0u ? word >> 16 : word & 0xffffu;
    return IN_DTYPE == 0u ? lvk_half_bits_to_float_bits(h) : h << 16; /* fp16 : bf16 */
}

// The block of row `row` starting at column c0 (zeros past cols), |x| < 2^-32 read as 0; NaN/Inf flagged.
void quant_load_block(uint row, uint cols, uint c0, out float x[32])
{
    bool bad = false;
    for (uint j = 0u; j < 32u; j++) {
        uint c = c0 + j;
        uint u = c < cols ? quant_input_bits(row * cols + c) : 0u;
        if ((u & 0x7f800000u) == 0x7f800000u) {
            bad = true;
            u = 0u;
        }
        if ((u & 0x7fffffffu) < 0x2f800000u)
            u = 0u;
        x[j] = uintBitsToFloat(u);
    }
    if (bad)
        atomicOr(flags[0], FLAG_NONFINITE);
}
