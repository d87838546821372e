#include "model/weights.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"
#include "io/llama_layout.h"

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

/* Creates the device weight for a checkpoint tensor and streams its rows from the mapped file:
 * straight from the mapping where a piece lies in one slice, through a small buffer where it
 * crosses a slice boundary. */
static bool upload_tensor(lvk_weights *w, lvk_device *d, lvk_transfer *xfer, const lvk_ckpt *ck, const char *name,
                          uint32_t rows, uint32_t cols, lvk_weight *out, upload_progress *progress, lvk_err *err)
{
    const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, name);
    if (!t)
        return lvk_fail(err, "%s: tensor %s is missing", ck->path, name);
    if (t->n_elems != (uint64_t)rows * cols)
        return lvk_fail(err, "%s: tensor %s has %" PRIu64 " values, expected %u x %u", ck->path, name, t->n_elems, rows,
                        cols);
    if (!lvk_weight_create(d, &w->arena, out, t->dtype, rows, cols, 0, err)) {
        lvk_err_prefix(err, "tensor %s", name);
        return false;
    }
    const uint64_t row_bytes = lvk_weight_row_bytes(out);
    uint32_t rows_per_piece = (uint32_t)((8u << 20) / row_bytes);
    if (rows_per_piece == 0)
        rows_per_piece = 1;
    uint8_t *bounce = NULL;
    bool ok = true;
    for (uint32_t r = 0; ok && r < rows; r += rows_per_piece) {
        uint32_t n = rows - r < rows_per_piece ? rows - r : rows_per_piece;
        uint64_t bytes = n * row_bytes;
        const uint8_t *src = lvk_ckpt_peek(ck, t, r * row_bytes, bytes);
        if (!src) {
            if (!bounce && !(bounce = malloc((size_t)rows_per_piece * row_bytes)))
                ok = lvk_fail(err, "out of host memory");
            ok = ok && lvk_ckpt_read(ck, t, r * row_bytes, bytes, bounce, err);
            src = bounce;
        }
        ok = ok && lvk_weight_upload_rows(d, xfer, out, r, n, src, err);
        /* The ring copies into staging before returning, except on the mapped path, where it is a memcpy. */
        if (ok && src == bounce)
            ok = lvk_transfer_finish(d, xfer, err);
        progress->done += bytes;
        progress_print(progress, false);
    }
    free(bounce);
    w->bytes += (uint64_t)rows * row_bytes;
    return ok;
}

bool lvk_weights_upload(lvk_weights *w, lvk_device *d, lvk_transfer *xfer, const lvk_model_config *c,
                        const lvk_ckpt *ck, bool show_progress, lvk_err *err)
{
    memset(w, 0, sizeof *w);
    lvk_arena_init(d, &w->arena, LVK_MEM_DEVICE);
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers)
        return lvk_fail(err, "out of host memory");
    w->n_layers = c->n_layers;
    const uint32_t dim = (uint32_t)c->dim, ffn = (uint32_t)c->ffn_dim, vocab = (uint32_t)c->vocab_size;
    const uint32_t kv_dim = dim / (uint32_t)c->n_heads * (uint32_t)c->n_kv_heads;
    upload_progress progress = {.start = lvk_now(), .show = show_progress};
    for (int i = 0; i < ck->n_tensors; i++)
        progress.total += ck->tensors[i].n_bytes;
    char name[128];
    if (!upload_tensor(w, d, xfer, ck, "model.tok_embeddings.embedding_weight", vocab, dim, &w->tok_embed, &progress,
                       err))
        return false;
    for (int l = 0; l < c->n_layers; l++) {
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
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            snprintf(name, sizeof name, "model.layers.%d.%s", l, parts[p].suffix);
            if (!upload_tensor(w, d, xfer, ck, name, parts[p].rows, parts[p].cols, parts[p].w, &progress, err))
                return false;
        }
    }
    bool ok = upload_tensor(w, d, xfer, ck, "model.norm_out.weight", 1, dim, &w->norm_out, &progress, err) &&
              upload_tensor(w, d, xfer, ck, "lm_head.weight", vocab, dim, &w->lm_head, &progress, err) &&
              lvk_transfer_finish(d, xfer, err);
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
    memset(w, 0, sizeof *w);
}
