#include "model/llama.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/platform.h"
#include "io/llama_layout.h"

/* ---- memory plan ---------------------------------------------------------------------------- */

static uint64_t weight_bytes(uint64_t rows, uint64_t cols, uint64_t elem)
{
    return rows * ((cols * elem + 15) / 16 * 16);
}

static uint64_t activation_bytes(const lvk_model_config *cfg, uint32_t max_batch)
{
    uint64_t dim = (uint64_t)cfg->dim, kv_dim = dim / (uint64_t)cfg->n_heads * (uint64_t)cfg->n_kv_heads;
    uint64_t per_token = 5 * dim + 2 * kv_dim + 2 * (uint64_t)cfg->ffn_dim; /* h x q att + k v + g u */
    return 4 * ((uint64_t)max_batch * per_token + 2 * dim + (uint64_t)cfg->vocab_size) + (64u << 20);
}

uint64_t lvk_llama_device_bytes(const lvk_model_config *cfg, uint32_t max_seq, uint32_t max_batch)
{
    /* Weights at 2 bytes per value (fp16/bf16; fp32 models count twice: the loader checks again). */
    uint64_t total = 0;
    for (int i = 0; i < lvk_llama_tensor_count(cfg); i++) {
        lvk_tensor_spec s;
        lvk_llama_tensor_spec(cfg, i, &s);
        total += s.n_dims == 1 ? weight_bytes(1, (uint64_t)s.dims[0], 2) : weight_bytes((uint64_t)s.dims[0], (uint64_t)s.dims[1], 2);
    }
    uint64_t kv_dim = (uint64_t)cfg->dim / (uint64_t)cfg->n_heads * (uint64_t)cfg->n_kv_heads;
    total += 2ull * (uint64_t)cfg->n_layers * max_seq * kv_dim * 2;
    return total + activation_bytes(cfg, max_batch);
}

/* Refuses, before anything is allocated, a model that cannot fit. A discrete GPU is judged by its
 * device-local heaps (or their budget); a CPU or integrated device by the system's free memory,
 * since its heap size is only a hint (lavapipe reports 2 GiB and allocates from system memory). */
static bool check_memory(const lvk_device *d, uint64_t need, bool force, lvk_err *err)
{
    const lvk_device_info *info = d->info;
    uint64_t have;
    const char *what;
    if (info->unified_memory || info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ||
        info->type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) {
        have = lvk_system_memory_available();
        what = "free system memory";
    } else {
        have = lvk_device_memory_available(d);
        what = "device-local memory";
    }
    const double gb = 1e9;
    lvk_info("memory: the model needs %.2f GB, the device has %.2f GB of %s", (double)need / gb, (double)have / gb, what);
    if (have && need > have && !force)
        return lvk_fail(err, "the model needs %.2f GB but %s (%s) has only %.2f GB of %s; use a smaller context (-c), "
                             "another device (--device), or --force to try anyway",
                        (double)need / gb, info->name, lvk_device_type_name(info->type), (double)have / gb, what);
    return true;
}

/* ---- upload ---------------------------------------------------------------------------------- */

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
static bool upload_tensor(lvk_llama *m, const lvk_ckpt *ck, const char *name, uint32_t rows, uint32_t cols,
                          lvk_weight *w, upload_progress *progress, lvk_err *err)
{
    const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, name);
    if (!t)
        return lvk_fail(err, "%s: tensor %s is missing", ck->path, name);
    if (t->n_elems != (uint64_t)rows * cols)
        return lvk_fail(err, "%s: tensor %s has %" PRIu64 " values, expected %u x %u", ck->path, name, t->n_elems, rows,
                        cols);
    if (!lvk_weight_create(m->d, &m->weights, w, t->dtype, rows, cols, 0, err)) {
        lvk_err_prefix(err, "tensor %s", name);
        return false;
    }
    const uint64_t row_bytes = lvk_weight_row_bytes(w);
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
        ok = ok && lvk_weight_upload_rows(m->d, &m->xfer, w, r, n, src, err);
        /* The ring copies into staging before returning, except on the mapped path, where it is a memcpy. */
        if (ok && src == bounce)
            ok = lvk_transfer_finish(m->d, &m->xfer, err);
        progress->done += bytes;
        progress_print(progress, false);
    }
    free(bounce);
    m->weight_bytes += (uint64_t)rows * row_bytes;
    return ok;
}

