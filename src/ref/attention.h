/* CPU twins of the KV store (shaders/kv_store_f16.comp) and of attention (shaders/attn_f16.comp + attn_merge.comp). */
#ifndef LVK_REF_ATTENTION_H
#define LVK_REF_ATTENTION_H
#include <stdint.h>

/* src fp32 [n_tokens, row] -> cache rows pos0 .. pos0 + n_tokens - 1 of cache fp16 bits [max_seq, row]
 * (round to nearest even). row = n_kv_heads * head_dim. */
void lvk_ref_kv_store(const float *src, uint16_t *cache, uint32_t n_tokens, uint32_t row, uint32_t pos0);

/* q fp32 [n_tokens, n_heads, head_dim], k_cache / v_cache fp16 bits [>= pos0 + n_tokens, n_kv_heads, head_dim]
 * -> out [n_tokens, n_heads, head_dim] in fp64: causal (token t sees rows 0 .. pos0 + t), GQA, scale 1/sqrt(head_dim). */
void lvk_ref_attention(const float *q, const uint16_t *k_cache, const uint16_t *v_cache, double *out, uint32_t n_tokens,
                       uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos0);

#endif
