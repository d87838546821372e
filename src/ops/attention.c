#include "ops/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "base/platform.h"
#include "lvk_shaders.h"

#define ATTN_WG 64          /* lanes per workgroup = keys per block (shaders/attn_f16.comp) */
#define ATTN_TILE 8         /* query tokens per workgroup on the prefill path */
#define ATTN_MAX_SPLITS 32  /* most chunks a context is cut into on the split path */
#define ATTN_MIN_CHUNK 128  /* fewest keys per chunk: below this the merge costs more than it saves */
#define ATTN_SPLIT_TOKENS 4 /* AUTO takes the split path up to this many tokens */
#define LANE_WG 32          /* LANE path: invocations per workgroup (no shared memory: any size works) */
#define LANE_MAX_SPLITS 64  /* LANE path: most chunks per head; 32 heads x 64 keep many CPU threads busy */
#define LANE_MIN_CHUNK 32   /* LANE path: fewest keys per invocation */
#define LANE_KB_TEXEL 4     /* LANE path, texel loads: keys per step (storage loads: 1, which JITs several times faster
                             * on lavapipe, where that variant is only the fallback) */

/* shaders/attn_common.glsl */
typedef struct attn_push {
    uint32_t row0, n_tokens, max_seq, max_splits, min_chunk, chunk_round;
} attn_push;

static uint32_t max_groups_x(const lvk_kernels *k)
{
    return k->d->info->max_workgroup_count[0] ? k->d->info->max_workgroup_count[0] : 65535;
}

/* ---- KV store --------------------------------------------------------------------------------------------------- */

/* The position buffer must hold max_tokens uint32. */
static bool pos_ok(const char *op, const lvk_view *pos, uint32_t max_tokens, lvk_err *err)
{
    uint64_t need = (uint64_t)max_tokens * sizeof(uint32_t);
    if (pos->size < need)
        return lvk_fail(err, "%s: the position buffer holds %llu bytes, need %llu for %u uint32", op,
                        (unsigned long long)pos->size, (unsigned long long)need, max_tokens);
    return true;
}

static lvk_view pos_view(const lvk_view *pos, uint32_t max_tokens)
{
    lvk_view v = *pos;
    v.size = (uint64_t)max_tokens * sizeof(uint32_t);
    return v;
}

bool lvk_kv_store_prepare(lvk_kernels *k, lvk_kv_store_op *op, const lvk_view *k_src, const lvk_view *v_src,
                          const lvk_view *k_cache, const lvk_view *v_cache, const lvk_view *pos, uint32_t n_kv_heads,
                          uint32_t head_dim, uint32_t max_seq, uint32_t max_tokens, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    if (head_dim == 0 || head_dim % 2 != 0 || n_kv_heads == 0 || max_seq == 0 || max_tokens == 0)
        return lvk_fail(err, "kv_store: head_dim %u must be even, n_kv_heads %u, max_seq %u, max_tokens %u > 0",
                        head_dim, n_kv_heads, max_seq, max_tokens);
    uint64_t row = (uint64_t)n_kv_heads * head_dim;
    uint64_t src_bytes = (uint64_t)max_tokens * row * sizeof(float), cache_bytes = (uint64_t)max_seq * row * 2;
    if (cache_bytes > UINT32_MAX || src_bytes > UINT32_MAX)
        return lvk_fail(err, "kv_store: cache [%u, %llu] fp16 too large for 32-bit indexing", max_seq,
                        (unsigned long long)row);
    if (k_src->size < src_bytes || v_src->size < src_bytes)
        return lvk_fail(err, "kv_store: k/v source holds %llu / %llu bytes, need %llu for [%u, %llu] fp32",
                        (unsigned long long)k_src->size, (unsigned long long)v_src->size,
                        (unsigned long long)src_bytes, max_tokens, (unsigned long long)row);
    if (k_cache->size < cache_bytes || v_cache->size < cache_bytes)
        return lvk_fail(err, "kv_store: k/v cache holds %llu / %llu bytes, need %llu for [%u, %u, %u] fp16",
                        (unsigned long long)k_cache->size, (unsigned long long)v_cache->size,
                        (unsigned long long)cache_bytes, max_seq, n_kv_heads, head_dim);
    if (!pos_ok("kv_store", pos, max_tokens, err))
        return false;
    op->wg = lvk_kernels_elementwise_wg(k);
    op->row_words = (uint32_t)(row / 2);
    lvk_pipeline_desc desc = {
        .name = "kv_store_f16",
        .spirv = lvk_spv_kv_store_f16,
        .spirv_size = lvk_spv_kv_store_f16_size,
        .n_bindings = 5,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = 3 * sizeof(uint32_t),
        .n_spec = 2,
        .spec = {op->wg, op->row_words},
    };
    op->pipeline = lvk_kernels_pipeline(k, &desc, err);
    if (!op->pipeline)
        return false;
    lvk_binding bind[5] = {{.view = *k_src}, {.view = *v_src}, {.view = *k_cache}, {.view = *v_cache},
                           {.view = pos_view(pos, max_tokens)}};
    bind[0].view.size = bind[1].view.size = src_bytes;
    bind[2].view.size = bind[3].view.size = cache_bytes;
    if (!lvk_kernels_set(k, op->pipeline, bind, &op->set, err))
        return false;
    op->max_seq = max_seq;
    op->max_tokens = max_tokens;
    op->max_groups_x = max_groups_x(k);
    return true;
}

