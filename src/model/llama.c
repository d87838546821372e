#include "model/llama.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/platform.h"
#include "model/memory_plan.h"
#include "model/sequence.h"

/* ---- the activations, described once ------------------------------------------------------------------------ */

/* Width of a row, in values. */
typedef enum act_width { WIDTH_ONE, WIDTH_DIM, WIDTH_KV, WIDTH_FFN, WIDTH_VOCAB, WIDTH_TOPK_PAIRS } act_width;
/* How many rows: one per token of a step, or one per sequence of a step. */
typedef enum act_rows { ROWS_BATCH, ROWS_SEQS } act_rows;

static const struct activation_desc {
    const char *name;
    size_t offset; /* of the lvk_buffer in lvk_activations */
    act_width width;
    act_rows rows;
    lvk_mem_kind kind;
} activations[] = {
    {"ids", offsetof(lvk_activations, ids), WIDTH_ONE, ROWS_BATCH, LVK_MEM_HOST},
    {"pos", offsetof(lvk_activations, pos), WIDTH_ONE, ROWS_BATCH, LVK_MEM_HOST},
    {"h", offsetof(lvk_activations, h), WIDTH_DIM, ROWS_BATCH, LVK_MEM_DEVICE},
    {"x", offsetof(lvk_activations, x), WIDTH_DIM, ROWS_BATCH, LVK_MEM_DEVICE},
    {"q", offsetof(lvk_activations, q), WIDTH_DIM, ROWS_BATCH, LVK_MEM_DEVICE},
    {"k", offsetof(lvk_activations, kk), WIDTH_KV, ROWS_BATCH, LVK_MEM_DEVICE},
    {"v", offsetof(lvk_activations, vv), WIDTH_KV, ROWS_BATCH, LVK_MEM_DEVICE},
    {"att", offsetof(lvk_activations, att), WIDTH_DIM, ROWS_BATCH, LVK_MEM_DEVICE},
    {"gate", offsetof(lvk_activations, g), WIDTH_FFN, ROWS_BATCH, LVK_MEM_DEVICE},
    {"up", offsetof(lvk_activations, u), WIDTH_FFN, ROWS_BATCH, LVK_MEM_DEVICE},
    {"last", offsetof(lvk_activations, last), WIDTH_DIM, ROWS_SEQS, LVK_MEM_DEVICE},
    {"last_norm", offsetof(lvk_activations, last_norm), WIDTH_DIM, ROWS_SEQS, LVK_MEM_DEVICE},
    {"logits", offsetof(lvk_activations, logits), WIDTH_VOCAB, ROWS_SEQS, LVK_MEM_DEVICE},
    {"result", offsetof(lvk_activations, result), WIDTH_TOPK_PAIRS, ROWS_SEQS, LVK_MEM_HOST},
};
#define N_ACTIVATIONS (sizeof activations / sizeof activations[0])

/* Every activation is 4 bytes a value: fp32, uint32, or (index, value) pairs. */
static uint64_t activation_bytes(const struct activation_desc *a, const lvk_model_config *cfg, uint32_t max_batch)
{
    uint64_t dim = (uint64_t)cfg->dim, kv_dim = dim / (uint64_t)cfg->n_heads * (uint64_t)cfg->n_kv_heads;
    uint64_t width = a->width == WIDTH_DIM     ? dim
                     : a->width == WIDTH_KV    ? kv_dim
                     : a->width == WIDTH_FFN   ? (uint64_t)cfg->ffn_dim
                     : a->width == WIDTH_VOCAB ? (uint64_t)cfg->vocab_size
                     : a->width == WIDTH_TOPK_PAIRS ? 2ull * LVK_TOPK_MAX
                                                    : 1;
    uint64_t rows = a->rows == ROWS_BATCH ? max_batch : LVK_STEP_MAX_SEQS;
    return rows * width * 4;
}

static lvk_buffer *activation(lvk_activations *act, const struct activation_desc *a)
{
    return (lvk_buffer *)((char *)act + a->offset);
}

/* The scratch the plan's ops take (argmax/top-k partials), and attention partials per sequence: an allowance. */
#define SCRATCH_ALLOWANCE (64ull << 20)

