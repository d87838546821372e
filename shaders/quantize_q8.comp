#version 450
// Quantize rows to q8 (ops/quant_format.h), bit-identical to lvk_ref_quantize (src/ref/quant.c):
//   in     [rows, cols] fp32/fp16/bf16 packed rows, read through 32-bit words
//   quants [rows, nb * 32] int8          scales [rows, swords] uint32 (two fp16 block scales each)
//   flags  [1] uint: |= 1 on NaN/Inf input, |= 2 on a block scale too large for fp16 (the output is then invalid)
// One invocation per 32-bit word of scales: two blocks (the second may be row padding: scale 0, no quants).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint IN_DTYPE = 0u; // lvk_dtype: fp16

layout(std430, binding = 0) readonly buffer In { uint in_words[]; };
layout(std430, binding = 1) writeonly buffer Q { uint quants[]; };
layout(std430, binding = 2) writeonly buffer S { uint scales[]; };
layout(std430, binding = 3) buffer F { uint flags[]; };
layout(push_constant) uniform P {
    uint rows, cols;
    uint nb;     // blocks per row
    uint swords; // 32-bit words per row of scales (16-byte aligned rows)
} p;

#include "quant_common.glsl"

// Returns the block's fp16 scale bits; writes its 8 words of quants.
uint q8_block(float x[32], uint qword0)
{
    precise float amax = 0.0;
    for (int j = 0; j < 32; j++) {
        precise float a = x[j] < 0.0 ? -x[j] : x[j];
        amax = a > amax ? a : amax;
    }
    precise float d32 = amax * uintBitsToFloat(0x3c010204u); // 1/127
    uint d = quant_f32_to_f16(d32);
    if (!quant_f16_finite(d))
        atomicOr(flags[0], FLAG_RANGE);
    precise float dv = quant_f16_value(d);
    precise float inv = dv > 0.0 ? quant_recip(dv) : 0.0;
    for (uint w = 0u; w < 8u; w++) {
        uint word = 0u;
        for (uint k = 0u; k < 4u; k++) {
            precise float t = x[4u * w + k] * inv;
            float q = quant_clamp(quant_round_half_up(t), -127.0, 127.0);
            word |= (uint(int(q)) & 0xffu) << (8u * k);
        }
        quants[qword0 + w] = word;
    }
    return d;
}

void main()
{
    uint gid = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (gid >= p.rows * p.swords)
        return;
    uint row = gid / p.swords, w = gid % p.swords;
    uint bits = 0u;
    for (uint k = 0u; k < 2u; k++) {
        uint b = 2u * w + k;
        if (b >= p.nb)
            break;
        float x[32];
        quant_load_block(row, p.cols, b * 32u, x);
        bits |= q8_block(x, (row * p.nb + b) * 8u) << (16u * k);
    }
    scales[gid] = bits;
}
