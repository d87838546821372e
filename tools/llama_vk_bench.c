/* llama-vk-bench: load, prefill and decode speed of a model on a device, with the device's read
 * bandwidth (a shader summing written memory) measured in the same run as the yardstick, and its
 * copy bandwidth beside it (DESIGN §3.1). Token ids are fixed
 * pseudo-random numbers, so no tokenizer is needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "llamavk/llamavk.h"
#include "vk/bandwidth.h"

static const char *usage =
    "usage: llama-vk-bench -M model.ckpt [-C config.json | -V 2|3] [--device N|NAME] [-p 512] [-n 128]\n"
    "                      [--batch N] [--json] [--profile] [--no-crc] [--force]\n"
    "Reports load time and GB/s, prefill tok/s (-p tokens), decode tok/s (-n tokens, greedy), decode GB/s\n"
    "(weight bytes read per token x tok/s), the device's read bandwidth (a shader summing 256 MiB it wrote)\n"
    "and vkCmdCopyBuffer bandwidth (bytes read + written per second over 256 MiB) measured in the same run,\n"
    "decode efficiency (decode GB/s / read GB/s: decode only reads weights), and the time to first token.\n"
    "--profile adds the GPU time per kind of kernel per decoded token (timestamp queries), and the host\n"
    "time spent recording and the wall time outside the kernels.\n";

typedef struct bench {
    double load_s, load_gbps, prefill_s, prefill_tok_s, decode_s, decode_tok_s, decode_gbps, copy_gbps, read_gbps, ttft_s;
    uint32_t n_prompt, n_decode;
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

static void print_profile(const lvk_llama *m, uint32_t n_decode)
{
    double total = 0;
    for (int k = 0; k < LVK_PROF_COUNT; k++)
        total += m->profile.ms[k];
    fprintf(stderr, "\nGPU time per decoded token (%u tokens, timestamp queries):\n", n_decode);
    for (int k = 0; k < LVK_PROF_COUNT; k++)
        fprintf(stderr, "  %-22s %9.3f ms  %5.1f%%\n", lvk_prof_kind_name((lvk_prof_kind)k), m->profile.ms[k] / n_decode,
                total > 0 ? 100.0 * m->profile.ms[k] / total : 0);
    fprintf(stderr, "  %-22s %9.3f ms\n", "total", total / n_decode);
    /* What the kernels' timestamps do not cover: on a fast GPU this is where the time goes. */
    fprintf(stderr, "host, per decoded token: %.3f ms recording, %.3f ms wall for the step, %.3f ms of it outside "
                    "the kernels (recording, submit, dispatch gaps, wait)\n",
            m->profile.record_ms / n_decode, m->profile.step_ms / n_decode, (m->profile.step_ms - total) / n_decode);
}

static void print_json(const bench *b, const lvk_llama *m, const lvk_device *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m->cfg.name);
    cJSON_AddStringToObject(o, "device", d->info->name);
    cJSON_AddStringToObject(o, "driver", d->info->driver_info);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)m->weight_bytes);
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
    char *text = cJSON_Print(o);
    if (text)
        printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
}

static void print_table(const bench *b, const lvk_llama *m, const lvk_device *d)
{
    printf("model   %s: %.2f GB of weights, %d layers, dim %d, vocab %d\n", m->cfg.name, (double)m->weight_bytes / 1e9,
           m->cfg.n_layers, m->cfg.dim, m->cfg.vocab_size);
    printf("device  %s (%s)\n", d->info->name, d->info->driver_info);
    printf("load    %8.2f s     %8.2f GB/s\n", b->load_s, b->load_gbps);
    printf("prefill %8u tok   %8.2f tok/s   (%.2f s)\n", b->n_prompt, b->prefill_tok_s, b->prefill_s);
    printf("ttft    %8.2f s\n", b->ttft_s);
    printf("decode  %8u tok   %8.3f tok/s   %.2f GB/s of weights\n", b->n_decode, b->decode_tok_s, b->decode_gbps);
    printf("read    %8.2f GB/s  (a shader summing 256 MiB)\n", b->read_gbps);
    printf("copy    %8.2f GB/s  (vkCmdCopyBuffer, read + write)\n", b->copy_gbps);
    printf("decode efficiency %.3f of read bandwidth\n", b->read_gbps > 0 ? b->decode_gbps / b->read_gbps : 0);
}

