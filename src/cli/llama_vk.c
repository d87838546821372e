/* llama-vk: run LLaMA2 / LLaMA3 from MindFormers checkpoints on any Vulkan GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "llamavk/llamavk.h"
#include "vk/device_report.h"

static const char *usage =
    "usage: llama-vk [-V 2|3|demo2|demo3] [-C config.json] [-M model.ckpt] [-F tokenizer.model] -p PROMPT [options]\n"
    "       llama-vk --list-devices [--json]\n"
    "\n"
    "model:\n"
    "  -V 2|3               LLaMA version: picks the built-in config (configs/llama2_7b.json or llama3_8b.json)\n"
    "  -V demo2|demo3       the small demo model shipped with llama-vk (configs/demo/demo-llama2 or demo-llama3);\n"
    "                       with no -V, -C or -M and no LLaMA2-7b checkpoint in the models folder: demo2\n"
    "  -C FILE              a model config instead (its file names resolve against its folder, then the models folder)\n"
    "  -M FILE              the MindSpore checkpoint (default: the config's \"checkpoint\" in the models folder)\n"
    "  -F FILE              the tokenizer.model (default: the config's tokenizer file in the models folder)\n"
    "  --models DIR         the models folder (default: $LLAMA_VK_MODELS, else ./models)\n"
    "  --no-crc             do not verify the checkpoint's CRC trailer\n"
    "prompt:\n"
    "  -p TEXT              the prompt (UTF-8)\n"
    "  -f FILE              read the prompt from a file, byte for byte\n"
    "  --no-bos             do not put the BOS token in front\n"
    "  --special            read special-token text in the prompt (<|eot_id|>, <s>) as those tokens\n"
    "generation:\n"
    "  -n N                 at most N new tokens (default 256; -1: until the end or the context is full)\n"
    "  -c N                 context length (default: the model's, at most 4096)\n"
    "  --temp T             temperature (default 0.8; 0 = greedy)\n"
    "  --top-k K            sample from the K most likely tokens (default 40; 0 = all)\n"
    "  --top-p P            nucleus sampling (default 0.95; 1 = off)\n"
    "  --repeat-penalty R   discourage the last 64 tokens (default 1.0 = off)\n"
    "  --seed S             random seed (default: from the clock)\n"
    "device:\n"
    "  --device N|NAME      device index or name substring (default: $LLAMA_VK_DEVICE, else the best GPU)\n"
    "  --batch N            tokens per prefill step (default 64)\n"
    "  --force              load even when the memory check says the model does not fit\n"
    "  --list-devices       list the Vulkan devices and exit\n"
    "output:\n"
    "  --json               print one JSON object at the end instead of streaming text\n"
    "  -q                   no progress or timings on stderr\n"
    "  -v                   debug messages\n";

typedef struct options {
    lvk_model_request model;
    const char *prompt, *prompt_file, *device;
    bool no_bos, special, json, quiet, force, list_devices;
    int n_predict, context, batch;
    lvk_generate_params gen;
    bool seed_given;
} options;

static bool parse_int(const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || end == s || v < -1 || v > 1000000000)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_float(const char *s, float *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || *end || end == s)
        return false;
    *out = (float)v;
    return true;
}

/* Returns 0 to go on, else the exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->model.version = 2;
    o->n_predict = 256;
    o->gen.sampling = lvk_sampler_defaults();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes_value = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(a, "--list-devices")) {
            o->list_devices = true, takes_value = false;
        } else if (!strcmp(a, "--json")) {
            o->json = true, takes_value = false;
        } else if (!strcmp(a, "-q")) {
            o->quiet = true, takes_value = false;
        } else if (!strcmp(a, "-v")) {
            lvk_log_set_level(LVK_LOG_DEBUG), takes_value = false;
        } else if (!strcmp(a, "--no-bos")) {
            o->no_bos = true, takes_value = false;
        } else if (!strcmp(a, "--special")) {
            o->special = true, takes_value = false;
        } else if (!strcmp(a, "--force")) {
            o->force = true, takes_value = false;
        } else if (!strcmp(a, "--no-crc")) {
            o->model.skip_crc = true, takes_value = false;
        } else if (!v) {
            fprintf(stderr, "error: %s needs a value (see llama-vk --help)\n", a);
            return 2;
        } else if (!strcmp(a, "-V")) {
            o->model.demo = !strcmp(v, "demo2") ? 2 : !strcmp(v, "demo3") ? 3 : 0;
            if (!o->model.demo)
                ok = parse_int(v, &o->model.version) && (o->model.version == 2 || o->model.version == 3);
            o->model.version_given = true;
        } else if (!strcmp(a, "-C")) {
            o->model.config_path = v;
        } else if (!strcmp(a, "-M")) {
            o->model.ckpt_path = v;
        } else if (!strcmp(a, "-F")) {
            o->model.tokenizer_path = v;
        } else if (!strcmp(a, "--models") || !strcmp(a, "--models-dir")) {
            o->model.models_dir = v;
        } else if (!strcmp(a, "-p")) {
            o->prompt = v;
        } else if (!strcmp(a, "-f")) {
            o->prompt_file = v;
        } else if (!strcmp(a, "-n")) {
            ok = parse_int(v, &o->n_predict);
        } else if (!strcmp(a, "-c")) {
            ok = parse_int(v, &o->context) && o->context > 0;
        } else if (!strcmp(a, "--batch")) {
            ok = parse_int(v, &o->batch) && o->batch > 0;
        } else if (!strcmp(a, "--temp")) {
            ok = parse_float(v, &o->gen.sampling.temperature) && o->gen.sampling.temperature >= 0;
        } else if (!strcmp(a, "--top-k")) {
            ok = parse_int(v, &o->gen.sampling.top_k) && o->gen.sampling.top_k >= 0;
        } else if (!strcmp(a, "--top-p")) {
            ok = parse_float(v, &o->gen.sampling.top_p) && o->gen.sampling.top_p > 0 && o->gen.sampling.top_p <= 1;
        } else if (!strcmp(a, "--repeat-penalty")) {
            ok = parse_float(v, &o->gen.sampling.repeat_penalty) && o->gen.sampling.repeat_penalty > 0;
        } else if (!strcmp(a, "--seed")) {
            char *end = NULL;
            o->gen.sampling.seed = strtoull(v, &end, 10);
            ok = end && !*end && end != v;
            o->seed_given = true;
        } else if (!strcmp(a, "--device")) {
            o->device = v;
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see llama-vk --help)\n", a);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "error: bad value '%s' for %s (see llama-vk --help)\n", v, a);
            return 2;
        }
        if (takes_value)
            i++;
    }
    if (!o->list_devices && !o->prompt == !o->prompt_file) {
        fprintf(stderr, "error: give the prompt with -p TEXT or -f FILE (see llama-vk --help)\n");
        return 2;
    }
    o->model.need_tokenizer = true;
    o->gen.n_predict = o->n_predict;
    if (!o->seed_given)
        o->gen.sampling.seed = (uint64_t)(lvk_now() * 1e6);
    return 0;
}

static int list_devices(bool json)
{
    lvk_err err = {{0}};
    lvk_instance inst;
    if (!lvk_instance_create(&inst, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 3;
    }
    bool ok = true;
    if (json)
        ok = lvk_print_devices_json(stdout, &inst);
    else
        lvk_print_devices(stdout, &inst);
    lvk_instance_destroy(&inst);
    if (!ok) {
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }
    return lvk_validation_error_count() ? 1 : 0;
}

/* The prompt's exact bytes: from -p, or the whole of the -f file. */
static bool read_prompt(const options *o, char **text, size_t *len, lvk_err *err)
{
    if (o->prompt) {
        *len = strlen(o->prompt);
        *text = malloc(*len + 1);
        if (!*text)
            return lvk_fail(err, "out of host memory");
        memcpy(*text, o->prompt, *len + 1);
        return true;
    }
    lvk_file_map map;
    if (!lvk_file_map_open(&map, o->prompt_file, err))
        return false;
    *len = (size_t)map.size;
    *text = malloc(*len + 1);
    if (*text) {
        if (*len)
            memcpy(*text, map.data, *len);
        (*text)[*len] = '\0';
    }
    lvk_file_map_close(&map);
    return *text ? true : lvk_fail(err, "out of host memory");
}

