#version 450
// out[i] = silu(gate[i]) * up[i] over [n_tokens * width] fp32, silu(a) = a / (1 + exp(-a)) = a * sigmoid(a).
// sigmoid is computed so that exp only ever sees a non-positive argument: no overflow for any |a|.
// out may alias gate (element-wise).
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, binding = 1) readonly buffer Up { float up[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform P { uint n; } p;

float sigmoid(float a)
{
    float e = exp(-abs(a)); // in (0, 1]
    return a >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (i < p.n) {
        float a = gate[i];
        outv[i] = a * sigmoid(a) * up[i];
    }
}
