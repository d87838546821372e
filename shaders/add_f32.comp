#version 450
// out[i] = a[i] + b[i]  [n] fp32. The reference kernel of the harness: trivially right, so a failure
// here points at the runtime (buffers, descriptors, dispatch), not at the math.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform P { uint n; } p;

void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (i < p.n)
        c[i] = a[i] + b[i];
}
