/* llama-vk-bench: load, prefill and decode speed of a model on a device, with the device's read
 * bandwidth (a shader summing written memory) measured in the same run as the yardstick, and its
 * copy bandwidth beside it (DESIGN §3.1). Token ids are fixed
 * pseudo-random numbers, so no tokenizer is needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "io/llama_layout.h"
#include "llamavk/llamavk.h"
#include "model/memory_plan.h"
#include "vk/bandwidth.h"

static const char *usage =
    "usage: llama-vk-bench -M model.ckpt [-C config.json | -V 2|3] [--device N|NAME] [-p 512] [-n 128]\n"
    "                      [--batch N] [--parallel N] [--weights W] [--vram SIZE] [--json] [--profile]\n"
    "                      [--no-crc] [--force]\n"
    "Reports load time and GB/s, prefill tok/s (-p tokens), decode tok/s (-n tokens, greedy), decode GB/s\n"
    "(weight bytes read per token x tok/s), the device's read bandwidth (a shader summing 256 MiB it wrote)\n"
    "and vkCmdCopyBuffer bandwidth (bytes read + written per second over 256 MiB) measured in the same run,\n"
    "decode efficiency (decode GB/s / read GB/s: decode only reads weights), and the time to first token.\n"
    "--profile adds the GPU time per kind of kernel per decoded token (timestamp queries), and the host\n"
    "time spent recording and the wall time outside the kernels.\n"
    "--parallel N also decodes N independent sequences together (each step carries the next token of all\n"
    "of them, each prefilled with its own -p tokens) and reports the aggregate rate.\n"
    "--weights auto|stored|q8|q4|q4-plain and --vram SIZE as for llama-vk: the format is reported with its\n"
    "bytes and bits per weight.\n";

typedef struct bench {
    double load_s, load_gbps, prefill_s, prefill_tok_s, decode_s, decode_tok_s, decode_gbps, copy_gbps, read_gbps, ttft_s;
    double record_ms_per_token, dispatches_per_token, parallel_decode_tok_s;
    uint32_t n_prompt, n_decode, parallel;
    lvk_llama_profile profile; /* of the single-sequence decode */
} bench;

static bool parse_count(const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || end == s || v < 1 || v > 1000000)
        return false;
    *out = (int)v;
    return true;
}

static void print_profile(const lvk_llama_profile *prof, uint32_t n_decode)
{
    double total = 0;
    for (int k = 0; k < LVK_PROF_COUNT; k++)
        total += prof->ms[k];
    fprintf(stderr, "\nGPU time per decoded token (%u tokens, timestamp queries):\n", n_decode);
    for (int k = 0; k < LVK_PROF_COUNT; k++)
        fprintf(stderr, "  %-22s %9.3f ms  %5.1f%%\n", lvk_prof_kind_name((lvk_prof_kind)k), prof->ms[k] / n_decode,
                total > 0 ? 100.0 * prof->ms[k] / total : 0);
    fprintf(stderr, "  %-22s %9.3f ms\n", "total", total / n_decode);
    /* What the kernels' timestamps do not cover: on a fast GPU this is where the time goes. */
    fprintf(stderr, "host, per decoded token: %.3f ms recording, %.3f ms wall for the step, %.3f ms of it outside "
                    "the kernels (recording, submit, dispatch gaps, wait); %.0f dispatches; %u of %u steps recorded, "
                    "the rest replayed\n",
            prof->record_ms / n_decode, prof->step_ms / n_decode, (prof->step_ms - total) / n_decode,
            (double)prof->dispatches / n_decode, prof->recorded, prof->steps);
}

/* Device bits per parameter of the model: every tensor, norms included, with its row padding and scales. */
static double bits_per_weight(const lvk_model_info *m)
{
    uint64_t params = 0;
    for (int i = 0; i < lvk_llama_tensor_count(m->cfg); i++) {
        lvk_tensor_spec s;
        lvk_llama_tensor_spec(m->cfg, i, &s);
        params += s.n_dims == 1 ? (uint64_t)s.dims[0] : (uint64_t)s.dims[0] * (uint64_t)s.dims[1];
    }
    return params ? (double)m->weight_bytes * 8.0 / (double)params : 0;
}

