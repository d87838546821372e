#version 450
// RMSNorm, reduction by subgroupAdd and one shared slot per subgroup (needs subgroup basic + arithmetic).
// See rmsnorm.glsl.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DTYPE = 0; // the weight's lvk_dtype

shared float partial[gl_WorkGroupSize.x]; // one per subgroup; sized for the smallest possible subgroup

float lvk_block_sum(float v)
{
    v = subgroupAdd(v);
    if (subgroupElect())
        partial[gl_SubgroupID] = v;
    barrier();
    float sum = 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; s++) // the same order in every invocation: the same result
        sum += partial[s];
    return sum;
}

#include "rmsnorm.glsl"
