#include "ops/embed.h"

#include <string.h>

#include "lvk_shaders.h"

typedef struct embed_push {
    uint32_t n_tokens, dim, vocab;
    uint32_t row0, rows;
    uint32_t words_per_row;
    uint32_t zero_invalid;
    uint32_t scale_words; /* q8/q4 only (embed_quant.comp): scale_stride / 4 */
} embed_push;

bool lvk_embed_prepare(lvk_kernels *k, lvk_embed_op *op, const lvk_weight *table, const lvk_view *ids,
                       const lvk_view *out, uint32_t max_tokens, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (!lvk_weight_format_of(table->dtype, "embed", err))
        return false;
    if (max_tokens == 0 || table->n_chunks == 0)
        return lvk_fail(err, "embed: nothing to gather (max_tokens %u, %d table chunks)", max_tokens, table->n_chunks);
    const lvk_device_info *info = k->d->info;
    if (max_tokens > info->max_workgroup_count[0])
        return lvk_fail(err, "embed: %u tokens exceed the device's %u workgroups in x", max_tokens,
                        info->max_workgroup_count[0]);
    uint64_t out_bytes = (uint64_t)max_tokens * table->cols * sizeof(float);
    if ((uint64_t)max_tokens * table->cols > UINT32_MAX)
        return lvk_fail(err, "embed: output [%u, %u] too large to index", max_tokens, table->cols);
    if (ids->size < (uint64_t)max_tokens * sizeof(uint32_t))
        return lvk_fail(err, "embed: ids buffer of %llu bytes is smaller than %u token ids",
                        (unsigned long long)ids->size, max_tokens);
    if (out->size < out_bytes)
        return lvk_fail(err, "embed: output buffer of %llu bytes is smaller than [%u, %u] floats",
                        (unsigned long long)out->size, max_tokens, table->cols);
    /* One workgroup per token and chunk; most of them find their token in another chunk and leave, and on CPU
     * drivers every lane costs even then: 64 lanes, looping over the row's 16-byte words. */
    const uint32_t wg = 64;
    op->words_per_row = table->row_stride / 16u;
    op->scale_words = table->scale_stride / 4u;
    /* q8/q4 tables: a shader of their own, which dequantizes, with the scales as a fourth binding. */
    const bool quant = lvk_dtype_is_quantized(table->dtype);
    lvk_pipeline_desc desc = {
        .name = quant ? "embed_quant" : "embed",
        .spirv = quant ? lvk_spv_embed_quant : lvk_spv_embed,
        .spirv_size = quant ? lvk_spv_embed_quant_size : lvk_spv_embed_size,
        .n_bindings = quant ? 4 : 3,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(embed_push),
        .n_spec = 2,
        .spec = {wg, (uint32_t)table->dtype},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!op->pipeline)
        return false;
    for (int c = 0; c < table->n_chunks; c++) {
        const lvk_weight_chunk *ch = &table->chunks[c];
        lvk_binding bind[4] = {{.view = ch->view}, {.view = *ids}, {.view = *out}, {.view = ch->scales}};
        bind[0].view.size = (VkDeviceSize)ch->rows * table->row_stride;
        bind[1].view.size = (VkDeviceSize)max_tokens * sizeof(uint32_t);
        bind[2].view.size = out_bytes;
        if (!lvk_kernels_set(k, op->pipeline, bind, &op->sets[c], err)) {
            lvk_err_prefix(err, "embed");
            return false;
        }
        op->chunk_row0[c] = ch->row0;
        op->chunk_rows[c] = ch->rows;
    }
    op->n_chunks = table->n_chunks;
    op->vocab = table->rows;
    op->dim = table->cols;
    op->max_tokens = max_tokens;
    return true;
}

void lvk_embed_record(lvk_cmd *c, const lvk_embed_op *op, uint32_t n_tokens)
{
    if (n_tokens > op->max_tokens)
        n_tokens = op->max_tokens;
    if (n_tokens == 0)
        return;
    for (int i = 0; i < op->n_chunks; i++) {
        embed_push push = {
            .n_tokens = n_tokens,
            .dim = op->dim,
            .vocab = op->vocab,
            .row0 = op->chunk_row0[i],
            .rows = op->chunk_rows[i],
            .words_per_row = op->words_per_row,
            .zero_invalid = i == op->n_chunks - 1,
            .scale_words = op->scale_words,
        };
        lvk_cmd_dispatch(c, op->pipeline, op->sets[i], &push, n_tokens, 1, 1);
    }
}
