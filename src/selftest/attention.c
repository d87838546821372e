/* kv_store_f16 against lvk_ref_kv_store (cache bytes), and attention (split, prefill, simple paths) against
 * lvk_ref_attention (fp64 on the same fp16 cache values): decode at several context lengths, chunked prefill, the
 * LLaMA2 (32/32) and LLaMA3 (32/8) head shapes and an odd 6/2 ratio, head_dim 64 and 128. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "ops/attention.h"
#include "ref/attention.h"
#include "selftest/harness.h"

typedef struct attn_case {
    uint32_t n_heads, n_kv_heads, head_dim, n_tokens, pos0;
    int path;
    bool no_texel;   /* LANE path through storage loads */
    bool bench_only; /* only with --bench */
    bool store;      /* report the kv store row too (once per cache shape) */
} attn_case;

/* Device buffers and host data of one case. */
typedef struct attn_bufs {
    lvk_buffer q, k_src, v_src, k_cache, v_cache, out;
    lvk_arena scratch;
} attn_bufs;

static void attn_bufs_destroy(lvk_selftest *t, attn_bufs *b)
{
    lvk_buffer_destroy(t->d, &b->q);
    lvk_buffer_destroy(t->d, &b->k_src);
    lvk_buffer_destroy(t->d, &b->v_src);
    lvk_buffer_destroy(t->d, &b->k_cache);
    lvk_buffer_destroy(t->d, &b->v_cache);
    lvk_buffer_destroy(t->d, &b->out);
    lvk_arena_destroy(t->d, &b->scratch);
}

/* Cache bytes as fp16 bits: rows below pos0 hold earlier tokens, rows from pos0 + n_tokens on hold NaN, so that a
 * kernel reading past the causal limit turns its output into NaN (the compare fails on non-finite values). */
static void fill_cache(uint16_t *cache, const float *past, size_t past_n, size_t total_n)
{
    for (size_t i = 0; i < total_n; i++)
        cache[i] = i < past_n ? lvk_f32_to_f16(past[i]) : 0x7e00;
}

