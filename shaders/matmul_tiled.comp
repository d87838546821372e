#version 450
// Y[t, row0 + r] (+)= sum_c W[r, c] * X[t, c] — the conventional tiled GEMM for GPUs.
//   W: [rows, cols] fp16/bf16/fp32 of one weight chunk, rows row_texels 16-byte words apart
//   X: [n_tokens, cols] fp32    Y: [n_tokens, y_stride] fp32
// A workgroup computes a BM tokens x BN rows tile of Y; the K dimension goes by BK columns through
// shared memory (X and W tiles, W already decoded to fp32), each invocation holding a TM x TN
// register tile. Accumulation is fp32, in column order.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;                  // (BM / TM) * (BN / TN) invocations
layout(constant_id = 1) const uint DTYPE = 0;
#include "weight_format.glsl"
layout(constant_id = 2) const uint BM = 64;      // tokens per workgroup
layout(constant_id = 3) const uint BN = 64;      // rows per workgroup
layout(constant_id = 4) const uint TM = 4;       // tokens per invocation
layout(constant_id = 5) const uint TN = 4;       // rows per invocation
layout(constant_id = 6) const bool ACCUMULATE = false;

const uint BK = 16;                              // columns per step: two 16-byte words of fp16
const uint VPW = DTYPE == LVK_F32 ? 4 : 8;        // values per 16-byte word
const uint WPB = BK / VPW;                       // words per row per step
const uint WG = (BM / TM) * (BN / TN);

layout(std430, binding = 0) readonly buffer W { uvec4 w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P { uint n_tokens, cols, rows, row0, y_stride, row_texels; } p;

// Tiles stored k-major, each line one float longer than the tile so that the transposing stores
// (consecutive invocations on consecutive k) fall into different shared-memory banks.
const uint XS = BM + 1, WS = BN + 1;
shared float xs[BK * XS]; // [BK][BM]
shared float ws[BK * WS]; // [BK][BN]

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint tile_r = gl_WorkGroupID.x * BN, tile_t = gl_WorkGroupID.y * BM;
    // Invocation tid owns rows tile_r + rn + j * (BN / TN) and tokens tile_t + tm + i * (BM / TM):
    // neighbours read neighbouring shared words.
    const uint rn = tid % (BN / TN), tm = tid / (BN / TN);
    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++)
        acc[i] = 0.0;

    const uint n_steps = (p.cols + BK - 1) / BK;
    for (uint s = 0; s < n_steps; s++) {
        // W tile: BN rows x WPB words. Words past the row (the next row's data) and rows past the
        // chunk read as 0; the zero pad inside a row's last word meets x = 0 below.
        for (uint idx = tid; idx < BN * WPB; idx += WG) {
            uint r = idx / WPB, q = idx % WPB;
            uint row = tile_r + r, word = s * WPB + q;
            uvec4 u = uvec4(0);
            if (row < p.rows && word < p.row_texels)
                u = w[row * p.row_texels + word];
            vec4 lo, hi;
            lvk_decode_block(u, lo, hi);
            for (uint e = 0; e < 4; e++)
                ws[(q * VPW + e) * WS + r] = lo[e];
            if (VPW == 8)
                for (uint e = 0; e < 4; e++)
                    ws[(q * VPW + 4 + e) * WS + r] = hi[e];
        }
        // X tile: BM tokens x BK columns, consecutive invocations on consecutive columns.
        for (uint idx = tid; idx < BM * BK; idx += WG) {
            uint t = idx / BK, k = idx % BK;
            uint tok = tile_t + t, col = s * BK + k;
            xs[k * XS + t] = tok < p.n_tokens && col < p.cols ? x[tok * p.cols + col] : 0.0;
        }
        barrier();
        for (uint k = 0; k < BK; k++) {
            float a[TM], b[TN];
            for (uint i = 0; i < TM; i++)
                a[i] = xs[k * XS + tm + i * (BM / TM)];
            for (uint j = 0; j < TN; j++)
                b[j] = ws[k * WS + rn + j * (BN / TN)];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++)
                    acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint tok = tile_t + tm + i * (BM / TM);
        for (uint j = 0; j < TN; j++) {
            uint r = tile_r + rn + j * (BN / TN);
            if (tok < p.n_tokens && r < p.rows) {
                uint o = tok * p.y_stride + p.row0 + r;
                y[o] = ACCUMULATE ? y[o] + acc[i * TN + j] : acc[i * TN + j];
            }
        }
    }
}