static bool upload_weights(lvk_llama *m, const lvk_ckpt *ck, bool show_progress, lvk_err *err)
{
    const lvk_model_config *c = &m->cfg;
    const uint32_t dim = (uint32_t)c->dim, ffn = (uint32_t)c->ffn_dim, vocab = (uint32_t)c->vocab_size;
    upload_progress progress = {.start = lvk_now(), .show = show_progress};
    for (int i = 0; i < ck->n_tensors; i++)
        progress.total += ck->tensors[i].n_bytes;
    char name[128];
    if (!upload_tensor(m, ck, "model.tok_embeddings.embedding_weight", vocab, dim, &m->tok_embed, &progress, err))
        return false;
    for (int l = 0; l < c->n_layers; l++) {
        lvk_llama_layer *L = &m->layers[l];
        struct {
            const char *suffix;
            uint32_t rows, cols;
            lvk_weight *w;
        } parts[] = {
            {"attention_norm.weight", 1, dim, &L->attn_norm}, {"attention.wq.weight", dim, dim, &L->wq},
            {"attention.wk.weight", m->kv_dim, dim, &L->wk},  {"attention.wv.weight", m->kv_dim, dim, &L->wv},
            {"attention.wo.weight", dim, dim, &L->wo},        {"ffn_norm.weight", 1, dim, &L->ffn_norm},
            {"feed_forward.w1.weight", ffn, dim, &L->w1},     {"feed_forward.w2.weight", dim, ffn, &L->w2},
            {"feed_forward.w3.weight", ffn, dim, &L->w3},
        };
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            snprintf(name, sizeof name, "model.layers.%d.%s", l, parts[p].suffix);
            if (!upload_tensor(m, ck, name, parts[p].rows, parts[p].cols, parts[p].w, &progress, err))
                return false;
        }
    }
    bool ok = upload_tensor(m, ck, "model.norm_out.weight", 1, dim, &m->norm_out, &progress, err) &&
              upload_tensor(m, ck, "lm_head.weight", vocab, dim, &m->lm_head, &progress, err) &&
              lvk_transfer_finish(m->d, &m->xfer, err);
    progress_print(&progress, true);
    return ok;
}

/* ---- activations and prepared ops ------------------------------------------------------------- */

/* The positions rope / kv store / attention read (uint32 [max_batch], written before each step) share the host-visible
 * ids buffer, after the ids at an aligned offset: a stopgap that keeps llama.h as it is until the model rewrite. */
static uint64_t pos_offset(const lvk_llama *m)
{
    uint64_t align = m->d->info->min_storage_buffer_offset_alignment > 256 ? m->d->info->min_storage_buffer_offset_alignment
                                                                            : 256;
    return ((uint64_t)m->max_batch * 4 + align - 1) / align * align;
}

static lvk_view pos_view(const lvk_llama *m)
{
    lvk_view v = lvk_buffer_view_all(&m->ids);
    v.offset = pos_offset(m);
    v.size = (uint64_t)m->max_batch * 4;
    v.mapped = (char *)m->ids.mapped + v.offset;
    return v;
}

