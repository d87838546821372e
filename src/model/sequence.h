/* A sequence: one conversation's KV cache (fp16 [max_seq, n_kv_heads, head_dim] per layer) and its position,
 * with the attention and cache-store ops bound to it. Sequences share the model's weights and step plan; a
 * step may carry several of them.
 *
 * A sequence's descriptor sets come from the model's pools and go back only when the model closes: a
 * program that serves many requests reuses its sequences (lvk_sequence_reset) instead of making new ones. */
#ifndef LVK_MODEL_SEQUENCE_H
#define LVK_MODEL_SEQUENCE_H
#include "model/llama.h"

struct lvk_sequence {
    uint64_t id;     /* unique per model: recorded steps are keyed by it */
    uint32_t max_seq;
    uint32_t n_past; /* positions held in the KV cache */
    int32_t pending; /* a token sampled by lvk_generate but not yet run, or -1: it goes first next time */
    int n_layers;
    lvk_buffer *k_cache, *v_cache; /* [n_layers] */
    lvk_kv_store_op *kv_store;     /* [n_layers] */
    lvk_attention_op *attn;        /* [n_layers] */
    lvk_arena scratch;             /* the attention's partials */
};

/* KV cache bytes of one sequence of max_seq positions. */
uint64_t lvk_sequence_cache_bytes(const lvk_model_config *cfg, uint32_t max_seq);

/* max_seq 0: the model's context. */
bool lvk_sequence_create(lvk_llama *m, uint32_t max_seq, lvk_sequence **out, lvk_err *err);
/* Frees the KV cache (and forgets the model's recorded steps that use it). Safe on NULL. */
void lvk_sequence_free(lvk_llama *m, lvk_sequence *s);
/* Forgets the tokens (a new conversation); keeps the memory. */
void lvk_sequence_reset(lvk_sequence *s);

#endif
