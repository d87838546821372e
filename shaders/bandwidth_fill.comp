#version 450
// data[v] = 4 pattern words (bandwidth_pattern.glsl) over one bound range of [n_vec4] uvec4.
// first_vec4: where the range starts in the whole buffer, so every range gets its own words.
layout(local_size_x = 128) in;
layout(std430, binding = 0) writeonly buffer Data { uvec4 data[]; };
layout(push_constant) uniform P { uint first_vec4, n_vec4; } p;

#include "bandwidth_pattern.glsl"

void main()
{
    uint v = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (v >= p.n_vec4)
        return;
    uint w = (p.first_vec4 + v) * 4u;
    data[v] = uvec4(lvk_bandwidth_word(w), lvk_bandwidth_word(w + 1u), lvk_bandwidth_word(w + 2u),
                    lvk_bandwidth_word(w + 3u));
}
