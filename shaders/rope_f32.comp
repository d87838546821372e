#version 450
// RoPE, rotate_half (NeoX/HF) style, in place on x [n_tokens, n_heads, head_dim] fp32.
// One invocation per pair (i, i + head_dim/2) of one head of one token; token t is at position pos[t], read on the
// device so that a recorded step can be replayed at other positions (tokens of several sequences mix freely).
//
// Why the table and the split position: the angle pos * freq_i reaches ~8000 rad, where one fp32 ulp is ~5e-4 rad,
// so a plain fp32 product (or an fp32-rounded freq) loses ~4 digits. We work in turns (angle / 2pi) and only keep the
// fractional part, which is all sin/cos need:
//   pos = ph * 4096 + pl (both < 4096), turns = fract(ph * A) + fract(pl * B) with
//   B = freq_i / 2pi and A = fract(4096 * B), each given by the host (fp64) as hi + lo where hi has 12 significant bits.
// ph * A_hi and pl * B_hi are then exact in fp32 (12 + 12 bits), so their fract is exact; the lo products are < 2^-12 of
// a turn and carry ~2^-36 error. The result is within a few 2^-24 turns of the exact fp64 angle for pos < 2^24.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint N_HEADS = 32;
layout(constant_id = 2) const uint HALF = 64; // head_dim / 2

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer T { vec4 table[]; }; // [HALF] (B_hi, B_lo, A_hi, A_lo)
layout(std430, binding = 2) readonly buffer POS { uint pos[]; };  // [max_tokens]
layout(push_constant) uniform P { uint n_tokens; } p;

const float TWO_PI = 6.28318530717958647692;

// sin and cos of 2pi * r for r in [-0.5, 0.5], to ~1e-7 absolute on any device (the Vulkan spec lets the
// built-in sin/cos be off by 2^-11): reduce to an octant, then Taylor polynomials on [-pi/4, pi/4].
vec2 sincos_turns(float r)
{
    float q = round(r * 4.0);            // quadrant -2..2
    float y = (r - q * 0.25) * TWO_PI;   // [-pi/4, pi/4]; r - q/4 is exact
    float y2 = y * y;
    float s = y * (1.0 + y2 * (-1.0 / 6.0 + y2 * (1.0 / 120.0 + y2 * (-1.0 / 5040.0 + y2 * (1.0 / 362880.0)))));
    float c = 1.0 + y2 * (-0.5 + y2 * (1.0 / 24.0 + y2 * (-1.0 / 720.0 + y2 * (1.0 / 40320.0 + y2 * (-1.0 / 3628800.0)))));
    int k = int(q) & 3;
    if (k == 0)
        return vec2(s, c);
    if (k == 1)
        return vec2(c, -s);
    if (k == 2)
        return vec2(-s, -c);
    return vec2(-c, s);
}

void main()
{
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint i = idx % HALF;
    uint th = idx / HALF; // token * N_HEADS + head
    if (th >= p.n_tokens * N_HEADS)
        return;
    uint at = pos[th / N_HEADS];
    vec4 f = table[i];
    float ph = float(at >> 12), pl = float(at & 4095u);
    precise float turns = fract(ph * f.z) + fract(pl * f.x) + (ph * f.w + pl * f.y);
    turns -= round(turns);
    vec2 sc = sincos_turns(turns);
    uint base = th * 2u * HALF + i;
    float x0 = x[base], x1 = x[base + HALF];
    x[base] = x0 * sc.y - x1 * sc.x;
    x[base + HALF] = x1 * sc.y + x0 * sc.x;
}
