/* CPU reference LLaMA forward (DESIGN §2.3), written to be read top to bottom:
 *
 *   h = embed[ids]
 *   per layer:  n = rmsnorm(h) * attention_norm
 *               q, k = rope(n · wqᵀ), rope(n · wkᵀ);  v = n · wvᵀ;  k, v -> cache
 *               h += attention(q, cache) · woᵀ
 *               m = rmsnorm(h) * ffn_norm
 *               h += (silu(m · w1ᵀ) * (m · w3ᵀ)) · w2ᵀ
 *   logits = (rmsnorm(h) * norm_out) · lm_headᵀ
 *
 * Everything is double (activations, accumulators, the KV cache); the weights are converted exactly from
 * their stored dtype one row at a time, straight from the mapped checkpoint. A weight row is converted once
 * per forward call and applied to all of the call's tokens, so a prefill costs one pass over the weights.
 * Every token's arithmetic is the same whether it comes in a prefill or alone, so decoding one token at a
 * time gives bit-identical logits to one prefill. */
#include "ref/llama.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/half.h"

typedef struct layer_weights {
    const lvk_ckpt_tensor *attention_norm, *wq, *wk, *wv, *wo;
    const lvk_ckpt_tensor *ffn_norm, *w1, *w2, *w3;
} layer_weights;

struct lvk_ref_llama {
    lvk_model_config cfg;
    const lvk_ckpt *ck;
    int head_dim, kv_dim;
    uint32_t max_seq, n_cached;
    bool fp16_kv;
    const lvk_ckpt_tensor *embedding, *norm_out, *lm_head;
    layer_weights *layers;
    double *k_cache, *v_cache; /* [n_layers][max_seq][kv_dim] each */
    uint8_t *row_bytes;        /* a weight row that straddles two slices, gathered */
    double *row;               /* the current weight row, converted */
    float *f16_table;          /* every fp16 bit pattern's value, 256 KiB: conversion is a look-up */
};

/* ---- weights ----------------------------------------------------------------------------- */

static const lvk_ckpt_tensor *find_tensor(const lvk_ckpt *ck, const char *name, lvk_err *err)
{
    const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, name);
    if (!t)
        lvk_fail(err, "%s: no tensor %s", ck->path, name);
    return t;
}

static bool find_layer(const lvk_ckpt *ck, int i, layer_weights *w, lvk_err *err)
{
    struct {
        const char *suffix;
        const lvk_ckpt_tensor **slot;
    } names[] = {{"attention_norm.weight", &w->attention_norm},
                 {"attention.wq.weight", &w->wq},
                 {"attention.wk.weight", &w->wk},
                 {"attention.wv.weight", &w->wv},
                 {"attention.wo.weight", &w->wo},
                 {"ffn_norm.weight", &w->ffn_norm},
                 {"feed_forward.w1.weight", &w->w1},
                 {"feed_forward.w2.weight", &w->w2},
                 {"feed_forward.w3.weight", &w->w3}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char name[128];
        snprintf(name, sizeof name, "model.layers.%d.%s", i, names[k].suffix);
        if (!(*names[k].slot = find_tensor(ck, name, err)))
            return false;
    }
    return true;
}

/* Converts row r of a tensor seen as [rows, len] into m->row (exact: fp16, bf16 and fp32 all fit a double). */
static bool load_row(lvk_ref_llama *m, const lvk_ckpt_tensor *t, uint64_t r, int len, lvk_err *err)
{
    size_t es = lvk_dtype_size(t->dtype);
    uint64_t bytes = (uint64_t)len * es;
    const uint8_t *p = lvk_ckpt_peek(m->ck, t, r * bytes, bytes);
    if (!p) {
        if (!lvk_ckpt_read(m->ck, t, r * bytes, bytes, m->row_bytes, err))
            return false;
        p = m->row_bytes;
    }
    double *row = m->row;
    if (t->dtype == LVK_DTYPE_F32) {
        for (int i = 0; i < len; i++) {
            float f;
            memcpy(&f, p + 4 * (size_t)i, 4);
            row[i] = f;
        }
    } else if (t->dtype == LVK_DTYPE_BF16) {
        for (int i = 0; i < len; i++)
            row[i] = lvk_bf16_to_f32((uint16_t)(p[2 * (size_t)i] | p[2 * (size_t)i + 1] << 8));
    } else {
        for (int i = 0; i < len; i++)
            row[i] = m->f16_table[p[2 * (size_t)i] | p[2 * (size_t)i + 1] << 8];
    }
    return true;
}

/* ---- the pieces of the math -------------------------------------------------------------- */

