/* llama-vk-perplexity: how well a model predicts a text, by llama.cpp's method (its tools/perplexity):
 * the text is encoded with BOS first and cut into chunks of --ctx tokens; each chunk starts afresh
 * (empty KV cache) with its first token replaced by BOS, and the logits at positions ctx/2 .. ctx-2 are
 * scored against the next token, so every scored token sees at least ctx/2 tokens of context.
 * tools/train_demo_model.py measures the same in PyTorch.
 * --kl-base FILE (llama.cpp's --kl-divergence-base and --kl-divergence in one flag): the first run saves the
 * logits of every scored position to FILE (io/kl_base.h); a later run on the same text, with other weights
 * (--weights q8), reads them back one position at a time and reports how far its own distributions are
 * from them (model/kl_stats.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/kl_base.h"
#include "llamavk/llamavk.h"
#include "model/kl_stats.h"
#include "model/sequence.h"

static const char *usage =
    "usage: llama-vk-perplexity [-V 2|3|demo2|demo3] [-C config.json] [-M model.ckpt] [-F tokenizer.model]\n"
    "                           -f text.txt [--ctx N] [--chunks N] [--models DIR] [--device N|NAME]\n"
    "                           [--weights auto|stored|q8|q4|q4-plain] [--vram SIZE] [--kl-base FILE]\n"
    "                           [--json] [--no-crc]\n"
    "Perplexity of the model on the text (llama.cpp's method): chunks of --ctx tokens (default: the model's\n"
    "context, at most 512), the second half of each scored; --chunks N scores only the first N chunks.\n"
    "Prints ppl, its standard error and the number of tokens scored (--json: one object with the keys\n"
    "ppl, ppl_stderr, tokens, chunks, ctx). The model is found as llama-vk finds it; --weights and --vram\n"
    "as in llama-vk.\n"
    "--kl-base FILE: when FILE does not exist, saves the logits of every scored position there (4 bytes x\n"
    "vocab per token: 32000 x 4 B per token for LLaMA2); when it does, compares this run with the one that\n"
    "wrote it (same text, --ctx, --chunks and tokenizer; other weights) and prints besides the KL divergence\n"
    "KL(base || this) of the next-token distributions, its mean and 99th percentile over the tokens, and the\n"
    "fraction of tokens whose most likely next token is the base's (--json: kld_mean, kld_p99, top1_agree).\n";

static bool parse_count(const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || end == s || v < 1 || v > 1000000)
        return false;
    *out = (int)v;
    return true;
}

static bool read_file(const char *path, char **text, size_t *len, lvk_err *err)
{
    FILE *f = lvk_fopen(path, "rb");
    if (!f)
        return lvk_fail(err, "%s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2 + 1) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger, cap *= 2;
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf)
        return lvk_fail(err, "%s: out of memory or over 1 GiB", path);
    if (failed) {
        free(buf);
        return lvk_fail(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *text = buf, *len = n;
    return true;
}

/* -log p(next) from the logits, in double so long sums stay exact enough. */
static double nll_of(const float *logits, int vocab, int32_t next)
{
    double mx;
    double lse = lvk_log_sum_exp(logits, vocab, &mx);
    return lse - ((double)logits[next] - mx);
}

typedef struct ppl_result {
    double ppl, stderr_ppl;
    size_t tokens;
    bool compared; /* against a --kl-base: the three below are set */
    double kld_mean, kld_p99, top1_agree;
} ppl_result;

/* --kl-base: the file, writing or reading, and each scored position's KL against it. */
typedef struct kl_job {
    const char *path;
    lvk_kl_base file; /* file.f NULL: not open */
    double *kld; /* [header.n_tokens], reading only */
    size_t same_top1;
    float *base_logits; /* one position's, reading only */
} kl_job;

/* Saves or compares one scored position's logits; index counts the scored positions from 0. */
static bool kl_position(kl_job *kl, const float *logits, int vocab, size_t index, lvk_err *err)
{
    if (kl->file.writing)
        return lvk_kl_base_write(&kl->file, logits, err);
    if (!lvk_kl_base_read(&kl->file, kl->base_logits, err))
        return false;
    kl->kld[index] = lvk_kl_divergence(kl->base_logits, logits, vocab);
    kl->same_top1 += lvk_argmax(kl->base_logits, vocab) == lvk_argmax(logits, vocab);
    return true;
}

