#version 450
// y[t, row0 + r] (+)= sum_c W[r, c] * x[t, c] for one chunk of a q8 or q4 weight (ops/quant_format.h):
// the subgroup path, as matvec_subgroup.comp (made for GPUs). Each subgroup takes one row at a time, its
// lanes consecutive blocks of 32 (wide, coalesced uvec4 loads of quants), NT partial sums each, and
// subgroupAdd reduces them. The block math is matvec_quant_common.glsl's.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS_PER_WG = 4;
layout(constant_id = 2) const uint NT = 1;             // tokens (1..8), one pipeline per count
layout(constant_id = 3) const uint DTYPE = 17;         // LVK_Q8 or LVK_Q4 (lvk_dtype's numbers)
layout(constant_id = 4) const bool X_VEC4 = true;      // x rows are 16-byte aligned (cols % 4 == 0)
layout(constant_id = 5) const bool ACCUMULATE = false; // y += W·x

#include "matvec_quant_common.glsl"

layout(std430, binding = 0) readonly buffer Qbuf { uvec4 q[]; };   // the chunk's quants
layout(std430, binding = 1) readonly buffer Sbuf { uint s[]; };    // the chunk's scales
layout(std430, binding = 2) readonly buffer Xbuf { float x[]; };   // x [NT, cols] fp32
layout(std430, binding = 2) readonly buffer Xbuf4 { vec4 x4[]; };  // the same, as vec4 when X_VEC4
layout(std430, binding = 3) buffer Y { float y[]; };
layout(push_constant) uniform P {
    uint rows;        // rows in this chunk
    uint cols;
    uint row0;        // first row of the chunk in y
    uint y_stride;    // floats between tokens in y (all rows of W)
    uint blocks;      // blocks of 32 per row
    uint full_blocks; // blocks whose 32 columns are all < cols
    uint scale_words; // 32-bit words of scales per row
} p;

const uint QT = DTYPE == LVK_Q8 ? 2u : 1u; // uvec4 of quants per block

// x[t, c] for c < cols, 0 past the end (padded columns hold codes too, and x there is another token's).
float x_at(uint t, uint c)
{
    float v = x[t * p.cols + min(c, p.cols - 1u)];
    return c < p.cols ? v : 0.0;
}

// x[t, c .. c+3]; `full`: c + 3 < cols.
vec4 x4_at(uint t, uint c, bool full)
{
    uint i = t * p.cols + c;
    if (full && X_VEC4)
        return x4[i >> 2];
    if (full)
        return vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
    return vec4(x_at(t, c), x_at(t, c + 1u), x_at(t, c + 2u), x_at(t, c + 3u));
}

// The subgroup's row: where its quants and scales start, and the lane's part of y[t, r] (global, not
// passed: glslang loses arrays sized by specialization constants when they are function arguments).
uint qbase, sbase;
float acc[NT];

// acc[t] += block b of the row times x[t]; `full`: all 32 columns of the block are < cols.
void add_block(uint b, bool full)
{
    vec4 c[8];
    quant_codes(q[qbase + b * QT], QT == 2u ? q[qbase + b * QT + 1u] : uvec4(0u), c);
    vec2 sm = lvk_quant_scale_unsigned(s[lvk_quant_scale_word_index(sbase, b)], b);
    for (uint t = 0; t < NT; t++) {
        vec4 xt[8];
        for (uint k = 0; k < 8u; k++)
            xt[k] = x4_at(t, b * 32u + 4u * k, full);
        float xsum = quant_sum(xt);
        quant_prescale(xt);
        acc[t] = fma(sm.x, quant_codes_dot(c, xt), fma(sm.y, xsum, acc[t]));
    }
}

void main()
{
    uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    for (uint rr = gl_SubgroupID; rr < ROWS_PER_WG; rr += gl_NumSubgroups) {
        uint r = group * ROWS_PER_WG + rr;
        if (r >= p.rows)
            break; // uniform in the subgroup
        qbase = r * p.blocks * QT, sbase = r * p.scale_words;
        for (uint t = 0; t < NT; t++)
            acc[t] = 0.0;
        for (uint b = gl_SubgroupInvocationID; b < p.full_blocks; b += gl_SubgroupSize)
            add_block(b, true);
        // The last block of the row when cols is not a multiple of 32: one lane takes it.
        if (p.full_blocks < p.blocks && gl_SubgroupInvocationID == p.full_blocks % gl_SubgroupSize)
            add_block(p.full_blocks, false);
        for (uint t = 0; t < NT; t++) {
            float sum = subgroupAdd(acc[t]);
            if (subgroupElect()) {
                uint o = t * p.y_stride + p.row0 + r;
                y[o] = ACCUMULATE ? y[o] + sum : sum;
            }
        }
    }
}
