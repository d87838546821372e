#version 450
// Top-k over logits [n] fp32, k <= 256, in two dispatches (spec constant PASS); ranking in rank.glsl.
// Each workgroup keeps a best-first list of 256 entries in shared memory and folds in tiles of 256 candidates:
// sort the tile worst-first (bitonic), keep the better of list[i] and tile[i] for every i (the best 256 of
// both, as a bitonic sequence), then a bitonic merge makes the list best-first again.
//   pass 0: workgroup g folds the logits tiles g, g + G, g + 2G, ... and writes its list to partials[g*256 ..].
//   pass 1: one workgroup folds the G lists (each already sorted: read backwards, no sort needed) and writes
//           the first k entries to out = {index, value}[k].
// 128 invocations, two entries each: 128 is the smallest maxComputeWorkGroupInvocations Vulkan allows.
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint PASS = 0;

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) buffer Partials { uvec2 partials[]; }; // {index, float bits}
layout(std430, binding = 2) writeonly buffer Out { uvec2 outv[]; };
layout(push_constant) uniform P { uint n, k, n_groups; } p;

#include "rank.glsl"

const uint K = 256u;
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
        uint i = lane + h * 128u;
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

void main()
{
    uint lane = gl_LocalInvocationID.x;
    for (uint h = 0u; h < 2u; h++) {
        list_v[lane + h * 128u] = lvk_nan();
        list_i[lane + h * 128u] = LVK_NO_INDEX;
    }
    barrier();
    if (PASS == 0u) {
        uint n_tiles = (p.n + K - 1u) / K;
        for (uint tile = gl_WorkGroupID.x; tile < n_tiles; tile += p.n_groups) {
            for (uint h = 0u; h < 2u; h++) {
                uint e = tile * K + lane + h * 128u;
                bool inside = e < p.n;
                tile_v[lane + h * 128u] = inside ? logits[min(e, p.n - 1u)] : lvk_nan();
                tile_i[lane + h * 128u] = inside ? e : LVK_NO_INDEX;
            }
            barrier();
            sort_tile_worst_first(lane);
            fold_tile_into_list(lane);
        }
        for (uint h = 0u; h < 2u; h++) {
            uint i = lane + h * 128u;
            partials[gl_WorkGroupID.x * K + i] = uvec2(list_i[i], floatBitsToUint(list_v[i]));
        }
        return;
    }
    for (uint g = 0u; g < p.n_groups; g++) {
        for (uint h = 0u; h < 2u; h++) {
            uint i = lane + h * 128u;
            uvec2 c = partials[g * K + (K - 1u - i)];
            tile_v[i] = uintBitsToFloat(c.y);
            tile_i[i] = c.x;
        }
        barrier();
        fold_tile_into_list(lane);
    }
    for (uint h = 0u; h < 2u; h++) {
        uint i = lane + h * 128u;
        if (i < p.k)
            outv[i] = uvec2(list_i[i], floatBitsToUint(list_v[i]));
    }
}
