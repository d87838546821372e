#include "ops/linear.h"

bool lvk_linear_prepare(lvk_kernels *k, lvk_linear_op *op, const lvk_weight *w, const lvk_view *x, const lvk_view *y,
                        uint32_t max_tokens, uint32_t matvec_tokens, bool accumulate, lvk_err *err)
{
    uint32_t matvec_limit = k->d->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 1u : LVK_MATVEC_MAX_TOKENS;
    if (matvec_tokens > 0)
        matvec_limit = matvec_tokens < LVK_MATVEC_MAX_TOKENS ? matvec_tokens : LVK_MATVEC_MAX_TOKENS;
    op->matvec_tokens = max_tokens < matvec_limit ? max_tokens : matvec_limit;
    lvk_matvec_options mv = {.path = LVK_MATVEC_AUTO, .accumulate = accumulate};
    if (!lvk_matvec_prepare(k, &op->matvec, w, x, y, op->matvec_tokens, &mv, err))
        return false;
    op->has_matmul = max_tokens > op->matvec_tokens;
    lvk_matmul_options mm = {.path = LVK_MATMUL_AUTO, .accumulate = accumulate};
    return !op->has_matmul || lvk_matmul_prepare(k, &op->matmul, w, x, y, max_tokens, &mm, err);
}

void lvk_linear_record(lvk_cmd *c, const lvk_linear_op *op, uint32_t n_tokens)
{
    if (n_tokens <= op->matvec_tokens || !op->has_matmul)
        lvk_matvec_record(c, &op->matvec, n_tokens);
    else
        lvk_matmul_record(c, &op->matmul, n_tokens);
}

void lvk_linear_destroy(lvk_kernels *k, lvk_linear_op *op)
{
    lvk_matvec_destroy(k, &op->matvec);
    if (op->has_matmul)
        lvk_matmul_destroy(k, &op->matmul);
}
