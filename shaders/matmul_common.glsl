// Shared by the matmul shaders: decoding 16-byte words of a weight row. 16-bit weights are read
// through 32-bit words (DESIGN §3) so no optional storage feature is needed.
// DTYPE numbering is lvk_dtype's: 0 = fp16, 1 = bf16 (8 values per uvec4), 2 = fp32 (4 values).
#define MM_F16 0u
#define MM_BF16 1u
#define MM_F32 2u

// Two consecutive 16-bit values of one 32-bit word; the lower half is the earlier element.
vec2 mm_unpack2(uint u, uint dtype)
{
    if (dtype == MM_F16)
        return unpackHalf2x16(u);
    return vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u));
}

// The values of one 16-byte word: lo holds elements 0..3, hi 4..7 (hi unused for fp32).
void mm_decode(uvec4 u, uint dtype, out vec4 lo, out vec4 hi)
{
    if (dtype == MM_F32) {
        lo = uintBitsToFloat(u);
        hi = vec4(0.0);
    } else {
        lo = vec4(mm_unpack2(u.x, dtype), mm_unpack2(u.y, dtype));
        hi = vec4(mm_unpack2(u.z, dtype), mm_unpack2(u.w, dtype));
    }
}
