#version 450
// y[t, row0 + r] (+)= sum_c W[r, c] * x[t, c] for one chunk of W: the subgroup path, made for
// GPUs. Each subgroup takes one row at a time: its lanes read consecutive 16-byte blocks of the
// row (wide, coalesced storage loads), keep NT partial sums (one read of W serves all NT tokens),
// and subgroupAdd reduces them; no shared memory, no barriers. A workgroup serves ROWS_PER_WG
// rows whatever subgroup size the driver picks.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS_PER_WG = 4;
layout(constant_id = 2) const uint NT = 1;             // tokens (1..8), one pipeline per count
layout(constant_id = 3) const uint DTYPE = 0;          // the weight's lvk_dtype
layout(constant_id = 4) const bool X_VEC4 = true;      // x rows are 16-byte aligned (cols % 4 == 0)
layout(constant_id = 5) const bool ACCUMULATE = false; // y += W·x

#include "matvec_common.glsl"

layout(std430, binding = 0) readonly buffer Wbuf { uvec4 w[]; };   // the chunk, row_stride / 16 blocks per row
layout(std430, binding = 1) readonly buffer Xbuf { float x[]; };   // x [NT, cols] fp32
layout(std430, binding = 1) readonly buffer Xbuf4 { vec4 x4[]; };  // the same, as vec4 when X_VEC4
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
    uint rows;        // rows in this chunk
    uint cols;
    uint row0;        // first row of the chunk in y
    uint y_stride;    // floats between tokens in y (all rows of W)
    uint blocks;      // 16-byte blocks per row (row_stride / 16)
    uint full_blocks; // blocks whose EPB columns are all < cols
} p;

// x[t, c] for c < cols, 0 past the end (the weight pad is zero, but x there is another token's).
float x_at(uint t, uint c)
{
    float v = x[t * p.cols + min(c, p.cols - 1u)];
    return c < p.cols ? v : 0.0;
}

// x[t, c .. c+3] with c + 3 < cols.
vec4 x4_at(uint t, uint c)
{
    uint i = t * p.cols + c;
    if (X_VEC4)
        return x4[i >> 2];
    return vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

void main()
{
    uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    for (uint rr = gl_SubgroupID; rr < ROWS_PER_WG; rr += gl_NumSubgroups) {
        uint r = group * ROWS_PER_WG + rr;
        if (r >= p.rows)
            break; // uniform in the subgroup
        uint base = r * p.blocks;
        float acc[NT];
        for (uint t = 0; t < NT; t++)
            acc[t] = 0.0;
        for (uint b = gl_SubgroupInvocationID; b < p.full_blocks; b += gl_SubgroupSize) {
            uvec4 wv = w[base + b];
            for (uint t = 0; t < NT; t++) {
                vec4 xa = x4_at(t, b * EPB);
                vec4 xb = EPB == 8 ? x4_at(t, b * EPB + 4u) : vec4(0.0);
                acc[t] = block_dot(wv, xa, xb, acc[t]);
            }
        }
        // The last block of the row when cols is not a multiple of EPB: one lane takes it.
        if (p.full_blocks < p.blocks && gl_SubgroupInvocationID == p.full_blocks % gl_SubgroupSize) {
            uint b = p.full_blocks, c = b * EPB;
            uvec4 wv = w[base + b];
            for (uint t = 0; t < NT; t++) {
                vec4 xa = vec4(x_at(t, c), x_at(t, c + 1u), x_at(t, c + 2u), x_at(t, c + 3u));
                vec4 xb = vec4(x_at(t, c + 4u), x_at(t, c + 5u), x_at(t, c + 6u), x_at(t, c + 7u));
                acc[t] = block_dot(wv, xa, xb, acc[t]);
            }
        }
        for (uint t = 0; t < NT; t++) {
            float sum = subgroupAdd(acc[t]);
            if (subgroupElect()) {
                uint o = t * p.y_stride + p.row0 + r;
                y[o] = ACCUMULATE ? y[o] + sum : sum;
            }
        }
    }
}
