// Shared by the matrix × vector kernels: one 16-byte block of a weight row times x.
// The including shader declares the specialization constant DTYPE first (lvk_dtype's numbering).
#include "weight_format.glsl"

// acc + sum_j W_j * x_j over one block, as a chain of fused multiply-adds; xb is ignored for fp32.
float block_dot(uvec4 wv, vec4 xa, vec4 xb, float acc)
{
    vec4 lo, hi;
    lvk_decode_block(wv, lo, hi);
    acc = fma(lo.x, xa.x, acc);
    acc = fma(lo.y, xa.y, acc);
    acc = fma(lo.z, xa.z, acc);
    acc = fma(lo.w, xa.w, acc);
    if (DTYPE == LVK_F32)
        return acc;
    acc = fma(hi.x, xb.x, acc);
    acc = fma(hi.y, xb.y, acc);
    acc = fma(hi.z, xb.z, acc);
    return fma(hi.w, xb.w, acc);
}