static void print_json(const bench *b, const lvk_model_info *m, const lvk_device *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m->cfg->name);
    cJSON_AddStringToObject(o, "device", d->info->name);
    cJSON_AddStringToObject(o, "driver", d->info->driver_info);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)m->weight_bytes);
    cJSON_AddStringToObject(o, "weights", m->weights);
    cJSON_AddNumberToObject(o, "bits_per_weight", bits_per_weight(m));
    cJSON_AddNumberToObject(o, "prompt_tokens", b->n_prompt);
    cJSON_AddNumberToObject(o, "decode_tokens", b->n_decode);
    cJSON_AddNumberToObject(o, "load_s", b->load_s);
    cJSON_AddNumberToObject(o, "load_gbps", b->load_gbps);
    cJSON_AddNumberToObject(o, "prefill_tok_s", b->prefill_tok_s);
    cJSON_AddNumberToObject(o, "decode_tok_s", b->decode_tok_s);
    cJSON_AddNumberToObject(o, "decode_gbps", b->decode_gbps);
    cJSON_AddNumberToObject(o, "copy_gbps", b->copy_gbps);
    cJSON_AddNumberToObject(o, "read_gbps", b->read_gbps);
    cJSON_AddNumberToObject(o, "decode_efficiency", b->read_gbps > 0 ? b->decode_gbps / b->read_gbps : 0);
    cJSON_AddNumberToObject(o, "ttft_s", b->ttft_s);
    cJSON_AddNumberToObject(o, "record_ms_per_token", b->record_ms_per_token);
    cJSON_AddNumberToObject(o, "dispatches_per_token", b->dispatches_per_token);
    if (b->parallel) {
        cJSON_AddNumberToObject(o, "parallel", b->parallel);
        cJSON_AddNumberToObject(o, "parallel_decode_tok_s", b->parallel_decode_tok_s);
    }
    char *text = cJSON_Print(o);
    if (text)
        printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
}

static void print_table(const bench *b, const lvk_model_info *m, const lvk_device *d)
{
    printf("model   %s: %.2f GB of %s weights (%.2f bits per weight), %d layers, dim %d, vocab %d\n", m->cfg->name,
           (double)m->weight_bytes / 1e9, m->weights, bits_per_weight(m), m->cfg->n_layers, m->cfg->dim,
           m->cfg->vocab_size);
    printf("device  %s (%s)\n", d->info->name, d->info->driver_info);
    printf("load    %8.2f s     %8.2f GB/s\n", b->load_s, b->load_gbps);
    printf("prefill %8u tok   %8.2f tok/s   (%.2f s)\n", b->n_prompt, b->prefill_tok_s, b->prefill_s);
    printf("ttft    %8.2f s\n", b->ttft_s);
    printf("decode  %8u tok   %8.3f tok/s   %.2f GB/s of weights\n", b->n_decode, b->decode_tok_s, b->decode_gbps);
    printf("read    %8.2f GB/s  (a shader summing 256 MiB)\n", b->read_gbps);
    printf("copy    %8.2f GB/s  (vkCmdCopyBuffer, read + write)\n", b->copy_gbps);
    printf("decode efficiency %.3f of read bandwidth\n", b->read_gbps > 0 ? b->decode_gbps / b->read_gbps : 0);
    printf("host    %8.3f ms recording, %.0f dispatches per decoded token\n", b->record_ms_per_token,
           b->dispatches_per_token);
    if (b->parallel)
        printf("parallel %7u seq   %8.3f tok/s together (%.2fx one sequence)\n", b->parallel,
               b->parallel_decode_tok_s, b->decode_tok_s > 0 ? b->parallel_decode_tok_s / b->decode_tok_s : 0);
}

/* Fixed pseudo-random ids inside the vocabulary. */
static void make_ids(int32_t *ids, uint32_t n, int vocab, uint64_t seed)
{
    uint64_t s = seed;
    for (uint32_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((s >> 33) % (uint64_t)vocab);
    }
}

