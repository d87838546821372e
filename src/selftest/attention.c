/* kv_store_f16 against lvk_ref_kv_store (cache bytes), and attention (split, prefill, simple, lane paths) against
 * lvk_ref_attention (fp64 on the same fp16 cache values): decode at several context lengths, chunked prefill, the
 * LLaMA2 (32/32) and LLaMA3 (32/8) head shapes and an odd 6/2 ratio, head_dim 36, 64 and 128. Positions come from a
 * device buffer as in the model: two sequences (own caches, row0 > 0) in one command buffer, a command buffer replayed
 * at a longer context without recording it again, and positions past the cache. */
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

/* What a step adds to a case (all zero: one sequence, recorded and run once). */
typedef struct attn_step {
    /* A second sequence in the same step (0 tokens: none): rows n_tokens .. of q / out, its own cache, its own kv
     * store and attention op, recorded after the first with no barrier between them. */
    uint32_t n_tokens_b, pos0_b;
    /* Replay: the same command buffer, not recorded again, runs a second time with the positions replay_pos0 /
     * replay_pos0_b in the position buffer and caches holding that context. */
    bool replay;
    uint32_t replay_pos0, replay_pos0_b;
} attn_step;

/* One sequence of a case: its rows of the step, its cache, its ops. */
typedef struct attn_seq {
    uint32_t row0, n_tokens, max_seq;
    lvk_buffer k_cache, v_cache;
    lvk_kv_store_op store;
    lvk_attention_op attn;
    uint16_t *kc, *vc, *kc_want, *vc_want, *kc_got, *vc_got; /* [max_seq, row] fp16 bits */
} attn_seq;

/* Cache bytes as fp16 bits: rows below pos0 hold earlier tokens, rows from pos0 + n_tokens on hold NaN, so that a
 * kernel reading past the causal limit turns its output into NaN (the compare fails on non-finite values). */