/* Four interleaved partial sums: a fixed order (so results are reproducible and the same for a token
 * in a prefill or alone) that does not wait on one long chain of additions. */
static double dot(const double *a, const double *b, int n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* y[t] = x[t] · Wᵀ for the n tokens, W [out, in] as stored. */
static bool matmul(lvk_ref_llama *m, const lvk_ckpt_tensor *w, const double *x, uint32_t n, double *y, lvk_err *err)
{
    int out = (int)w->dims[0], in = (int)w->dims[1];
    for (int r = 0; r < out; r++) {
        if (!load_row(m, w, (uint64_t)r, in, err))
            return false;
        for (uint32_t t = 0; t < n; t++)
            y[(size_t)t * out + r] = dot(m->row, x + (size_t)t * in, in);
    }
    return true;
}

/* out[t] = x[t] / sqrt(mean(x[t]²) + eps) * weight */
static bool rmsnorm(lvk_ref_llama *m, const lvk_ckpt_tensor *weight, const double *x, uint32_t n, double *out,
                    lvk_err *err)
{
    int dim = m->cfg.dim;
    if (!load_row(m, weight, 0, dim, err))
        return false;
    for (uint32_t t = 0; t < n; t++) {
        const double *xt = x + (size_t)t * dim;
        double scale = 1.0 / sqrt(dot(xt, xt, dim) / dim + m->cfg.norm_eps);
        for (int i = 0; i < dim; i++)
            out[(size_t)t * dim + i] = xt[i] * scale * m->row[i];
    }
    return true;
}

/* rotate_half RoPE (HF/NeoX): element i of each head pairs with i + head_dim/2, angle pos * theta^(-2i/head_dim). */
static void rope(double *v, int n_heads, int head_dim, uint32_t pos, double theta)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        double angle = (double)pos * pow(theta, -2.0 * i / head_dim);
        double c = cos(angle), s = sin(angle);
        for (int h = 0; h < n_heads; h++) {
            double *x = v + (size_t)h * head_dim;
            double x0 = x[i], x1 = x[i + half];
            x[i] = x0 * c - x1 * s;
            x[i + half] = x1 * c + x0 * s;
        }
    }
}

static double round_through_fp16(double x)
{
    return lvk_f16_to_f32(lvk_f32_to_f16((float)x));
}

static double *cache_at(const lvk_ref_llama *m, double *cache, int layer, uint32_t pos)
{
    return cache + ((size_t)layer * m->max_seq + pos) * (size_t)m->kv_dim;
}

/* out[t] = softmax(q[t] · K[0..pos]ᵀ / sqrt(head_dim)) · V[0..pos] per head, pos = pos0 + t (causal).
 * q head h reads kv head h / (n_heads / n_kv_heads) (GQA). scores has room for max_seq values. */
static void attention(const lvk_ref_llama *m, int layer, const double *q, uint32_t n, uint32_t pos0, double *scores,
                      double *out)
{
    int hd = m->head_dim, group = m->cfg.n_heads / m->cfg.n_kv_heads;
    double scale = 1.0 / sqrt((double)hd);
    for (uint32_t t = 0; t < n; t++) {
        uint32_t pos = pos0 + t;
        for (int h = 0; h < m->cfg.n_heads; h++) {
            const double *qh = q + (size_t)t * m->cfg.dim + (size_t)h * hd;
            size_t kv_off = (size_t)(h / group) * hd;
            double max = -INFINITY;
            for (uint32_t j = 0; j <= pos; j++) {
                scores[j] = dot(qh, cache_at(m, m->k_cache, layer, j) + kv_off, hd) * scale;
                if (scores[j] > max)
                    max = scores[j];
            }
            double sum = 0.0;
            for (uint32_t j = 0; j <= pos; j++) {
                scores[j] = exp(scores[j] - max);
                sum += scores[j];
            }
            double *oh = out + (size_t)t * m->cfg.dim + (size_t)h * hd;
            for (int d = 0; d < hd; d++)
                oh[d] = 0.0;
            for (uint32_t j = 0; j <= pos; j++) {
                const double *vj = cache_at(m, m->v_cache, layer, j) + kv_off;
                double p = scores[j] / sum;
                for (int d = 0; d < hd; d++)
                    oh[d] += p * vj[d];
            }
        }
    }
}

static double silu(double x)
{
    return x / (1.0 + exp(-x));
}

/* ---- create / free ----------------------------------------------------------------------- */