/* N sequences, each prefilled with its own prompt, then n_decode steps carrying the next (greedy) token of
 * every one of them: the aggregate decode rate. */
static bool run_parallel(lvk_model *m, uint32_t parallel, uint32_t n_prompt, uint32_t n_decode, bench *b, lvk_err *err)
{
    lvk_model_info info = lvk_model_get_info(m);
    lvk_sequence *seqs[LVK_STEP_MAX_SEQS] = {0};
    lvk_llama_result results[LVK_STEP_MAX_SEQS];
    int32_t next[LVK_STEP_MAX_SEQS];
    lvk_step_item items[LVK_STEP_MAX_SEQS];
    int32_t *ids = malloc(n_prompt * sizeof *ids);
    bool ok = ids != NULL;
    if (!ok)
        lvk_fail(err, "out of host memory");
    for (uint32_t i = 0; ok && i < parallel; i++) {
        make_ids(ids, n_prompt, info.cfg->vocab_size, 1000 + i);
        ok = lvk_model_new_sequence(m, &seqs[i], err) &&
             lvk_model_forward(m, seqs[i], ids, n_prompt, LVK_OUT_ARGMAX, 0, &results[i], err);
    }
    free(ids);
    double t0 = lvk_now();
    for (uint32_t step = 0; ok && step < n_decode; step++) {
        for (uint32_t i = 0; i < parallel; i++) {
            next[i] = (int32_t)results[i].argmax;
            items[i] = (lvk_step_item){.seq = seqs[i], .ids = &next[i], .n = 1, .what = LVK_OUT_ARGMAX,
                                       .out = &results[i]};
        }
        ok = lvk_model_step(m, items, parallel, err);
    }
    double seconds = lvk_now() - t0;
    b->parallel = parallel;
    b->parallel_decode_tok_s = seconds > 0 ? (double)parallel * n_decode / seconds : 0;
    for (uint32_t i = 0; i < parallel; i++)
        lvk_model_free_sequence(m, seqs[i]);
    return ok;
}

static bool run_bench(lvk_model *m, uint32_t n_prompt, uint32_t n_decode, uint32_t parallel, bench *b, lvk_err *err)
{
    lvk_model_info info = lvk_model_get_info(m);
    memset(b, 0, sizeof *b);
    b->n_prompt = n_prompt;
    b->n_decode = n_decode;
    b->load_s = info.load_seconds;
    b->load_gbps = info.load_seconds > 0 ? (double)info.weight_bytes / info.load_seconds / 1e9 : 0;
    double copy_ms = 0, read_ms = 0;
    lvk_device *d = lvk_model_device(m);
    if (!lvk_read_bandwidth(d, 256ull << 20, 5, &b->read_gbps, &read_ms, err) ||
        !lvk_copy_bandwidth(d, 256ull << 20, 5, &b->copy_gbps, &copy_ms, err))
        return false;

    int32_t *ids = malloc(n_prompt * sizeof *ids);
    lvk_sequence *seq = NULL;
    if (!ids)
        return lvk_fail(err, "out of host memory");
    make_ids(ids, n_prompt, info.cfg->vocab_size, 12345);
    bool ok = lvk_model_new_sequence(m, &seq, err);
    lvk_llama_result r = {0};
    double t0 = lvk_now();
    ok = ok && lvk_model_forward(m, seq, ids, n_prompt, LVK_OUT_ARGMAX, 0, &r, err);
    b->prefill_s = lvk_now() - t0;
    b->ttft_s = b->prefill_s; /* the argmax of the prompt's last token is the first new token */
    b->prefill_tok_s = b->prefill_s > 0 ? n_prompt / b->prefill_s : 0;
    free(ids);

    lvk_model_profile_reset(m);
    t0 = lvk_now();
    for (uint32_t i = 0; ok && i < n_decode; i++) {
        int32_t next = (int32_t)r.argmax;
        lvk_step_item it = {.seq = seq, .ids = &next, .n = 1, .what = LVK_OUT_ARGMAX, .out = &r};
        ok = lvk_model_step(m, &it, 1, err);
    }
    b->decode_s = lvk_now() - t0;
    b->decode_tok_s = b->decode_s > 0 ? n_decode / b->decode_s : 0;
    b->decode_gbps = b->decode_tok_s * (double)info.weight_bytes / 1e9;
    b->profile = *lvk_model_profile(m);
    b->record_ms_per_token = b->profile.record_ms / n_decode;
    b->dispatches_per_token = (double)b->profile.dispatches / n_decode;
    lvk_model_free_sequence(m, seq);
    return ok && (parallel == 0 || run_parallel(m, parallel, n_prompt, n_decode, b, err));
}

