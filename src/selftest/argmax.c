/* argmax and top-k against their CPU twins: vocabularies of LLaMA2 (32000) and LLaMA3 (128256) and tiny ones
 * (37, 1); ties (the lowest index must win), the maximum on the last element, NaN and -inf entries, and top-k
 * with k = 1, 40, 256. The results are picks, not sums: they must match exactly (index and value bits). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/argmax.h"
#include "ref/argmax.h"
#include "selftest/harness.h"

typedef enum logits_kind {
    LOGITS_RANDOM,     /* distinct-ish random values */
    LOGITS_TIES,       /* values on a coarse grid: many ties, the maximum several times */
    LOGITS_MAX_LAST,   /* the maximum only on the last element */
    LOGITS_NAN_INF,    /* NaNs (one at index 0) and -inf among random values */
    LOGITS_ALL_EQUAL,  /* every value the same: index 0, then index order */
} logits_kind;

static const char *kind_name(logits_kind kind)
{
    static const char *names[] = {"random", "ties", "max-last", "nan/-inf", "all-equal"};
    return names[kind];
}

static void make_logits(float *x, uint32_t n, logits_kind kind)
{
    lvk_selftest_fill(x, n, n + (uint64_t)kind, 10.0f);
    switch (kind) {
    case LOGITS_RANDOM:
        break;
    case LOGITS_TIES:
        for (uint32_t i = 0; i < n; i++)
            x[i] = floorf(x[i] * 2.0f) / 2.0f; /* 40 levels */
        break;
    case LOGITS_MAX_LAST:
        x[n - 1] = 11.0f;
        break;
    case LOGITS_NAN_INF:
        for (uint32_t i = 0; i < n; i += 97)
            x[i] = NAN;
        for (uint32_t i = 5; i < n; i += 89)
            x[i] = -INFINITY;
        break;
    case LOGITS_ALL_EQUAL:
        for (uint32_t i = 0; i < n; i++)
            x[i] = -3.5f;
        break;
    }
}

static bool same_entry(uint32_t gi, float gv, uint32_t wi, float wv)
{
    return gi == wi && memcmp(&gv, &wv, sizeof gv) == 0;
}

/* A row for exact picks: nmse is the fraction of entries that differ, tol 0. */
static void report_picks(lvk_selftest *t, lvk_selftest_result *r, const lvk_rank_entry *got, const uint32_t *want_i,
                         const float *want_v, uint32_t count)
{
    uint32_t wrong = 0;
    double max_abs = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (!same_entry(got[i].index, got[i].value, want_i[i], want_v[i]))
            wrong++;
        double d = fabs((double)got[i].value - (double)want_v[i]);
        if (d > max_abs)
            max_abs = d;
    }
    r->checked = true;
    r->max_abs_err = max_abs;
    r->nmse = (double)wrong / count;
    r->tol = 0;
    r->pass = wrong == 0;
    lvk_selftest_report(t, r);
}