static bool create_activations(lvk_llama *m, lvk_err *err)
{
    const uint64_t B = m->max_batch, dim = (uint64_t)m->cfg.dim, f = 4;
    struct {
        lvk_buffer *b;
        uint64_t bytes;
        lvk_mem_kind kind;
    } bufs[] = {
        {&m->ids, pos_offset(m) + B * 4, LVK_MEM_HOST},
        {&m->h, B * dim * f, LVK_MEM_DEVICE},
        {&m->x, B * dim * f, LVK_MEM_DEVICE},
        {&m->q, B * dim * f, LVK_MEM_DEVICE},
        {&m->kk, B * m->kv_dim * f, LVK_MEM_DEVICE},
        {&m->vv, B * m->kv_dim * f, LVK_MEM_DEVICE},
        {&m->att, B * dim * f, LVK_MEM_DEVICE},
        {&m->g, B * (uint64_t)m->cfg.ffn_dim * f, LVK_MEM_DEVICE},
        {&m->u, B * (uint64_t)m->cfg.ffn_dim * f, LVK_MEM_DEVICE},
        {&m->last, dim * f, LVK_MEM_DEVICE},
        {&m->last_norm, dim * f, LVK_MEM_DEVICE},
        {&m->logits, (uint64_t)m->cfg.vocab_size * f, LVK_MEM_DEVICE},
        {&m->result, LVK_TOPK_MAX * 8, LVK_MEM_HOST},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!lvk_buffer_create(m->d, bufs[i].b, bufs[i].bytes, bufs[i].kind, err))
            return false;
    uint64_t cache_bytes = (uint64_t)m->max_seq * m->kv_dim * 2;
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (!lvk_buffer_create(m->d, &m->layers[l].k_cache, cache_bytes, LVK_MEM_DEVICE, err) ||
            !lvk_buffer_create(m->d, &m->layers[l].v_cache, cache_bytes, LVK_MEM_DEVICE, err))
            return false;
    return true;
}

static bool prepare_layer(lvk_llama *m, lvk_llama_layer *L, lvk_err *err)
{
    lvk_kernels *k = &m->k;
    const uint32_t B = m->max_batch, dim = (uint32_t)m->cfg.dim, ffn = (uint32_t)m->cfg.ffn_dim;
    const uint32_t heads = (uint32_t)m->cfg.n_heads, kv_heads = (uint32_t)m->cfg.n_kv_heads;
    const float eps = (float)m->cfg.norm_eps;
    lvk_view h = lvk_buffer_view_all(&m->h), x = lvk_buffer_view_all(&m->x), q = lvk_buffer_view_all(&m->q);
    lvk_view kk = lvk_buffer_view_all(&m->kk), vv = lvk_buffer_view_all(&m->vv), att = lvk_buffer_view_all(&m->att);
    lvk_view g = lvk_buffer_view_all(&m->g), u = lvk_buffer_view_all(&m->u);
    lvk_view kc = lvk_buffer_view_all(&L->k_cache), vc = lvk_buffer_view_all(&L->v_cache), pos = pos_view(m);
    return lvk_rmsnorm_prepare(k, &L->norm1, &h, &L->attn_norm, &x, dim, eps, B, err) &&
           lvk_linear_prepare(k, &L->q, &L->wq, &x, &q, B, m->matvec_tokens, false, err) &&
           lvk_linear_prepare(k, &L->k, &L->wk, &x, &kk, B, m->matvec_tokens, false, err) &&
           lvk_linear_prepare(k, &L->v, &L->wv, &x, &vv, B, m->matvec_tokens, false, err) &&
           lvk_rope_prepare(k, &L->rope_q, &q, &pos, heads, m->head_dim, m->cfg.rope_theta, B, err) &&
           lvk_rope_prepare(k, &L->rope_k, &kk, &pos, kv_heads, m->head_dim, m->cfg.rope_theta, B, err) &&
           lvk_kv_store_prepare(k, &L->kv_store, &kk, &vv, &kc, &vc, &pos, kv_heads, m->head_dim, m->max_seq, B, err) &&
           lvk_attention_prepare(k, &L->attn, &q, &kc, &vc, &att, &pos, heads, kv_heads, m->head_dim, m->max_seq, B,
                                 &m->scratch, NULL, err) &&
           lvk_linear_prepare(k, &L->o, &L->wo, &att, &h, B, m->matvec_tokens, true, err) &&
           lvk_rmsnorm_prepare(k, &L->norm2, &h, &L->ffn_norm, &x, dim, eps, B, err) &&
           lvk_linear_prepare(k, &L->gate, &L->w1, &x, &g, B, m->matvec_tokens, false, err) &&
           lvk_linear_prepare(k, &L->up, &L->w3, &x, &u, B, m->matvec_tokens, false, err) &&
           lvk_silu_mul_prepare(k, &L->silu, &g, &u, &g, ffn, B, err) &&
           lvk_linear_prepare(k, &L->down, &L->w2, &g, &h, B, m->matvec_tokens, true, err);
}

