#version 450
// bandwidth_sum.comp through texel fetches: the read path of CPU devices (lavapipe, DESIGN §3.1),
// where storage-buffer loads in loops are scalarized per lane and texel fetches are not (on the
// 2-vCPU lavapipe machine, alternating runs on a busy machine: 3.0-3.7 GB/s against 1.6-2.4 GB/s).
layout(local_size_x = 128) in;
const uint PER = 256u; // keep in step with LVK_SUM_PER in src/vk/bandwidth.c

layout(binding = 0) uniform usamplerBuffer data; // RGBA32UI
layout(std430, binding = 1) writeonly buffer Partials { uint partials[]; };
layout(constant_id = 0) const uint LANES = 8u; // the subgroup size: a subgroup walks one stretch
layout(push_constant) uniform P { uint n_vec4; } p;

void main()
{
    uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    uint lane = gl_LocalInvocationID.x % LANES, team = gl_LocalInvocationID.x / LANES;
    uint base = (group * gl_WorkGroupSize.x + team * LANES) * PER + lane;
    if (base >= p.n_vec4)
        return;
    // Four sums in flight: one chain of adds would wait on each load in turn.
    uvec4 a0 = uvec4(0u), a1 = a0, a2 = a0, a3 = a0;
    for (uint j = 0u; j < PER; j += 4u) {
        a0 += texelFetch(data, int(base + j * LANES));
        a1 += texelFetch(data, int(base + (j + 1u) * LANES));
        a2 += texelFetch(data, int(base + (j + 2u) * LANES));
        a3 += texelFetch(data, int(base + (j + 3u) * LANES));
    }
    uvec4 acc = (a0 + a1) + (a2 + a3);
    partials[group * gl_WorkGroupSize.x + gl_LocalInvocationID.x] = acc.x + acc.y + acc.z + acc.w;
}
