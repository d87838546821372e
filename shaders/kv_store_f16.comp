#version 450
// KV-cache store: rows row0 .. row0 + n_tokens - 1 of k_src, v_src [max_tokens, row] fp32 (row = n_kv_heads * head_dim)
// -> rows pos[row0] .. pos[row0] + n_tokens - 1 of k_cache, v_cache [max_seq, row] fp16, packed two per uint32
// (packHalf2x16: round to nearest even). The op's rows are one sequence's consecutive tokens, so only pos[row0] is
// read; it comes from the device so that a recorded step can be replayed at the next position. Rows at or past max_seq
// are skipped: whatever the position buffer holds, nothing is written outside the cache.
// One invocation per packed word of one token, for K and V at once.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROW_WORDS = 512; // n_kv_heads * head_dim / 2

layout(std430, binding = 0) readonly buffer KS { vec2 k_src[]; };
layout(std430, binding = 1) readonly buffer VS { vec2 v_src[]; };
layout(std430, binding = 2) writeonly buffer KC { uint k_cache[]; };
layout(std430, binding = 3) writeonly buffer VC { uint v_cache[]; };
layout(std430, binding = 4) readonly buffer POS { uint pos[]; }; // [max_tokens]
layout(push_constant) uniform P { uint row0; uint n_tokens; uint max_seq; } p;

void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (i >= p.n_tokens * ROW_WORDS)
        return;
    uint pos0 = pos[p.row0], j = i / ROW_WORDS;
    if (pos0 >= p.max_seq || j >= p.max_seq - pos0)
        return; // written this way, pos0 + j cannot wrap
    uint src = p.row0 * ROW_WORDS + i, dst = pos0 * ROW_WORDS + i;
    k_cache[dst] = packHalf2x16(k_src[src]);
    v_cache[dst] = packHalf2x16(v_src[src]);
}
