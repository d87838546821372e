#version 450
// Quantize rows to q4 (ops/quant_format.h), bit-identical to lvk_ref_quantize (src/ref/quant.c) with search:
//   in     [rows, cols] fp32/fp16/bf16 packed rows, read through 32-bit words
//   quants [rows, nb * 4] uint32 (8 codes each)    params [rows, swords] uint32: fp16 scale | fp16 offset << 16
//   flags  [1] uint: |= 1 on NaN/Inf input, |= 2 on a block too large for fp16 scales (the output is then invalid)
// One invocation per word of params: one block (or row padding past nb: a zero word, no quants).
// Each block tries the min/max fit and STEPS + 1 least-squares refits (llama.cpp's make_qkx2_quants), keeping
// the smallest squared error after fp16 rounding.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint IN_DTYPE = 0u; // lvk_dtype: fp16
layout(constant_id = 2) const int STEPS = 20;

layout(std430, binding = 0) readonly buffer In { uint in_words[]; };
layout(std430, binding = 1) writeonly buffer Q { uint quants[]; };
layout(std430, binding = 2) writeonly buffer S { uint params[]; };
layout(std430, binding = 3) buffer F { uint flags[]; };
layout(push_constant) uniform P {
    uint rows, cols;
    uint nb;
    uint swords;
} p;

#include "quant_common.glsl"

// Codes of x for w = m + s * L, and their squared error summed in order.
float q4_assign(float x[32], float s, float m, out uint L[32])
{
    precise float inv = s > 0.0 ? quant_recip(s) : 0.0;
    precise float sse = 0.0;
    for (int j = 0; j < 32; j++) {
        precise float t = (x[j] - m) * inv;
        L[j] = uint(quant_clamp(quant_round_half_up(t), 0.0, 15.0));
        precise float v = s * float(L[j]);
        precise float w = m + v;
        precise float dlt = w - x[j];
        precise float sq = dlt * dlt;
        sse = sse + sq;
    }
    return sse;
}

void main()
{
    uint gid = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (gid >= p.rows * p.swords)
        return;
    uint row = gid / p.swords, b = gid % p.swords;
    if (b >= p.nb) {
        params[gid] = 0u;
        return;
    }
    float x[32];
    quant_load_block(row, p.cols, b * 32u, x);
    precise float mn = x[0], mx = x[0];
    for (int j = 1; j < 32; j++) {
        mn = x[j] < mn ? x[j] : mn;
        mx = x[j] > mx ? x[j] : mx;
    }
    precise float range = mx - mn;
    precise float s32 = range * uintBitsToFloat(0x3d888889u); // 1/15
    uint s16 = quant_f32_to_f16(s32), m16 = quant_f32_to_f16(mn);
    if (!quant_f16_finite(s16) || !quant_f16_finite(m16)) {
        atomicOr(flags[0], FLAG_RANGE);
        s16 = 0u;
    }
    uint L[32], cand[32];
    precise float best = q4_assign(x, quant_f16_value(s16), quant_f16_value(m16), L);
    if (s16 != 0u) {
        precise float irange = quant_recip(range);
        for (int is = 0; is <= STEPS; is++) {
            precise float step = float(is) * uintBitsToFloat(0x3dcccccdu); // 0.1
            precise float iscale = (14.0 + step) * irange;
            precise float sum_l = 0.0, sum_l2 = 0.0, sum_x = 0.0, sum_xl = 0.0;
            for (int j = 0; j < 32; j++) {
                precise float t = (x[j] - mn) * iscale;
                precise float l = quant_clamp(quant_round_half_up(t), 0.0, 15.0);
                sum_l = sum_l + l;
                precise float l2 = l * l;
                sum_l2 = sum_l2 + l2;
                sum_x = sum_x + x[j];
                precise float xl = x[j] * l;
                sum_xl = sum_xl + xl;
            }
            precise float d_a = 32.0 * sum_l2, d_b = sum_l * sum_l;
            precise float D = d_a - d_b;
            if (!(D > 0.0))
                continue;
            precise float rd = quant_recip(D);
            precise float ns_a = 32.0 * sum_xl, ns_b = sum_x * sum_l;
            precise float nm_a = sum_l2 * sum_x, nm_b = sum_l * sum_xl;
            precise float s = (ns_a - ns_b) * rd;
            precise float m = (nm_a - nm_b) * rd;
            if (!(s > 0.0))
                continue;
            uint cs = quant_f32_to_f16(s), cm = quant_f32_to_f16(m);
            if (!quant_f16_finite(cs) || !quant_f16_finite(cm) || cs == 0u)
                continue;
            precise float e = q4_assign(x, quant_f16_value(cs), quant_f16_value(cm), cand);
            if (e < best) {
                best = e;
                s16 = cs;
                m16 = cm;
                L = cand;
            }
        }
    }
    uint q0 = (row * p.nb + b) * 4u;
    for (uint w = 0u; w < 4u; w++) {
        uint word = 0u;
        for (uint k = 0u; k < 8u; k++)
            word |= L[8u * w + k] << (4u * k);
        quants[q0 + w] = word;
    }
    params[gid] = s16 | (m16 << 16);
}