uint64_t lvk_llama_device_bytes(const lvk_model_config *cfg, uint32_t max_seq, uint32_t max_batch,
                                uint32_t max_sequences)
{
    uint64_t total = lvk_weights_plan_bytes(cfg) + SCRATCH_ALLOWANCE;
    for (size_t i = 0; i < N_ACTIVATIONS; i++)
        total += activation_bytes(&activations[i], cfg, max_batch);
    return total + (max_sequences ? max_sequences : 1) * lvk_sequence_cache_bytes(cfg, max_seq);
}

static bool create_activations(lvk_llama *m, lvk_err *err)
{
    for (size_t i = 0; i < N_ACTIVATIONS; i++) {
        const struct activation_desc *a = &activations[i];
        if (!lvk_buffer_create(m->d, activation(&m->act, a), activation_bytes(a, &m->cfg, m->max_batch), a->kind,
                               err)) {
            lvk_err_prefix(err, "activation %s", a->name);
            return false;
        }
    }
    return true;
}

static void destroy_activations(lvk_llama *m)
{
    for (size_t i = 0; i < N_ACTIVATIONS; i++)
        lvk_buffer_destroy(m->d, activation(&m->act, &activations[i]));
}

/* ---- memory budget ------------------------------------------------------------------------------------------- */

void lvk_llama_budget(const lvk_device *d, uint64_t vram, uint64_t *bytes, const char **source)
{
    const lvk_device_info *info = d->info;
    if (vram) {
        *bytes = vram;
        *source = "--vram";
        return;
    }
    uint64_t have;
    if (info->unified_memory || info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ||
        info->type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) {
        have = lvk_system_memory_available();
        *source = "free system memory";
    } else {
        have = lvk_device_memory_available(d);
        *source = d->has_memory_budget ? "free device-local memory (VK_EXT_memory_budget)" : "device-local heap size";
    }
    uint64_t margin = have / 16 < (1ull << 30) ? have / 16 : (1ull << 30);
    *bytes = have - margin;
}

bool lvk_llama_plan(const lvk_device *d, const lvk_model_config *cfg, const lvk_ckpt *ck,
                    const lvk_llama_options *opt, lvk_memory_plan *plan, lvk_err *err)
{
    /* Without a checkpoint (planning before a download) the weights are as the model family ships them. */
    const lvk_ckpt_tensor *emb = ck->n_tensors ? lvk_ckpt_find(ck, "model.tok_embeddings.embedding_weight") : NULL;
    lvk_dtype family = !strcmp(cfg->tokenizer_type, "tiktoken") ? LVK_DTYPE_BF16 : LVK_DTYPE_F16;
    uint32_t max_seq = opt && opt->max_seq ? opt->max_seq : (uint32_t)cfg->max_seq_len;
    uint32_t max_batch = opt && opt->max_batch ? opt->max_batch : 64;
    lvk_plan_request req = {
        .cfg = cfg,
        .stored = emb ? emb->dtype : family,
        .want = opt ? opt->weights : LVK_WEIGHTS_AUTO,
        .context = max_seq,
        .max_batch = max_batch < max_seq ? max_batch : max_seq,
        .n_sequences = opt && opt->max_sequences ? opt->max_sequences : 1,
        .spill = opt && opt->spill,
    };
    lvk_llama_budget(d, opt ? opt->vram : 0, &req.budget_bytes, &req.budget_source);
    bool ok = lvk_memory_plan_make(&req, plan, err);
    lvk_info("memory: the model needs %.2f GB (%s weights, context %u), the device offers %.2f GB (%s)",
             (double)plan->total_bytes / 1e9, lvk_weights_choice_name(plan->weights), plan->context,
             (double)plan->budget_bytes / 1e9, plan->budget_source);
    return ok;
}

/* ---- one layer, described once: preparing, recording and destroying walk this table -------------------------- */

typedef enum layer_op_kind { OP_NORM, OP_LINEAR, OP_ROPE, OP_SILU_MUL, OP_KV_STORE, OP_ATTENTION } layer_op_kind;

#define OPS(f) offsetof(lvk_layer_ops, f)
#define WTS(f) offsetof(lvk_layer_weights, f)
#define ACT(f) offsetof(lvk_activations, f)
#define TOGETHER LVK_PROF_COUNT /* no barrier after: runs together with the next op */

