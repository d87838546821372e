/* embed against lvk_ref_embed: fp32/fp16/bf16 and q8/q4 tables, odd dims, tables cut into many chunks (forced
 * small and the real LLaMA2 32000x4096 fp16 table over lavapipe's 128 MiB binding limit), ids on the first and
 * last rows of chunks and ids past the vocabulary (zeros). The gather is a bit copy, and the q8/q4 one gives
 * exactly lvk_ref_dequantize's fp32 values: the tolerance is 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/embed.h"
#include "ref/embed.h"
#include "ref/quant.h"
#include "selftest/harness.h"

/* Random table bits that are never inf or NaN (bit 14 of fp16/bf16, bit 30 of fp32 cleared) but include
 * subnormals, zeros and both signs. */
static void fill_table(void *table, lvk_dtype dtype, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        if (dtype == LVK_DTYPE_F32)
            ((uint32_t *)table)[i] = (uint32_t)(s >> 32) & ~(1u << 30);
        else
            ((uint16_t *)table)[i] = (uint16_t)((s >> 40) & ~(1u << 14));
    }
}

/* A q8/q4 table quantized by the CPU twin from uniform values whose size changes from block to block, down
 * to blocks whose fp16 scale is subnormal (under 2^-14) or rounds to 0: the decoder must not flush them.
 * Deliberate bugs: a decoder that flushes subnormal scales fails every q8/q4 row (max abs 1e-4 .. 8e-3);
 * q4 without its offset, ~1. (unpackHalf2x16 does not flush on lavapipe: only a device that does would
 * show that one.) */
static bool make_quant_table(lvk_dtype dtype, uint32_t vocab, uint32_t dim, uint8_t **quants, uint8_t **scales,
                             lvk_err *err)
{
    static const float block_size[] = {1.0f, 1e-2f, 1e-4f, 3e-6f};
    lvk_quant_format f = dtype == LVK_DTYPE_Q8 ? LVK_QUANT_Q8 : LVK_QUANT_Q4;
    size_t n = (size_t)vocab * dim;
    float *v = malloc(n * sizeof *v);
    *quants = malloc(vocab * lvk_quant_row_bytes(f, dim));
    *scales = malloc(vocab * lvk_quant_scale_row_bytes(f, dim));
    bool ok = v && *quants && *scales;
    if (!ok)
        lvk_fail(err, "out of memory");
    if (ok) {
        lvk_selftest_fill(v, n, vocab + dim, 1.0f);
        for (size_t i = 0; i < n; i++)
            v[i] *= block_size[(i / dim + i % dim / LVK_QUANT_BLOCK) % 4];
        ok = lvk_ref_quantize(f, LVK_DTYPE_F32, v, vocab, dim, true, *quants, *scales, err);
    }
    free(v);
    return ok;
}

typedef struct embed_case {
    lvk_dtype dtype;
    uint32_t vocab, dim;
    uint64_t max_chunk_bytes; /* 0: the device's limit */
    uint32_t n_random;        /* random ids after the chunk-edge ids */
} embed_case;

/* ids: the first and last row of every chunk, one past the vocabulary, UINT32_MAX, then random rows. */
static uint32_t make_ids(const lvk_weight *w, uint32_t n_random, uint32_t *ids)
{
    uint32_t n = 0;
    for (int c = 0; c < w->n_chunks; c++) {
        ids[n++] = w->chunks[c].row0;
        ids[n++] = w->chunks[c].row0 + w->chunks[c].rows - 1;
    }
    ids[n++] = w->rows;
    ids[n++] = UINT32_MAX;
    uint64_t s = 0x1234567ull + w->rows;
    for (uint32_t i = 0; i < n_random; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        ids[n++] = (uint32_t)(s % w->rows);
    }
    return n;
}