/* kk == 0: argmax; otherwise top-k. */
static bool run_pick(lvk_selftest *t, lvk_arena *scratch, uint32_t n, uint32_t kk, logits_kind kind, lvk_err *err)
{
    uint32_t count = kk ? kk : 1;
    float *x = malloc((size_t)n * sizeof *x), *want_v = malloc(count * sizeof *want_v);
    uint32_t *want_i = malloc(count * sizeof *want_i);
    lvk_rank_entry *got = malloc(count * sizeof *got);
    lvk_buffer bx = {0}, bout = {0};
    lvk_cmd cmd = {0};
    bool ok = x && want_v && want_i && got;
    if (!ok)
        lvk_fail(err, "out of memory");
    if (ok) {
        make_logits(x, n, kind);
        memset(got, 0xff, count * sizeof *got);
        ok = lvk_selftest_buffer(t, &bx, x, (uint64_t)n * sizeof *x, err) &&
             lvk_selftest_buffer(t, &bout, got, count * sizeof *got, err) && lvk_cmd_create(t->d, &cmd, 2, err);
    }
    lvk_view vx = lvk_buffer_view_all(&bx), vout = lvk_buffer_view_all(&bout);
    lvk_argmax_op am;
    lvk_topk_op tk;
    if (ok)
        ok = kk ? lvk_topk_prepare(t->k, &tk, &vx, &vout, n, kk, scratch, err)
                : lvk_argmax_prepare(t->k, &am, &vx, &vout, n, scratch, err);
    ok = ok && lvk_cmd_begin(t->d, &cmd, true, err);
    if (ok) {
        lvk_cmd_timestamp(&cmd);
        if (kk)
            lvk_topk_record(&cmd, &tk);
        else
            lvk_argmax_record(&cmd, &am);
        lvk_cmd_timestamp(&cmd);
        lvk_selftest_result r = {.dtype = "f32"};
        snprintf(r.kernel, sizeof r.kernel, "%s", kk ? "topk" : "argmax");
        if (kk)
            snprintf(r.shape, sizeof r.shape, "[%u] k=%u %s", n, kk, kind_name(kind));
        else
            snprintf(r.shape, sizeof r.shape, "[%u] %s", n, kind_name(kind));
        ok = lvk_cmd_end(&cmd, err) && lvk_selftest_time(t, &cmd, t->bench ? 20 : 1, &r.ms, err) &&
             lvk_download(t->d, t->xfer, &vout, 0, got, count * sizeof *got, err);
        if (ok && kk)
            ok = lvk_ref_topk(x, n, kk, want_i, want_v) || lvk_fail(err, "out of memory");
        else if (ok)
            lvk_ref_argmax(x, n, want_i, want_v);
        if (ok) {
            r.gbps = r.ms > 0 ? (double)n * sizeof(float) / (r.ms * 1e-3) / 1e9 : 0;
            report_picks(t, &r, got, want_i, want_v, count);
        }
    }
    lvk_cmd_destroy(t->d, &cmd);
    lvk_buffer_destroy(t->d, &bx);
    lvk_buffer_destroy(t->d, &bout);
    free(x), free(want_v), free(want_i), free(got);
    return ok;
}

bool lvk_selftest_argmax(lvk_selftest *t, lvk_err *err)
{
    typedef struct {
        uint32_t n, kk;
        logits_kind kind;
    } pick_case;
    static const pick_case argmax_cases[] = {
        {32000, 0, LOGITS_RANDOM},   {32000, 0, LOGITS_TIES},      {128256, 0, LOGITS_RANDOM},
        {128256, 0, LOGITS_TIES},    {128256, 0, LOGITS_MAX_LAST}, {128256, 0, LOGITS_NAN_INF},
        {37, 0, LOGITS_RANDOM},      {37, 0, LOGITS_ALL_EQUAL},    {37, 0, LOGITS_NAN_INF},
        {1, 0, LOGITS_RANDOM},
    };
    static const pick_case topk_cases[] = {
        {128256, 1, LOGITS_RANDOM},  {128256, 40, LOGITS_RANDOM}, {128256, 256, LOGITS_RANDOM},
        {128256, 256, LOGITS_TIES},  {128256, 40, LOGITS_MAX_LAST}, {128256, 40, LOGITS_NAN_INF},
        {32000, 40, LOGITS_TIES},    {37, 37, LOGITS_NAN_INF},    {37, 5, LOGITS_ALL_EQUAL},
        {1, 1, LOGITS_RANDOM},
        /* all equal: exactly k * 32 candidates pass the threshold, the buffer's full capacity */
        {128256, 256, LOGITS_ALL_EQUAL},
        /* fewer non-empty blocks (128) than k: the threshold is the sentinel and every entry is a candidate */
        {300, 256, LOGITS_RANDOM},   {4097, 200, LOGITS_TIES},
    };
    /* One scratch arena for all cases: each arena reserves a whole block (1 GiB on lavapipe) on first use. */
    lvk_arena scratch;
    lvk_arena_init(t->d, &scratch, LVK_MEM_DEVICE);
    bool ok = true;
    if (lvk_selftest_wants(t, "argmax"))
        for (size_t i = 0; ok && i < sizeof argmax_cases / sizeof argmax_cases[0]; i++)
            ok = run_pick(t, &scratch, argmax_cases[i].n, 0, argmax_cases[i].kind, err);
    if (lvk_selftest_wants(t, "topk"))
        for (size_t i = 0; ok && i < sizeof topk_cases / sizeof topk_cases[0]; i++)
            ok = run_pick(t, &scratch, topk_cases[i].n, topk_cases[i].kk, topk_cases[i].kind, err);
    lvk_arena_destroy(t->d, &scratch);
    return ok;
}
