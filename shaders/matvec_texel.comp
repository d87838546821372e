#version 450
// y[t, row0 + r] (+)= sum_c W[r, c] * x[t, c] for one chunk of W: the texel path, made for CPU
// devices (lavapipe, DESIGN §3.1). There, loads inside loops are scalarized per lane except texel
// fetches, so W and x are read by texel fetches. A workgroup owns ROWS rows; its lanes walk each
// row side by side (lane l reads blocks l, l + WG, ...), so one fetch reads WG * 16 contiguous
// bytes of a row and a workgroup streams through ROWS places in memory only (few streams for the
// CPU's prefetcher). Each lane keeps ROWS × NT partial sums in registers; one shared-memory
// reduction at the end adds the lanes' sums.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 8;          // rows per workgroup
layout(constant_id = 2) const uint NT = 1;            // tokens (1..8), one pipeline per count
layout(constant_id = 3) const uint DTYPE = 0;         // the weight's lvk_dtype
layout(constant_id = 4) const bool X_VEC4 = true;     // X holds vec4 texels (cols % 4 == 0), else one float each
layout(constant_id = 5) const bool ACCUMULATE = false; // y += W·x

#include "matvec_common.glsl"

layout(binding = 0) uniform usamplerBuffer W;   // RGBA32UI: the chunk, row_stride / 16 texels per row
layout(binding = 1) uniform samplerBuffer X;    // x [NT, cols] fp32, RGBA32F or R32F
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P {
    uint rows;        // rows in this chunk
    uint cols;
    uint row0;        // first row of the chunk in y
    uint y_stride;    // floats between tokens in y (all rows of W)
    uint blocks;      // 16-byte blocks per row (row_stride / 16)
    uint full_blocks; // blocks whose EPB columns are all < cols
} p;

shared float partial[ROWS * NT][gl_WorkGroupSize.x];

// x[t, c] for c < cols, 0 past the end (the weight pad is zero, but x there is another token's).
float x_at(uint t, uint c)
{
    uint i = t * p.cols + min(c, p.cols - 1u);
    float v = X_VEC4 ? texelFetch(X, int(i >> 2))[i & 3u] : texelFetch(X, int(i)).x;
    return c < p.cols ? v : 0.0;
}

// x[t, c .. c+3] with c + 3 < cols.
vec4 x4_at(uint t, uint c)
{
    uint i = t * p.cols + c;
    if (X_VEC4)
        return texelFetch(X, int(i >> 2));
    return vec4(texelFetch(X, int(i)).x, texelFetch(X, int(i + 1u)).x, texelFetch(X, int(i + 2u)).x,
                texelFetch(X, int(i + 3u)).x);
}

void main()
{
    const uint WG = gl_WorkGroupSize.x;
    uint lane = gl_LocalInvocationID.x;
    uint r0 = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * ROWS;
    if (r0 >= p.rows)
        return; // the whole workgroup: no barrier is skipped by part of it
    // Rows past the chunk read the last row again (no branch around the loads) and are not written.
    uint base[ROWS];
    for (uint i = 0; i < ROWS; i++)
        base[i] = min(r0 + i, p.rows - 1u) * p.blocks;

    float acc[NT * ROWS];
    for (uint k = 0; k < NT * ROWS; k++)
        acc[k] = 0.0;

    // Lane l reads blocks l, l + WG, ...: one fetch per row reads WG * 16 contiguous bytes.
    for (uint b = lane; b < p.full_blocks; b += WG) {
        vec4 xa[NT], xb[NT];
        for (uint t = 0; t < NT; t++) {
            xa[t] = x4_at(t, b * EPB);
            xb[t] = EPB == 8 ? x4_at(t, b * EPB + 4u) : vec4(0.0);
        }
        for (uint i = 0; i < ROWS; i++) {
            uvec4 wv = texelFetch(W, int(base[i] + b));
            for (uint t = 0; t < NT; t++)
                acc[t * ROWS + i] = block_dot(wv, xa[t], xb[t], acc[t * ROWS + i]);
        }
    }
    // The last block of a row when cols is not a multiple of EPB, by the lane whose turn it is.
    if (p.full_blocks < p.blocks && lane == p.full_blocks % WG) {
        uint b = p.full_blocks, c = b * EPB;
        for (uint t = 0; t < NT; t++) {
            vec4 xa = vec4(x_at(t, c), x_at(t, c + 1u), x_at(t, c + 2u), x_at(t, c + 3u));
            vec4 xb = vec4(x_at(t, c + 4u), x_at(t, c + 5u), x_at(t, c + 6u), x_at(t, c + 7u));
            for (uint i = 0; i < ROWS; i++)
                acc[t * ROWS + i] = block_dot(texelFetch(W, int(base[i] + b)), xa, xb, acc[t * ROWS + i]);
        }
    }

    // Each lane holds a part of every sum: add them up through shared memory, once.
    for (uint k = 0; k < NT * ROWS; k++)
        partial[k][lane] = acc[k];
    barrier();
    for (uint k = lane; k < NT * ROWS; k += WG) {
        uint t = k / ROWS, i = k % ROWS;
        if (r0 + i >= p.rows)
            continue;
        float s = 0.0;
        for (uint j = 0; j < WG; j++)
            s += partial[k][j];
        uint o = t * p.y_stride + p.row0 + r0 + i;
        y[o] = ACCUMULATE ? y[o] + s : s;
    }
}