/* ids[0..n) at the sequence's position, max_batch at a time; the last position's logits into r. */
static bool forward(lvk_model *m, lvk_sequence *s, const int32_t *ids, uint32_t n, uint32_t max_batch,
                    lvk_llama_result *r, lvk_err *err)
{
    for (uint32_t at = 0; at < n;) {
        uint32_t take = n - at < max_batch ? n - at : max_batch;
        bool last = at + take == n;
        lvk_step_item item = {.seq = s, .ids = ids + at, .n = take, .what = last ? LVK_OUT_LOGITS : LVK_OUT_NONE,
                              .out = last ? r : NULL};
        if (!lvk_model_step(m, &item, 1, err))
            return false;
        at += take;
    }
    return true;
}

/* The chunks scored: the text's first n_chunks * ctx ids, each chunk with BOS first. */
static void make_chunk(int32_t *chunk, const int32_t *ids, int c, int ctx, int bos)
{
    memcpy(chunk, ids + (size_t)c * (size_t)ctx, sizeof(int32_t) * (size_t)ctx);
    chunk[0] = bos;
}

/* kl: NULL, or a --kl-base file open for writing or reading. */
static bool score(lvk_model *m, lvk_sequence *seq, const int32_t *ids, int n_chunks, int ctx, int bos, kl_job *kl,
                  ppl_result *res, lvk_err *err)
{
    lvk_model_info info = lvk_model_get_info(m);
    int vocab = info.cfg->vocab_size, first = ctx / 2;
    float *logits = malloc(sizeof(float) * (size_t)vocab);
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)ctx);
    if (!logits || !chunk) {
        free(logits);
        free(chunk);
        return lvk_fail(err, "out of memory");
    }
    double sum = 0, sum2 = 0;
    size_t count = 0;
    bool ok = true;
    lvk_llama_result r = {.logits = logits};
    for (int c = 0; ok && c < n_chunks; c++) {
        make_chunk(chunk, ids, c, ctx, bos);
        lvk_sequence_reset(seq);
        /* a step returns the last position's logits: prefill up to `first`, then one token at a time */
        ok = forward(m, seq, chunk, (uint32_t)first + 1, info.max_batch, &r, err);
        for (int pos = first; ok && pos < ctx - 1; pos++) {
            double nll = nll_of(logits, vocab, chunk[pos + 1]);
            if (kl)
                ok = kl_position(kl, logits, vocab, count, err);
            sum += nll, sum2 += nll * nll, count++;
            if (ok && pos + 1 < ctx - 1)
                ok = forward(m, seq, &chunk[pos + 1], 1, info.max_batch, &r, err);
        }
    }
    free(logits);
    free(chunk);
    if (ok && kl) {
        bool writing = kl->file.writing;
        ok = lvk_kl_base_finish(&kl->file, err);
        if (ok && !writing) {
            double kld_sum = 0;
            for (size_t i = 0; i < count; i++)
                kld_sum += kl->kld[i];
            res->compared = true;
            res->kld_mean = kld_sum / (double)count;
            res->kld_p99 = lvk_percentile(kl->kld, count, 0.99);
            res->top1_agree = (double)kl->same_top1 / (double)count;
        }
    }
    if (!ok)
        return false;
    double mean = sum / (double)count, var = sum2 / (double)count - mean * mean;
    res->ppl = exp(mean);
    res->stderr_ppl = count > 1 && var > 0 ? res->ppl * sqrt(var / (double)(count - 1)) : 0;
    res->tokens = count;
    return true;
}

/* Called once the tokenizer is open, before the load: the text's ids, --ctx checked, and an existing
 * --kl-base file opened and checked against this run. */
typedef struct encode_job {
    const char *text, *path;
    size_t len;
    int ctx;        /* 0: the model's context, at most 512 */
    int max_chunks; /* 0: all */
    int32_t *ids;
    size_t n_ids;
    int n_chunks;
    int bos;
    kl_job *kl; /* NULL: no --kl-base */
    lvk_kl_base_header kl_header;
    bool refused;
} encode_job;