static bool run_bench(lvk_llama *m, lvk_device *d, uint32_t n_prompt, uint32_t n_decode, bench *b, lvk_err *err)
{
    memset(b, 0, sizeof *b);
    b->n_prompt = n_prompt;
    b->n_decode = n_decode;
    b->load_s = m->load_seconds;
    b->load_gbps = m->load_seconds > 0 ? (double)m->weight_bytes / m->load_seconds / 1e9 : 0;
    double copy_ms = 0, read_ms = 0;
    if (!lvk_read_bandwidth(d, 256ull << 20, 5, &b->read_gbps, &read_ms, err) ||
        !lvk_copy_bandwidth(d, 256ull << 20, 5, &b->copy_gbps, &copy_ms, err))
        return false;

    int32_t *ids = malloc(n_prompt * sizeof *ids);
    if (!ids)
        return lvk_fail(err, "out of host memory");
    uint64_t s = 12345;
    for (uint32_t i = 0; i < n_prompt; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((s >> 33) % (uint64_t)m->cfg.vocab_size);
    }
    lvk_llama_result r = {0};
    double t0 = lvk_now();
    bool ok = lvk_llama_forward(m, ids, n_prompt, LVK_OUT_ARGMAX, 0, &r, err);
    b->prefill_s = lvk_now() - t0;
    b->ttft_s = b->prefill_s; /* the argmax of the prompt's last token is the first new token */
    b->prefill_tok_s = b->prefill_s > 0 ? n_prompt / b->prefill_s : 0;
    free(ids);

    memset(&m->profile, 0, sizeof m->profile);
    t0 = lvk_now();
    for (uint32_t i = 0; ok && i < n_decode; i++) {
        int32_t next = (int32_t)r.argmax;
        ok = lvk_llama_forward(m, &next, 1, LVK_OUT_ARGMAX, 0, &r, err);
    }
    b->decode_s = lvk_now() - t0;
    b->decode_tok_s = b->decode_s > 0 ? n_decode / b->decode_s : 0;
    b->decode_gbps = b->decode_tok_s * (double)m->weight_bytes / 1e9;
    return ok;
}

static int run(int argc, char **argv)
{
    lvk_model_request req = {.version = 2};
    const char *device = NULL;
    int n_prompt = 512, n_decode = 128, batch = 0;
    bool json = false, profile = false, force = false;
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
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see llama-vk-bench --help)\n", a);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "error: bad value '%s' for %s\n", v, a);
            return 2;
        }
        i++;
    }
    if (!req.ckpt_path) {
        fprintf(stderr, "error: give the checkpoint with -M (see llama-vk-bench --help)\n");
        return 2;
    }

    lvk_err err = {{0}};
    lvk_model_files files;
    if (!lvk_model_files_open(&files, &req, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 4;
    }
    if (files.notes[0])
        lvk_info("%s", files.notes);
    uint32_t context = (uint32_t)(n_prompt + n_decode + 1);
    if (context > (uint32_t)files.cfg.max_seq_len) {
        fprintf(stderr, "error: -p %d + -n %d is longer than the model's context of %d\n", n_prompt, n_decode,
                files.cfg.max_seq_len);
        lvk_model_files_close(&files);
        return 2;
    }
    lvk_instance inst;
    lvk_device d;
    lvk_llama m;
    int index = 0, rc = 0;
    if (!lvk_instance_create(&inst, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_model_files_close(&files);
        return 3;
    }
    if (!lvk_device_choose(&inst, device, &index, &err) || !lvk_device_create(&d, &inst, index, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_instance_destroy(&inst);
        lvk_model_files_close(&files);
        return 3;
    }
    lvk_llama_options opt = {.max_seq = context, .max_batch = (uint32_t)batch, .force = force,
                             .progress = lvk_stderr_is_terminal(), .profile = profile};
    if (!lvk_llama_load(&m, &d, &files.cfg, &files.ck, &opt, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 5;
    } else {
        lvk_model_files_drop_ckpt(&files);
        bench b;
        if (!run_bench(&m, &d, (uint32_t)n_prompt, (uint32_t)n_decode, &b, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            rc = 5;
        } else {
            if (json)
                print_json(&b, &m, &d);
            else
                print_table(&b, &m, &d);
            if (profile)
                print_profile(&m, b.n_decode);
        }
        lvk_llama_destroy(&m);
    }
    lvk_device_destroy(&d);
    lvk_instance_destroy(&inst);
    lvk_model_files_close(&files);
    if (!rc && lvk_validation_error_count()) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
