/* llama-vk-perplexity: how well a model predicts a text, by llama.cpp's method (its tools/perplexity):
 * the text is encoded with BOS first and cut into chunks of --ctx tokens; each chunk starts afresh
 * (empty KV cache) with its first token replaced by BOS, and the logits at positions ctx/2 .. ctx-2 are
 * scored against the next token, so every scored token sees at least ctx/2 tokens of context.
 * tools/train_demo_model.py measures the same in PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "llamavk/llamavk.h"
#include "model/sequence.h"

static const char *usage =
    "usage: llama-vk-perplexity [-V 2|3|demo2|demo3] [-C config.json] [-M model.ckpt] [-F tokenizer.model]\n"
    "                           -f text.txt [--ctx N] [--chunks N] [--models DIR] [--device N|NAME]\n"
    "                           [--json] [--no-crc]\n"
    "Perplexity of the model on the text (llama.cpp's method): chunks of --ctx tokens (default: the model's\n"
    "context, at most 512), the second half of each scored; --chunks N scores only the first N chunks.\n"
    "Prints ppl, its standard error and the number of tokens scored (--json: one object with the keys\n"
    "ppl, ppl_stderr, tokens, chunks, ctx). The model is found as llama-vk finds it.\n";

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
    float mx = logits[0];
    for (int i = 1; i < vocab; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < vocab; i++)
        sum += exp((double)logits[i] - mx);
    return log(sum) - ((double)logits[next] - mx);
}

typedef struct ppl_result {
    double ppl, stderr_ppl;
    size_t tokens;
    int chunks;
} ppl_result;

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

static bool score(lvk_model *m, lvk_sequence *seq, const int32_t *ids, size_t n_ids, int ctx, int max_chunks, int bos,
                  ppl_result *res, lvk_err *err)
{
    lvk_model_info info = lvk_model_get_info(m);
    int vocab = info.cfg->vocab_size, first = ctx / 2;
    int n_chunks = (int)(n_ids / (size_t)ctx);
    if (max_chunks > 0 && max_chunks < n_chunks)
        n_chunks = max_chunks;
    if (n_chunks < 1)
        return lvk_fail(err, "the text is %zu tokens long: it needs at least --ctx %d", n_ids, ctx);
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
        memcpy(chunk, ids + (size_t)c * (size_t)ctx, sizeof(int32_t) * (size_t)ctx);
        chunk[0] = bos;
        lvk_sequence_reset(seq);
        /* a step returns the last position's logits: prefill up to `first`, then one token at a time */
        ok = forward(m, seq, chunk, (uint32_t)first + 1, info.max_batch, &r, err);
        for (int pos = first; ok && pos < ctx - 1; pos++) {
            double nll = nll_of(logits, vocab, chunk[pos + 1]);
            sum += nll, sum2 += nll * nll, count++;
            if (pos + 1 < ctx - 1)
                ok = forward(m, seq, &chunk[pos + 1], 1, info.max_batch, &r, err);
        }
    }
    free(logits);
    free(chunk);
    if (!ok)
        return false;
    double mean = sum / (double)count, var = sum2 / (double)count - mean * mean;
    res->ppl = exp(mean);
    res->stderr_ppl = count > 1 && var > 0 ? res->ppl * sqrt(var / (double)(count - 1)) : 0;
    res->tokens = count;
    res->chunks = n_chunks;
    return true;
}

/* Called once the tokenizer is open, before the load: the text's ids, and --ctx checked. */
typedef struct encode_job {
    const char *text, *path;
    size_t len;
    int ctx; /* 0: the model's context, at most 512 */
    int32_t *ids;
    size_t n_ids;
    int bos;
    bool refused;
} encode_job;

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
    j->refused = false;
    return true;
}

static int run(int argc, char **argv)
{
    lvk_model_request req = {.version = 2, .need_tokenizer = true};
    const char *device = NULL, *text_path = NULL;
    int ctx = 0, max_chunks = 0;
    bool json = false;
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
    encode_job job = {.text = text, .len = len, .path = text_path, .ctx = ctx};
    lvk_open_params params = {.files = req, .device = device, .context = (uint32_t)ctx,
                              .progress = lvk_stderr_is_terminal(), .before_load = encode_text, .user = &job};
    lvk_model *m = NULL;
    lvk_sequence *seq = NULL;
    int rc = 0;
    ppl_result res = {0};
    if (!lvk_model_open(&m, &params, &err) || !lvk_model_new_sequence(m, &seq, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = job.refused ? 2 : 4;
    } else {
        double t0 = lvk_now();
        if (!score(m, seq, job.ids, job.n_ids, job.ctx, max_chunks, job.bos, &res, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            rc = 5;
        } else if (json) {
            printf("{\"ppl\": %.6f, \"ppl_stderr\": %.6f, \"tokens\": %zu, \"chunks\": %d, \"ctx\": %d}\n", res.ppl,
                   res.stderr_ppl, res.tokens, res.chunks, job.ctx);
        } else {
            printf("perplexity: %.4f +- %.4f over %zu tokens (%d chunks of %d, %.1f s)\n", res.ppl, res.stderr_ppl,
                   res.tokens, res.chunks, job.ctx, lvk_now() - t0);
        }
    }
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