static bool run_attention(lvk_selftest *t, const attn_case *ac, bool check_store, lvk_err *err)
{
    uint32_t row = ac->n_kv_heads * ac->head_dim;
    uint32_t ctx = ac->pos0 + ac->n_tokens;
    uint32_t max_seq = ctx + 3; /* a few rows past the context, full of NaN */
    size_t q_n = (size_t)ac->n_tokens * ac->n_heads * ac->head_dim, src_n = (size_t)ac->n_tokens * row;
    size_t cache_n = (size_t)max_seq * row, past_n = (size_t)ac->pos0 * row;
    float *q = malloc(q_n * sizeof(float)), *got = malloc(q_n * sizeof(float));
    float *ks = malloc(src_n * sizeof(float)), *vs = malloc(src_n * sizeof(float));
    float *past = malloc((past_n ? past_n : 1) * sizeof(float));
    uint16_t *kc = malloc(cache_n * 2), *vc = malloc(cache_n * 2), *kc_want = malloc(cache_n * 2),
             *vc_want = malloc(cache_n * 2), *kc_got = malloc(cache_n * 2), *vc_got = malloc(cache_n * 2);
    double *want = malloc(q_n * sizeof(double));
    attn_bufs b = {0};
    lvk_arena_init(t->d, &b.scratch, LVK_MEM_DEVICE);
    lvk_cmd cmd = {0};
    bool ok = q && got && ks && vs && past && kc && vc && kc_want && vc_want && kc_got && vc_got && want;
    if (!ok)
        lvk_fail(err, "out of memory");
    if (ok) {
        /* q in [-4, 4) and k, v in [-1, 1): scores of a few units, so the softmax is far from uniform. */
        uint64_t seed = 1000 * ac->head_dim + ac->pos0 + ac->n_heads;
        lvk_selftest_fill(q, q_n, seed, 4.0f);
        lvk_selftest_fill(ks, src_n, seed + 1, 1.0f);
        lvk_selftest_fill(vs, src_n, seed + 2, 1.0f);
        lvk_selftest_fill(past, past_n, seed + 3, 1.0f);
        fill_cache(kc, past, past_n, cache_n);
        lvk_selftest_fill(past, past_n, seed + 4, 1.0f);
        fill_cache(vc, past, past_n, cache_n);
        memcpy(kc_want, kc, cache_n * 2);
        memcpy(vc_want, vc, cache_n * 2);
        lvk_ref_kv_store(ks, kc_want, ac->n_tokens, row, ac->pos0);
        lvk_ref_kv_store(vs, vc_want, ac->n_tokens, row, ac->pos0);
        lvk_ref_attention(q, kc_want, vc_want, want, ac->n_tokens, ac->n_heads, ac->n_kv_heads, ac->head_dim, ac->pos0);
        ok = lvk_selftest_buffer(t, &b.q, q, q_n * sizeof(float), err) &&
             lvk_selftest_buffer(t, &b.k_src, ks, src_n * sizeof(float), err) &&
             lvk_selftest_buffer(t, &b.v_src, vs, src_n * sizeof(float), err) &&
             lvk_selftest_buffer(t, &b.k_cache, kc, cache_n * 2, err) &&
             lvk_selftest_buffer(t, &b.v_cache, vc, cache_n * 2, err) &&
             lvk_selftest_buffer(t, &b.out, NULL, q_n * sizeof(float), err) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_view vq = lvk_buffer_view_all(&b.q), vks = lvk_buffer_view_all(&b.k_src), vvs = lvk_buffer_view_all(&b.v_src);
    lvk_view vkc = lvk_buffer_view_all(&b.k_cache), vvc = lvk_buffer_view_all(&b.v_cache);
    lvk_view vout = lvk_buffer_view_all(&b.out);
    lvk_kv_store_op store;
    lvk_attention_op attn = {0};
    lvk_attention_options opt = {.path = ac->path, .no_texel = ac->no_texel};
    ok = ok &&
         lvk_kv_store_prepare(t->k, &store, &vks, &vvs, &vkc, &vvc, ac->n_kv_heads, ac->head_dim, max_seq,
                              ac->n_tokens, err) &&
         lvk_attention_prepare(t->k, &attn, &vq, &vkc, &vvc, &vout, ac->n_heads, ac->n_kv_heads, ac->head_dim, max_seq,
                               ac->n_tokens, &b.scratch, &opt, err) &&
         lvk_cmd_begin(t->d, &cmd, true, err);
    lvk_selftest_result r = {.dtype = "f16kv"};
    snprintf(r.kernel, sizeof r.kernel, "attention.%s%s", lvk_attention_path_name(ac->path), ac->no_texel ? "_ssbo" : "");
    snprintf(r.shape, sizeof r.shape, "%ux%u/%ux%u p%u", ac->n_tokens, ac->n_heads, ac->n_kv_heads, ac->head_dim,
             ac->pos0);
    if (ok) {
        lvk_kv_store_record(&cmd, &store, ac->n_tokens, ac->pos0);
        lvk_cmd_barrier(&cmd);
        lvk_cmd_timestamp(&cmd);
        lvk_attention_record(&cmd, &attn, ac->n_tokens, ac->pos0);
        lvk_cmd_timestamp(&cmd);
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench ? 10 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vout, 0, got, q_n * sizeof(float), err) &&
             lvk_download(t->d, t->xfer, &vkc, 0, kc_got, cache_n * 2, err) &&
             lvk_download(t->d, t->xfer, &vvc, 0, vc_got, cache_n * 2, err);
    }
    if (ok && check_store) {
        /* The store is one fp32 -> fp16 rounding (to nearest even) per value: the cache must match bit for bit,
         * including the rows it must not touch. max_abs is the count of differing fp16 values. */
        lvk_selftest_result s = {.kernel = "attention.kv_store", .dtype = "f16"};
        snprintf(s.shape, sizeof s.shape, "%ux%ux%u p%u", ac->n_tokens, ac->n_kv_heads, ac->head_dim, ac->pos0);
        size_t bad = 0;
        for (size_t i = 0; i < cache_n; i++)
            bad += (kc_got[i] != kc_want[i]) + (vc_got[i] != vc_want[i]);
        s.checked = true;
        s.max_abs_err = (double)bad;
        s.nmse = (double)bad / (2.0 * (double)cache_n);
        s.tol = 0;
        s.pass = bad == 0;
        lvk_selftest_report(t, &s);
    }
    if (ok) {
        /* Tolerance 1e-9. Each score is an fp32 dot of head_dim products (relative error ~1e-7 of sum |q||k|, a few
         * units here), so each probability is off by ~1e-6 relative at most; the output, a convex combination of
         * fp16 values, then carries ~1e-6 relative error plus fp32 summation over the context: NMSE ~1e-12, 1e-9 gives
         * headroom while a wrong mask, GQA mapping or a lost split (errors of order 1) fails by many decades. */
        lvk_selftest_compare(&r, got, want, q_n, 1e-9);
        /* Speed: the K and V bytes the context holds, read once (the figure a decode step is bound by). */
        double kv_bytes = 2.0 * (double)ctx * row * 2;
        r.gbps = r.ms > 0 ? kv_bytes / (r.ms * 1e-3) / 1e9 : 0;
        lvk_selftest_report(t, &r);
    }
    lvk_attention_destroy(t->k, &attn);
    lvk_cmd_destroy(t->d, &cmd);
    attn_bufs_destroy(t, &b);
    free(q), free(got), free(ks), free(vs), free(past);
    free(kc), free(vc), free(kc_want), free(vc_want), free(kc_got), free(vc_got), free(want);
    return ok;
}

