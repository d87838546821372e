/* y = W·x for a few tokens: the decode step's matrix × vector, the most speed-critical kernel.
 * W [rows, cols] is a lvk_weight (fp16, bf16 or fp32 as stored, or q8/q4 made at load: its own
 * shaders, matvec_quant_*.comp; cut by rows into chunks); x is
 * fp32 [n_tokens, cols]; y is fp32 [n_tokens, rows]; sums are accumulated in fp32. One read of W
 * serves all n_tokens (1..8), so a small batch costs about as much as one token.
 *
 * The best way to read W differs per device (DESIGN §3.1), so there are several paths:
 *   TEXEL     a workgroup owns a few rows, its lanes walk each row side by side reading W and x by
 *             texel fetches, one shared-memory sum at the end. Made for CPU devices (lavapipe),
 *             works everywhere.
 *   SUBGROUP  a subgroup per row, wide uvec4 storage loads, subgroupAdd. Made for GPUs; needs
 *             subgroup arithmetic in compute shaders. LLAMA_VK_NO_SUBGROUP=1 turns it off.
 *   AUTO      TEXEL on CPU devices, SUBGROUP on GPUs that can run it, else TEXEL. */
#ifndef LVK_OPS_MATVEC_H
#define LVK_OPS_MATVEC_H
#include "ops/kernels.h"
#include "ops/weight.h"

#define LVK_MATVEC_MAX_TOKENS 8

typedef enum lvk_matvec_path { LVK_MATVEC_AUTO = 0, LVK_MATVEC_TEXEL, LVK_MATVEC_SUBGROUP } lvk_matvec_path;

typedef struct lvk_matvec_options {
    lvk_matvec_path path;
    bool accumulate;           /* y += W·x instead of y = W·x (the fused residual add) */
    uint32_t rows_per_group;  /* rows per workgroup (1..16); 0 = the path's default */
    uint32_t workgroup_size;   /* 0 = the path's default */
} lvk_matvec_options;

/* What record needs: one pipeline per token count, and per chunk its set, push constants and grid. */
typedef struct lvk_matvec_chunk {
    VkDescriptorSet set;
    VkBufferView scales4; /* TEXEL, q8/q4: a RGBA32UI view of the chunk's scales this op made (4 words a fetch) */
    struct {
        uint32_t rows, cols, row0, y_stride, blocks, full_blocks;
        uint32_t scale_words; /* q8/q4: 32-bit words of scales per row (the other shaders do not read it) */
    } push;
    uint32_t groups_x, groups_y;
} lvk_matvec_chunk;

typedef struct lvk_matvec_op {
    lvk_matvec_path path; /* the path chosen (never AUTO) */
    uint32_t max_tokens;
    uint32_t rows_per_group, workgroup_size;
    const lvk_pipeline *pipelines[LVK_MATVEC_MAX_TOKENS]; /* [n_tokens - 1] */
    VkBufferView x_texel; /* TEXEL: the texel view of x this op made; lvk_matvec_destroy frees it */
    int n_chunks;
    lvk_matvec_chunk chunks[LVK_WEIGHT_MAX_CHUNKS];
} lvk_matvec_op;

/* Whether this device can run path p here (AUTO always can); reason (may be NULL) says why not. */
bool lvk_matvec_path_supported(const lvk_device *d, lvk_matvec_path p, const char **reason);

/* W [rows, cols] fp16/bf16/fp32/q8/q4 (chunked), x fp32 [max_tokens, cols], y fp32 [max_tokens, rows];
 * max_tokens 1..8. opt may be NULL (AUTO, y = W·x). Builds the pipelines and descriptor sets. */
bool lvk_matvec_prepare(lvk_kernels *k, lvk_matvec_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                        uint32_t max_tokens, const lvk_matvec_options *opt, lvk_err *err);
/* 1 <= n_tokens <= max_tokens (others record nothing): one dispatch per chunk of W. */
void lvk_matvec_record(lvk_cmd *c, const lvk_matvec_op *op, uint32_t n_tokens);
/* Frees what prepare made outside the kernel cache (texel views). Safe on a zeroed op. */
void lvk_matvec_destroy(lvk_kernels *k, lvk_matvec_op *op);

const char *lvk_matvec_path_name(lvk_matvec_path p);

#endif
