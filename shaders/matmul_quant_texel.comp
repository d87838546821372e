#version 450
// Y[t, row0 + r] (+)= sum_c W[r, c] * X[t, c] for a q8 or q4 weight (ops/quant_format.h) — matmul_texel.comp
// for the quantized layouts, for CPU drivers (lavapipe, DESIGN §3.1).
//   W: one weight chunk: its quants as an RGBA32UI texel buffer (rows row_texels texels apart) and its block
//      scales as an R32UI one (rows scale_words words apart)
//   X: [n_tokens, cols] fp32    Y: [n_tokens, y_stride] fp32
// The same scheme as matmul_texel.comp (no shared memory; a TM tokens x TN rows register tile per
// invocation; W, and X when cols % 4 == 0, by texel fetches; reads clamped, writes skipped), walking W
// block by block: one scale fetch per row and block, then its texels of quants (q8: 2, q4: 1), each
// weight dequantized once to the exact fp32 value of lvk_ref_dequantize and used for all TM tokens.
// The zero-padded columns of the last block carry weights (a q4 zero is m + s*L, rarely 0), but X reads
// as 0 there, so they add nothing. fp32 accumulation.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DTYPE = 16;        // LVK_Q8 or LVK_Q4
#include "quant_block.glsl"
layout(constant_id = 2) const uint TM = 8;            // tokens per invocation
layout(constant_id = 3) const uint TN = 4;            // rows per invocation
layout(constant_id = 4) const bool ACCUMULATE = false;
layout(constant_id = 5) const bool X_TEXEL = false;   // cols % 4 == 0: X is also read by texel fetches

const uint TPB = DTYPE == LVK_Q8 ? 2u : 1u;           // texels of quants per block of 32
const uint QPT = 8u / TPB;                            // quads (4 columns) per texel

layout(binding = 0) uniform utextureBuffer wq;        // quants
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(binding = 3) uniform utextureBuffer xt;        // X as RGBA32UI (a stand-in view when !X_TEXEL)
layout(binding = 4) uniform utextureBuffer wscale;    // block scales, R32UI
layout(push_constant) uniform P { uint n_tokens, cols, rows, row0, y_stride, row_texels, scale_words; } p;

uint qbase[TN], sbase[TN], xbase[TM]; // first texel / scale word of each row, first X value of each token
float acc[TM * TN];

// Four X values from column col (a multiple of 4) of token row base (= token * cols).
vec4 load_x4(uint base, uint col)
{
    if (X_TEXEL)
        return uintBitsToFloat(texelFetch(xt, int((base + col) / 4)));
    return vec4(x[base + col], x[base + col + 1], x[base + col + 2], x[base + col + 3]);
}

// The same, for the last block: columns at or past cols read as 0.
vec4 load_x4_tail(uint base, uint col)
{
    vec4 v;
    for (uint e = 0; e < 4; e++)
        v[e] = col + e < p.cols ? x[base + col + e] : 0.0;
    return v;
}

// acc += the products of block b (columns 32b .. 32b + 31); tail: the block runs past cols.
void add_block(uint b, bool tail)
{
    vec2 sc[TN];
    for (uint j = 0; j < TN; j++)
        sc[j] = lvk_quant_scale(texelFetch(wscale, int(lvk_quant_scale_word_index(sbase[j], b))).x, b);
    for (uint t = 0; t < TPB; t++) {
        uvec4 u[TN];
        for (uint j = 0; j < TN; j++)
            u[j] = texelFetch(wq, int(qbase[j] + b * TPB + t));
        // One quad at a time keeps few values live (CPU registers are few).
        for (uint k = 0; k < QPT; k++) {
            const uint col = b * LVK_QUANT_COLS + (t * QPT + k) * 4;
            vec4 wv[TN];
            for (uint j = 0; j < TN; j++)
                wv[j] = lvk_quant_dequant4(lvk_quant_codes4(u[j], k), sc[j]);
            for (uint i = 0; i < TM; i++) {
                vec4 xv = tail ? load_x4_tail(xbase[i], col) : load_x4(xbase[i], col);
                for (uint j = 0; j < TN; j++)
                    acc[i * TN + j] += dot(wv[j], xv);
            }
        }
    }
}

void main()
{
    const uint r0 = gl_GlobalInvocationID.x * TN, t0 = gl_WorkGroupID.y * TM;
    for (uint j = 0; j < TN; j++) {
        qbase[j] = min(r0 + j, p.rows - 1) * p.row_texels;
        sbase[j] = min(r0 + j, p.rows - 1) * p.scale_words;
    }
    for (uint i = 0; i < TM; i++)
        xbase[i] = min(t0 + i, p.n_tokens - 1) * p.cols;
    for (uint i = 0; i < TM * TN; i++)
        acc[i] = 0.0;

    const uint n_full = p.cols / LVK_QUANT_COLS;
    for (uint b = 0; b < n_full; b++)
        add_block(b, false);
    if (n_full * LVK_QUANT_COLS < p.cols)
        add_block(n_full, true);

    for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++)
            if (t0 + i < p.n_tokens && r0 + j < p.rows) {
                uint o = (t0 + i) * p.y_stride + p.row0 + r0 + j;
                y[o] = ACCUMULATE ? y[o] + acc[i * TN + j] : acc[i * TN + j];
            }
}
