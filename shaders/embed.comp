#version 450
// Embedding gather for one chunk of the table:
//   out[t, :] = float(table[ids[t], :])   table [vocab, dim] fp32/fp16/bf16 as stored, this binding holds
//   rows [row0, row0 + rows), each row_stride bytes (16-byte aligned); ids [n_tokens] uint32; out [n_tokens, dim] fp32.
// One dispatch per chunk, one workgroup per token looping over the row; a token whose id lies in another chunk
// is left alone (dispatches write disjoint rows).
// An id >= vocab gets a row of zeros, written by the dispatch that has zero_invalid set (the last chunk).
// The copy is bit-exact: values move as bits (fp16 decoded with integer ops) so no device flushes
// denormals or quiets NaNs on the way.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DTYPE = 0; // the table's lvk_dtype
#include "weight_format.glsl"

layout(std430, binding = 0) readonly buffer Table { uvec4 table[]; }; // 16-byte words of the chunk
layout(std430, binding = 1) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 2) writeonly buffer Out { uint out_bits[]; }; // fp32 bits
layout(push_constant) uniform P {
    uint n_tokens, dim, vocab;
    uint row0, rows;      // the rows this chunk holds
    uint words_per_row;   // row_stride / 16
    uint zero_invalid;    // 1: this dispatch writes the zero rows of ids >= vocab
} p;

void main()
{
    uint t = gl_WorkGroupID.x;
    if (t >= p.n_tokens)
        return;
    uint id = ids[t];
    bool invalid = id >= p.vocab;
    if ((invalid && p.zero_invalid == 0u) || (!invalid && (id < p.row0 || id - p.row0 >= p.rows)))
        return; // another dispatch writes this row: leave early, so each chunk costs little for other tokens
    uint per_word = EPB;
    uint base = t * p.dim;
    for (uint q = gl_LocalInvocationID.x; q < p.words_per_row; q += gl_WorkGroupSize.x) {
        uint col0 = q * per_word;
        uvec4 w = invalid ? uvec4(0u) : table[(id - p.row0) * p.words_per_row + q];
        for (uint j = 0u; j < per_word; j++) {
            if (col0 + j >= p.dim)
                break;
            out_bits[base + col0 + j] = lvk_block_bits(w, j);
        }
    }
}
