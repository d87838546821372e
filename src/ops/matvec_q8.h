/* y = W·x for one token and a q8 weight (ops/quant_format.h): the texel path of ops/matvec.h for the 8-bit
 * layout. Standalone for now (one binding per array, not yet a lvk_weight format or wired into the model).
 *   quants, scales: the q8 arrays of W [rows, cols];  x: fp32 [cols];  y: fp32 [rows]. Sums in fp32. */
#ifndef LVK_OPS_MATVEC_Q8_H
#define LVK_OPS_MATVEC_Q8_H
#include "ops/kernels.h"

typedef struct lvk_matvec_q8_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    VkBufferView q_texel, s_texel, x_texel; /* made by prepare; lvk_matvec_q8_destroy frees them */
    struct {
        uint32_t rows, cols, nb, swords, full_blocks;
    } push;
    uint32_t groups_x, groups_y;
} lvk_matvec_q8_op;

bool lvk_matvec_q8_prepare(lvk_kernels *k, lvk_matvec_q8_op *op, const lvk_view *quants, const lvk_view *scales,
                           uint32_t rows, uint32_t cols, const lvk_view *x, const lvk_view *y, lvk_err *err);
void lvk_matvec_q8_record(lvk_cmd *c, const lvk_matvec_q8_op *op);
/* Safe on a zeroed op. */
void lvk_matvec_q8_destroy(lvk_kernels *k, lvk_matvec_q8_op *op);

#endif