/* What a --kl-base file of this run must say, and the file opened if it exists (else it is written once
 * the model is loaded, so a failed load leaves no file behind). */
static bool prepare_kl_base(encode_job *j, const lvk_model_config *cfg, lvk_err *err)
{
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)j->ctx);
    if (!chunk)
        return lvk_fail(err, "out of memory");
    uint64_t hash = LVK_FNV1A_START;
    for (int c = 0; c < j->n_chunks; c++) {
        make_chunk(chunk, j->ids, c, j->ctx, j->bos);
        hash = lvk_kl_base_hash(hash, chunk, (size_t)j->ctx);
    }
    free(chunk);
    int first = j->ctx / 2;
    j->kl_header = (lvk_kl_base_header){.vocab = (uint32_t)cfg->vocab_size, .ctx = (uint32_t)j->ctx,
                                        .first = (uint32_t)first, .n_chunks = (uint32_t)j->n_chunks,
                                        .n_tokens = (uint64_t)j->n_chunks * (uint64_t)(j->ctx - 1 - first),
                                        .ids_hash = hash};
    if (!lvk_file_exists(j->kl->path))
        return true;
    if (!lvk_kl_base_open(&j->kl->file, j->kl->path, &j->kl_header, err))
        return false;
    j->kl->kld = malloc(sizeof(double) * (size_t)j->kl_header.n_tokens);
    j->kl->base_logits = malloc(sizeof(float) * (size_t)cfg->vocab_size);
    return j->kl->kld && j->kl->base_logits ? true : lvk_fail(err, "out of memory");
}

static bool encode_text(void *user, const lvk_model_config *cfg, const lvk_tokenizer *tok, uint32_t context,
                        lvk_err *err)
{
    encode_job *j = user;
    j->refused = true;
    if (!j->ctx)
        j->ctx = (int)context < 512 ? (int)context : 512;
    if (j->ctx > cfg->max_seq_len)
        return lvk_fail(err, "--ctx %d is longer than the model's context of %d tokens", j->ctx, cfg->max_seq_len);
    if (!lvk_tokenizer_encode(tok, j->text, j->len, LVK_ENCODE_BOS, &j->ids, &j->n_ids, err)) {
        lvk_err_prefix(err, "%s", j->path);
        return false;
    }
    if (j->n_ids < (size_t)j->ctx)
        return lvk_fail(err, "the text is %zu tokens long: it needs at least --ctx %d", j->n_ids, j->ctx);
    j->bos = lvk_tokenizer_bos_id(tok);
    j->n_chunks = (int)(j->n_ids / (size_t)j->ctx);
    if (j->max_chunks > 0 && j->max_chunks < j->n_chunks)
        j->n_chunks = j->max_chunks;
    if (j->kl && !prepare_kl_base(j, cfg, err))
        return false;
    j->refused = false;
    return true;
}

