/* Y = X·Wᵀ for many tokens at once (prompt prefill): Y[t, r] = sum_c W[r, c] * X[t, c], fp32 accumulation.
 *   W: lvk_weight [rows, cols] fp16/bf16/fp32, or q8/q4 (ops/quant_format.h: the weights dequantized
 *      exactly as lvk_ref_dequantize gives them); chunked by rows: one dispatch per chunk
 *   X: fp32 [max_tokens, cols]     Y: fp32 [max_tokens, rows]
 *
 * Variants (lvk_matmul_path):
 *   TILED   the conventional GPU GEMM: 64x64 output tiles, K through shared memory in steps of 16,
 *           a 4x4 register tile per invocation.
 *   TEXEL   for CPU drivers (lavapipe, DESIGN §3.1), where shared memory and barriers are slow: no
 *           shared memory, W streamed by RGBA32UI texel fetches, a tokens x rows register tile per invocation.
 *   COOPMAT VK_KHR_cooperative_matrix: not built (see matmul.c); asking for it fails with a message.
 *   AUTO    TEXEL on CPU devices, TILED everywhere else. */
#ifndef LVK_OPS_MATMUL_H
#define LVK_OPS_MATMUL_H
#include <stdbool.h>
#include <stdint.h>

#include "ops/kernels.h"
#include "ops/weight.h"

typedef enum lvk_matmul_path { LVK_MATMUL_AUTO = 0, LVK_MATMUL_TILED, LVK_MATMUL_COOPMAT, LVK_MATMUL_TEXEL } lvk_matmul_path;

typedef struct lvk_matmul_options {
    lvk_matmul_path path;
    bool accumulate; /* Y += X·Wᵀ (fused residual add) */
} lvk_matmul_options;

typedef struct lvk_matmul_chunk {
    VkDescriptorSet set;
    uint32_t row0, rows; /* the rows of W (= columns of Y) this chunk covers */
    uint32_t groups_x;   /* workgroups across those rows */
} lvk_matmul_chunk;

typedef struct lvk_matmul_op {
    lvk_matmul_path path; /* the variant prepare chose (never AUTO) */
    const lvk_pipeline *pipeline;
    uint32_t rows, cols, row_texels, scale_words, max_tokens;
    uint32_t tokens_per_group; /* tokens one workgroup covers (dispatch ceil(n_tokens / this)) */
    VkBufferView x_texel; /* TEXEL: RGBA32UI view of X (owned; VK_NULL_HANDLE when X is read as a storage buffer) */
    int n_chunks;
    lvk_matmul_chunk chunks[LVK_WEIGHT_MAX_CHUNKS];
} lvk_matmul_op;

/* Name of a path, for logs and test tables. */
const char *lvk_matmul_path_name(lvk_matmul_path path);

/* The variant AUTO stands for on this device. */
lvk_matmul_path lvk_matmul_auto_path(const lvk_device *d);

/* Checks shapes and limits, picks the variant (opt->path, AUTO when opt is NULL), builds the pipeline and
 * one descriptor set per weight chunk. x and y must not overlap. Call lvk_matmul_destroy when done. */
bool lvk_matmul_prepare(lvk_kernels *k, lvk_matmul_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                        uint32_t max_tokens, const lvk_matmul_options *opt, lvk_err *err);
/* Frees what prepare made beyond pipelines and sets (the TEXEL variant's view of X). Safe on a zeroed
 * or already destroyed op, and after a failed prepare. */
void lvk_matmul_destroy(lvk_kernels *k, lvk_matmul_op *op);
/* Records the dispatches for the first n_tokens rows of X (1 <= n_tokens <= max_tokens; larger values are
 * clamped to max_tokens, 0 records nothing). */
void lvk_matmul_record(lvk_cmd *c, const lvk_matmul_op *op, uint32_t n_tokens);

#endif