typedef struct text_sink {
    bool stream;
    char *buf;
    size_t len, cap;
    bool failed;
} text_sink;

static void on_text(void *user, const char *text, size_t len)
{
    text_sink *s = user;
    if (s->stream) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        return;
    }
    if (s->len + len + 1 > s->cap) {
        size_t cap = (s->cap + len + 1) * 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) {
            s->failed = true;
            return;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, len);
    s->len += len;
    s->buf[s->len] = '\0';
}

static const char *stop_text(lvk_stop_reason r)
{
    return r == LVK_STOP_EOS ? "eos" : r == LVK_STOP_LIMIT ? "limit" : "context";
}

static void print_json(const int32_t *prompt, size_t n_prompt, const lvk_generate_result *g, const text_sink *sink,
                       const lvk_llama *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *p = cJSON_AddArrayToObject(root, "prompt_ids");
    for (size_t i = 0; i < n_prompt; i++)
        cJSON_AddItemToArray(p, cJSON_CreateNumber(prompt[i]));
    cJSON *gen = cJSON_AddArrayToObject(root, "generated_ids");
    for (size_t i = 0; i < g->n_ids; i++)
        cJSON_AddItemToArray(gen, cJSON_CreateNumber(g->ids[i]));
    cJSON_AddStringToObject(root, "text", sink->buf ? sink->buf : "");
    cJSON_AddStringToObject(root, "stop", stop_text(g->stop));
    cJSON *t = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(t, "load_s", m->load_seconds);
    cJSON_AddNumberToObject(t, "load_gbps", m->load_seconds > 0 ? (double)m->weight_bytes / m->load_seconds / 1e9 : 0);
    cJSON_AddNumberToObject(t, "prefill_s", g->prefill_seconds);
    cJSON_AddNumberToObject(t, "prefill_tok_s", g->prefill_seconds > 0 ? (double)n_prompt / g->prefill_seconds : 0);
    cJSON_AddNumberToObject(t, "decode_s", g->decode_seconds);
    cJSON_AddNumberToObject(t, "decode_tok_s",
                            g->decode_seconds > 0 ? (double)g->n_decode_steps / g->decode_seconds : 0);
    cJSON_AddNumberToObject(t, "ttft_s", g->first_token_seconds);
    char *text = cJSON_Print(root);
    if (text)
        printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void print_timings(size_t n_prompt, const lvk_generate_result *g, const lvk_llama *m)
{
    fprintf(stderr, "\nload:    %.2f s, %.2f GB of weights, %.2f GB/s\n", m->load_seconds, (double)m->weight_bytes / 1e9,
            m->load_seconds > 0 ? (double)m->weight_bytes / m->load_seconds / 1e9 : 0);
    fprintf(stderr, "prompt:  %zu tokens in %.2f s, %.2f tok/s\n", n_prompt, g->prefill_seconds,
            g->prefill_seconds > 0 ? (double)n_prompt / g->prefill_seconds : 0);
    fprintf(stderr, "decode:  %zu tokens in %.2f s, %.2f tok/s\n", g->n_ids, g->decode_seconds,
            g->decode_seconds > 0 ? (double)g->n_decode_steps / g->decode_seconds : 0);
    if (g->stop == LVK_STOP_CONTEXT)
        fprintf(stderr, "stopped: the context of %u tokens is full%s\n", m->max_seq,
                m->max_seq < (uint32_t)m->cfg.max_seq_len ? " (raise it with -c)" : ", the most this model allows");
}

static int generate(const options *o)
{
    lvk_err err = {{0}};
    lvk_model_files files;
    if (!lvk_model_files_open(&files, &o->model, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 4;
    }
    if (!o->quiet)
        lvk_info("model: %s (%s)", files.cfg.name[0] ? files.cfg.name : "unnamed", files.ckpt_path);
    if (files.notes[0] && !o->quiet)
        lvk_info("%s", files.notes);
    char *text = NULL;
    size_t len = 0;
    int32_t *prompt = NULL;
    size_t n_prompt = 0;
    int flags = (o->no_bos ? 0 : LVK_ENCODE_BOS) | (o->special ? LVK_ENCODE_SPECIAL : 0);
    if (!read_prompt(o, &text, &len, &err) ||
        !lvk_tokenizer_encode(files.tok, text, len, flags, &prompt, &n_prompt, &err)) {
        fprintf(stderr, "error: prompt: %s\n", err.msg);
        free(text);
        lvk_model_files_close(&files);
        return 4;
    }
    free(text);

    uint32_t context = o->context ? (uint32_t)o->context
                                  : (files.cfg.max_seq_len < 4096 ? (uint32_t)files.cfg.max_seq_len : 4096u);
    if (context > (uint32_t)files.cfg.max_seq_len) {
        fprintf(stderr, "error: -c %u is longer than the model's context of %d tokens\n", context, files.cfg.max_seq_len);
        free(prompt);
        lvk_model_files_close(&files);
        return 2;
    }
    if (n_prompt >= context) {
        fprintf(stderr, "error: the prompt is %zu tokens long but the context holds %u: shorten it or raise -c (the "
                        "model allows %d)\n", n_prompt, context, files.cfg.max_seq_len);
        free(prompt);
        lvk_model_files_close(&files);
        return 4;
    }

    int rc = 0;
    lvk_instance inst;
    lvk_device dev;
    lvk_llama model;
    int index = 0;
    bool have_inst = false, have_dev = false, have_model = false;
    if (!(have_inst = lvk_instance_create(&inst, &err)) || !lvk_device_choose(&inst, o->device, &index, &err) ||
        !(have_dev = lvk_device_create(&dev, &inst, index, &err))) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 3;
    }
    if (!rc && !o->quiet)
        lvk_info("device: [%d] %s (%s)", index, dev.info->name, dev.info->driver_name);
    lvk_llama_options lopt = {
        .max_seq = context,
        .max_batch = (uint32_t)o->batch,
        .force = o->force,
        .progress = !o->quiet && lvk_stderr_is_terminal(),
    };
    if (!rc && !(have_model = lvk_llama_load(&model, &dev, &files.cfg, &files.ck, &lopt, &err))) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 5;
    }
    if (!rc) {
        lvk_model_files_drop_ckpt(&files);
        text_sink sink = {.stream = !o->json};
        lvk_generate_result g;
        if (!lvk_generate(&model, files.tok, prompt, n_prompt, &o->gen, on_text, &sink, &g, &err)) {
            fprintf(stderr, "\nerror: %s\n", err.msg);
            rc = 5;
        } else {
            if (o->json)
                print_json(prompt, n_prompt, &g, &sink, &model);
            else
                fputc('\n', stdout);
            if (!o->quiet)
                print_timings(n_prompt, &g, &model);
            free(g.ids);
        }
        free(sink.buf);
    }
    if (have_model)
        lvk_llama_destroy(&model);
    if (have_dev)
        lvk_device_destroy(&dev);
    if (have_inst)
        lvk_instance_destroy(&inst);
    free(prompt);
    lvk_model_files_close(&files);
    if (!rc && lvk_validation_error_count()) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        rc = 1;
    }
    return rc;
}

static int run(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.list_devices)
        return list_devices(o.json);
    if (o.quiet)
        lvk_log_set_level(LVK_LOG_QUIET);
    return generate(&o);
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
