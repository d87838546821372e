#version 450
// y[r] = sum_c W[r, c] * x[c] for a q8 weight (ops/quant_format.h), one token: the texel path, as in
// matvec_texel.comp (made for CPU devices, where only texel fetches stay vector loads inside loops).
// A workgroup owns ROWS rows; lane l walks blocks l, l + WG, ... of each row: two 16-byte fetches of quants and
// one 32-bit fetch of scales per block. Per block, sum q_j * x_j in fp32, then acc += d * that sum.
// Padded columns hold quant 0 and x there reads as 0, so they add nothing.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const bool X_VEC4 = true; // X holds vec4 texels (cols % 4 == 0), else one float each

layout(binding = 0) uniform usamplerBuffer Q; // RGBA32UI: [rows, nb * 2] texels of 16 int8
layout(binding = 1) uniform usamplerBuffer S; // R32UI: [rows, swords], two fp16 scales per word
layout(binding = 2) uniform samplerBuffer X;  // x [cols] fp32
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P {
    uint rows, cols;
    uint nb;          // blocks per row
    uint swords;      // scale words per row
    uint full_blocks; // blocks whose 32 columns are all < cols
} p;

shared float partial[ROWS][gl_WorkGroupSize.x];

float x_at(uint c)
{
    uint i = min(c, p.cols - 1u);
    float v = X_VEC4 ? texelFetch(X, int(i >> 2))[i & 3u] : texelFetch(X, int(i)).x;
    return c < p.cols ? v : 0.0;
}

vec4 x4_at(uint c, bool full)
{
    if (full && X_VEC4)
        return texelFetch(X, int(c >> 2));
    return vec4(x_at(c), x_at(c + 1u), x_at(c + 2u), x_at(c + 3u));
}

// acc + dot of the 4 int8 in word w with xv. Shifts sign-extend all four at once (cheaper than four
// bitfieldExtracts on CPU drivers).
float dot4(uint w, vec4 xv, float acc)
{
    vec4 q = vec4(ivec4(uvec4(w) << uvec4(24u, 16u, 8u, 0u)) >> 24);
    return acc + dot(q, xv);
}

void main()
{
    const uint WG = gl_WorkGroupSize.x;
    uint lane = gl_LocalInvocationID.x;
    uint r0 = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * ROWS;
    if (r0 >= p.rows)
        return; // the whole workgroup
    float acc[ROWS];
    for (uint i = 0; i < ROWS; i++)
        acc[i] = 0.0;
    for (uint b = lane; b < p.nb; b += WG) {
        bool full = b < p.full_blocks;
        vec4 xv[8];
        for (uint k = 0; k < 8u; k++)
            xv[k] = x4_at(b * 32u + 4u * k, full);
        for (uint i = 0; i < ROWS; i++) {
            uint r = min(r0 + i, p.rows - 1u); // rows past the end read the last row, and are not written
            uvec4 lo = texelFetch(Q, int((r * p.nb + b) * 2u));
            uvec4 hi = texelFetch(Q, int((r * p.nb + b) * 2u + 1u));
            uint sw = texelFetch(S, int(r * p.swords + (b >> 1))).x;
            float d = unpackHalf2x16((b & 1u) != 0u ? sw >> 16 : sw & 0xffffu).x;
            float s = 0.0;
            s = dot4(lo.x, xv[0], s);
            s = dot4(lo.y, xv[1], s);
            s = dot4(lo.z, xv[2], s);
            s = dot4(lo.w, xv[3], s);
            s = dot4(hi.x, xv[4], s);
            s = dot4(hi.y, xv[5], s);
            s = dot4(hi.z, xv[6], s);
            s = dot4(hi.w, xv[7], s);
            acc[i] = fma(d, s, acc[i]);
        }
    }
    for (uint i = 0; i < ROWS; i++)
        partial[i][lane] = acc[i];
    barrier();
    for (uint i = lane; i < ROWS; i += WG) {
        if (r0 + i >= p.rows)
            continue;
        float s = 0.0;
        for (uint j = 0; j < WG; j++)
            s += partial[i][j];
        y[r0 + i] = s;
    }
}
