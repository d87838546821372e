#version 450
// y[t, row0 + r] (+)= sum_c W[r, c] * x[t, c] for one chunk of a q8 or q4 weight (ops/quant_format.h):
// the texel path, as matvec_texel.comp (made for CPU devices, where loads inside loops are scalarized per
// lane except texel fetches). A workgroup owns ROWS rows; lane l walks groups of 4 blocks l, l + WG, ...
// of them (one RGBA32UI fetch of scales per group and row). Per block and token, x is fetched, prescaled and summed
// once for all ROWS rows (matvec_quant_common.glsl); per row, the block's codes are decoded once for all
// NT tokens. Each lane keeps ROWS × NT partial sums; one shared-memory reduction at the end.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 8;          // rows per workgroup
layout(constant_id = 2) const uint NT = 1;            // tokens (1..8), one pipeline per count
layout(constant_id = 3) const uint DTYPE = 17;        // LVK_Q8 or LVK_Q4 (lvk_dtype's numbers)
layout(constant_id = 4) const bool X_VEC4 = true;     // X holds vec4 texels (cols % 4 == 0), else one float each
layout(constant_id = 5) const bool ACCUMULATE = false; // y += W·x

#include "matvec_quant_common.glsl"

layout(binding = 0) uniform usamplerBuffer Q;   // RGBA32UI: the chunk's quants, blocks (q8: 2 *) texels per row
layout(binding = 1) uniform usamplerBuffer S;   // RGBA32UI: the chunk's scales, scale_words / 4 texels per row
layout(binding = 2) uniform samplerBuffer X;    // x [NT, cols] fp32, RGBA32F or R32F
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

const uint QT = DTYPE == LVK_Q8 ? 2u : 1u; // quant texels per block

shared float partial[ROWS * NT][gl_WorkGroupSize.x];

// x[t, c] for c < cols, 0 past the end (padded columns hold codes too, and x there is another token's).
float x_at(uint t, uint c)
{
    uint i = t * p.cols + min(c, p.cols - 1u);
    float v = X_VEC4 ? texelFetch(X, int(i >> 2))[i & 3u] : texelFetch(X, int(i)).x;
    return c < p.cols ? v : 0.0;
}

// x[t, c .. c+3]; `full`: c + 3 < cols.
vec4 x4_at(uint t, uint c, bool full)
{
    uint i = t * p.cols + c;
    if (full && X_VEC4)
        return texelFetch(X, int(i >> 2));
    if (full)
        return vec4(texelFetch(X, int(i)).x, texelFetch(X, int(i + 1u)).x, texelFetch(X, int(i + 2u)).x,
                    texelFetch(X, int(i + 3u)).x);
    return vec4(x_at(t, c), x_at(t, c + 1u), x_at(t, c + 2u), x_at(t, c + 3u));
}

// The lane's state, global rather than passed: glslang loses arrays sized by specialization constants
// when they are function arguments.
uint qbase[ROWS], sbase[ROWS]; // where row i's quants and scales (in texels of 4 words) start
float acc[NT * ROWS];          // the lane's part of y[t, r0 + i] at t * ROWS + i
uint sword[ROWS];              // row i's scale word of the block add_block works on

// acc[t * ROWS + i] += block b of row i times x[t]; `full`: all 32 columns of the block are < cols.
void add_block(uint b, bool full)
{
    vec4 xs[NT * 8];
    float xsum[NT];
    for (uint t = 0; t < NT; t++) {
        vec4 xt[8];
        for (uint k = 0; k < 8u; k++)
            xt[k] = x4_at(t, b * 32u + 4u * k, full);
        xsum[t] = quant_sum(xt);
        quant_prescale(xt);
        for (uint k = 0; k < 8u; k++)
            xs[t * 8u + k] = xt[k];
    }
    for (uint i = 0; i < ROWS; i++) {
        uvec4 qa = texelFetch(Q, int(qbase[i] + b * QT));
        uvec4 qb = QT == 2u ? texelFetch(Q, int(qbase[i] + b * QT + 1u)) : uvec4(0u);
        vec2 sm = lvk_quant_scale_unsigned(sword[i], b);
        vec4 c[8];
        quant_codes(qa, qb, c);
        for (uint t = 0; t < NT; t++) {
            vec4 xt[8];
            for (uint k = 0; k < 8u; k++)
                xt[k] = xs[t * 8u + k];
            float d = quant_codes_dot(c, xt);
            acc[t * ROWS + i] = fma(sm.x, d, fma(sm.y, xsum[t], acc[t * ROWS + i]));
        }
    }
}

void main()
{
    const uint WG = gl_WorkGroupSize.x;
    uint lane = gl_LocalInvocationID.x;
    uint r0 = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * ROWS;
    if (r0 >= p.rows)
        return; // the whole workgroup: no barrier is skipped by part of it
    // Rows past the chunk read the last row again (no branch around the loads) and are not written.
    for (uint i = 0; i < ROWS; i++) {
        uint r = min(r0 + i, p.rows - 1u);
        qbase[i] = r * p.blocks * QT;
        sbase[i] = r * (p.scale_words / 4u);
    }

    for (uint k = 0; k < NT * ROWS; k++)
        acc[k] = 0.0;

    // Lane l takes the 4 blocks of group l, then l + WG, ...: per row, one fetch of scales serves the
    // group (4 words: q4's 4 blocks, or half of them: q8's 8), and WG lanes read 4 * WG consecutive blocks.
    uint groups = p.full_blocks / 4u;
    for (uint g = lane; g < groups; g += WG) {
        uvec4 st[ROWS];
        for (uint i = 0; i < ROWS; i++)
            st[i] = texelFetch(S, int(sbase[i] + (DTYPE == LVK_Q8 ? g >> 1 : g)));
        for (uint k = 0; k < 4u; k++) {
            for (uint i = 0; i < ROWS; i++)
                sword[i] = DTYPE == LVK_Q8 ? st[i][((g & 1u) << 1) + (k >> 1)] : st[i][k];
            add_block(4u * g + k, true);
        }
    }
    // The blocks after the last whole group (at most 3 whole ones and the one cols ends in), a lane each.
    for (uint b = 4u * groups + lane; b < p.blocks; b += WG) {
        for (uint i = 0; i < ROWS; i++) {
            uint wi = lvk_quant_scale_word_index(4u * sbase[i], b);
            sword[i] = texelFetch(S, int(wi >> 2))[wi & 3u];
        }
        add_block(b, b < p.full_blocks);
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