static int run(int argc, char **argv)
{
    lvk_model_request req = {.version = 2};
    const char *device = NULL;
    int n_prompt = 512, n_decode = 128, batch = 0, parallel = 0;
    bool json = false, profile = false, force = false;
    lvk_weights_choice weights = LVK_WEIGHTS_AUTO;
    uint64_t vram = 0;
    lvk_err err = {{0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
            continue;
        } else if (!strcmp(a, "--profile")) {
            profile = true;
            continue;
        } else if (!strcmp(a, "--no-crc")) {
            req.skip_crc = true;
            continue;
        } else if (!strcmp(a, "--force")) {
            force = true;
            continue;
        } else if (!v) {
            fprintf(stderr, "error: %s needs a value (see llama-vk-bench --help)\n", a);
            return 2;
        } else if (!strcmp(a, "-M")) {
            req.ckpt_path = v;
        } else if (!strcmp(a, "-C")) {
            req.config_path = v;
        } else if (!strcmp(a, "-V")) {
            ok = parse_count(v, &req.version) && (req.version == 2 || req.version == 3);
        } else if (!strcmp(a, "--device")) {
            device = v;
        } else if (!strcmp(a, "-p")) {
            ok = parse_count(v, &n_prompt);
        } else if (!strcmp(a, "-n")) {
            ok = parse_count(v, &n_decode);
        } else if (!strcmp(a, "--batch")) {
            ok = parse_count(v, &batch);
        } else if (!strcmp(a, "--weights")) {
            ok = lvk_weights_choice_from_name(v, &weights, &err);
        } else if (!strcmp(a, "--vram")) {
            ok = lvk_parse_size(v, &vram, &err);
        } else if (!strcmp(a, "--parallel")) {
            ok = parse_count(v, &parallel) && parallel <= LVK_STEP_MAX_SEQS;
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see llama-vk-bench --help)\n", a);
            return 2;
        }
        if (!ok) {
            if (err.msg[0])
                fprintf(stderr, "error: %s\n", err.msg);
            else
                fprintf(stderr, "error: bad value '%s' for %s\n", v, a);
            return 2;
        }
        i++;
    }
    if (!req.ckpt_path) {
        fprintf(stderr, "error: give the checkpoint with -M (see llama-vk-bench --help)\n");
        return 2;
    }

    lvk_open_params params = {
        .files = req,
        .device = device,
        .context = (uint32_t)(n_prompt + n_decode + 1),
        .max_batch = (uint32_t)batch,
        .max_sequences = 1 + (uint32_t)parallel,
        .force = force,
        .weights = weights,
        .vram = vram,
        .progress = lvk_stderr_is_terminal(),
        .profile = profile,
    };
    lvk_model *m = NULL;
    int rc = 0;
    bench b;
    if (!lvk_model_open(&m, &params, &err) ||
        !run_bench(m, (uint32_t)n_prompt, (uint32_t)n_decode, (uint32_t)parallel, &b, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 5;
    } else {
        lvk_model_info info = lvk_model_get_info(m);
        if (json)
            print_json(&b, &info, lvk_model_device(m));
        else
            print_table(&b, &info, lvk_model_device(m));
        if (profile)
            print_profile(&b.profile, b.n_decode);
    }
    lvk_model_close(m);
    if (!rc && lvk_validation_error_count()) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