static void fill_cache(uint16_t *cache, const float *past, size_t past_n, size_t total_n)
{
    for (size_t i = 0; i < total_n; i++)
        cache[i] = i < past_n ? lvk_f32_to_f16(past[i]) : 0x7e00;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

static bool run_attention(lvk_selftest *t, const attn_case *ac, const attn_step *as, bool check_store, lvk_err *err)
{
    const uint32_t row = ac->n_kv_heads * ac->head_dim, q_row = ac->n_heads * ac->head_dim;
    const uint32_t n_seqs = as->n_tokens_b ? 2 : 1, n_rounds = as->replay ? 2 : 1;
    const uint32_t rows = ac->n_tokens + as->n_tokens_b;
    const uint32_t pos0[2][2] = {{ac->pos0, as->pos0_b}, {as->replay_pos0, as->replay_pos0_b}}; /* [round][seq] */
    attn_seq sq[2] = {{.row0 = 0, .n_tokens = ac->n_tokens}, {.row0 = ac->n_tokens, .n_tokens = as->n_tokens_b}};
    size_t q_n = (size_t)rows * q_row, src_n = (size_t)rows * row, past_max = 1;
    bool ok = true;
    for (uint32_t s = 0; s < n_seqs; s++) {
        /* a few rows past the longest context, full of NaN */
        uint32_t ctx = 0;
        for (uint32_t r = 0; r < n_rounds; r++)
            ctx = max_u32(ctx, pos0[r][s] + sq[s].n_tokens);
        sq[s].max_seq = ctx + 3;
        size_t cache_n = (size_t)sq[s].max_seq * row;
        past_max = past_max > cache_n ? past_max : cache_n;
        uint16_t **arrs[6] = {&sq[s].kc, &sq[s].vc, &sq[s].kc_want, &sq[s].vc_want, &sq[s].kc_got, &sq[s].vc_got};
        for (int i = 0; i < 6; i++)
            ok = (*arrs[i] = malloc(cache_n * 2)) != NULL && ok;
    }
    float *q = malloc(q_n * sizeof(float)), *got = malloc(q_n * sizeof(float));
    float *ks = malloc(src_n * sizeof(float)), *vs = malloc(src_n * sizeof(float));
    float *past = malloc(past_max * sizeof(float));
    double *want = malloc(q_n * sizeof(double));
    lvk_buffer bq = {0}, bks = {0}, bvs = {0}, bout = {0}, bpos = {0};
    lvk_arena scratch;
    lvk_arena_init(t->d, &scratch, LVK_MEM_DEVICE);
    lvk_cmd cmd = {0};
    ok = ok && q && got && ks && vs && past && want;
    if (!ok)
        lvk_fail(err, "out of memory");
    ok = ok && lvk_selftest_buffer(t, &bq, NULL, q_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bks, NULL, src_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bvs, NULL, src_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bout, NULL, q_n * sizeof(float), err) &&
         lvk_buffer_create(t->d, &bpos, (VkDeviceSize)rows * sizeof(uint32_t), LVK_MEM_HOST, err) &&
         lvk_cmd_create(t->d, &cmd, 2, err);
    for (uint32_t s = 0; s < n_seqs && ok; s++)
        ok = lvk_selftest_buffer(t, &sq[s].k_cache, NULL, (uint64_t)sq[s].max_seq * row * 2, err) &&
             lvk_selftest_buffer(t, &sq[s].v_cache, NULL, (uint64_t)sq[s].max_seq * row * 2, err);
    lvk_view vq = lvk_buffer_view_all(&bq), vks = lvk_buffer_view_all(&bks), vvs = lvk_buffer_view_all(&bvs);
    lvk_view vout = lvk_buffer_view_all(&bout), vpos = lvk_buffer_view_all(&bpos);
    lvk_attention_options opt = {.path = ac->path, .no_texel = ac->no_texel};
    for (uint32_t s = 0; s < n_seqs && ok; s++) {
        lvk_view vkc = lvk_buffer_view_all(&sq[s].k_cache), vvc = lvk_buffer_view_all(&sq[s].v_cache);
        ok = lvk_kv_store_prepare(t->k, &sq[s].store, &vks, &vvs, &vkc, &vvc, &vpos, ac->n_kv_heads, ac->head_dim,
                                  sq[s].max_seq, rows, err) &&
             lvk_attention_prepare(t->k, &sq[s].attn, &vq, &vkc, &vvc, &vout, &vpos, ac->n_heads, ac->n_kv_heads,
                                   ac->head_dim, sq[s].max_seq, rows, &scratch, &opt, err);
    }
    /* Recorded once; every round only rewrites the buffers and the positions. */
    ok = ok && lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        for (uint32_t s = 0; s < n_seqs; s++)
            lvk_kv_store_record(&cmd, &sq[s].store, sq[s].row0, sq[s].n_tokens);
        lvk_cmd_barrier(&cmd);
        lvk_cmd_timestamp(&cmd);
        for (uint32_t s = 0; s < n_seqs; s++)
            lvk_attention_record(&cmd, &sq[s].attn, sq[s].row0, sq[s].n_tokens);
        lvk_cmd_timestamp(&cmd);
        ok = lvk_cmd_end(&cmd, err);
    }
    for (uint32_t r = 0; r < n_rounds && ok; r++) {
        /* q in [-4, 4) and k, v in [-1, 1): scores of a few units, so the softmax is far from uniform. */
        uint64_t seed = 1000 * ac->head_dim + ac->pos0 + ac->n_heads + 7919 * r;
        lvk_selftest_fill(q, q_n, seed, 4.0f);
        lvk_selftest_fill(ks, src_n, seed + 1, 1.0f);
        lvk_selftest_fill(vs, src_n, seed + 2, 1.0f);
        uint32_t *pos = bpos.mapped;
        double kv_bytes = 0;
        for (uint32_t s = 0; s < n_seqs; s++) {
            attn_seq *S = &sq[s];
            size_t cache_n = (size_t)S->max_seq * row, past_n = (size_t)pos0[r][s] * row;
            lvk_selftest_fill(past, past_n, seed + 3 + 10 * s, 1.0f);
            fill_cache(S->kc, past, past_n, cache_n);
            lvk_selftest_fill(past, past_n, seed + 4 + 10 * s, 1.0f);
            fill_cache(S->vc, past, past_n, cache_n);
            memcpy(S->kc_want, S->kc, cache_n * 2);
            memcpy(S->vc_want, S->vc, cache_n * 2);
            lvk_ref_kv_store(ks + (size_t)S->row0 * row, S->kc_want, S->n_tokens, row, pos0[r][s]);
            lvk_ref_kv_store(vs + (size_t)S->row0 * row, S->vc_want, S->n_tokens, row, pos0[r][s]);
            lvk_ref_attention(q + (size_t)S->row0 * q_row, S->kc_want, S->vc_want, want + (size_t)S->row0 * q_row,
                              S->n_tokens, ac->n_heads, ac->n_kv_heads, ac->head_dim, pos0[r][s]);
            for (uint32_t j = 0; j < S->n_tokens; j++)
                pos[S->row0 + j] = pos0[r][s] + j;
            lvk_view vkc = lvk_buffer_view_all(&S->k_cache), vvc = lvk_buffer_view_all(&S->v_cache);
            ok = ok && lvk_upload(t->d, t->xfer, &vkc, 0, S->kc, cache_n * 2, err) &&
                 lvk_upload(t->d, t->xfer, &vvc, 0, S->vc, cache_n * 2, err);
            kv_bytes += 2.0 * (double)(pos0[r][s] + S->n_tokens) * row * 2;
        }
        ok = ok && lvk_upload(t->d, t->xfer, &vq, 0, q, q_n * sizeof(float), err) &&
             lvk_upload(t->d, t->xfer, &vks, 0, ks, src_n * sizeof(float), err) &&
             lvk_upload(t->d, t->xfer, &vvs, 0, vs, src_n * sizeof(float), err) &&
             lvk_transfer_finish(t->d, t->xfer, err);
        lvk_selftest_result res = {.dtype = "f16kv"};
        snprintf(res.kernel, sizeof res.kernel, "attention.%s%s", lvk_attention_path_name(ac->path),
                 ac->no_texel ? "_ssbo" : "");
        int len = snprintf(res.shape, sizeof res.shape, "%ux%u/%ux%u p%u", ac->n_tokens, ac->n_heads, ac->n_kv_heads,
                           ac->head_dim, pos0[r][0]);
        if (n_seqs > 1 && len > 0 && (size_t)len < sizeof res.shape)
            len += snprintf(res.shape + len, sizeof res.shape - (size_t)len, " +%u p%u", as->n_tokens_b, pos0[r][1]);
        if (as->replay && len > 0 && (size_t)len < sizeof res.shape)
            snprintf(res.shape + len, sizeof res.shape - (size_t)len, r == 0 ? " rec" : " replay");
        /* The first round is also the timing (the step is idempotent: it writes the same rows each time). */
        ok = ok && lvk_selftest_time(t, &cmd, r == 0 && t->bench ? 10 : 1, &res.ms, err);
        for (uint32_t s = 0; s < n_seqs && ok; s++) {
            lvk_view vkc = lvk_buffer_view_all(&sq[s].k_cache), vvc = lvk_buffer_view_all(&sq[s].v_cache);
            size_t cache_n = (size_t)sq[s].max_seq * row;
            ok = lvk_download(t->d, t->xfer, &vkc, 0, sq[s].kc_got, cache_n * 2, err) &&
                 lvk_download(t->d, t->xfer, &vvc, 0, sq[s].vc_got, cache_n * 2, err);
        }
        ok = ok && lvk_download(t->d, t->xfer, &vout, 0, got, q_n * sizeof(float), err);
        if (ok && check_store) {
            /* The store is one fp32 -> fp16 rounding (to nearest even) per value: the caches must match bit for bit,
             * including the rows it must not touch. max_abs is the count of differing fp16 values. */
            lvk_selftest_result st = {.kernel = "attention.kv_store", .dtype = "f16"};
            snprintf(st.shape, sizeof st.shape, "%ux%ux%u p%u%s%s", ac->n_tokens, ac->n_kv_heads, ac->head_dim,
                     pos0[r][0], n_seqs > 1 ? " +seq" : "", as->replay ? (r == 0 ? " rec" : " replay") : "");
            size_t bad = 0, total = 0;
            for (uint32_t s = 0; s < n_seqs; s++) {
                size_t cache_n = (size_t)sq[s].max_seq * row;
                for (size_t i = 0; i < cache_n; i++)
                    bad += (sq[s].kc_got[i] != sq[s].kc_want[i]) + (sq[s].vc_got[i] != sq[s].vc_want[i]);
                total += 2 * cache_n;
            }
            st.checked = true;
            st.max_abs_err = (double)bad;
            st.nmse = (double)bad / (double)total;
            st.tol = 0;
            st.pass = bad == 0;
            lvk_selftest_report(t, &st);
        }
        if (ok) {
            /* Tolerance 1e-9. Each score is an fp32 dot of head_dim products (relative error ~1e-7 of sum |q||k|, a
             * few units here), so each probability is off by ~1e-6 relative at most; the output, a convex combination
             * of fp16 values, then carries ~1e-6 relative error plus fp32 summation over the context: NMSE ~1e-12,
             * 1e-9 gives headroom while a wrong mask, GQA mapping or a lost split (errors of order 1) fails by many
             * decades. All rows of the step (every sequence) are compared at once. */
            lvk_selftest_compare(&res, got, want, q_n, 1e-9);
            /* Speed: the K and V bytes the contexts hold, read once (the figure a decode step is bound by). */
            res.gbps = res.ms > 0 ? kv_bytes / (res.ms * 1e-3) / 1e9 : 0;
            lvk_selftest_report(t, &res);
        }
    }
    for (uint32_t s = 0; s < 2; s++) {
        lvk_attention_destroy(t->k, &sq[s].attn);
        lvk_buffer_destroy(t->d, &sq[s].k_cache);
        lvk_buffer_destroy(t->d, &sq[s].v_cache);
        free(sq[s].kc), free(sq[s].vc), free(sq[s].kc_want), free(sq[s].vc_want), free(sq[s].kc_got), free(sq[s].vc_got);
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &bq);
    lvk_buffer_destroy(t->d, &bks);
    lvk_buffer_destroy(t->d, &bvs);
    lvk_buffer_destroy(t->d, &bout);
    lvk_buffer_destroy(t->d, &bpos);
    lvk_arena_destroy(t->d, &scratch);
    free(q), free(got), free(ks), free(vs), free(past), free(want);
    return ok;
}

