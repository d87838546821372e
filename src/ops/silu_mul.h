/* SiLU-gated product of the feed-forward block:
 *   out[t, i] = silu(gate[t, i]) * up[t, i],  silu(a) = a / (1 + exp(-a))
 *   gate, up, out: fp32 [max_tokens, width]; out may be gate. No overflow for any |a| (exp sees only a <= 0). */
#ifndef LVK_OPS_SILU_MUL_H
#define LVK_OPS_SILU_MUL_H
#include "ops/kernels.h"

typedef struct lvk_silu_mul_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    uint32_t width, max_tokens, workgroup_size, max_groups_x;
} lvk_silu_mul_op;

bool lvk_silu_mul_prepare(lvk_kernels *k, lvk_silu_mul_op *op, const lvk_view *gate, const lvk_view *up,
                          const lvk_view *out, uint32_t width, uint32_t max_tokens, lvk_err *err);
void lvk_silu_mul_record(lvk_cmd *c, const lvk_silu_mul_op *op, uint32_t n_tokens);

#endif
