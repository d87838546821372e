#include "model/weights.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "io/llama_layout.h"
#include "model/memory_plan.h"
#include "ops/quantize.h"

static uint64_t padded_bytes(uint64_t rows, uint64_t cols, uint64_t elem)
{
    return rows * ((cols * elem + 15) / 16 * 16);
}

uint64_t lvk_weights_plan_bytes(const lvk_model_config *cfg)
{
    uint64_t total = 0;
    for (int i = 0; i < lvk_llama_tensor_count(cfg); i++) {
        lvk_tensor_spec s;
        lvk_llama_tensor_spec(cfg, i, &s);
        total += s.n_dims == 1 ? padded_bytes(1, (uint64_t)s.dims[0], 2)
                               : padded_bytes((uint64_t)s.dims[0], (uint64_t)s.dims[1], 2);
    }
    return total;
}

typedef struct upload_progress {
    uint64_t total, done;
    double start, last_print;
    bool show;
} upload_progress;

static void progress_print(upload_progress *p, bool final)
{
    double now = lvk_now();
    if (!p->show || (!final && now - p->last_print < 0.2))
        return;
    p->last_print = now;
    double elapsed = now - p->start, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    fprintf(stderr, "\rloading %6.2f / %.2f GB  %6.2f GB/s  ETA %4.0f s ", (double)p->done / 1e9, (double)p->total / 1e9,
            rate / 1e9, eta);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Where and how the plan keeps a tensor: host memory or not, and its format on the device. */
static void planned(const lvk_memory_plan *plan, const char *name, lvk_dtype stored, lvk_dtype *format, bool *host)
{
    *format = stored;
    *host = false;
    for (int i = 0; plan && i < plan->n_tensors; i++)
        if (!strcmp(plan->tensors[i].name, name)) {
            *host = plan->tensors[i].host;
            if (!strcmp(plan->tensors[i].format, "q8"))
                *format = LVK_DTYPE_Q8;
            else if (!strcmp(plan->tensors[i].format, "q4"))
                *format = LVK_DTYPE_Q4;
            return;
        }
}

/* The quantizer of a load (made at the first quantized tensor): fp16/bf16/fp32 rows go to a device
 * buffer piece by piece and a compute shader writes their blocks straight into the weight, so the full-
 * precision model never has to fit. Its descriptor sets (one per piece) live in kernels of its own,
 * freed with it when the load ends. */
typedef struct quantizer {
    bool ready, search;
    lvk_kernels k;
    lvk_buffer input; /* device-local: one piece of rows as stored */
    lvk_buffer flags; /* host-visible: the shaders' bad-input flags */
    lvk_cmd cmd;
} quantizer;

#define QUANT_PIECE_BYTES (32u << 20)

static bool quantizer_init(quantizer *q, lvk_device *d, bool search, lvk_err *err)
{
    uint64_t piece = QUANT_PIECE_BYTES;
    if (d->info->max_storage_buffer_range < piece)
        piece = d->info->max_storage_buffer_range & ~(uint64_t)15;
    q->search = search;
    q->ready = lvk_kernels_init(&q->k, d, err) && lvk_buffer_create(d, &q->input, piece, LVK_MEM_DEVICE, err) &&
               lvk_buffer_create(d, &q->flags, 16, LVK_MEM_HOST, err) && lvk_cmd_create(d, &q->cmd, 0, err);
    return q->ready;
}

static void quantizer_destroy(quantizer *q, lvk_device *d)
{
    lvk_cmd_destroy(d, &q->cmd);
    lvk_buffer_destroy(d, &q->flags);
    lvk_buffer_destroy(d, &q->input);
    if (q->k.d)
        lvk_kernels_destroy(&q->k);
    memset(q, 0, sizeof *q);
}

static lvk_quant_format quant_of(lvk_dtype format) { return format == LVK_DTYPE_Q8 ? LVK_QUANT_Q8 : LVK_QUANT_Q4; }

/* Quantizes rows [row0, row0 + n) of the tensor, which lie in one chunk of out, from src (packed rows as stored). */
static bool quantize_piece(quantizer *q, lvk_device *d, lvk_transfer *xfer, const lvk_ckpt_tensor *t,
                           const lvk_weight *out, uint32_t row0, uint32_t n, const uint8_t *src, lvk_err *err)
{
    const lvk_weight_chunk *ch = &out->chunks[row0 / out->rows_per_chunk];
    const uint64_t row_bytes = (uint64_t)out->cols * lvk_dtype_size(t->dtype);
    const VkDeviceSize skip = row0 - ch->row0;
    lvk_view in = lvk_buffer_view_all(&q->input), quants = ch->view, scales = ch->scales;
    quants.offset += skip * out->row_stride, quants.size -= skip * out->row_stride, quants.mapped = NULL;
    scales.offset += skip * out->scale_stride, scales.size -= skip * out->scale_stride, scales.mapped = NULL;
    lvk_view flags = lvk_buffer_view_all(&q->flags);
    lvk_quantize_op op;
    if (!lvk_upload(d, xfer, &in, 0, src, n * row_bytes, err) || !lvk_transfer_finish(d, xfer, err) ||
        !lvk_quantize_prepare(&q->k, &op, quant_of(out->dtype), t->dtype, q->search, &in, &quants, &scales, &flags, n,
                              out->cols, err) ||
        !lvk_cmd_begin(d, &q->cmd, false, err))
        return false;
    lvk_cmd_barrier(&q->cmd); /* the upload's copy before the shader reads it */
    lvk_quantize_record(&q->cmd, &op);
    lvk_cmd_barrier(&q->cmd); /* the blocks before the kernels that will read them */
    lvk_cmd_barrier_host(&q->cmd);
    return lvk_cmd_run(d, &q->cmd, err);
}

/* Rows per piece: as many as the input buffer and one dispatch take, a multiple of 16 so every piece's
 * blocks start on the storage-offset alignment (rows are multiples of 16 bytes; the alignment is <= 256). */
static uint32_t quant_piece_rows(const quantizer *q, lvk_device *d, const lvk_weight *out, lvk_dtype stored)
{
    uint64_t rows = q->input.size / ((uint64_t)out->cols * lvk_dtype_size(stored));
    uint32_t most = lvk_quantize_max_rows(d, quant_of(out->dtype), stored, out->cols, 0);
    if (most < rows)
        rows = most;
    if (rows > 16)
        rows &= ~(uint64_t)15;
    return (uint32_t)rows;
}

/* Creates the device weight for a checkpoint tensor and streams its rows from the mapped file:
 * straight from the mapping where a piece lies in one slice, through a small buffer where it
 * crosses a slice boundary. A quantized tensor goes through the quantizer piece by piece. */
static bool upload_tensor(lvk_weights *w, lvk_device *d, lvk_transfer *xfer, quantizer *qz, const lvk_ckpt *ck,
                          const char *name, uint32_t rows, uint32_t cols, lvk_weight *out, upload_progress *progress,
                          const lvk_memory_plan *plan, lvk_err *err)
{
    const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, name);
    if (!t)
        return lvk_fail(err, "%s: tensor %s is missing", ck->path, name);
    if (t->n_elems != (uint64_t)rows * cols)
        return lvk_fail(err, "%s: tensor %s has %" PRIu64 " values, expected %u x %u", ck->path, name, t->n_elems, rows,
                        cols);
    lvk_dtype format;
    bool host;
    planned(plan, name, t->dtype, &format, &host);
    const bool quantized = lvk_dtype_is_quantized(format);
    if (!lvk_weight_create(d, host ? &w->host_arena : &w->arena, out, format, rows, cols, 0, err) ||
        (quantized && !qz->ready && !quantizer_init(qz, d, plan->q4_search, err))) {
        lvk_err_prefix(err, "tensor %s", name);
        return false;
    }
    const uint64_t row_bytes = (uint64_t)cols * lvk_dtype_size(t->dtype);
    uint32_t rows_per_piece = quantized ? quant_piece_rows(qz, d, out, t->dtype) : (uint32_t)((8u << 20) / row_bytes);
    if (rows_per_piece == 0)
        rows_per_piece = 1;
    if (quantized)
        *(uint32_t *)qz->flags.mapped = 0;
    uint8_t *bounce = NULL;
    bool ok = true;
    for (uint32_t r = 0; ok && r < rows;) {
        uint32_t n = rows - r < rows_per_piece ? rows - r : rows_per_piece;
        if (quantized) {
            /* A piece stays inside one chunk of the weight. */
            const lvk_weight_chunk *ch = &out->chunks[r / out->rows_per_chunk];
            if (n > ch->row0 + ch->rows - r)
                n = ch->row0 + ch->rows - r;
        }
        uint64_t bytes = n * row_bytes;
        const uint8_t *src = lvk_ckpt_peek(ck, t, r * row_bytes, bytes);
        if (!src) {
            if (!bounce && !(bounce = lvk_malloc((size_t)rows_per_piece * row_bytes)))
                ok = lvk_fail(err, "out of host memory");
            ok = ok && lvk_ckpt_read(ck, t, r * row_bytes, bytes, bounce, err);
            src = bounce;
        }
        if (quantized) {
            ok = ok && quantize_piece(qz, d, xfer, t, out, r, n, src, err);
        } else {
            ok = ok && lvk_weight_upload_rows(d, xfer, out, r, n, src, err);
            /* The ring copies into staging before returning, except on the mapped path, where it is a memcpy. */
            if (ok && src == bounce)
                ok = lvk_transfer_finish(d, xfer, err);
        }
        r += n;
        progress->done += bytes;
        progress_print(progress, false);
    }
    free(bounce);
    if (ok && quantized)
        ok = lvk_quantize_check(*(const uint32_t *)qz->flags.mapped, quant_of(format), name, err);
    w->bytes += lvk_weight_bytes(out);
    return ok;
}