static const struct layer_op {
    layer_op_kind kind;
    size_t op;          /* in lvk_layer_ops (KV_STORE, ATTENTION: the sequence's own, model/sequence.c) */
    size_t weight;      /* in lvk_layer_weights (NORM, LINEAR) */
    size_t in, in2, out; /* in lvk_activations; in2: SILU_MUL's up */
    bool accumulate;    /* LINEAR: adds into out (the residual) */
    bool kv_heads;      /* ROPE: over the kv heads (k) rather than the q heads */
    lvk_prof_kind ends; /* what a barrier and a profile mark after it close; TOGETHER: none */
} layer_ops[] = {
    {OP_NORM, OPS(norm1), WTS(attn_norm), ACT(h), 0, ACT(x), false, false, LVK_PROF_NORM},
    {OP_LINEAR, OPS(q), WTS(wq), ACT(x), 0, ACT(q), false, false, TOGETHER},
    {OP_LINEAR, OPS(k), WTS(wk), ACT(x), 0, ACT(kk), false, false, TOGETHER},
    {OP_LINEAR, OPS(v), WTS(wv), ACT(x), 0, ACT(vv), false, false, LVK_PROF_QKV},
    {OP_ROPE, OPS(rope_q), 0, ACT(q), 0, ACT(q), false, false, TOGETHER},
    {OP_ROPE, OPS(rope_k), 0, ACT(kk), 0, ACT(kk), false, true, LVK_PROF_ROPE},
    {OP_KV_STORE, 0, 0, ACT(kk), ACT(vv), 0, false, false, LVK_PROF_KV_STORE},
    {OP_ATTENTION, 0, 0, ACT(q), 0, ACT(att), false, false, LVK_PROF_ATTENTION},
    {OP_LINEAR, OPS(o), WTS(wo), ACT(att), 0, ACT(h), true, false, LVK_PROF_WO},
    {OP_NORM, OPS(norm2), WTS(ffn_norm), ACT(h), 0, ACT(x), false, false, LVK_PROF_NORM},
    {OP_LINEAR, OPS(gate), WTS(w1), ACT(x), 0, ACT(g), false, false, TOGETHER},
    {OP_LINEAR, OPS(up), WTS(w3), ACT(x), 0, ACT(u), false, false, LVK_PROF_GATE_UP},
    {OP_SILU_MUL, OPS(silu), 0, ACT(g), ACT(u), ACT(g), false, false, LVK_PROF_SILU},
    {OP_LINEAR, OPS(down), WTS(w2), ACT(g), 0, ACT(h), true, false, LVK_PROF_DOWN},
};
#define N_LAYER_OPS (sizeof layer_ops / sizeof layer_ops[0])

static void *field(void *base, size_t offset) { return (char *)base + offset; }

static lvk_view act_view(lvk_llama *m, size_t offset)
{
    return lvk_buffer_view_all((lvk_buffer *)field(&m->act, offset));
}

static bool prepare_layer(lvk_llama *m, lvk_layer_weights *W, lvk_layer_ops *L, lvk_err *err)
{
    lvk_kernels *k = &m->k;
    const uint32_t B = m->max_batch, dim = (uint32_t)m->cfg.dim, ffn = (uint32_t)m->cfg.ffn_dim;
    const float eps = (float)m->cfg.norm_eps;
    lvk_view pos = lvk_buffer_view_all(&m->act.pos);
    for (size_t i = 0; i < N_LAYER_OPS; i++) {
        const struct layer_op *d = &layer_ops[i];
        lvk_view in = act_view(m, d->in), out = d->out ? act_view(m, d->out) : in;
        bool ok = true;
        switch (d->kind) {
        case OP_NORM:
            ok = lvk_rmsnorm_prepare(k, field(L, d->op), &in, field(W, d->weight), &out, dim, eps, B, err);
            break;
        case OP_LINEAR:
            ok = lvk_linear_prepare(k, field(L, d->op), field(W, d->weight), &in, &out, B, m->matvec_tokens,
                                    d->accumulate, err);
            break;
        case OP_ROPE:
            ok = lvk_rope_prepare(k, field(L, d->op), &in, &pos,
                                  (uint32_t)(d->kv_heads ? m->cfg.n_kv_heads : m->cfg.n_heads), m->head_dim,
                                  m->cfg.rope_theta, B, err);
            break;
        case OP_SILU_MUL: {
            lvk_view up = act_view(m, d->in2);
            ok = lvk_silu_mul_prepare(k, field(L, d->op), &in, &up, &out, ffn, B, err);
            break;
        }
        case OP_KV_STORE:
        case OP_ATTENTION:
            break; /* each sequence prepares its own (model/sequence.c) */
        }
        if (!ok)
            return false;
    }
    return true;
}