/* The device guards: positions that run past the cache (the host should never let that happen, but only the device
 * knows the positions now). The cache is a view of the first max_seq rows of a larger buffer whose tail holds a marker:
 * the store must leave the tail alone and write only rows below max_seq, and attention must read no key at or past
 * max_seq (the tail is NaN: one read poisons the output). Round 1: tokens at 48 .. 51 of a 50-row cache; round 2 (the
 * same command buffer replayed): positions near 2^32, where pos + t would wrap. */
static bool run_bounds(lvk_selftest *t, int path, lvk_err *err)
{
    const uint32_t n_heads = 6, n_kv_heads = 2, head_dim = 64, n = 4, max_seq = 50, tail = 8;
    const uint32_t row = n_kv_heads * head_dim, q_row = n_heads * head_dim;
    const uint32_t pos0[2] = {48, 0xfffffff0u};
    const size_t q_n = (size_t)n * q_row, src_n = (size_t)n * row, cache_n = (size_t)max_seq * row;
    const size_t all_n = cache_n + (size_t)tail * row;
    float *q = malloc(q_n * sizeof(float)), *got = malloc(q_n * sizeof(float)), *past = malloc(cache_n * sizeof(float));
    float *ks = malloc(src_n * sizeof(float)), *vs = malloc(src_n * sizeof(float));
    double *want = malloc(q_n * sizeof(double));
    uint16_t *kc = malloc(all_n * 2), *vc = malloc(all_n * 2), *kc_got = malloc(all_n * 2), *vc_got = malloc(all_n * 2);
    lvk_buffer bq = {0}, bks = {0}, bvs = {0}, bout = {0}, bpos = {0}, bkc = {0}, bvc = {0};
    lvk_arena scratch;
    lvk_arena_init(t->d, &scratch, LVK_MEM_DEVICE);
    lvk_cmd cmd = {0};
    lvk_kv_store_op store;
    lvk_attention_op attn = {0};
    bool ok = q && got && past && ks && vs && want && kc && vc && kc_got && vc_got;
    if (!ok)
        lvk_fail(err, "out of memory");
    ok = ok && lvk_selftest_buffer(t, &bq, NULL, q_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bks, NULL, src_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bvs, NULL, src_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bout, NULL, q_n * sizeof(float), err) &&
         lvk_selftest_buffer(t, &bkc, NULL, all_n * 2, err) && lvk_selftest_buffer(t, &bvc, NULL, all_n * 2, err) &&
         lvk_buffer_create(t->d, &bpos, n * sizeof(uint32_t), LVK_MEM_HOST, err) && lvk_cmd_create(t->d, &cmd, 2, err);
    lvk_view vq = lvk_buffer_view_all(&bq), vks = lvk_buffer_view_all(&bks), vvs = lvk_buffer_view_all(&bvs);
    lvk_view vout = lvk_buffer_view_all(&bout), vpos = lvk_buffer_view_all(&bpos);
    lvk_view vkc_all = lvk_buffer_view_all(&bkc), vvc_all = lvk_buffer_view_all(&bvc), vkc = vkc_all, vvc = vvc_all;
    vkc.size = vvc.size = cache_n * 2;
    lvk_attention_options opt = {.path = path};
    ok = ok &&
         lvk_kv_store_prepare(t->k, &store, &vks, &vvs, &vkc, &vvc, &vpos, n_kv_heads, head_dim, max_seq, n, err) &&
         lvk_attention_prepare(t->k, &attn, &vq, &vkc, &vvc, &vout, &vpos, n_heads, n_kv_heads, head_dim, max_seq, n,
                               &scratch, &opt, err) &&
         lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_kv_store_record(&cmd, &store, 0, n);
        lvk_cmd_barrier(&cmd);
        lvk_attention_record(&cmd, &attn, 0, n);
        ok = lvk_cmd_end(&cmd, err);
    }
    for (uint32_t r = 0; r < 2 && ok; r++) {
        uint64_t seed = 4242 + r;
        lvk_selftest_fill(q, q_n, seed, 4.0f);
        lvk_selftest_fill(ks, src_n, seed + 1, 1.0f);
        lvk_selftest_fill(vs, src_n, seed + 2, 1.0f);
        lvk_selftest_fill(past, cache_n, seed + 3, 1.0f);
        fill_cache(kc, past, cache_n, all_n); /* every row of the view valid, the tail NaN */
        lvk_selftest_fill(past, cache_n, seed + 4, 1.0f);
        fill_cache(vc, past, cache_n, all_n);
        ok = lvk_upload(t->d, t->xfer, &vkc_all, 0, kc, all_n * 2, err) &&
             lvk_upload(t->d, t->xfer, &vvc_all, 0, vc, all_n * 2, err) &&
             lvk_upload(t->d, t->xfer, &vq, 0, q, q_n * sizeof(float), err) &&
             lvk_upload(t->d, t->xfer, &vks, 0, ks, src_n * sizeof(float), err) &&
             lvk_upload(t->d, t->xfer, &vvs, 0, vs, src_n * sizeof(float), err) && lvk_transfer_finish(t->d, t->xfer, err);
        /* What should happen: the rows below max_seq stored, then token j attends to keys 0 .. min(pos, max_seq - 1). */
        uint32_t stored = pos0[r] < max_seq ? (n < max_seq - pos0[r] ? n : max_seq - pos0[r]) : 0;
        if (stored) {
            lvk_ref_kv_store(ks, kc, stored, row, pos0[r]);
            lvk_ref_kv_store(vs, vc, stored, row, pos0[r]);
        }
        for (uint32_t j = 0; j < n; j++) {
            uint64_t p = (uint64_t)pos0[r] + j;
            lvk_ref_attention(q + (size_t)j * q_row, kc, vc, want + (size_t)j * q_row, 1, n_heads, n_kv_heads, head_dim,
                              p < max_seq ? (uint32_t)p : max_seq - 1);
        }
        uint32_t *pos = bpos.mapped;
        for (uint32_t j = 0; j < n; j++)
            pos[j] = pos0[r] + j; /* wraps in round 2: the ops read pos[row0] only */
        ok = ok && lvk_cmd_submit(t->d, &cmd, err) && lvk_cmd_wait(t->d, &cmd, err) &&
             lvk_download(t->d, t->xfer, &vout, 0, got, q_n * sizeof(float), err) &&
             lvk_download(t->d, t->xfer, &vkc_all, 0, kc_got, all_n * 2, err) &&
             lvk_download(t->d, t->xfer, &vvc_all, 0, vc_got, all_n * 2, err);
        if (!ok)
            break;
        lvk_selftest_result st = {.kernel = "attention.kv_store", .dtype = "f16", .checked = true};
        snprintf(st.shape, sizeof st.shape, "%ux%ux%u p%u bounds", n, n_kv_heads, head_dim, pos0[r]);
        size_t bad = 0;
        for (size_t i = 0; i < all_n; i++)
            bad += (kc_got[i] != kc[i]) + (vc_got[i] != vc[i]);
        st.max_abs_err = (double)bad;
        st.nmse = (double)bad / (2.0 * (double)all_n);
        st.pass = bad == 0;
        lvk_selftest_report(t, &st);
        lvk_selftest_result res = {.dtype = "f16kv"};
        snprintf(res.kernel, sizeof res.kernel, "attention.%s", lvk_attention_path_name(path));
        snprintf(res.shape, sizeof res.shape, "%ux%u/%ux%u p%u bounds", n, n_heads, n_kv_heads, head_dim, pos0[r]);
        lvk_selftest_compare(&res, got, want, q_n, 1e-9); /* the tolerance of every attention case */
        lvk_selftest_report(t, &res);
    }
    lvk_attention_destroy(t->k, &attn);
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer *bufs[] = {&bq, &bks, &bvs, &bout, &bpos, &bkc, &bvc};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        lvk_buffer_destroy(t->d, bufs[i]);
    lvk_arena_destroy(t->d, &scratch);
    free(q), free(got), free(past), free(ks), free(vs), free(want), free(kc), free(vc), free(kc_got), free(vc_got);
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
    const attn_step one = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].bench_only && !t->bench)
            continue;
        if (!run_attention(t, &cases[i], &one, cases[i].store, err))
            return false;
    }
    /* Steps as the model records them: two sequences (own caches, positions far apart, the second at row0 > 0) in one
     * command buffer, and a command buffer replayed at a longer context without recording it again, across context
     * lengths where the split paths' chunk count changes (split: 1 -> 27 chunks of 192 keys, rounded up from 157 to the
     * key block; lane: 4 -> 47). */
    const struct {
        attn_case c;
        attn_step s;
    } steps[] = {
        {{32, 8, 128, 1, 600, S, false, false, true}, {1, 70, false, 0, 0}},
        {{32, 8, 128, 1, 600, L, false, false, false}, {1, 70, false, 0, 0}},
        {{6, 2, 64, 2, 300, A, false, false, false}, {3, 40, false, 0, 0}},
        {{6, 2, 64, 20, 100, P, false, false, false}, {17, 5, false, 0, 0}},
        {{6, 2, 128, 3, 50, M, false, false, false}, {2, 7, false, 0, 0}},
        {{6, 2, 64, 9, 30, L, false, false, false}, {7, 100, false, 0, 0}},
        {{32, 8, 128, 1, 100, S, false, false, true}, {0, 0, true, 5000, 0}},
        {{32, 8, 128, 1, 100, L, false, false, false}, {0, 0, true, 1500, 0}},
        {{32, 8, 128, 1, 100, L, true, false, false}, {0, 0, true, 1500, 0}},
        {{6, 2, 64, 3, 10, S, false, false, false}, {0, 0, true, 900, 0}},
        {{6, 2, 64, 37, 0, P, false, false, false}, {0, 0, true, 200, 0}},
        {{32, 8, 128, 1, 1200, A, false, false, false}, {1, 3, true, 40, 2000}},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (!run_attention(t, &steps[i].c, &steps[i].s, steps[i].c.store, err))
            return false;
    const int bound_paths[] = {S, L, P, M};
    for (size_t i = 0; i < sizeof bound_paths / sizeof bound_paths[0]; i++)
        if (!run_bounds(t, bound_paths[i], err))
            return false;
    return true;
}