bool lvk_weights_upload(lvk_weights *w, lvk_device *d, lvk_transfer *xfer, const lvk_model_config *c,
                        const lvk_ckpt *ck, const lvk_memory_plan *plan, bool show_progress, lvk_err *err)
{
    memset(w, 0, sizeof *w);
    lvk_arena_init(d, &w->arena, LVK_MEM_DEVICE);
    lvk_arena_init(d, &w->host_arena, LVK_MEM_HOST);
    w->layers = lvk_calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers)
        return lvk_fail(err, "out of host memory");
    w->n_layers = c->n_layers;
    const uint32_t dim = (uint32_t)c->dim, ffn = (uint32_t)c->ffn_dim, vocab = (uint32_t)c->vocab_size;
    const uint32_t kv_dim = dim / (uint32_t)c->n_heads * (uint32_t)c->n_kv_heads;
    upload_progress progress = {.start = lvk_now(), .show = show_progress};
    quantizer qz = {0};
    for (int i = 0; i < ck->n_tensors; i++)
        progress.total += ck->tensors[i].n_bytes;
    char name[128];
    bool ok = upload_tensor(w, d, xfer, &qz, ck, "model.tok_embeddings.embedding_weight", vocab, dim, &w->tok_embed,
                            &progress, plan, err);
    for (int l = 0; ok && l < c->n_layers; l++) {
        lvk_layer_weights *L = &w->layers[l];
        struct {
            const char *suffix;
            uint32_t rows, cols;
            lvk_weight *w;
        } parts[] = {
            {"attention_norm.weight", 1, dim, &L->attn_norm}, {"attention.wq.weight", dim, dim, &L->wq},
            {"attention.wk.weight", kv_dim, dim, &L->wk},     {"attention.wv.weight", kv_dim, dim, &L->wv},
            {"attention.wo.weight", dim, dim, &L->wo},        {"ffn_norm.weight", 1, dim, &L->ffn_norm},
            {"feed_forward.w1.weight", ffn, dim, &L->w1},     {"feed_forward.w2.weight", dim, ffn, &L->w2},
            {"feed_forward.w3.weight", ffn, dim, &L->w3},
        };
        for (size_t p = 0; ok && p < sizeof parts / sizeof parts[0]; p++) {
            snprintf(name, sizeof name, "model.layers.%d.%s", l, parts[p].suffix);
            ok = upload_tensor(w, d, xfer, &qz, ck, name, parts[p].rows, parts[p].cols, parts[p].w, &progress, plan, err);
        }
    }
    ok = ok && upload_tensor(w, d, xfer, &qz, ck, "model.norm_out.weight", 1, dim, &w->norm_out, &progress, plan, err) &&
              upload_tensor(w, d, xfer, &qz, ck, "lm_head.weight", vocab, dim, &w->lm_head, &progress, plan, err) &&
              lvk_transfer_finish(d, xfer, err);
    quantizer_destroy(&qz, d);
    progress_print(&progress, true);
    return ok;
}

void lvk_weights_destroy(lvk_device *d, lvk_weights *w)
{
    if (w->layers) {
        for (int l = 0; l < w->n_layers; l++) {
            lvk_layer_weights *L = &w->layers[l];
            lvk_weight *ws[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_norm, &L->w1, &L->w2, &L->w3};
            for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
                lvk_weight_destroy(d, ws[i]);
        }
        free(w->layers);
    }
    lvk_weight_destroy(d, &w->tok_embed);
    lvk_weight_destroy(d, &w->norm_out);
    lvk_weight_destroy(d, &w->lm_head);
    lvk_arena_destroy(d, &w->arena);
    lvk_arena_destroy(d, &w->host_arena);
    memset(w, 0, sizeof *w);
}
