#version 450
// Y[t, row0 + r] (+)= sum_c W[r, c] * X[t, c] — the variant for CPU drivers (lavapipe, DESIGN §3.1).
//   W: [rows, cols] fp16/bf16/fp32 of one weight chunk as an RGBA32UI texel buffer, rows row_texels
//      16-byte texels apart          X: [n_tokens, cols] fp32    Y: [n_tokens, y_stride] fp32
// There, shared memory and barriers are slow and storage loads are scalarized, while a texel fetch is
// one 16-byte load. So: no shared memory; each invocation keeps a TM tokens x TN rows register tile
// and streams its W rows by texel fetches, and X too when rows of X are whole texels (cols % 4 == 0;
// measured: scalar X loads took about 2/3 of the time). The TM tokens are the same for the whole
// workgroup, so the X loads hit the same cache lines. Out-of-range rows and tokens are clamped for reading (no
// branches in the loop) and skipped for writing. fp32 accumulation.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DTYPE = 0;
#include "weight_format.glsl"
layout(constant_id = 2) const uint TM = 4;            // tokens per invocation
layout(constant_id = 3) const uint TN = 4;            // rows per invocation
layout(constant_id = 4) const bool ACCUMULATE = false;
layout(constant_id = 5) const bool X_TEXEL = false;   // cols % 4 == 0: X is also read by texel fetches

const uint VPW = DTYPE == LVK_F32 ? 4 : 8;             // values per texel

layout(binding = 0) uniform utextureBuffer w;
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(binding = 3) uniform utextureBuffer xt;        // X as RGBA32UI (a stand-in view when !X_TEXEL)
layout(push_constant) uniform P { uint n_tokens, cols, rows, row0, y_stride, row_texels; } p;

// Four X values from column col (a multiple of 4) of token row base (= token * cols).
vec4 load_x4(uint base, uint col)
{
    if (X_TEXEL)
        return uintBitsToFloat(texelFetch(xt, int((base + col) / 4)));
    return vec4(x[base + col], x[base + col + 1], x[base + col + 2], x[base + col + 3]);
}

// The same, for the last partial texel: columns at or past cols read as 0.
vec4 load_x4_tail(uint base, uint col)
{
    vec4 v;
    for (uint e = 0; e < 4; e++)
        v[e] = col + e < p.cols ? x[base + col + e] : 0.0;
    return v;
}

void main()
{
    const uint r0 = gl_GlobalInvocationID.x * TN, t0 = gl_WorkGroupID.y * TM;
    uint wbase[TN], xbase[TM];
    for (uint j = 0; j < TN; j++)
        wbase[j] = min(r0 + j, p.rows - 1) * p.row_texels;
    for (uint i = 0; i < TM; i++)
        xbase[i] = min(t0 + i, p.n_tokens - 1) * p.cols;
    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++)
        acc[i] = 0.0;

    const uint n_full = p.cols / VPW;
    for (uint q = 0; q < n_full; q++) {
        uvec4 u[TN];
        for (uint j = 0; j < TN; j++)
            u[j] = texelFetch(w, int(wbase[j] + q));
        // One half texel (4 columns) at a time keeps fewer values live (CPU registers are few).
        for (uint h = 0; h < VPW / 4; h++) {
            vec4 wv[TN];
            for (uint j = 0; j < TN; j++)
                wv[j] = DTYPE == LVK_F32 ? uintBitsToFloat(u[j])
                                        : vec4(lvk_unpack2(u[j][2 * h]), lvk_unpack2(u[j][2 * h + 1]));
            for (uint i = 0; i < TM; i++) {
                vec4 xv = load_x4(xbase[i], q * VPW + 4 * h);
                for (uint j = 0; j < TN; j++)
                    acc[i * TN + j] += dot(wv[j], xv);
            }
        }
    }
    if (n_full * VPW < p.cols) {
        // The last texel of each row is partly past cols: that pad is zero, and x reads as 0 there.
        uint q = n_full;
        vec4 wlo[TN], whi[TN];
        for (uint j = 0; j < TN; j++)
            lvk_decode_block(texelFetch(w, int(wbase[j] + q)), wlo[j], whi[j]);
        for (uint i = 0; i < TM; i++) {
            vec4 xlo = load_x4_tail(xbase[i], q * VPW);
            vec4 xhi = VPW == 8 ? load_x4_tail(xbase[i], q * VPW + 4) : vec4(0.0);
            for (uint j = 0; j < TN; j++)
                acc[i * TN + j] += dot(wlo[j], xlo) + dot(whi[j], xhi);
        }
    }

    for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++)
            if (t0 + i < p.n_tokens && r0 + j < p.rows) {
                uint o = (t0 + i) * p.y_stride + p.row0 + r0 + j;
                y[o] = ACCUMULATE ? y[o] + acc[i * TN + j] : acc[i * TN + j];
            }
}
