#version 450
#extension GL_GOOGLE_include_directive : require
// Flash-decoding merge: the n_splits partials (m, l, acc[HEAD_DIM]) of one (token, head), written by attn_f16.comp with
// SPLIT = 1, become out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s with M = max_s m_s. A split that saw no
// key of its token has m = -1e30, l = 0, acc = 0 and weighs exp(-1e30 - M) = 0. One workgroup per (head, token) of the
// op; n_splits comes from the position as in the writer (attn_common.glsl), the output goes to row row0 + token.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint HEAD_DIM = 128;
layout(constant_id = 2) const uint N_HEADS = 32;

layout(std430, binding = 0) readonly buffer PART { vec2 part[]; };
layout(std430, binding = 1) writeonly buffer O { vec2 o[]; };
#define POS_BINDING 2
#include "attn_common.glsl"

const uint HALF = HEAD_DIM / 2;

void main()
{
    uint h = gl_WorkGroupID.x, tok = gl_WorkGroupID.y;
    uint n_splits = attn_chunks(attn_ctx()).y;
    uint base = (tok * N_HEADS + h) * n_splits * (HALF + 1);
    float m = -1.0e30;
    for (uint s = 0; s < n_splits; s++)
        m = max(m, part[base + s * (HALF + 1)].x);
    float l = 0.0;
    for (uint s = 0; s < n_splits; s++) {
        vec2 ml = part[base + s * (HALF + 1)];
        l += exp(ml.x - m) * ml.y;
    }
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    for (uint w = gl_LocalInvocationID.x; w < HALF; w += WG) {
        vec2 acc = vec2(0.0);
        for (uint s = 0; s < n_splits; s++) {
            uint b = base + s * (HALF + 1);
            acc += exp(part[b].x - m) * part[b + 1 + w];
        }
        o[((p.row0 + tok) * N_HEADS + h) * HALF + w] = acc * inv;
    }
}
