#version 450
// Y[t, row0 + r] (+)= sum_c W[r, c] * X[t, c] for a q8 or q4 weight (ops/quant_format.h) — matmul_tiled.comp
// for the quantized layouts, the tiled GEMM for GPUs.
//   W: one weight chunk: its quants (rows row_texels 16-byte texels apart) and its block scales (rows
//      scale_words words apart), both read as 32-bit words      X: [n_tokens, cols] fp32
//   Y: [n_tokens, y_stride] fp32
// Everything as in matmul_tiled.comp (BM x BN output tile per workgroup, K by BK columns through shared
// memory, a TM x TN register tile per invocation) except the W tile's load: BK = 16 columns of a row are
// two runs of 8 (q8: two words of quants, q4: one), dequantized with their block's scale to the exact fp32
// values of lvk_ref_dequantize before they go to shared memory, so the inner loop is matmul_tiled's.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;                  // (BM / TM) * (BN / TN) invocations
layout(constant_id = 1) const uint DTYPE = 16;   // LVK_Q8 or LVK_Q4
#include "quant_block.glsl"
layout(constant_id = 2) const uint BM = 64;      // tokens per workgroup
layout(constant_id = 3) const uint BN = 64;      // rows per workgroup
layout(constant_id = 4) const uint TM = 4;       // tokens per invocation
layout(constant_id = 5) const uint TN = 4;       // rows per invocation
layout(constant_id = 6) const bool ACCUMULATE = false;

const uint BK = 16;                              // columns per step
const uint RPS = BK / 8;                         // runs of 8 columns per row per step
const uint WG = (BM / TM) * (BN / TN);

layout(std430, binding = 0) readonly buffer W { uint wq[]; };      // quants
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer S { uint wscale[]; };  // block scales
layout(push_constant) uniform P { uint n_tokens, cols, rows, row0, y_stride, row_texels, scale_words; } p;

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
        // W tile: BN rows x RPS runs of 8 columns. Rows past the chunk and runs past cols read as 0;
        // the padded columns inside the last block (finite weights) meet x = 0 below.
        for (uint idx = tid; idx < BN * RPS; idx += WG) {
            uint r = idx / RPS, run = idx % RPS;
            uint row = tile_r + r, col = s * BK + run * 8, b = col / LVK_QUANT_COLS;
            vec4 lo = vec4(0.0), hi = vec4(0.0);
            if (row < p.rows && col < p.cols) {
                vec2 sc = lvk_quant_scale(wscale[lvk_quant_scale_word_index(row * p.scale_words, b)], b);
                uint q0 = row * p.row_texels * 4; // first quant word of the row
                if (DTYPE == LVK_Q8) {
                    lo = lvk_q8_word(wq[q0 + col / 4]);
                    hi = lvk_q8_word(wq[q0 + col / 4 + 1]);
                } else {
                    lvk_q4_word(wq[q0 + col / 8], lo, hi);
                }
                lo = lvk_quant_dequant4(lo, sc);
                hi = lvk_quant_dequant4(hi, sc);
            }
            for (uint e = 0; e < 4; e++) {
                ws[(run * 8 + e) * WS + r] = lo[e];
                ws[(run * 8 + 4 + e) * WS + r] = hi[e];
            }
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