static bool prepare_ops(lvk_llama *m, lvk_err *err)
{
    lvk_kernels *k = &m->k;
    const uint32_t dim = (uint32_t)m->cfg.dim, vocab = (uint32_t)m->cfg.vocab_size;
    lvk_view ids = lvk_buffer_view_all(&m->ids), h = lvk_buffer_view_all(&m->h);
    lvk_view last = lvk_buffer_view_all(&m->last), last_norm = lvk_buffer_view_all(&m->last_norm);
    lvk_view logits = lvk_buffer_view_all(&m->logits), result = lvk_buffer_view_all(&m->result);
    if (!lvk_embed_prepare(k, &m->embed, &m->tok_embed, &ids, &h, m->max_batch, err))
        return false;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (!prepare_layer(m, &m->layers[l], err)) {
            lvk_err_prefix(err, "layer %d", l);
            return false;
        }
    }
    lvk_matvec_options head_opt = {.path = LVK_MATVEC_AUTO};
    m->top_k = LVK_TOPK_MAX < vocab ? LVK_TOPK_MAX : vocab;
    return lvk_rmsnorm_prepare(k, &m->final_norm, &last, &m->norm_out, &last_norm, dim, (float)m->cfg.norm_eps, 1, err) &&
           lvk_matvec_prepare(k, &m->head, &m->lm_head, &last_norm, &logits, 1, &head_opt, err) &&
           lvk_argmax_prepare(k, &m->argmax, &logits, &result, vocab, &m->scratch, err) &&
           lvk_topk_prepare(k, &m->topk, &logits, &result, vocab, m->top_k, &m->scratch, err);
}

/* ---- load ---------------------------------------------------------------------------------- */

bool lvk_llama_load(lvk_llama *m, lvk_device *d, const lvk_model_config *cfg, const lvk_ckpt *ck,
                    const lvk_llama_options *opt, lvk_err *err)
{
    memset(m, 0, sizeof *m);
    double start = lvk_now();
    m->cfg = *cfg;
    m->d = d;
    if (!lvk_config_validate(cfg, cfg->name, err) || !lvk_config_check_ckpt(cfg, ck, err))
        return false;
    m->head_dim = (uint32_t)(cfg->dim / cfg->n_heads);
    m->kv_dim = m->head_dim * (uint32_t)cfg->n_kv_heads;
    m->max_seq = opt && opt->max_seq ? opt->max_seq : (uint32_t)cfg->max_seq_len;
    m->max_batch = opt && opt->max_batch ? opt->max_batch : 64;
    m->matvec_tokens = opt ? opt->matvec_tokens : 0;
    if (m->max_batch > m->max_seq)
        m->max_batch = m->max_seq;

    uint64_t need = lvk_llama_device_bytes(cfg, m->max_seq, m->max_batch);
    const lvk_ckpt_tensor *emb = lvk_ckpt_find(ck, "model.tok_embeddings.embedding_weight");
    if (emb && emb->dtype == LVK_DTYPE_F32)
        need = need * 2; /* the plan assumed 16-bit weights */
    if (!check_memory(d, need, opt && opt->force, err))
        return false;

    m->layers = calloc((size_t)cfg->n_layers, sizeof *m->layers);
    if (!m->layers)
        return lvk_fail(err, "out of host memory");
    lvk_arena_init(d, &m->weights, LVK_MEM_DEVICE);
    lvk_arena_init(d, &m->scratch, LVK_MEM_DEVICE);
    m->profiling = opt && opt->profile && d->info->timestamps;
    bool ok = lvk_kernels_init(&m->k, d, err) && lvk_transfer_init(d, &m->xfer, 16u << 20, err) &&
              lvk_cmd_create(d, &m->cmd, m->profiling ? (uint32_t)sizeof m->prof_kind : 0, err) && upload_weights(m, ck, opt && opt->progress, err) &&
              create_activations(m, err) && prepare_ops(m, err);
    if (!ok) {
        lvk_llama_destroy(m);
        return false;
    }
    m->load_seconds = lvk_now() - start;
    return true;
}

