/* Greedy sampling on the device: argmax and top-k over the logits, fp32 [n].
 * Ranking (same in src/ref/argmax.c): larger value first; equal values by lower index; NaN below every number
 * (so NaN never wins while a number exists; an all-NaN input gives index 0 and value NaN).
 * Results are {uint32 index; float value} pairs (8 bytes each), lvk_rank_entry on the host. */
#ifndef LVK_OPS_ARGMAX_H
#define LVK_OPS_ARGMAX_H
#include "ops/kernels.h"

typedef struct lvk_rank_entry {
    uint32_t index;
    float value;
} lvk_rank_entry;

#define LVK_TOPK_MAX 256u

/* Two dispatches with a barrier between: per-invocation partial maxima into scratch, then one workgroup. */
typedef struct lvk_argmax_op {
    const lvk_pipeline *partial_pass, *final_pass;
    VkDescriptorSet partial_set, final_set;
    uint32_t n, n_partials, groups;
} lvk_argmax_op;

/* logits: >= n floats; out: >= 8 bytes; the partials come from scratch (a few KiB). */
bool lvk_argmax_prepare(lvk_kernels *k, lvk_argmax_op *op, const lvk_view *logits, const lvk_view *out, uint32_t n,
                        lvk_arena *scratch, lvk_err *err);
void lvk_argmax_record(lvk_cmd *c, const lvk_argmax_op *op);

/* Top-k, kk <= 256, sorted best first, in four dispatches with barriers between (see shaders/topk.comp): best of
 * each block of 32, the kk-th best of those as a threshold, the entries at or above it (at most kk * 32), their
 * best kk. Scratch: n / 4 + kk * 256 bytes or so. */
typedef struct lvk_topk_op {
    const lvk_pipeline *passes[4];
    VkDescriptorSet sets[4];
    uint32_t n, kk, n_blocks, capacity, groups;
} lvk_topk_op;

/* logits: >= n floats; out: >= kk * 8 bytes; 1 <= kk <= min(n, 256). */
bool lvk_topk_prepare(lvk_kernels *k, lvk_topk_op *op, const lvk_view *logits, const lvk_view *out, uint32_t n,
                      uint32_t kk, lvk_arena *scratch, lvk_err *err);
void lvk_topk_record(lvk_cmd *c, const lvk_topk_op *op);

#endif
