/* c = a + b over n fp32 values. The harness's reference kernel, and the residual add. */
#ifndef LVK_OPS_ADD_H
#define LVK_OPS_ADD_H
#include "ops/kernels.h"

typedef struct lvk_add_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    uint32_t n, groups_x, groups_y;
} lvk_add_op;

/* a, b, c: views of at least n floats each (c may alias a). */
bool lvk_add_prepare(lvk_kernels *k, lvk_add_op *op, const lvk_view *a, const lvk_view *b, const lvk_view *c,
                     uint32_t n, lvk_err *err);
void lvk_add_record(lvk_cmd *c, const lvk_add_op *op);

#endif