bool lvk_llama_prepare_sequence_layer(lvk_llama *m, lvk_sequence *s, int l, lvk_err *err)
{
    const uint32_t heads = (uint32_t)m->cfg.n_heads, kv_heads = (uint32_t)m->cfg.n_kv_heads;
    lvk_view pos = lvk_buffer_view_all(&m->act.pos);
    lvk_view kc = lvk_buffer_view_all(&s->k_cache[l]), vc = lvk_buffer_view_all(&s->v_cache[l]);
    for (size_t i = 0; i < N_LAYER_OPS; i++) {
        const struct layer_op *d = &layer_ops[i];
        lvk_view in = act_view(m, d->in);
        bool ok = true;
        if (d->kind == OP_KV_STORE) {
            lvk_view in2 = act_view(m, d->in2);
            ok = lvk_kv_store_prepare(&m->k, &s->kv_store[l], &in, &in2, &kc, &vc, &pos, kv_heads, m->head_dim,
                                      s->max_seq, m->max_batch, err);
        } else if (d->kind == OP_ATTENTION) {
            lvk_view out = act_view(m, d->out);
            ok = lvk_attention_prepare(&m->k, &s->attn[l], &in, &kc, &vc, &out, &pos, heads, kv_heads, m->head_dim,
                                       s->max_seq, m->max_batch, &s->scratch, NULL, err);
        }
        if (!ok)
            return false;
    }
    return true;
}

static void destroy_layer(lvk_llama *m, lvk_layer_ops *L)
{
    for (size_t i = 0; i < N_LAYER_OPS; i++) {
        if (layer_ops[i].kind == OP_LINEAR)
            lvk_linear_destroy(&m->k, field(L, layer_ops[i].op));
        else if (layer_ops[i].kind == OP_ROPE)
            lvk_rope_destroy(&m->k, field(L, layer_ops[i].op));
    }
}

/* Each sequence's last token gets its own row of last / logits / result, and its own argmax and top-k. */
static bool prepare_head(lvk_llama *m, lvk_err *err)
{
    lvk_kernels *k = &m->k;
    const uint32_t dim = (uint32_t)m->cfg.dim, vocab = (uint32_t)m->cfg.vocab_size;
    lvk_view last = lvk_buffer_view_all(&m->act.last), last_norm = lvk_buffer_view_all(&m->act.last_norm);
    lvk_view logits = lvk_buffer_view_all(&m->act.logits);
    m->top_k = LVK_TOPK_MAX < vocab ? LVK_TOPK_MAX : vocab;
    if (!lvk_rmsnorm_prepare(k, &m->final_norm, &last, &m->w.norm_out, &last_norm, dim, (float)m->cfg.norm_eps,
                             LVK_STEP_MAX_SEQS, err) ||
        !lvk_linear_prepare(k, &m->head, &m->w.lm_head, &last_norm, &logits, LVK_STEP_MAX_SEQS, m->matvec_tokens,
                            false, err))
        return false;
    /* Each sequence's argmax / top-k reads its own row of the logits. */
    uint64_t align = m->d->info->min_storage_buffer_offset_alignment;
    if (align > 1 && ((uint64_t)vocab * sizeof(float)) % align != 0)
        return lvk_fail(err, "a vocabulary of %u is not a multiple of %llu / 4 values, which this device needs to "
                             "read each sequence's logits row", vocab, (unsigned long long)align);
    for (uint32_t i = 0; i < LVK_STEP_MAX_SEQS; i++) {
        lvk_view row = logits, result = lvk_buffer_view_all(&m->act.result);
        row.offset += (uint64_t)i * vocab * sizeof(float);
        row.size = (uint64_t)vocab * sizeof(float);
        result.offset += (uint64_t)i * LVK_TOPK_MAX * 8;
        result.size = LVK_TOPK_MAX * 8;
        if (!lvk_argmax_prepare(k, &m->argmax[i], &row, &result, vocab, &m->scratch, err) ||
            !lvk_topk_prepare(k, &m->topk[i], &row, &result, vocab, m->top_k, &m->scratch, err))
            return false;
    }
    return true;
}

