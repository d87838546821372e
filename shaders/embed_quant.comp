#version 450
// Embedding gather for one chunk of a q8 or q4 table (ops/quant_format.h):
//   out[t, :] = dequantized table[ids[t], :], exactly lvk_ref_dequantize's fp32 values
//   table: this binding's quants, rows [row0, row0 + rows), each words_per_row 16-byte words; scales: their
//   block scales, scale_words 32-bit words per row; ids [n_tokens] uint32; out [n_tokens, dim] fp32.
// As embed.comp: one dispatch per chunk, one workgroup per token, a token whose id lies in another chunk is
// left alone, and an id >= vocab gets a row of zeros from the dispatch with zero_invalid set (the last).
// Lane l writes quads (4 columns) l, l + WG, ...: neighbouring lanes write neighbouring memory.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DTYPE = 16; // LVK_Q8 or LVK_Q4
#include "quant_block.glsl"

const uint TPB = DTYPE == LVK_Q8 ? 2u : 1u;    // 16-byte words of quants per block of 32
const uint QPT = 8u / TPB;                     // quads per word

layout(std430, binding = 0) readonly buffer Table { uvec4 table[]; };
layout(std430, binding = 1) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(std430, binding = 3) readonly buffer Scales { uint scales[]; };
layout(push_constant) uniform P {
    uint n_tokens, dim, vocab;
    uint row0, rows;      // the rows this chunk holds
    uint words_per_row;   // row_stride / 16
    uint zero_invalid;    // 1: this dispatch writes the zero rows of ids >= vocab
    uint scale_words;     // scale_stride / 4
} p;

void main()
{
    uint t = gl_WorkGroupID.x;
    if (t >= p.n_tokens)
        return;
    uint id = ids[t];
    bool invalid = id >= p.vocab;
    if ((invalid && p.zero_invalid == 0u) || (!invalid && (id < p.row0 || id - p.row0 >= p.rows)))
        return; // another dispatch writes this row
    uint row = invalid ? 0u : id - p.row0;
    uint base = t * p.dim;
    uint n_quads = (p.dim + 3u) / 4u;
    for (uint qd = gl_LocalInvocationID.x; qd < n_quads; qd += gl_WorkGroupSize.x) {
        uint b = qd / 8u, k = qd % 8u; // block, and quad within it
        vec4 v = vec4(0.0);
        if (!invalid) {
            vec2 sc = lvk_quant_scale(scales[lvk_quant_scale_word_index(row * p.scale_words, b)], b);
            uvec4 u = table[row * p.words_per_row + b * TPB + k / QPT];
            v = lvk_quant_dequant4(lvk_quant_codes4(u, k % QPT), sc);
        }
        uint col = qd * 4u;
        for (uint e = 0u; e < 4u; e++)
            if (col + e < p.dim)
                outv[base + col + e] = v[e];
    }
}
