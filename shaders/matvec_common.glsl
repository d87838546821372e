// Shared by the matrix × vector kernels: how one 16-byte block of a weight row turns into numbers.
// The including shader declares the specialization constant DTYPE first (0 fp16, 1 bf16, 2 fp32).
// 16-bit weights are read through 32-bit words (DESIGN §3): no optional feature is needed.

// Weight values in one 16-byte block: 8 for fp16/bf16, 4 for fp32.
const uint EPB = DTYPE == 2 ? 4 : 8;

// The two bf16 values packed in one 32-bit word (element 2k is the low half, little-endian).
vec2 unpack_bf16x2(uint u) { return vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u)); }

// Weights of a block as two vec4: elements 0..3 and 4..7 (fp32 fills only the first).
void decode_block(uvec4 wv, out vec4 lo, out vec4 hi)
{
    if (DTYPE == 0) {
        lo = vec4(unpackHalf2x16(wv.x), unpackHalf2x16(wv.y));
        hi = vec4(unpackHalf2x16(wv.z), unpackHalf2x16(wv.w));
    } else if (DTYPE == 1) {
        lo = vec4(unpack_bf16x2(wv.x), unpack_bf16x2(wv.y));
        hi = vec4(unpack_bf16x2(wv.z), unpack_bf16x2(wv.w));
    } else {
        lo = uintBitsToFloat(wv);
        hi = vec4(0.0);
    }
}

// acc + sum_j W_j * x_j over one block, as a chain of fused multiply-adds; xb is ignored for fp32.
float block_dot(uvec4 wv, vec4 xa, vec4 xb, float acc)
{
    vec4 lo, hi;
    decode_block(wv, lo, hi);
    acc = fma(lo.x, xa.x, acc);
    acc = fma(lo.y, xa.y, acc);
    acc = fma(lo.z, xa.z, acc);
    acc = fma(lo.w, xa.w, acc);
    if (DTYPE == 2)
        return acc;
    acc = fma(hi.x, xb.x, acc);
    acc = fma(hi.y, xb.y, acc);
    acc = fma(hi.z, xb.z, acc);
    return fma(hi.w, xb.w, acc);
}
