// RMSNorm body shared by the variants; the including file defines `float lvk_block_sum(float)`,
// which returns the sum of v over the workgroup to every invocation.
//   out[t, i] = x[t, i] / sqrt(mean_i(x[t, i]^2) + eps) * w[i]   x, out [n_tokens, dim] fp32, w [dim] fp32/fp16/bf16.
// One workgroup per token. out may alias x: every invocation reads x[t, i] for its own i again after the
// reduction and writes only those, so no invocation reads a value another has overwritten.
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w_words[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform P { uint n_tokens, dim; float eps; } p;

#include "weight_format.glsl"

void main()
{
    uint t = gl_WorkGroupID.x;
    if (t >= p.n_tokens)
        return; // the whole workgroup leaves together
    uint base = t * p.dim;
    uint lane = gl_LocalInvocationID.x;
    float sum_sq = 0.0;
    for (uint i = lane; i < p.dim; i += gl_WorkGroupSize.x) {
        float v = x[base + i];
        sum_sq += v * v;
    }
    sum_sq = lvk_block_sum(sum_sq);
    float scale = inversesqrt(sum_sq / float(p.dim) + p.eps);
    for (uint i = lane; i < p.dim; i += gl_WorkGroupSize.x)
        outv[base + i] = (x[base + i] * scale) * lvk_elem_in_word(w_words[lvk_word_of(i)], i);
}
