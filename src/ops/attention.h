/* The KV-cache store and causal GQA attention over the fp16 cache.
 *
 * Cache layout (per layer): k_cache, v_cache [max_seq, n_kv_heads, head_dim] fp16 packed two per uint32.
 *
 * Attention paths (all exact about the causal mask and GQA, all fp32 softmax):
 *   SPLIT   flash-decoding: the context 0 .. pos is cut into up to max_splits chunks, one workgroup per (chunk, head, token)
 *           writes a partial (max, sum, acc[head_dim]) into scratch, then a merge pass combines them. For decode.
 *   PREFILL one workgroup per (tile of 8 query tokens, head), online softmax over blocks of 64 keys; the tile shares
 *           every K/V load. For prompts.
 *   SIMPLE  the prefill kernel with one token per workgroup: the plainest path, kept as a cross-check.
 *   LANE    flash-decoding with one invocation (not workgroup) per (chunk, head, token): q and the accumulator live in
 *           registers, no shared memory, no barriers, 16-byte cache loads (texel fetches where the device allows, else
 *           storage loads; LLAMA_VK_NO_TEXEL=1 forces storage). Made for CPU devices (DESIGN §3.1). head_dim % 8 == 0.
 *           Beyond 4 tokens it runs unsplit, one invocation per (head, token) writing out directly (prefill).
 *   AUTO    CPU devices (when head_dim % 8 == 0): LANE. Others: SPLIT for n_tokens <= 4, else PREFILL. */
#ifndef LVK_OPS_ATTENTION_H
#define LVK_OPS_ATTENTION_H
#include "ops/kernels.h"

/* ---- KV store --------------------------------------------------------------------------------------------------- */

typedef struct lvk_kv_store_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    uint32_t row_words, max_seq, max_tokens, wg, max_groups_x;
} lvk_kv_store_op;

/* k_src, v_src fp32 [max_tokens, n_kv_heads * head_dim]; k_cache, v_cache as above. head_dim even. */
bool lvk_kv_store_prepare(lvk_kernels *k, lvk_kv_store_op *op, const lvk_view *k_src, const lvk_view *v_src,
                          const lvk_view *k_cache, const lvk_view *v_cache, uint32_t n_kv_heads, uint32_t head_dim,
                          uint32_t max_seq, uint32_t max_tokens, lvk_err *err);
/* Writes cache rows pos0 .. pos0 + n_tokens - 1 (fp32 -> fp16 round to nearest even). Counts beyond max_tokens or
 * max_seq are clamped. */
void lvk_kv_store_record(lvk_cmd *c, const lvk_kv_store_op *op, uint32_t n_tokens, uint32_t pos0);

/* ---- attention -------------------------------------------------------------------------------------------------- */

typedef enum lvk_attention_path {
    LVK_ATTN_AUTO = 0,
    LVK_ATTN_SPLIT = 1,
    LVK_ATTN_PREFILL = 2,
    LVK_ATTN_SIMPLE = 3,
    LVK_ATTN_LANE = 4,
} lvk_attention_path;

typedef struct lvk_attention_options {
    int path;      /* lvk_attention_path; 0 = auto */
    bool no_texel; /* LANE path: storage loads even where texel fetches are possible */
} lvk_attention_options;

typedef struct lvk_attention_op {
    int path;     /* as asked */
    int decode;   /* the decode path chosen: LVK_ATTN_SPLIT or LVK_ATTN_LANE, 0 if none */
    bool texel;   /* LANE reads the cache through k_texel / v_texel */
    /* split = SPLIT or LANE kernel; tiled = PREFILL or SIMPLE, or LANE's direct kernel; NULL if unused */
    const lvk_pipeline *split, *merge, *tiled;
    VkDescriptorSet split_set, merge_set, tiled_set;
    bool tiled_is_lane; /* tiled is LANE's direct kernel: one invocation per (head, token) */
    VkBufferView k_texel, v_texel; /* owned; VK_NULL_HANDLE unless texel */
    uint32_t n_heads, head_dim, max_seq, max_tokens;
    uint32_t split_max_tokens; /* tokens the decode path takes (scratch is sized for them) */
    uint32_t max_splits, min_chunk, wg, lane_wg, tile;
} lvk_attention_op;

/* q, out fp32 [max_tokens, n_heads, head_dim]; head_dim even and <= 256; n_heads a multiple of n_kv_heads.
 * scratch: the arena the split path's partials come from (sized here for the worst case, max_seq). opt may be NULL. */
bool lvk_attention_prepare(lvk_kernels *k, lvk_attention_op *op, const lvk_view *q, const lvk_view *k_cache,
                           const lvk_view *v_cache, const lvk_view *out, uint32_t n_heads, uint32_t n_kv_heads,
                           uint32_t head_dim, uint32_t max_seq, uint32_t max_tokens, lvk_arena *scratch,
                           const lvk_attention_options *opt, lvk_err *err);
/* Query token t (position pos0 + t) attends to cache rows 0 .. pos0 + t, which must already be stored.
 * Counts beyond max_tokens / max_seq are clamped. */
void lvk_attention_record(lvk_cmd *c, const lvk_attention_op *op, uint32_t n_tokens, uint32_t pos0);
/* Frees the texel views (the LANE path's). Safe on a zeroed or already destroyed op. */
void lvk_attention_destroy(lvk_kernels *k, lvk_attention_op *op);
/* Name of a path, for logs and tables. */
const char *lvk_attention_path_name(int path);

#endif