void lvk_llama_destroy(lvk_llama *m)
{
    if (!m->d)
        return;
    lvk_device *d = m->d;
    vkDeviceWaitIdle(d->dev);
    lvk_cmd_destroy(d, &m->cmd);
    if (m->layers) {
        for (int l = 0; l < m->cfg.n_layers; l++) {
            lvk_llama_layer *L = &m->layers[l];
            lvk_linear_op *lin[] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
            for (size_t i = 0; i < sizeof lin / sizeof lin[0]; i++)
                lvk_linear_destroy(&m->k, lin[i]);
            lvk_rope_destroy(&m->k, &L->rope_q);
            lvk_rope_destroy(&m->k, &L->rope_k);
            lvk_attention_destroy(&m->k, &L->attn);
            lvk_weight *ws[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_norm, &L->w1, &L->w2, &L->w3};
            for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
                lvk_weight_destroy(d, ws[i]);
            lvk_buffer_destroy(d, &L->k_cache);
            lvk_buffer_destroy(d, &L->v_cache);
        }
        free(m->layers);
    }
    lvk_matvec_destroy(&m->k, &m->head);
    lvk_kernels_destroy(&m->k);
    lvk_weight_destroy(d, &m->tok_embed);
    lvk_weight_destroy(d, &m->norm_out);
    lvk_weight_destroy(d, &m->lm_head);
    lvk_buffer *bufs[] = {&m->ids, &m->h, &m->x, &m->q, &m->kk, &m->vv, &m->att, &m->g,
                          &m->u, &m->last, &m->last_norm, &m->logits, &m->result};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        lvk_buffer_destroy(d, bufs[i]);
    lvk_transfer_destroy(d, &m->xfer);
    lvk_arena_destroy(d, &m->weights);
    lvk_arena_destroy(d, &m->scratch);
    memset(m, 0, sizeof *m);
}

void lvk_llama_reset(lvk_llama *m) { m->n_past = 0; }

/* ---- forward ------------------------------------------------------------------------------- */

const char *lvk_prof_kind_name(lvk_prof_kind kind)
{
    static const char *const names[LVK_PROF_COUNT] = {"embed", "rmsnorm", "q k v", "rope", "kv store", "attention",
                                                      "wo + residual", "w1 w3", "silu*mul", "w2 + residual",
                                                      "final norm + lm_head", "argmax / top-k"};
    return kind < LVK_PROF_COUNT ? names[kind] : "?";
}

/* When profiling, a timestamp after each piece of work, labelled with what it ended. */
static void mark(lvk_llama *m, lvk_prof_kind kind)
{
    if (!m->profiling)
        return;
    int i = lvk_cmd_timestamp(&m->cmd);
    if (i >= 0)
        m->prof_kind[i] = (uint8_t)kind;
}

static bool collect_profile(lvk_llama *m, lvk_err *err)
{
    uint32_t n = m->cmd.n_timestamps;
    for (uint32_t i = 1; i < n; i++) {
        double ms = 0;
        if (!lvk_cmd_elapsed_ms(m->d, &m->cmd, (int)i - 1, (int)i, &ms, err))
            return false;
        m->profile.ms[m->prof_kind[i]] += ms;
    }
    m->profile.steps++;
    return true;
}

/* One step: n tokens (n <= max_batch) already in the ids buffer, their positions n_past.. in the position buffer. */
static void record_layers(lvk_llama *m, uint32_t n)
{
    lvk_cmd *c = &m->cmd;
    mark(m, LVK_PROF_EMBED);
    lvk_embed_record(c, &m->embed, n);
    lvk_cmd_barrier(c);
    mark(m, LVK_PROF_EMBED);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const lvk_llama_layer *L = &m->layers[l];
        lvk_rmsnorm_record(c, &L->norm1, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_NORM);
        lvk_linear_record(c, &L->q, n);
        lvk_linear_record(c, &L->k, n);
        lvk_linear_record(c, &L->v, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_QKV);
        lvk_rope_record(c, &L->rope_q, n);
        lvk_rope_record(c, &L->rope_k, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_ROPE);
        lvk_kv_store_record(c, &L->kv_store, 0, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_KV_STORE);
        lvk_attention_record(c, &L->attn, 0, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_ATTENTION);
        lvk_linear_record(c, &L->o, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_WO);
        lvk_rmsnorm_record(c, &L->norm2, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_NORM);
        lvk_linear_record(c, &L->gate, n);
        lvk_linear_record(c, &L->up, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_GATE_UP);
        lvk_silu_mul_record(c, &L->silu, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_SILU);
        lvk_linear_record(c, &L->down, n);
        lvk_cmd_barrier(c);
        mark(m, LVK_PROF_DOWN);
    }
}

