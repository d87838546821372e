/* The KV-cache store and causal GQA attention over the fp16 cache.
 *
 * Cache layout (per layer): k_cache, v_cache [max_seq, n_kv_heads, head_dim] fp16 packed two per uint32.
 *
 * Positions come from the device: pos [max_tokens] uint32, row r of the step at position pos[r]. An op works on rows
 * row0 .. row0 + n_tokens - 1, one sequence's consecutive tokens (so it reads pos[row0] only), against its own cache;
 * row0 and n_tokens are the only values fixed at record time. A recorded command buffer can so be replayed at the next
 * position (the host rewrites pos), and one step can hold tokens of several sequences: one kv store and one attention
 * op per sequence (own cache), the same q / out / pos. The split paths' chunking, which depends on the context length,
 * is worked out in the shaders (shaders/attn_common.glsl); their dispatch is sized for max_splits chunks.
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

/* k_src, v_src fp32 [max_tokens, n_kv_heads * head_dim]; k_cache, v_cache as above; pos uint32 [max_tokens].
 * head_dim even. */
bool lvk_kv_store_prepare(lvk_kernels *k, lvk_kv_store_op *op, const lvk_view *k_src, const lvk_view *v_src,
                          const lvk_view *k_cache, const lvk_view *v_cache, const lvk_view *pos, uint32_t n_kv_heads,
                          uint32_t head_dim, uint32_t max_seq, uint32_t max_tokens, lvk_err *err);
/* Rows row0 .. row0 + n_tokens - 1 of k_src / v_src go to cache rows pos[row0] + j (fp32 -> fp16 round to nearest
 * even). Rows past max_tokens are not recorded; cache rows at or past max_seq are skipped on the device (the host
 * checks that a step fits before; the shader guards so nothing is ever written out of bounds). */
void lvk_kv_store_record(lvk_cmd *c, const lvk_kv_store_op *op, uint32_t row0, uint32_t n_tokens);

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
    uint32_t split_max_tokens; /* tokens the decode path takes (this op's own scratch is sized for them) */
    uint32_t max_splits, min_chunk, wg, lane_wg, tile;
} lvk_attention_op;

/* q, out fp32 [max_tokens, n_heads, head_dim]; pos uint32 [max_tokens]; head_dim even and <= 256; n_heads a multiple
 * of n_kv_heads. scratch: the arena this op's own split partials come from (sized here for the worst case, max_seq,
 * and indexed by the op's own tokens: ops on other sequences recorded in the same step without a barrier between
 * them never share partials). opt may be NULL. */
bool lvk_attention_prepare(lvk_kernels *k, lvk_attention_op *op, const lvk_view *q, const lvk_view *k_cache,
                           const lvk_view *v_cache, const lvk_view *out, const lvk_view *pos, uint32_t n_heads,
                           uint32_t n_kv_heads, uint32_t head_dim, uint32_t max_seq, uint32_t max_tokens,
                           lvk_arena *scratch, const lvk_attention_options *opt, lvk_err *err);
/* Query rows row0 .. row0 + n_tokens - 1 of q (positions pos[row0] + j) attend to cache rows 0 .. pos[row0] + j of
 * this op's cache, which must already be stored, and write rows row0 .. of out. Rows past max_tokens are not
 * recorded; keys are clamped to max_seq on the device (no read past the cache, whatever pos holds). The path (decode
 * or prefill) is chosen here from n_tokens alone, so a replay at another position takes the same one. */
void lvk_attention_record(lvk_cmd *c, const lvk_attention_op *op, uint32_t row0, uint32_t n_tokens);
/* Frees the texel views (the LANE path's). Safe on a zeroed or already destroyed op. */
void lvk_attention_destroy(lvk_kernels *k, lvk_attention_op *op);
/* Name of a path, for logs and tables. */
const char *lvk_attention_path_name(int path);

#endif
