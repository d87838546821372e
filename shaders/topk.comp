#version 450
// Top-k over logits [n] fp32, k <= 256, sorted best first; ranking in rank.glsl. Four dispatches (spec constant
// PASS) with barriers between. The logits are cut into blocks of BLOCK entries (invocation g of workgroup w owns
// w*WG*BLOCK + j*WG + g, j < BLOCK: neighbouring lanes read neighbouring words).
//   pass 0: every invocation writes the best entry of its block to block_best[].
//   pass 1: one workgroup finds E, the k-th best of the block bests, and zeroes the candidate count.
//           At least k distinct entries rank >= E, so the top k all rank >= E; and only the k blocks whose best
//           ranks >= E can hold such entries, so there are at most k * BLOCK candidates (the buffer's size).
//   pass 2: invocations whose block best ranks >= E append their entries that rank >= E to candidates[].
//   pass 3: one workgroup keeps the best 256 of the candidates and writes the first k to out = {index, value}[k].
// The single workgroup keeps a best-first list of 256 in shared memory and folds in tiles of 256: sort the tile
// worst-first (bitonic), keep the better of list[i] and tile[i] for every i (the best 256 of both, a bitonic
// sequence), then a bitonic merge makes the list best-first again. 128 invocations with two entries each
// (128 is the smallest maxComputeWorkGroupInvocations Vulkan allows).
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint PASS = 0;
const uint WG = 128u;
const uint BLOCK = 32u;
const uint K = 256u;

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) buffer BlockBest { uvec2 block_best[]; }; // {index, float bits}
layout(std430, binding = 2) buffer Candidates {
    uint n_candidates;
    uint pad;
    uvec2 threshold;    // E
    uvec2 candidates[]; // k * BLOCK of them
};
layout(std430, binding = 3) writeonly buffer Out { uvec2 outv[]; };
layout(push_constant) uniform P { uint n, k, n_blocks, capacity; } p;

#include "rank.glsl"

shared float list_v[K];
shared uint list_i[K];
shared float tile_v[K];
shared uint tile_i[K];

// The pair (i, i + j) that invocation `lane` handles at a step of distance j: lane with a 0 bit put in at j.
uint pair_low(uint lane, uint j) { return ((lane & ~(j - 1u)) << 1) | (lane & (j - 1u)); }

void sort_tile_worst_first(uint lane)
{
    for (uint size = 2u; size <= K; size <<= 1)
        for (uint j = size >> 1; j > 0u; j >>= 1) {
            uint i = pair_low(lane, j), l = i | j;
            bool worst_first = (i & size) == 0u;
            bool swap = worst_first ? lvk_better(tile_v[i], tile_i[i], tile_v[l], tile_i[l])
                                    : lvk_better(tile_v[l], tile_i[l], tile_v[i], tile_i[i]);
            if (swap) {
                float v = tile_v[i]; tile_v[i] = tile_v[l]; tile_v[l] = v;
                uint x = tile_i[i]; tile_i[i] = tile_i[l]; tile_i[l] = x;
            }
            barrier();
        }
}

// list (best first) and tile (worst first) -> list = the best K of both, best first.
void fold_tile_into_list(uint lane)
{
    for (uint h = 0u; h < 2u; h++) {
        uint i = lane + h * WG;
        if (lvk_better(tile_v[i], tile_i[i], list_v[i], list_i[i])) {
            list_v[i] = tile_v[i];
            list_i[i] = tile_i[i];
        }
    }
    barrier();
    for (uint j = K >> 1; j > 0u; j >>= 1) {
        uint i = pair_low(lane, j), l = i | j;
        if (lvk_better(list_v[l], list_i[l], list_v[i], list_i[i])) {
            float v = list_v[i]; list_v[i] = list_v[l]; list_v[l] = v;
            uint x = list_i[i]; list_i[i] = list_i[l]; list_i[l] = x;
        }
        barrier();
    }
}

// The best K of entries[0 .. count) (unordered) into the list, best first; one workgroup.
void best_of_entries(uint lane, uint which, uint count)
{
    for (uint h = 0u; h < 2u; h++) {
        list_v[lane + h * WG] = lvk_nan();
        list_i[lane + h * WG] = LVK_NO_INDEX;
    }
    barrier();
    for (uint base = 0u; base < count; base += K) {
        for (uint h = 0u; h < 2u; h++) {
            uint e = base + lane + h * WG;
            uvec2 c = uvec2(LVK_NO_INDEX, floatBitsToUint(lvk_nan()));
            if (e < count)
                c = which == 0u ? block_best[e] : candidates[e];
            tile_i[lane + h * WG] = c.x;
            tile_v[lane + h * WG] = uintBitsToFloat(c.y);
        }
        barrier();
        sort_tile_worst_first(lane);
        fold_tile_into_list(lane);
    }
}

uint block_element(uint j) { return gl_WorkGroupID.x * WG * BLOCK + j * WG + gl_LocalInvocationID.x; }

bool at_least_threshold(float v, uint i)
{
    return !lvk_better(uintBitsToFloat(threshold.y), threshold.x, v, i);
}

void main()
{
    uint lane = gl_LocalInvocationID.x;
    if (PASS == 0u) {
        float best_v = lvk_nan();
        uint best_i = LVK_NO_INDEX;
        for (uint j = 0u; j < BLOCK; j++) {
            uint e = block_element(j);
            if (e < p.n && lvk_better(logits[e], e, best_v, best_i)) {
                best_v = logits[e];
                best_i = e;
            }
        }
        block_best[gl_GlobalInvocationID.x] = uvec2(best_i, floatBitsToUint(best_v));
    } else if (PASS == 1u) {
        best_of_entries(lane, 0u, p.n_blocks);
        if (lane == 0u) {
            threshold = uvec2(list_i[p.k - 1u], floatBitsToUint(list_v[p.k - 1u]));
            n_candidates = 0u;
        }
    } else if (PASS == 2u) {
        uvec2 b = block_best[gl_GlobalInvocationID.x];
        if (b.x == LVK_NO_INDEX || !at_least_threshold(uintBitsToFloat(b.y), b.x))
            return;
        for (uint j = 0u; j < BLOCK; j++) {
            uint e = block_element(j);
            if (e < p.n && at_least_threshold(logits[e], e)) {
                uint slot = atomicAdd(n_candidates, 1u);
                if (slot < p.capacity) // always true (see above); a guard against writing out of bounds
                    candidates[slot] = uvec2(e, floatBitsToUint(logits[e]));
            }
        }
    } else {
        best_of_entries(lane, 1u, min(n_candidates, p.capacity));
        for (uint h = 0u; h < 2u; h++) {
            uint i = lane + h * WG;
            if (i < p.k)
                outv[i] = uvec2(list_i[i], floatBitsToUint(list_v[i]));
        }
    }
}