bool lvk_ref_llama_create(lvk_ref_llama **out, const lvk_model_config *cfg, const lvk_ckpt *ck, uint32_t max_seq,
                          lvk_err *err)
{
    *out = NULL;
    if (!lvk_config_validate(cfg, cfg->name, err) || !lvk_config_check_ckpt(cfg, ck, err))
        return false;
    if (max_seq == 0)
        return lvk_fail(err, "reference model: max_seq must be at least 1");
    lvk_ref_llama *m = lvk_calloc(1, sizeof *m);
    if (!m)
        return lvk_fail(err, "reference model: out of host memory");
    m->cfg = *cfg;
    m->ck = ck;
    m->head_dim = cfg->dim / cfg->n_heads;
    m->kv_dim = m->head_dim * cfg->n_kv_heads;
    m->max_seq = max_seq;

    uint64_t cache_elems = (uint64_t)cfg->n_layers * max_seq * (uint64_t)m->kv_dim;
    int widest = cfg->dim > cfg->ffn_dim ? cfg->dim : cfg->ffn_dim;
    m->layers = lvk_calloc((size_t)cfg->n_layers, sizeof *m->layers);
    m->row_bytes = lvk_malloc((size_t)widest * 4);
    m->row = lvk_malloc((size_t)widest * sizeof(double));
    m->f16_table = lvk_malloc(65536 * sizeof(float));
    if (cache_elems <= SIZE_MAX / sizeof(double)) {
        m->k_cache = lvk_malloc((size_t)cache_elems * sizeof(double));
        m->v_cache = lvk_malloc((size_t)cache_elems * sizeof(double));
    }
    if (!m->layers || !m->row_bytes || !m->row || !m->f16_table || !m->k_cache || !m->v_cache) {
        lvk_ref_llama_free(m);
        return lvk_fail(err, "reference model: out of host memory for a KV cache of %u positions (%.1f MiB, fp64)", max_seq,
                        2.0 * (double)cache_elems * sizeof(double) / 1048576.0);
    }
    for (uint32_t h = 0; h < 65536; h++)
        m->f16_table[h] = lvk_f16_to_f32((uint16_t)h);
    bool ok = (m->embedding = find_tensor(ck, "model.tok_embeddings.embedding_weight", err)) &&
              (m->norm_out = find_tensor(ck, "model.norm_out.weight", err)) &&
              (m->lm_head = find_tensor(ck, "lm_head.weight", err));
    for (int i = 0; ok && i < cfg->n_layers; i++)
        ok = find_layer(ck, i, &m->layers[i], err);
    if (!ok) {
        lvk_ref_llama_free(m);
        return false;
    }
    *out = m;
    return true;
}

void lvk_ref_llama_free(lvk_ref_llama *m)
{
    if (!m)
        return;
    free(m->layers);
    free(m->row_bytes);
    free(m->row);
    free(m->f16_table);
    free(m->k_cache);
    free(m->v_cache);
    free(m);
}

void lvk_ref_llama_reset(lvk_ref_llama *m)
{
    m->n_cached = 0;
}

uint32_t lvk_ref_llama_cached(const lvk_ref_llama *m)
{
    return m->n_cached;
}

void lvk_ref_llama_set_fp16_kv(lvk_ref_llama *m, bool on)
{
    m->fp16_kv = on;
}

/* ---- forward ----------------------------------------------------------------------------- */

/* Scratch for one forward call of n tokens, all [n, width] rows of doubles. */
typedef struct scratch {
    double *h, *norm, *q, *k, *v, *att, *delta, *gate, *up, *scores;
} scratch;

static bool scratch_alloc(scratch *s, const lvk_ref_llama *m, uint32_t n)
{
    size_t dim = (size_t)m->cfg.dim, kv = (size_t)m->kv_dim, ffn = (size_t)m->cfg.ffn_dim;
    size_t per_token = 5 * dim + 2 * kv + 2 * ffn;
    memset(s, 0, sizeof *s);
    if (per_token > (SIZE_MAX / sizeof(double) - m->max_seq) / n)
        return false;
    double *all = lvk_malloc((per_token * n + m->max_seq) * sizeof(double));
    if (!all)
        return false;
    s->h = all;
    s->norm = s->h + dim * n;
    s->q = s->norm + dim * n;
    s->att = s->q + dim * n;
    s->delta = s->att + dim * n;
    s->k = s->delta + dim * n;
    s->v = s->k + kv * n;
    s->gate = s->v + kv * n;
    s->up = s->gate + ffn * n;
    s->scores = s->up + ffn * n; /* max_seq values */
    return true;
}

static void add_into(double *h, const double *delta, size_t count)
{
    for (size_t i = 0; i < count; i++)
        h[i] += delta[i];
}

