/* Embedding gather: out[t, :] = float(table[ids[t], :]).
 *   table: lvk_weight [vocab, dim] fp32/fp16/bf16, cut into row chunks (LLaMA3's 1.05 GB table spans many bindings);
 *          or q8/q4 (ops/quant_format.h): the row dequantized, exactly lvk_ref_dequantize's fp32 values;
 *   ids:   uint32 [max_tokens];   out: fp32 [max_tokens, dim].
 * An id >= vocab never reads the table: its output row is all zeros (the host validates ids; this is the backstop).
 * The copy (and the dequantization) is bit-exact. One dispatch per chunk; they write disjoint rows, so no barrier between them. */
#ifndef LVK_OPS_EMBED_H
#define LVK_OPS_EMBED_H
#include "ops/kernels.h"
#include "ops/weight.h"

typedef struct lvk_embed_op {
    const lvk_pipeline *pipeline;
    int n_chunks;
    VkDescriptorSet sets[LVK_WEIGHT_MAX_CHUNKS];
    uint32_t chunk_row0[LVK_WEIGHT_MAX_CHUNKS], chunk_rows[LVK_WEIGHT_MAX_CHUNKS];
    uint32_t vocab, dim, words_per_row, scale_words, max_tokens;
} lvk_embed_op;

bool lvk_embed_prepare(lvk_kernels *k, lvk_embed_op *op, const lvk_weight *table, const lvk_view *ids,
                       const lvk_view *out, uint32_t max_tokens, lvk_err *err);
/* n_tokens <= max_tokens */
void lvk_embed_record(lvk_cmd *c, const lvk_embed_op *op, uint32_t n_tokens);

#endif