bool lvk_selftest_attention(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "attention"))
        return true;
    const int S = LVK_ATTN_SPLIT, L = LVK_ATTN_LANE, P = LVK_ATTN_PREFILL, M = LVK_ATTN_SIMPLE, A = LVK_ATTN_AUTO;
    const attn_case cases[] = {
        /* decode: one token at context 1, 7, 512, 4096; LLaMA2 heads 32/32, LLaMA3 heads 32/8 */
        {32, 32, 128, 1, 0, S, false, false, true},
        {32, 8, 128, 1, 6, S, false, false, true},
        {32, 8, 128, 1, 0, S, false, false, false},
        {32, 32, 128, 1, 6, S, false, false, false},
        {32, 32, 128, 1, 511, S, false, false, false},
        {32, 8, 128, 1, 511, S, false, false, false},
        {32, 32, 128, 1, 4095, S, false, false, false},
        {32, 8, 128, 1, 4095, S, false, false, false},
        {32, 32, 128, 1, 0, L, false, false, false},
        {32, 8, 128, 1, 6, L, false, false, false},
        {32, 32, 128, 1, 511, L, false, false, false},
        {32, 8, 128, 1, 511, L, false, false, false},
        {32, 32, 128, 1, 4095, L, false, false, false},
        {32, 8, 128, 1, 4095, L, false, false, false},
        {32, 8, 128, 1, 511, L, true, false, false},
        {32, 8, 128, 1, 6, M, false, false, false},
        {32, 8, 128, 1, 511, M, false, false, false},
        {32, 8, 128, 1, 4095, A, false, false, false},
        {32, 32, 128, 1, 8191, S, false, true, false},
        {32, 8, 128, 1, 8191, S, false, true, false},
        {32, 32, 128, 1, 8191, L, false, true, false},
        {32, 8, 128, 1, 8191, L, false, true, false},
        /* a few tokens through the decode paths: some chunks hold no key of the first token */
        {6, 2, 64, 3, 255, S, false, false, true},
        {6, 2, 64, 3, 60, L, false, false, false},
        {6, 2, 64, 3, 60, L, true, false, false},
        {6, 2, 128, 2, 700, A, false, false, false},
        {6, 2, 36, 3, 40, A, false, false, true}, /* head_dim not a multiple of 8: AUTO never takes LANE */
        /* prefill of 37 tokens: a fresh cache, and a chunk continuing one at position 100 */
        {32, 32, 128, 37, 0, P, false, false, true},
        {32, 8, 128, 37, 100, P, false, false, false},
        {6, 2, 64, 37, 0, P, false, false, true},
        {6, 2, 64, 37, 100, P, false, false, false},
        {6, 2, 128, 37, 100, M, false, false, true},
        {6, 2, 64, 37, 100, S, false, false, false},
        {6, 2, 128, 37, 100, L, false, false, false},
        {6, 2, 64, 37, 0, L, true, false, false},
        {32, 8, 128, 37, 100, L, false, false, false},
        {32, 8, 128, 37, 100, A, false, false, false},
        {6, 2, 36, 37, 5, A, false, false, false},
        {32, 8, 128, 512, 0, P, false, true, false},
        {32, 8, 128, 512, 0, L, false, true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].bench_only && !t->bench)
            continue;
        if (!run_attention(t, &cases[i], cases[i].store, err))
            return false;
    }
    return true;
}
