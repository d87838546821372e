/* RoPE, rotate_half (NeoX/HF) style, in place on x fp32 [n_tokens, n_heads, head_dim]: for each head and i < head_dim/2
 * the pair (x[i], x[i + head_dim/2]) turns by the angle pos[token] * theta^(-2i/head_dim). The positions are read on
 * the device from a uint32 buffer, so a recorded command buffer can be replayed at new positions (the host writes the
 * buffer before each submit) and one step can hold tokens of several sequences.
 * The angles are exact to ~1e-6 rad for every position < 2^24 (see shaders/rope_f32.comp). */
#ifndef LVK_OPS_ROPE_H
#define LVK_OPS_ROPE_H
#include "ops/kernels.h"

typedef struct lvk_rope_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    lvk_buffer table; /* [head_dim/2] vec4: the per-pair frequency in turns, split hi/lo (host-visible, owned) */
    uint32_t n_heads, head_dim, max_tokens, wg, max_groups_x;
} lvk_rope_op;

/* x: a view of at least max_tokens * n_heads * head_dim floats; pos: at least max_tokens uint32 (each < 2^24 when the
 * step runs). head_dim even, <= 1024. */
bool lvk_rope_prepare(lvk_kernels *k, lvk_rope_op *op, const lvk_view *x, const lvk_view *pos, uint32_t n_heads,
                      uint32_t head_dim, double theta, uint32_t max_tokens, lvk_err *err);
/* Token t < n_tokens of the step is at position pos[t]. n_tokens <= max_tokens (larger counts are clamped). */
void lvk_rope_record(lvk_cmd *c, const lvk_rope_op *op, uint32_t n_tokens);
/* Frees the frequency table. Safe on a zeroed or already destroyed op. */
void lvk_rope_destroy(lvk_kernels *k, lvk_rope_op *op);

/* The table the shader reads, [head_dim/2][4] floats (exposed for tests). */
void lvk_rope_table(float *table, uint32_t head_dim, double theta);

#endif