static bool forward_layer(lvk_ref_llama *m, int l, uint32_t n, uint32_t pos0, scratch *s, lvk_err *err)
{
    const layer_weights *w = &m->layers[l];
    int dim = m->cfg.dim, kv = m->kv_dim, ffn = m->cfg.ffn_dim;

    if (!rmsnorm(m, w->attention_norm, s->h, n, s->norm, err) || !matmul(m, w->wq, s->norm, n, s->q, err) ||
        !matmul(m, w->wk, s->norm, n, s->k, err) || !matmul(m, w->wv, s->norm, n, s->v, err))
        return false;
    for (uint32_t t = 0; t < n; t++) {
        rope(s->q + (size_t)t * dim, m->cfg.n_heads, m->head_dim, pos0 + t, m->cfg.rope_theta);
        rope(s->k + (size_t)t * kv, m->cfg.n_kv_heads, m->head_dim, pos0 + t, m->cfg.rope_theta);
        double *kc = cache_at(m, m->k_cache, l, pos0 + t), *vc = cache_at(m, m->v_cache, l, pos0 + t);
        for (int i = 0; i < kv; i++) {
            double k = s->k[(size_t)t * kv + i], v = s->v[(size_t)t * kv + i];
            kc[i] = m->fp16_kv ? round_through_fp16(k) : k;
            vc[i] = m->fp16_kv ? round_through_fp16(v) : v;
        }
    }
    attention(m, l, s->q, n, pos0, s->scores, s->att);
    if (!matmul(m, w->wo, s->att, n, s->delta, err))
        return false;
    add_into(s->h, s->delta, (size_t)n * dim);

    if (!rmsnorm(m, w->ffn_norm, s->h, n, s->norm, err) || !matmul(m, w->w1, s->norm, n, s->gate, err) ||
        !matmul(m, w->w3, s->norm, n, s->up, err))
        return false;
    for (size_t i = 0; i < (size_t)n * ffn; i++)
        s->gate[i] = silu(s->gate[i]) * s->up[i];
    if (!matmul(m, w->w2, s->gate, n, s->delta, err))
        return false;
    add_into(s->h, s->delta, (size_t)n * dim);
    return true;
}

/* logits of the tokens [first, n) of the final hidden states, as floats */
static bool output_logits(lvk_ref_llama *m, scratch *s, uint32_t first, uint32_t n, float *logits, lvk_err *err)
{
    size_t dim = (size_t)m->cfg.dim, vocab = (size_t)m->cfg.vocab_size;
    uint32_t count = n - first;
    if (!rmsnorm(m, m->norm_out, s->h + first * dim, count, s->norm, err))
        return false;
    for (size_t r = 0; r < vocab; r++) {
        if (!load_row(m, m->lm_head, r, (int)dim, err))
            return false;
        for (uint32_t t = 0; t < count; t++)
            logits[t * vocab + r] = (float)dot(m->row, s->norm + t * dim, (int)dim);
    }
    return true;
}

bool lvk_ref_llama_forward(lvk_ref_llama *m, const int32_t *ids, uint32_t n, uint32_t pos0, bool all_logits,
                           float *logits, lvk_err *err)
{
    if (n == 0)
        return lvk_fail(err, "reference forward: no tokens");
    if (pos0 > m->n_cached)
        return lvk_fail(err, "reference forward: position %u would leave a gap: only %u positions are cached", pos0,
                        m->n_cached);
    if (n > m->max_seq || pos0 > m->max_seq - n)
        return lvk_fail(err, "reference forward: positions %u..%u do not fit the KV cache of %u positions", pos0,
                        pos0 + n - 1, m->max_seq);
    for (uint32_t t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= m->cfg.vocab_size)
            return lvk_fail(err, "reference forward: token %u is id %d, outside the vocabulary [0, %d)", t, ids[t],
                            m->cfg.vocab_size);
    m->n_cached = pos0;

    scratch s;
    if (!scratch_alloc(&s, m, n))
        return lvk_fail(err, "reference forward: out of host memory for %u tokens", n);
    int dim = m->cfg.dim;
    bool ok = true;
    for (uint32_t t = 0; ok && t < n; t++) {
        ok = load_row(m, m->embedding, (uint64_t)ids[t], dim, err);
        if (ok)
            memcpy(s.h + (size_t)t * dim, m->row, (size_t)dim * sizeof(double));
    }
    for (int l = 0; ok && l < m->cfg.n_layers; l++)
        ok = forward_layer(m, l, n, pos0, &s, err);
    if (ok)
        ok = output_logits(m, &s, all_logits ? 0 : n - 1, n, logits, err);
    free(s.h);
    if (!ok)
        return false;
    m->n_cached = pos0 + n;
    return true;
}