static void record_head(lvk_llama *m, uint32_t n, lvk_llama_output what)
{
    lvk_cmd *c = &m->cmd;
    const uint64_t row = (uint64_t)m->cfg.dim * sizeof(float);
    lvk_view h = lvk_buffer_view_all(&m->h), last = lvk_buffer_view_all(&m->last);
    h.offset += (n - 1) * row;
    lvk_cmd_copy(c, &h, &last, row);
    lvk_cmd_barrier(c);
    lvk_rmsnorm_record(c, &m->final_norm, 1);
    lvk_cmd_barrier(c);
    lvk_matvec_record(c, &m->head, 1);
    lvk_cmd_barrier(c);
    mark(m, LVK_PROF_HEAD);
    if (what == LVK_OUT_ARGMAX)
        lvk_argmax_record(c, &m->argmax);
    else if (what == LVK_OUT_TOPK)
        lvk_topk_record(c, &m->topk);
    lvk_cmd_barrier_host(c);
    mark(m, LVK_PROF_SAMPLE);
}

bool lvk_llama_forward(lvk_llama *m, const int32_t *ids, uint32_t n, lvk_llama_output what, uint32_t top_k,
                       lvk_llama_result *out, lvk_err *err)
{
    if (n == 0)
        return lvk_fail(err, "nothing to run: no tokens");
    if ((uint64_t)m->n_past + n > m->max_seq)
        return lvk_fail(err, "%u tokens after %u do not fit the context of %u tokens", n, m->n_past, m->max_seq);
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return lvk_fail(err, "token id %d is outside the vocabulary (0..%d)", ids[i], m->cfg.vocab_size - 1);
    if (what == LVK_OUT_TOPK && (top_k == 0 || top_k > m->top_k))
        return lvk_fail(err, "top-k of %u is outside 1..%u", top_k, m->top_k);

    for (uint32_t done = 0; done < n;) {
        uint32_t step = n - done < m->max_batch ? n - done : m->max_batch;
        bool last_step = done + step == n;
        double t0 = lvk_now();
        memcpy(m->ids.mapped, ids + done, step * sizeof(uint32_t));
        uint32_t *pos = pos_view(m).mapped;
        for (uint32_t t = 0; t < step; t++)
            pos[t] = m->n_past + t;
        if (!lvk_cmd_begin(m->d, &m->cmd, false, err))
            return false;
        record_layers(m, step);
        if (last_step)
            record_head(m, step, what);
        double t1 = lvk_now();
        if (lvk_fault("step"))
            return lvk_fail(err, "the device step failed (injected by LLAMA_VK_FAIL)");
        if (!lvk_cmd_run(m->d, &m->cmd, err) || (m->profiling && !collect_profile(m, err)))
            return false;
        m->profile.record_ms += (t1 - t0) * 1e3;
        m->profile.step_ms += (lvk_now() - t0) * 1e3;
        m->n_past += step;
        done += step;
    }

    if (what == LVK_OUT_ARGMAX) {
        memcpy(&out->argmax, m->result.mapped, sizeof out->argmax);
    } else if (what == LVK_OUT_TOPK) {
        const uint32_t *pairs = m->result.mapped;
        out->n_top = top_k;
        for (uint32_t i = 0; i < top_k; i++) {
            out->top_idx[i] = pairs[2 * i];
            memcpy(&out->top_val[i], &pairs[2 * i + 1], sizeof(float));
        }
    } else {
        lvk_view logits = lvk_buffer_view_all(&m->logits);
        if (!lvk_download(m->d, &m->xfer, &logits, 0, out->logits, (uint64_t)m->cfg.vocab_size * sizeof(float), err))
            return false;
    }
    return true;
}