/* Rows of row0 .. row0 + n_tokens - 1 that the op's buffers hold: the rest is never recorded. (The cache end depends on
 * the position, which only the device knows: the shaders guard that.) */
static uint32_t rows_in_op(uint32_t row0, uint32_t n_tokens, uint32_t max_tokens)
{
    if (row0 >= max_tokens)
        return 0;
    return n_tokens < max_tokens - row0 ? n_tokens : max_tokens - row0;
}

void lvk_kv_store_record(lvk_cmd *c, const lvk_kv_store_op *op, uint32_t row0, uint32_t n_tokens)
{
    n_tokens = rows_in_op(row0, n_tokens, op->max_tokens);
    if (n_tokens == 0)
        return;
    uint32_t push[3] = {row0, n_tokens, op->max_seq};
    uint32_t groups = (n_tokens * op->row_words + op->wg - 1) / op->wg;
    uint32_t gy = (groups + op->max_groups_x - 1) / op->max_groups_x;
    uint32_t gx = (groups + gy - 1) / gy;
    lvk_cmd_dispatch(c, op->pipeline, op->set, push, gx, gy, 1);
}

/* ---- attention -------------------------------------------------------------------------------------------------- */

static uint32_t float_bits(float f)
{
    return lvk_f32_to_bits(f);
}

/* The attn_f16 pipeline with `tile` query tokens per workgroup, in split (partials) or direct mode. */
static const lvk_pipeline *attn_pipeline(lvk_kernels *k, uint32_t tile, bool split, uint32_t n_heads, uint32_t group,
                                         uint32_t head_dim, lvk_err *err)
{
    uint32_t wpl = (head_dim / 2 + ATTN_WG - 1) / ATTN_WG;
    lvk_pipeline_desc desc = {
        .name = split ? "attn_f16_split" : (tile > 1 ? "attn_f16_prefill" : "attn_f16_simple"),
        .spirv = lvk_spv_attn_f16,
        .spirv_size = lvk_spv_attn_f16_size,
        .n_bindings = 5,
        .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(attn_push),
        .n_spec = 8,
        .spec = {ATTN_WG, tile, head_dim, n_heads, group, split ? 1u : 0u, wpl,
                 float_bits((float)(1.0 / sqrt((double)head_dim)))},
    };
    return lvk_kernels_pipeline(k, &desc, err);
}

/* Texel views of the cache are possible when they fit maxTexelBufferElements and the offsets are aligned. */
static bool texel_ok(const lvk_device *d, const lvk_view *v)
{
    uint64_t align = d->info->min_texel_buffer_offset_alignment ? d->info->min_texel_buffer_offset_alignment : 1;
    return v->size % 16 == 0 && v->size / 16 <= d->info->max_texel_buffer_elements && v->offset % align == 0;
}