static bool run_embed(lvk_selftest *t, lvk_arena *arena, const embed_case *ec, lvk_err *err)
{
    const bool quant = lvk_dtype_is_quantized(ec->dtype);
    size_t elem = lvk_dtype_size(ec->dtype);
    size_t table_bytes = (size_t)ec->vocab * ec->dim * elem;
    void *table = quant ? NULL : malloc(table_bytes);
    uint8_t *quants = NULL, *scales = NULL;
    uint32_t *ids = malloc((2 * LVK_WEIGHT_MAX_CHUNKS + 2 + ec->n_random) * sizeof *ids);
    lvk_weight w = {0};
    lvk_buffer b_ids = {0}, b_out = {0};
    lvk_cmd cmd = {0};
    float *got = NULL;
    double *want = NULL;
    uint32_t n_tokens = 0;
    bool ok = (table || quant) && ids;
    if (!ok)
        lvk_fail(err, "out of memory");
    ok = ok && lvk_weight_create(t->d, arena, &w, ec->dtype, ec->vocab, ec->dim, ec->max_chunk_bytes, err);
    if (ok && quant)
        ok = make_quant_table(ec->dtype, ec->vocab, ec->dim, &quants, &scales, err);
    if (ok) {
        if (!quant)
            fill_table(table, ec->dtype, (size_t)ec->vocab * ec->dim, ec->vocab + ec->dim);
        n_tokens = make_ids(&w, ec->n_random, ids);
        got = malloc((size_t)n_tokens * ec->dim * sizeof *got);
        want = malloc((size_t)n_tokens * ec->dim * sizeof *want);
        ok = got && want;
        if (!ok)
            lvk_fail(err, "out of memory");
    }
    size_t out_bytes = (size_t)n_tokens * ec->dim * sizeof(float);
    if (ok) {
        memset(got, 0xff, out_bytes); /* NaN: a row the kernel forgets to write fails the comparison */
        ok = (quant ? lvk_weight_upload_quantized(t->d, t->xfer, &w, 0, ec->vocab, quants, scales, err)
                    : lvk_weight_upload_rows(t->d, t->xfer, &w, 0, ec->vocab, table, err)) &&
             lvk_transfer_finish(t->d, t->xfer, err) &&
             lvk_selftest_buffer(t, &b_ids, ids, (uint64_t)n_tokens * sizeof *ids, err) &&
             lvk_selftest_buffer(t, &b_out, got, out_bytes, err) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_embed_op op;
    lvk_view v_ids = lvk_buffer_view_all(&b_ids), v_out = lvk_buffer_view_all(&b_out);
    ok = ok && lvk_embed_prepare(t->k, &op, &w, &v_ids, &v_out, n_tokens, err) && lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        lvk_embed_record(&cmd, &op, n_tokens);
        lvk_cmd_timestamp(&cmd);
        lvk_selftest_result r = {.kernel = "embed"};
        snprintf(r.dtype, sizeof r.dtype, "%s",
                 ec->dtype == LVK_DTYPE_F32   ? "f32"
                 : ec->dtype == LVK_DTYPE_F16 ? "f16"
                 : ec->dtype == LVK_DTYPE_BF16 ? "bf16"
                                              : lvk_dtype_name(ec->dtype));
        snprintf(r.shape, sizeof r.shape, "[%u,%u]x%u %dch", ec->vocab, ec->dim, n_tokens, w.n_chunks);
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench ? 10 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &v_out, 0, got, out_bytes, err);
        if (ok) {
            lvk_ref_weight ref = {.dtype = ec->dtype, .rows = ec->vocab, .cols = ec->dim, .values = table,
                                  .quants = quants, .scales = scales};
            lvk_ref_embed(&ref, ids, n_tokens, want);
            /* A gather moves bits (or dequantizes exactly): anything but an exact match is a bug. */
            lvk_selftest_compare(&r, got, want, (size_t)n_tokens * ec->dim, 0.0);
            double row_bytes = (double)w.row_stride + w.scale_stride + (double)ec->dim * 4;
            r.gbps = r.ms > 0 ? n_tokens * row_bytes / (r.ms * 1e-3) / 1e9 : 0;
            lvk_selftest_report(t, &r);
        }
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &b_ids);
    lvk_buffer_destroy(t->d, &b_out);
    lvk_weight_destroy(t->d, &w);
    free(table), free(quants), free(scales), free(ids), free(got), free(want);
    return ok;
}

bool lvk_selftest_embed(lvk_selftest *t, lvk_err *err)
{
    if (!lvk_selftest_wants(t, "embed"))
        return true;
    const embed_case cases[] = {
        {LVK_DTYPE_F32, 1000, 37, 0, 5},
        {LVK_DTYPE_F16, 1000, 37, 0, 5},
        {LVK_DTYPE_BF16, 1000, 37, 0, 5},
        {LVK_DTYPE_F16, 300, 4095, 0, 5},
        {LVK_DTYPE_BF16, 300, 4095, 0, 5},
        {LVK_DTYPE_F32, 257, 4095, 0, 5},
        /* forced chunks: 37 fp16 = 80-byte rows, 20 rows a chunk -> 50 chunks; 4095 bf16 = 8192-byte rows -> 16 */
        {LVK_DTYPE_F16, 1000, 37, 20 * 80, 7},
        {LVK_DTYPE_BF16, 999, 4095, 64 * 8192, 7},
        {LVK_DTYPE_F16, 32000, 4096, 0, 7}, /* LLaMA2: 262 MB, over a 128 MiB binding limit */
        {LVK_DTYPE_Q8, 1000, 37, 0, 5},
        {LVK_DTYPE_Q4, 1000, 37, 0, 5},
        {LVK_DTYPE_Q8, 300, 4095, 0, 5},
        {LVK_DTYPE_Q4, 300, 4100, 0, 5},
        /* forced chunks: 37 columns = 2 blocks, 64 bytes of q8 quants a row (32 of q4), 20 rows a chunk -> 50 */
        {LVK_DTYPE_Q8, 1000, 37, 20 * 64, 7},
        {LVK_DTYPE_Q4, 1000, 37, 20 * 32, 7},
        {LVK_DTYPE_Q4, 999, 4095, 64 * 2048, 7}, /* 128 blocks = 2048 bytes a row -> 16 chunks */
    };
    /* One arena for all cases: each arena reserves a whole block (1 GiB on lavapipe) on first use. */
    lvk_arena arena;
    lvk_arena_init(t->d, &arena, LVK_MEM_DEVICE);
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof cases / sizeof cases[0]; i++)
        ok = run_embed(t, &arena, &cases[i], err);
    lvk_arena_destroy(t->d, &arena);
    if (ok && t->bench) {
        /* LLaMA3: 1.05 GB, in an arena of its own so that the memory of the cases above is back first */
        const embed_case llama3 = {LVK_DTYPE_BF16, 128256, 4096, 0, 64};
        lvk_arena_init(t->d, &arena, LVK_MEM_DEVICE);
        ok = run_embed(t, &arena, &llama3, err);
        lvk_arena_destroy(t->d, &arena);
    }
    return ok;
}
