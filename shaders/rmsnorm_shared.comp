#version 450
// RMSNorm, reduction through shared memory: needs nothing optional. See rmsnorm.glsl.
layout(local_size_x_id = 0) in; // a power of two
layout(constant_id = 1) const uint DTYPE = 0; // the weight's lvk_dtype

shared float partial[gl_WorkGroupSize.x];

float lvk_block_sum(float v)
{
    uint lane = gl_LocalInvocationID.x;
    partial[lane] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (lane < s)
            partial[lane] += partial[lane + s];
        barrier();
    }
    return partial[0];
}

#include "rmsnorm.glsl"
