#version 450
// KV-cache store: k_src, v_src [n_tokens, row] fp32 (row = n_kv_heads * head_dim) -> rows pos0 .. pos0 + n_tokens - 1
// of k_cache, v_cache [max_seq, row] fp16, packed two per uint32 (packHalf2x16: round to nearest even).
// One invocation per packed word of one token, for K and V at once.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROW_WORDS = 512; // n_kv_heads * head_dim / 2

layout(std430, binding = 0) readonly buffer KS { vec2 k_src[]; };
layout(std430, binding = 1) readonly buffer VS { vec2 v_src[]; };
layout(std430, binding = 2) writeonly buffer KC { uint k_cache[]; };
layout(std430, binding = 3) writeonly buffer VC { uint v_cache[]; };
layout(push_constant) uniform P { uint n_tokens; uint pos0; } p;

void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (i >= p.n_tokens * ROW_WORDS)
        return;
    uint dst = p.pos0 * ROW_WORDS + i;
    k_cache[dst] = packHalf2x16(k_src[i]);
    v_cache[dst] = packHalf2x16(v_src[i]);
}
