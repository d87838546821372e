#version 450
// Argmax over logits [n] fp32 in two dispatches (spec constant PASS):
//   pass 0: invocation g of workgroup w scans elements w*WG*PER + g + WG*j (j < PER; strided so neighbouring
//           lanes read neighbouring words) and writes its best to partials[w*WG + g]. No reduction here.
//   pass 1: one workgroup: each invocation scans partials strided, then a shared-memory reduction of WG entries.
// Result: out = {index, value}; ranking in rank.glsl.
layout(local_size_x_id = 0) in; // a power of two
layout(constant_id = 1) const uint PASS = 0;
layout(constant_id = 2) const uint PER = 32;

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) buffer Partials { uvec2 partials[]; }; // {index, float bits}
layout(std430, binding = 2) writeonly buffer Out { uint out_index; float out_value; };
layout(push_constant) uniform P { uint n, n_partials; } p;

#include "rank.glsl"

shared float red_v[gl_WorkGroupSize.x];
shared uint red_i[gl_WorkGroupSize.x];

void main()
{
    uint lane = gl_LocalInvocationID.x;
    float best_v = lvk_nan();
    uint best_i = LVK_NO_INDEX;
    if (PASS == 0u) {
        uint base = gl_WorkGroupID.x * gl_WorkGroupSize.x * PER + lane;
        for (uint j = 0u; j < PER; j++) {
            uint e = base + j * gl_WorkGroupSize.x;
            if (e < p.n && lvk_better(logits[e], e, best_v, best_i)) {
                best_v = logits[e];
                best_i = e;
            }
        }
        partials[gl_GlobalInvocationID.x] = uvec2(best_i, floatBitsToUint(best_v));
        return;
    }
    for (uint e = lane; e < p.n_partials; e += gl_WorkGroupSize.x) {
        uvec2 c = partials[e];
        if (lvk_better(uintBitsToFloat(c.y), c.x, best_v, best_i)) {
            best_v = uintBitsToFloat(c.y);
            best_i = c.x;
        }
    }
    red_v[lane] = best_v;
    red_i[lane] = best_i;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (lane < s && lvk_better(red_v[lane + s], red_i[lane + s], red_v[lane], red_i[lane])) {
            red_v[lane] = red_v[lane + s];
            red_i[lane] = red_i[lane + s];
        }
        barrier();
    }
    if (lane == 0u) {
        out_index = red_i[0];
        out_value = red_v[0];
    }
}