static bool prepare_ops(lvk_llama *m, lvk_err *err)
{
    lvk_view ids = lvk_buffer_view_all(&m->act.ids), h = lvk_buffer_view_all(&m->act.h);
    if (!lvk_embed_prepare(&m->k, &m->embed, &m->w.tok_embed, &ids, &h, m->max_batch, err))
        return false;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (!prepare_layer(m, &m->w.layers[l], &m->layers[l], err)) {
            lvk_err_prefix(err, "layer %d", l);
            return false;
        }
    }
    return prepare_head(m, err);
}

/* ---- load ------------------------------------------------------------------------------------------------------ */

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
    if (m->max_batch > m->max_seq)
        m->max_batch = m->max_seq;
    m->matvec_tokens = opt ? opt->matvec_tokens : 0;

    /* The plan decides before anything is allocated; a model that cannot fit is refused here. */
    lvk_memory_plan plan;
    bool planned = lvk_llama_plan(d, cfg, ck, opt, &plan, err);
    if (!planned && !(opt && opt->force)) {
        lvk_memory_plan_free(&plan);
        return false;
    }
    if (!planned) { /* --force: as stored, the asked context, all on the device */
        lvk_llama_options forced = *opt;
        forced.weights = LVK_WEIGHTS_STORED;
        forced.vram = UINT64_MAX;
        lvk_memory_plan_free(&plan);
        if (!lvk_llama_plan(d, cfg, ck, &forced, &plan, err)) { /* only when out of host memory */
            lvk_memory_plan_free(&plan);
            return false;
        }
    }
    if (plan.notes[0])
        lvk_info("memory: %s", plan.notes);
    m->max_seq = plan.context;
    m->weights = plan.weights;
    if (m->max_batch > m->max_seq)
        m->max_batch = m->max_seq;

    m->layers = lvk_calloc((size_t)cfg->n_layers, sizeof *m->layers);
    if (!m->layers) {
        lvk_memory_plan_free(&plan);
        return lvk_fail(err, "out of host memory");
    }
    lvk_arena_init(d, &m->scratch, LVK_MEM_DEVICE);
    m->profiling = opt && opt->profile && d->info->timestamps;
    bool ok = lvk_kernels_init(&m->k, d, err) && lvk_transfer_init(d, &m->xfer, 16u << 20, err) &&
              lvk_weights_upload(&m->w, d, &m->xfer, cfg, ck, &plan, opt && opt->progress, err) &&
              create_activations(m, err) && prepare_ops(m, err);
    lvk_memory_plan_free(&plan);
    if (!ok) {
        lvk_llama_destroy(m);
        return false;
    }
    m->weight_bytes = m->w.bytes;
    m->load_seconds = lvk_now() - start;
    return true;
}

void lvk_llama_destroy(lvk_llama *m)
{
    if (!m->d)
        return;
    lvk_device *d = m->d;
    vkDeviceWaitIdle(d->dev);
    for (int i = 0; i < LVK_STEP_CACHE; i++)
        lvk_cmd_destroy(d, &m->steps[i].cmd);
    if (m->layers) {
        for (int l = 0; l < m->cfg.n_layers; l++)
            destroy_layer(m, &m->layers[l]);
        free(m->layers);
    }
    lvk_linear_destroy(&m->k, &m->head);
    lvk_kernels_destroy(&m->k);
    lvk_weights_destroy(d, &m->w);
    destroy_activations(m);
    lvk_transfer_destroy(d, &m->xfer);
    lvk_arena_destroy(d, &m->scratch);
    memset(m, 0, sizeof *m);
}

/* ---- recording a step ------------------------------------------------------------------------------------------ */

const char *lvk_prof_kind_name(lvk_prof_kind kind)
{
    static const char *const names[LVK_PROF_COUNT] = {"embed", "rmsnorm", "q k v", "rope", "kv store", "attention",
                                                      "wo + residual", "w1 w3", "silu*mul", "w2 + residual",
                                                      "final norm + lm_head", "argmax / top-k"};
    return kind < LVK_PROF_COUNT ? names[kind] : "?";
}

