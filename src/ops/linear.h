/* y = W·x for a projection of the model, for any number of tokens: the matrix×vector kernel for a
 * few tokens (decode: one read of W serves them all), the GEMM for many (prefill). On GPUs the
 * matrix×vector kernel takes up to LVK_MATVEC_MAX_TOKENS; on CPU devices (lavapipe) only 1, since
 * the GEMM is faster from 2 tokens on there (measured, 4096x4096 fp16: 8 tokens 36 ms by
 * matrix×vector, 12 ms by GEMM; 1 token 5 ms vs 12 ms). */
#ifndef LVK_OPS_LINEAR_H
#define LVK_OPS_LINEAR_H
#include "ops/matmul.h"
#include "ops/matvec.h"


typedef struct lvk_linear_op {
    lvk_matvec_op matvec;
    lvk_matmul_op matmul;
    bool has_matmul; /* false when max_tokens <= matvec_tokens */
    uint32_t matvec_tokens;
} lvk_linear_op;

/* x [max_tokens, w->cols] fp32 -> y [max_tokens, w->rows] fp32; accumulate adds into y. Steps of up to
 * matvec_tokens tokens take the matrix×vector kernel (0: the device's choice above; tests set it to reach
 * the batched matrix×vector path on CPU devices too). */
bool lvk_linear_prepare(lvk_kernels *k, lvk_linear_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                        uint32_t max_tokens, uint32_t matvec_tokens, bool accumulate, lvk_err *err);
void lvk_linear_record(lvk_cmd *c, const lvk_linear_op *op, uint32_t n_tokens);
void lvk_linear_destroy(lvk_kernels *k, lvk_linear_op *op);

#endif
