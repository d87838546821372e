#version 450
// The read yardstick: sums one bound range of [n_vec4] uvec4 words (mod 2^32). The invocations of a
// workgroup form teams of LANES (the subgroup size); a team walks its own stretch of PER * LANES uvec4,
// lane l reading l, l + LANES, ... side by side (contiguous for a GPU's coalescing and for a CPU's
// prefetcher). Each invocation writes its own partial sum to partials[w*WG + g]: every load reaches
// an output, so no compiler can drop one, and the host checks every partial against its own sums.
// No reduction here: barriers and shared memory would time something other than memory.
layout(local_size_x = 128) in;
const uint PER = 256u; // keep in step with LVK_SUM_PER in src/vk/bandwidth.c

layout(std430, binding = 0) readonly buffer Data { uvec4 data[]; };
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
        a0 += data[base + j * LANES];
        a1 += data[base + (j + 1u) * LANES];
        a2 += data[base + (j + 2u) * LANES];
        a3 += data[base + (j + 3u) * LANES];
    }
    uvec4 acc = (a0 + a1) + (a2 + a3);
    partials[group * gl_WorkGroupSize.x + gl_LocalInvocationID.x] = acc.x + acc.y + acc.z + acc.w;
}