/* When profiling, a timestamp after each piece of work, labelled with what it ended. */
static void mark(lvk_recorded_step *r, lvk_prof_kind kind)
{
    if (!r->cmd.max_timestamps)
        return;
    int i = lvk_cmd_timestamp(&r->cmd);
    if (i >= 0)
        r->prof_kind[i] = (uint8_t)kind;
}

/* The layers over every token of the step; each sequence's tokens are a run of rows from row0, attention
 * and the cache store run per sequence over its own cache. Positions come from the pos buffer. */
static void record_layers(lvk_llama *m, lvk_recorded_step *r, lvk_sequence *const *seqs)
{
    lvk_cmd *c = &r->cmd;
    const lvk_step_shape *sh = &r->shape;
    uint32_t n = 0;
    for (uint32_t i = 0; i < sh->n_items; i++)
        n += sh->n_tokens[i];
    mark(r, LVK_PROF_EMBED);
    lvk_embed_record(c, &m->embed, n);
    lvk_cmd_barrier(c);
    mark(r, LVK_PROF_EMBED);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        lvk_layer_ops *L = &m->layers[l];
        for (size_t i = 0; i < N_LAYER_OPS; i++) {
            const struct layer_op *d = &layer_ops[i];
            switch (d->kind) {
            case OP_NORM:
                lvk_rmsnorm_record(c, field(L, d->op), n);
                break;
            case OP_LINEAR:
                lvk_linear_record(c, field(L, d->op), n);
                break;
            case OP_ROPE:
                lvk_rope_record(c, field(L, d->op), n);
                break;
            case OP_SILU_MUL:
                lvk_silu_mul_record(c, field(L, d->op), n);
                break;
            case OP_KV_STORE:
                for (uint32_t q = 0, row = 0; q < sh->n_items; row += sh->n_tokens[q], q++)
                    lvk_kv_store_record(c, &seqs[q]->kv_store[l], row, sh->n_tokens[q]);
                break;
            case OP_ATTENTION:
                for (uint32_t q = 0, row = 0; q < sh->n_items; row += sh->n_tokens[q], q++)
                    lvk_attention_record(c, &seqs[q]->attn[l], row, sh->n_tokens[q]);
                break;
            }
            if (d->ends != TOGETHER) {
                lvk_cmd_barrier(c);
                mark(r, d->ends);
            }
        }
    }
}

/* Items that want output get the rows 0.. of last / logits / result in item order. */
static void record_head(lvk_llama *m, lvk_recorded_step *r)
{
    lvk_cmd *c = &r->cmd;
    const lvk_step_shape *sh = &r->shape;
    const uint64_t row = (uint64_t)m->cfg.dim * sizeof(float);
    uint32_t n_out = 0;
    for (uint32_t i = 0, tok = 0; i < sh->n_items; tok += sh->n_tokens[i], i++) {
        if (sh->what[i] == LVK_OUT_NONE)
            continue;
        lvk_view h = lvk_buffer_view_all(&m->act.h), last = lvk_buffer_view_all(&m->act.last);
        h.offset += (tok + sh->n_tokens[i] - 1) * row;
        last.offset += n_out * row;
        lvk_cmd_copy(c, &h, &last, row);
        n_out++;
    }
    if (n_out == 0)
        return;
    lvk_cmd_barrier(c);
    lvk_rmsnorm_record(c, &m->final_norm, n_out);
    lvk_cmd_barrier(c);
    lvk_linear_record(c, &m->head, n_out);
    lvk_cmd_barrier(c);
    mark(r, LVK_PROF_HEAD);
    for (uint32_t i = 0, o = 0; i < sh->n_items; i++) {
        if (sh->what[i] == LVK_OUT_ARGMAX)
            lvk_argmax_record(c, &m->argmax[o]);
        else if (sh->what[i] == LVK_OUT_TOPK)
            lvk_topk_record(c, &m->topk[o]);
        o += sh->what[i] != LVK_OUT_NONE;
    }
    lvk_cmd_barrier_host(c);
    mark(r, LVK_PROF_SAMPLE);
}

