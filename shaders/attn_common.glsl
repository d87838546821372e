// What every attention kernel (attn_f16.comp, attn_lane.glsl, attn_merge.comp) of one op shares: the push constants,
// the position buffer and how the context is cut into chunks. Positions come from the device so that a recorded
// command buffer can be replayed at the next position; only static values are push constants.
//   pos [max_tokens] uint32: row r of the step is at position pos[r]; the op's rows row0 .. row0 + n_tokens - 1 are one
//   sequence's consecutive tokens, so only pos[row0] is read.
// Includers bind pos at POS_BINDING.
layout(std430, binding = POS_BINDING) readonly buffer POS { uint pos[]; };
layout(push_constant) uniform P {
    uint row0;        // first row of q / out (and of pos) this op works on
    uint n_tokens;    // rows of the op
    uint max_seq;     // rows of this op's cache: no key at or past it is ever read
    uint max_splits;  // split paths: the dispatch holds this many chunks; those past n_splits exit at once
    uint min_chunk;   // fewest keys per chunk
    uint chunk_round; // chunks are a multiple of this (the key block on the SPLIT path, 1 on LANE)
} p;

// Position of the op's first token, clamped so that pos0 + t + 1 cannot wrap and keys stay below max_seq.
uint attn_pos0()
{
    return min(pos[p.row0], p.max_seq);
}

// Keys the op's tokens see, together: 0 .. ctx - 1.
uint attn_ctx()
{
    return min(attn_pos0() + p.n_tokens, p.max_seq);
}

// The split paths' chunking of ctx keys: at least min_chunk keys (rounded up to chunk_round), at most max_splits chunks.
// x = chunk, y = n_splits. The same numbers in the partials' writer and the merge: both call this.
uvec2 attn_chunks(uint ctx)
{
    uint chunk = max((ctx + p.max_splits - 1) / p.max_splits, p.min_chunk);
    chunk = (chunk + p.chunk_round - 1) / p.chunk_round * p.chunk_round;
    return uvec2(chunk, (ctx + chunk - 1) / chunk);
}