static int run(int argc, char **argv)
{
    lvk_model_request req = {.version = 2, .need_tokenizer = true};
    const char *device = NULL, *text_path = NULL;
    int ctx = 0, max_chunks = 0;
    bool json = false;
    lvk_weights_choice weights = LVK_WEIGHTS_AUTO;
    uint64_t vram = 0;
    kl_job kl = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
            continue;
        } else if (!strcmp(a, "--no-crc")) {
            req.skip_crc = true;
            continue;
        } else if (!v) {
            fprintf(stderr, "error: %s needs a value (see llama-vk-perplexity --help)\n", a);
            return 2;
        } else if (!strcmp(a, "-M")) {
            req.ckpt_path = v;
        } else if (!strcmp(a, "-C")) {
            req.config_path = v;
        } else if (!strcmp(a, "-F")) {
            req.tokenizer_path = v;
        } else if (!strcmp(a, "--models")) {
            req.models_dir = v;
        } else if (!strcmp(a, "-V")) {
            req.demo = !strcmp(v, "demo2") ? 2 : !strcmp(v, "demo3") ? 3 : 0;
            if (!req.demo)
                ok = parse_count(v, &req.version) && (req.version == 2 || req.version == 3);
            req.version_given = true;
        } else if (!strcmp(a, "-f")) {
            text_path = v;
        } else if (!strcmp(a, "--ctx")) {
            ok = parse_count(v, &ctx) && ctx >= 4;
        } else if (!strcmp(a, "--chunks")) {
            ok = parse_count(v, &max_chunks);
        } else if (!strcmp(a, "--device")) {
            device = v;
        } else if (!strcmp(a, "--weights") || !strcmp(a, "--vram")) {
            lvk_err perr = {{0}};
            if (a[2] == 'w' ? !lvk_weights_choice_from_name(v, &weights, &perr) : !lvk_parse_size(v, &vram, &perr)) {
                fprintf(stderr, "error: %s\n", perr.msg);
                return 2;
            }
        } else if (!strcmp(a, "--kl-base")) {
            kl.path = v;
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see llama-vk-perplexity --help)\n", a);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "error: bad value '%s' for %s (see llama-vk-perplexity --help)\n", v, a);
            return 2;
        }
        i++;
    }
    if (!text_path) {
        fprintf(stderr, "error: give the text with -f FILE (see llama-vk-perplexity --help)\n");
        return 2;
    }

    lvk_err err = {{0}};
    char *text = NULL;
    size_t len = 0;
    if (!read_file(text_path, &text, &len, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    /* the text is encoded, and its length checked, before the model goes to the device */
    encode_job job = {.text = text, .len = len, .path = text_path, .ctx = ctx, .max_chunks = max_chunks,
                      .kl = kl.path ? &kl : NULL};
    lvk_open_params params = {.files = req, .device = device, .context = (uint32_t)ctx, .weights = weights,
                              .vram = vram, .progress = lvk_stderr_is_terminal(), .before_load = encode_text,
                              .user = &job};
    lvk_model *m = NULL;
    lvk_sequence *seq = NULL;
    int rc = 0;
    ppl_result res = {0};
    if (!lvk_model_open(&m, &params, &err) || !lvk_model_new_sequence(m, &seq, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = job.refused ? 2 : 4;
    } else if (kl.path && !kl.file.f && !lvk_kl_base_create(&kl.file, kl.path, &job.kl_header, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 2;
    } else {
        if (kl.file.writing)
            fprintf(stderr, "kl-base: writing the logits of %llu tokens to %s (%.1f MB)\n",
                    (unsigned long long)job.kl_header.n_tokens, kl.path,
                    (double)job.kl_header.n_tokens * job.kl_header.vocab * 4 / 1e6);
        double t0 = lvk_now();
        if (!score(m, seq, job.ids, job.n_chunks, job.ctx, job.bos, job.kl, &res, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            rc = 5;
        } else if (!isfinite(res.ppl)) {
            /* NaN or infinite logits: a broken model or kernel; JSON has no NaN to print. */
            fprintf(stderr, "error: the perplexity is not finite (%f): the model gave NaN or infinite logits\n", res.ppl);
            rc = 5;
        } else if (json) {
            printf("{\"ppl\": %.6f, \"ppl_stderr\": %.6f, \"tokens\": %zu, \"chunks\": %d, \"ctx\": %d", res.ppl,
                   res.stderr_ppl, res.tokens, job.n_chunks, job.ctx);
            /* %.9g: a small KL keeps its digits (%.6f would print 0) */
            if (res.compared)
                printf(", \"kld_mean\": %.9g, \"kld_p99\": %.9g, \"top1_agree\": %.6f", res.kld_mean, res.kld_p99,
                       res.top1_agree);
            printf("}\n");
        } else {
            printf("perplexity: %.4f +- %.4f over %zu tokens (%d chunks of %d, %.1f s)\n", res.ppl, res.stderr_ppl,
                   res.tokens, job.n_chunks, job.ctx, lvk_now() - t0);
            if (res.compared)
                printf("against %s: KL divergence mean %.6g, p99 %.6g; top-1 agreement %.4f\n", kl.path, res.kld_mean,
                       res.kld_p99, res.top1_agree);
        }
    }
    lvk_kl_base_close(&kl.file);
    free(kl.kld);
    free(kl.base_logits);
    if (seq)
        lvk_model_free_sequence(m, seq);
    lvk_model_close(m);
    free(text);
    free(job.ids);
    if (!rc && lvk_validation_error_count()) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