static bool same_shape(const lvk_step_shape *a, const lvk_step_shape *b)
{
    if (a->n_items != b->n_items)
        return false;
    for (uint32_t i = 0; i < a->n_items; i++)
        if (a->seq_id[i] != b->seq_id[i] || a->n_tokens[i] != b->n_tokens[i] || a->what[i] != b->what[i])
            return false;
    return true;
}

/* The recorded step for this shape: the cached one, or the least recently used slot recorded anew. */
static lvk_recorded_step *step_for(lvk_llama *m, const lvk_step_shape *shape, lvk_sequence *const *seqs,
                                   lvk_err *err)
{
    lvk_recorded_step *slot = &m->steps[0];
    for (int i = 0; i < LVK_STEP_CACHE; i++) {
        lvk_recorded_step *r = &m->steps[i];
        if (r->valid && same_shape(&r->shape, shape)) {
            r->last_used = ++m->step_clock;
            return r;
        }
        if (!r->valid || (slot->valid && r->last_used < slot->last_used))
            slot = r;
    }
    double t0 = lvk_now();
    slot->valid = false;
    if (!slot->cmd.cb &&
        !lvk_cmd_create(m->d, &slot->cmd, m->profiling ? (uint32_t)sizeof slot->prof_kind : 0, err))
        return NULL;
    slot->shape = *shape;
    if (!lvk_cmd_begin(m->d, &slot->cmd, true, err))
        return NULL;
    record_layers(m, slot, seqs);
    record_head(m, slot);
    if (!lvk_cmd_end(&slot->cmd, err))
        return NULL;
    slot->n_dispatches = slot->cmd.n_dispatches;
    slot->valid = true;
    slot->last_used = ++m->step_clock;
    m->profile.record_ms += (lvk_now() - t0) * 1e3;
    m->profile.recorded++;
    return slot;
}

static bool collect_profile(lvk_llama *m, lvk_recorded_step *r, lvk_err *err)
{
    uint32_t n = r->cmd.n_timestamps;
    for (uint32_t i = 1; i < n; i++) {
        double ms = 0;
        if (!lvk_cmd_elapsed_ms(m->d, &r->cmd, (int)i - 1, (int)i, &ms, err))
            return false;
        m->profile.ms[r->prof_kind[i]] += ms;
    }
    return true;
}

/* ---- running steps --------------------------------------------------------------------------------------------- */

bool lvk_context_fits(uint32_t n_past, uint64_t n, uint32_t max_seq, lvk_err *err)
{
    if (n_past + n > max_seq)
        return lvk_fail(err, "%llu positions are needed after %u, but the context holds %u tokens: shorten the "
                             "prompt or raise the context (-c)",
                        (unsigned long long)n, n_past, max_seq);
    return true;
}

static bool check_item(const lvk_llama *m, const lvk_step_item *it, lvk_err *err)
{
    if (!it->seq || (it->n > 0 && !it->ids))
        return lvk_fail(err, "internal error: a step item without a sequence or ids");
    if (it->n == 0)
        return lvk_fail(err, "nothing to run: no tokens");
    if (it->what != LVK_OUT_NONE && !it->out)
        return lvk_fail(err, "internal error: a step item asks for output but gives no result");
    if (it->what == LVK_OUT_TOPK && (it->top_k == 0 || it->top_k > m->top_k))
        return lvk_fail(err, "top-k of %u is outside 1..%u", it->top_k, m->top_k);
    for (uint32_t j = 0; j < it->n; j++)
        if (it->ids[j] < 0 || it->ids[j] >= m->cfg.vocab_size)
            return lvk_fail(err, "token id %d is outside the vocabulary (0..%d)", it->ids[j], m->cfg.vocab_size - 1);
    return lvk_context_fits(it->seq->n_past, it->n, it->seq->max_seq, err);
}