/* A LANE pipeline: partials per chunk (direct = false) or the finished output (direct = true). */
static const lvk_pipeline *lane_pipeline(lvk_kernels *k, const lvk_attention_op *op, uint32_t group, bool direct,
                                         lvk_err *err)
{
    lvk_pipeline_desc desc = {
        .name = op->texel ? "attn_lane_texel" : "attn_lane_ssbo",
        .spirv = op->texel ? lvk_spv_attn_lane_texel : lvk_spv_attn_lane_ssbo,
        .spirv_size = op->texel ? lvk_spv_attn_lane_texel_size : lvk_spv_attn_lane_ssbo_size,
        .n_bindings = 5,
        .bindings = {LVK_BIND_STORAGE, op->texel ? LVK_BIND_UNIFORM_TEXEL : LVK_BIND_STORAGE,
                     op->texel ? LVK_BIND_UNIFORM_TEXEL : LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
        .push_size = sizeof(attn_push),
        .n_spec = 7,
        .spec = {LANE_WG, op->head_dim, op->n_heads, group, op->texel ? LANE_KB_TEXEL : 1u,
                 float_bits((float)(1.0 / sqrt((double)op->head_dim))), direct ? 1u : 0u},
    };
    return lvk_kernels_pipeline(k, &desc, err);
}

/* The LANE path's pipelines and sets: texel fetches where possible and wanted, else uvec4 storage loads. The split
 * kernel writes partials into part; the direct one (tiled) writes out. */
static bool lane_prepare(lvk_kernels *k, lvk_attention_op *op, const lvk_view *qv, const lvk_view *kv,
                         const lvk_view *vv, const lvk_view *part, const lvk_view *ov, const lvk_view *pv,
                         uint32_t group, bool no_texel, lvk_err *err)
{
    op->texel = !no_texel && !lvk_env_flag("LLAMA_VK_NO_TEXEL") && texel_ok(k->d, kv) && texel_ok(k->d, vv);
    op->lane_wg = LANE_WG;
    op->split = lane_pipeline(k, op, group, false, err);
    op->tiled = op->split ? lane_pipeline(k, op, group, true, err) : NULL;
    if (!op->tiled)
        return false;
    op->tiled_is_lane = true;
    lvk_binding b[5] = {{.view = *qv}, {.view = *kv}, {.view = *vv}, {.view = *part}, {.view = *pv}};
    if (op->texel) {
        if (!lvk_texel_view_create(k->d, kv, VK_FORMAT_R32G32B32A32_UINT, &op->k_texel, err) ||
            !lvk_texel_view_create(k->d, vv, VK_FORMAT_R32G32B32A32_UINT, &op->v_texel, err)) {
            lvk_err_prefix(err, "attention: kv cache");
            return false;
        }
        b[1].texel = op->k_texel;
        b[2].texel = op->v_texel;
    }
    if (!lvk_kernels_set(k, op->split, b, &op->split_set, err))
        return false;
    b[3].view = *ov;
    return lvk_kernels_set(k, op->tiled, b, &op->tiled_set, err);
}

bool lvk_attention_prepare(lvk_kernels *k, lvk_attention_op *op, const lvk_view *q, const lvk_view *k_cache,
                           const lvk_view *v_cache, const lvk_view *out, const lvk_view *pos, uint32_t n_heads,
                           uint32_t n_kv_heads, uint32_t head_dim, uint32_t max_seq, uint32_t max_tokens,
                           lvk_arena *scratch, const lvk_attention_options *opt, lvk_err *err)
{
    memset(op, 0, sizeof *op);
    int path = opt ? opt->path : LVK_ATTN_AUTO;
    if (path < LVK_ATTN_AUTO || path > LVK_ATTN_LANE)
        return lvk_fail(err, "attention: unknown path %d", path);
    if (head_dim == 0 || head_dim % 2 != 0 || head_dim > 256)
        return lvk_fail(err, "attention: head_dim %u must be even and <= 256", head_dim);
    if (n_heads == 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0)
        return lvk_fail(err, "attention: n_heads %u must be a positive multiple of n_kv_heads %u", n_heads, n_kv_heads);
    if (max_seq == 0 || max_tokens == 0)
        return lvk_fail(err, "attention: max_seq %u and max_tokens %u must be > 0", max_seq, max_tokens);
    uint64_t act_bytes = (uint64_t)max_tokens * n_heads * head_dim * sizeof(float);
    uint64_t cache_bytes = (uint64_t)max_seq * n_kv_heads * head_dim * 2;
    if (act_bytes > UINT32_MAX || cache_bytes > UINT32_MAX)
        return lvk_fail(err, "attention: shapes too large for 32-bit indexing");
    if (q->size < act_bytes || out->size < act_bytes)
        return lvk_fail(err, "attention: q / out hold %llu / %llu bytes, need %llu for [%u, %u, %u] fp32",
                        (unsigned long long)q->size, (unsigned long long)out->size, (unsigned long long)act_bytes,
                        max_tokens, n_heads, head_dim);
    if (k_cache->size < cache_bytes || v_cache->size < cache_bytes)
        return lvk_fail(err, "attention: k/v cache holds %llu / %llu bytes, need %llu for [%u, %u, %u] fp16",
                        (unsigned long long)k_cache->size, (unsigned long long)v_cache->size,
                        (unsigned long long)cache_bytes, max_seq, n_kv_heads, head_dim);
    if (!pos_ok("attention", pos, max_tokens, err))
        return false;
    op->path = path;
    op->n_heads = n_heads;
    op->head_dim = head_dim;
    op->max_seq = max_seq;
    op->max_tokens = max_tokens;
    op->wg = ATTN_WG;
    uint32_t group = n_heads / n_kv_heads;

    lvk_view qv = *q, kv = *k_cache, vv = *v_cache, ov = *out, pv = pos_view(pos, max_tokens);
    qv.size = ov.size = act_bytes;
    kv.size = vv.size = cache_bytes;

    /* The decode path: SPLIT or LANE, asked for or chosen for the device. */
    int decode = 0;
    if (path == LVK_ATTN_SPLIT || path == LVK_ATTN_LANE)
        decode = path;
    else if (path == LVK_ATTN_AUTO)
        decode = k->d->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU && head_dim % 8 == 0 ? LVK_ATTN_LANE : LVK_ATTN_SPLIT;
    if (decode == LVK_ATTN_LANE && head_dim % 8 != 0)
        return lvk_fail(err, "attention: the lane path needs head_dim %u to be a multiple of 8", head_dim);
    if (decode) {
        op->decode = decode;
        /* Forced SPLIT takes every token count (scratch for max_tokens); otherwise the decode path takes up to
         * ATTN_SPLIT_TOKENS tokens and prompts go to the prefill kernel (LANE's direct one on the LANE path). */
        op->split_max_tokens = path == LVK_ATTN_SPLIT ? max_tokens
                               : max_tokens < ATTN_SPLIT_TOKENS ? max_tokens
                                                                : ATTN_SPLIT_TOKENS;
        uint32_t cap = decode == LVK_ATTN_LANE ? LANE_MAX_SPLITS : ATTN_MAX_SPLITS;
        op->min_chunk = decode == LVK_ATTN_LANE ? LANE_MIN_CHUNK : ATTN_MIN_CHUNK;
        uint32_t splits = (max_seq + op->min_chunk - 1) / op->min_chunk;
        op->max_splits = splits < cap ? splits : cap;
        uint64_t part_bytes =
            (uint64_t)op->split_max_tokens * n_heads * op->max_splits * (head_dim / 2 + 1) * 2 * sizeof(float);
        if (part_bytes > UINT32_MAX)
            return lvk_fail(err, "attention: split partials for %u tokens too large", op->split_max_tokens);
        lvk_view part;
        if (!lvk_arena_alloc(k->d, scratch, part_bytes, &part, err)) {
            lvk_err_prefix(err, "attention: split partials");
            return false;
        }
        if (decode == LVK_ATTN_LANE) {
            if (!lane_prepare(k, op, &qv, &kv, &vv, &part, &ov, &pv, group, opt && opt->no_texel, err)) {
                lvk_attention_destroy(k, op);
                return false;
            }
        } else {
            op->split = attn_pipeline(k, 1, true, n_heads, group, head_dim, err);
            lvk_binding sb[5] = {{.view = qv}, {.view = kv}, {.view = vv}, {.view = part}, {.view = pv}};
            if (!op->split || !lvk_kernels_set(k, op->split, sb, &op->split_set, err))
                return false;
        }
        lvk_pipeline_desc merge = {
            .name = "attn_merge",
            .spirv = lvk_spv_attn_merge,
            .spirv_size = lvk_spv_attn_merge_size,
            .n_bindings = 3,
            .bindings = {LVK_BIND_STORAGE, LVK_BIND_STORAGE, LVK_BIND_STORAGE},
            .push_size = sizeof(attn_push),
            .n_spec = 3,
            .spec = {ATTN_WG, head_dim, n_heads},
        };
        op->merge = lvk_kernels_pipeline(k, &merge, err);
        lvk_binding mb[3] = {{.view = part}, {.view = ov}, {.view = pv}};
        if (!op->merge || !lvk_kernels_set(k, op->merge, mb, &op->merge_set, err)) {
            lvk_attention_destroy(k, op);
            return false;
        }
    }
    if (!op->tiled && path != LVK_ATTN_SPLIT) {
        op->tile = path == LVK_ATTN_SIMPLE ? 1 : ATTN_TILE;
        op->tiled = attn_pipeline(k, op->tile, false, n_heads, group, head_dim, err);
        if (!op->tiled) {
            lvk_attention_destroy(k, op);
            return false;
        }
        lvk_binding tb[5] = {{.view = qv}, {.view = kv}, {.view = vv}, {.view = ov}, {.view = pv}};
        if (!lvk_kernels_set(k, op->tiled, tb, &op->tiled_set, err)) {
            lvk_attention_destroy(k, op);
            return false;
        }
    }
    return true;
}

void lvk_attention_record(lvk_cmd *c, const lvk_attention_op *op, uint32_t row0, uint32_t n_tokens)
{
    n_tokens = rows_in_op(row0, n_tokens, op->max_tokens);
    if (n_tokens == 0)
        return;
    /* The chunk size and count follow from the context length, known only on the device (attn_common.glsl):
     * chunks of at least min_chunk keys (a multiple of the key block on the SPLIT path), at most max_splits. */
    attn_push push = {row0, n_tokens, op->max_seq, op->max_splits ? op->max_splits : 1, op->min_chunk ? op->min_chunk : 1,
                      op->decode == LVK_ATTN_SPLIT ? op->wg : 1};
    bool decode = op->decode && n_tokens <= op->split_max_tokens;
    if (!decode && op->tiled_is_lane) {
        lvk_cmd_dispatch(c, op->tiled, op->tiled_set, &push, (op->n_heads + op->lane_wg - 1) / op->lane_wg, n_tokens, 1);
        return;
    }
    if (!decode) {
        uint32_t tiles = (n_tokens + op->tile - 1) / op->tile;
        lvk_cmd_dispatch(c, op->tiled, op->tiled_set, &push, 1, op->n_heads, tiles);
        return;
    }
    /* Sized for max_splits chunks: those past the context's n_splits exit at once. Nearly free on a GPU; on lavapipe
     * they cost (measured at a 4096-row cache, context <= 7, vk-selftest --bench): ~+0.5 ms per op on LANE, ~+4 ms on
     * SPLIT (32 x n_heads workgroups). */
    if (op->decode == LVK_ATTN_LANE)
        lvk_cmd_dispatch(c, op->split, op->split_set, &push, (op->n_heads * op->max_splits + op->lane_wg - 1) / op->lane_wg,
                         n_tokens, 1);
    else
        lvk_cmd_dispatch(c, op->split, op->split_set, &push, op->max_splits, op->n_heads, n_tokens);
    lvk_cmd_barrier(c);
    lvk_cmd_dispatch(c, op->merge, op->merge_set, &push, op->n_heads, n_tokens, 1);
}

void lvk_attention_destroy(lvk_kernels *k, lvk_attention_op *op)
{
    if (op->k_texel)
        vkDestroyBufferView(k->d->dev, op->k_texel, NULL);
    if (op->v_texel)
        vkDestroyBufferView(k->d->dev, op->v_texel, NULL);
    op->k_texel = op->v_texel = VK_NULL_HANDLE;
}

const char *lvk_attention_path_name(int path)
{
    switch (path) {
    case LVK_ATTN_SPLIT:
        return "split";
    case LVK_ATTN_PREFILL:
        return "prefill";
    case LVK_ATTN_SIMPLE:
        return "simple";
    case LVK_ATTN_LANE:
        return "lane";
    default:
        return "auto";
    }
}