static bool read_results(lvk_llama *m, const lvk_step_item *items, uint32_t n_items, lvk_err *err)
{
    const uint32_t vocab = (uint32_t)m->cfg.vocab_size;
    for (uint32_t i = 0, o = 0; i < n_items; i++) {
        const lvk_step_item *it = &items[i];
        if (it->what == LVK_OUT_NONE)
            continue;
        const uint32_t *pairs = (const uint32_t *)m->act.result.mapped + (size_t)o * LVK_TOPK_MAX * 2;
        if (it->what == LVK_OUT_ARGMAX) {
            it->out->argmax = pairs[0];
        } else if (it->what == LVK_OUT_TOPK) {
            it->out->n_top = it->top_k;
            for (uint32_t j = 0; j < it->top_k; j++) {
                it->out->top_idx[j] = pairs[2 * j];
                memcpy(&it->out->top_val[j], &pairs[2 * j + 1], sizeof(float));
            }
        } else {
            lvk_view logits = lvk_buffer_view_all(&m->act.logits);
            if (!lvk_download(m->d, &m->xfer, &logits, (uint64_t)o * vocab * sizeof(float), it->out->logits,
                              (uint64_t)vocab * sizeof(float), err))
                return false;
        }
        o++;
    }
    return true;
}

bool lvk_llama_step(lvk_llama *m, lvk_step_item *items, uint32_t n_items, lvk_err *err)
{
    if (n_items == 0 || n_items > LVK_STEP_MAX_SEQS)
        return lvk_fail(err, "a step carries 1..%d sequences, not %u", LVK_STEP_MAX_SEQS, n_items);
    lvk_step_shape shape = {.n_items = n_items};
    lvk_sequence *seqs[LVK_STEP_MAX_SEQS];
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_items; i++) {
        if (!check_item(m, &items[i], err))
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (items[j].seq == items[i].seq)
                return lvk_fail(err, "internal error: a sequence appears twice in one step");
        seqs[i] = items[i].seq;
        shape.seq_id[i] = items[i].seq->id;
        shape.n_tokens[i] = items[i].n;
        shape.what[i] = (uint8_t)items[i].what;
        total += items[i].n;
    }
    if (total > m->max_batch)
        return lvk_fail(err, "internal error: %llu tokens in one step, the plan holds %u", (unsigned long long)total,
                        m->max_batch);

    double t0 = lvk_now();
    uint32_t *ids = m->act.ids.mapped, *pos = m->act.pos.mapped;
    for (uint32_t i = 0, row = 0; i < n_items; i++)
        for (uint32_t j = 0; j < items[i].n; j++, row++) {
            ids[row] = (uint32_t)items[i].ids[j];
            pos[row] = items[i].seq->n_past + j;
        }
    lvk_recorded_step *r = step_for(m, &shape, seqs, err);
    if (!r)
        return false;
    if (lvk_fault("step"))
        return lvk_fail(err, "the device step failed (injected by LLAMA_VK_FAIL)");
    if (!lvk_cmd_submit(m->d, &r->cmd, err) || !lvk_cmd_wait(m->d, &r->cmd, err) ||
        (m->profiling && !collect_profile(m, r, err)))
        return false;
    m->profile.step_ms += (lvk_now() - t0) * 1e3;
    m->profile.dispatches += r->n_dispatches;
    m->profile.steps++;
    for (uint32_t i = 0; i < n_items; i++)
        items[i].seq->n_past += items[i].n;
    return read_results(m, items, n_items, err);
}

bool lvk_llama_forward(lvk_llama *m, lvk_sequence *s, const int32_t *ids, uint32_t n, lvk_llama_output what,
                       uint32_t top_k, lvk_llama_result *out, lvk_err *err)
{
    if (n == 0)
        return lvk_fail(err, "nothing to run: no tokens");
    /* Checked whole before the first chunk runs, so a refused call leaves the sequence as it was. */
    lvk_step_item whole = {.seq = s, .ids = ids, .n = n, .what = what, .top_k = top_k, .out = out};
    if (!check_item(m, &whole, err))
        return false;
    for (uint32_t done = 0; done < n;) {
        uint32_t step = n - done < m->max_batch ? n - done : m->max_batch;
        bool last = done + step == n;
        lvk_step_item it = {.seq = s, .ids = ids + done, .n = step, .what = last ? what : LVK_OUT_NONE,
                            .top_k = top_k, .out = last ? out : NULL};
        if (!lvk_llama_step(m, &it, 1, err))
            return false;
        done += step;
    }
    return true;
}

void lvk_llama_profile_reset(lvk_llama *m)
{
    memset(&m->profile, 0, sizeof m->profile);
}
