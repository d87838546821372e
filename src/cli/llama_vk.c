/* llama-vk: run LLaMA2 / LLaMA3 from MindFormers checkpoints on any Vulkan GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/console.h"
#include "base/log.h"
#include "llamavk/llamavk.h"
#include "model/chat_session.h"
#include "vk/device_report.h"

static const char *usage =
    "usage: llama-vk [-V 2|3|demo2|demo3] [-C config.json] [-M model.ckpt] [-F tokenizer.model] -p PROMPT [options]\n"
    "       llama-vk --chat [model options] [--system TEXT] [-f conversation.json [--json]]\n"
    "       llama-vk --list-devices [--json]\n"
    "\n"
    "model:\n"
    "  -V 2|3               LLaMA version: picks the built-in config (configs/llama2_7b.json or llama3_8b.json)\n"
    "  -V llama2-chat|llama3-instruct  the chat models (configs/llama2_7b_chat.json, llama3_8b_instruct.json)\n"
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
    "chat:\n"
    "  --chat, -i           talk with a chat / instruct model: a line is a turn (a trailing \\ continues it);\n"
    "                       /reset, /system TEXT, /exit; Ctrl-C stops an answer. With -f FILE (OpenAI-style\n"
    "                       {\"messages\": [...]}) it answers the file's last user turn and exits\n"
    "  --chat-template T    llama2 or llama3 (default: the config's \"chat_template\")\n"
    "  --system TEXT        the system prompt;  --system-file FILE: read it from a file\n"
    "device:\n"
    "  --device N|NAME      device index or name substring (default: $LLAMA_VK_DEVICE, else the best GPU)\n"
    "  --batch N            tokens per prefill step (default 64)\n"
    "  --force              load even when the memory check says the model does not fit\n"
    "memory:\n"
    "  --weights W          auto (default: as stored if it fits, else q8, else q4), stored, q8, q4, or q4-plain\n"
    "                       (every matrix 4-bit by plain rounding: a quality baseline)\n"
    "  --vram SIZE          plan for a device budget of SIZE (8G, 7.5GiB, bytes) instead of the device's own\n"
    "  --spill              when nothing else fits, keep whole layers in host memory (slower: the plan says how)\n"
    "  --plan               print where every tensor goes, the KV cache and the totals, and exit (with --json:\n"
    "                       one object with weights, context, total_bytes, budget_bytes, fits, ...)\n"
    "  --list-devices       list the Vulkan devices and exit\n"
    "output:\n"
    "  --json               print one JSON object at the end instead of streaming text\n"
    "  -q                   no progress or timings on stderr\n"
    "  -v                   debug messages\n"
    "exit status: 0 done; 1 the plan does not fit, or the validation layer reported errors; 2 a bad command line;\n"
    "  3 --list-devices found no Vulkan; 4 the prompt or conversation was refused; 5 the model failed to load or\n"
    "  to run (out of host or device memory among the causes)\n";

typedef struct options {
    lvk_model_request model;
    const char *prompt, *prompt_file, *device;
    const char *chat_template, *system, *system_file;
    bool no_bos, special, json, quiet, force, list_devices, chat, plan, spill;
    lvk_weights_choice weights;
    uint64_t vram;
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
        } else if (!strcmp(a, "--plan")) {
            o->plan = true, takes_value = false;
        } else if (!strcmp(a, "--spill")) {
            o->spill = true, takes_value = false;
        } else if (!strcmp(a, "--chat") || !strcmp(a, "-i")) {
            o->chat = true, takes_value = false;
        } else if (!v) {
            fprintf(stderr, "error: %s needs a value (see llama-vk --help)\n", a);
            return 2;
        } else if (!strcmp(a, "-V")) {
            o->model.demo = !strcmp(v, "demo2") ? 2 : !strcmp(v, "demo3") ? 3 : 0;
            o->model.builtin = !strcmp(v, "llama2-chat")       ? "llama2_7b_chat"
                               : !strcmp(v, "llama3-instruct") ? "llama3_8b_instruct"
                                                               : NULL;
            if (!o->model.demo && !o->model.builtin)
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
        } else if (!strcmp(a, "--weights") || !strcmp(a, "--vram")) {
            lvk_err perr = {{0}};
            ok = a[2] == 'w' ? lvk_weights_choice_from_name(v, &o->weights, &perr) : lvk_parse_size(v, &o->vram, &perr);
            if (!ok) {
                fprintf(stderr, "error: %s\n", perr.msg);
                return 2;
            }
        } else if (!strcmp(a, "--chat-template")) {
            o->chat_template = v;
        } else if (!strcmp(a, "--system")) {
            o->system = v;
        } else if (!strcmp(a, "--system-file")) {
            o->system_file = v;
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
    if (o->chat && o->prompt) {
        fprintf(stderr, "error: --chat reads the turns from the console (or a conversation with -f), not -p\n");
        return 2;
    }
    if (!o->list_devices && !o->chat && !o->plan && !o->prompt == !o->prompt_file) {
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
        fprintf(stderr, "error: out of host memory\n");
        return 1;
    }
    return lvk_validation_error_count() ? 1 : 0;
}

/* The prompt's exact bytes: from -p, or the whole of the -f file. */
static bool read_prompt(const options *o, char **text, size_t *len, lvk_err *err)
{
    if (o->prompt) {
        *len = strlen(o->prompt);
        *text = lvk_malloc(*len + 1);
        if (!*text)
            return lvk_fail(err, "out of host memory");
        memcpy(*text, o->prompt, *len + 1);
        return true;
    }
    lvk_file_map map;
    if (!lvk_file_map_open(&map, o->prompt_file, err))
        return false;
    *len = (size_t)map.size;
    *text = lvk_malloc(*len + 1);
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
        char *nb = lvk_realloc(s->buf, cap);
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
    return r == LVK_STOP_EOS ? "eos" : r == LVK_STOP_LIMIT ? "limit" : r == LVK_STOP_CONTEXT ? "context" : "cancelled";
}

/* cJSON_AddItemToArray, freeing the item when it cannot be added (the array is NULL: out of host memory) */
static void add_item(cJSON *array, cJSON *item)
{
    if (!cJSON_AddItemToArray(array, item))
        cJSON_Delete(item);
}

/* Prints a JSON tree and frees it. False when host memory ran out since `failures` was read: cJSON leaves
 * out an item it could not make, and a tree built short would print as valid JSON without it. */
static bool print_tree(cJSON *root, unsigned long failures)
{
    char *text = cJSON_Print(root);
    bool ok = text && lvk_alloc_failures() == failures;
    if (ok)
        printf("%s\n", text);
    else
        fprintf(stderr, "error: out of host memory for the JSON output\n");
    cJSON_free(text);
    cJSON_Delete(root);
    return ok;
}

static bool print_json(const int32_t *prompt, size_t n_prompt, const lvk_generate_result *g, const text_sink *sink,
                       const lvk_model_info *info)
{
    unsigned long failures = lvk_alloc_failures();
    cJSON *root = cJSON_CreateObject();
    cJSON *p = cJSON_AddArrayToObject(root, "prompt_ids");
    for (size_t i = 0; i < n_prompt; i++)
        add_item(p, cJSON_CreateNumber(prompt[i]));
    cJSON *gen = cJSON_AddArrayToObject(root, "generated_ids");
    for (size_t i = 0; i < g->n_ids; i++)
        add_item(gen, cJSON_CreateNumber(g->ids[i]));
    cJSON_AddStringToObject(root, "text", sink->buf ? sink->buf : "");
    cJSON_AddStringToObject(root, "stop", stop_text(g->stop));
    cJSON *t = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(t, "load_s", info->load_seconds);
    cJSON_AddNumberToObject(t, "load_gbps",
                            info->load_seconds > 0 ? (double)info->weight_bytes / info->load_seconds / 1e9 : 0);
    cJSON_AddNumberToObject(t, "prefill_s", g->prefill_seconds);
    cJSON_AddNumberToObject(t, "prefill_tok_s", g->prefill_seconds > 0 ? (double)n_prompt / g->prefill_seconds : 0);
    cJSON_AddNumberToObject(t, "decode_s", g->decode_seconds);
    cJSON_AddNumberToObject(t, "decode_tok_s",
                            g->decode_seconds > 0 ? (double)g->n_decode_steps / g->decode_seconds : 0);
    cJSON_AddNumberToObject(t, "ttft_s", g->first_token_seconds);
    return print_tree(root, failures);
}

static void print_timings(size_t n_prompt, const lvk_generate_result *g, const lvk_model_info *info)
{
    fprintf(stderr, "\nload:    %.2f s, %.2f GB of weights, %.2f GB/s\n", info->load_seconds,
            (double)info->weight_bytes / 1e9,
            info->load_seconds > 0 ? (double)info->weight_bytes / info->load_seconds / 1e9 : 0);
    fprintf(stderr, "prompt:  %zu tokens in %.2f s, %.2f tok/s\n", n_prompt, g->prefill_seconds,
            g->prefill_seconds > 0 ? (double)n_prompt / g->prefill_seconds : 0);
    fprintf(stderr, "decode:  %zu tokens in %.2f s, %.2f tok/s\n", g->n_ids, g->decode_seconds,
            g->decode_seconds > 0 ? (double)g->n_decode_steps / g->decode_seconds : 0);
    if (g->stop == LVK_STOP_CONTEXT)
        fprintf(stderr, "stopped: the context of %u tokens is full%s\n", info->context,
                info->context < (uint32_t)info->cfg->max_seq_len ? " (raise it with -c)" : ", the most this model allows");
}

/* The prompt, tokenized once the tokenizer is open and checked against the context before the load. */
typedef struct prompt_ids {
    const options *o;
    int32_t *ids;
    size_t n;
    bool refused;
} prompt_ids;

static bool tokenize_prompt(void *user, const lvk_model_config *cfg, const lvk_tokenizer *tok, uint32_t context,
                            lvk_err *err)
{
    prompt_ids *p = user;
    char *text = NULL;
    size_t len = 0;
    int flags = (p->o->no_bos ? 0 : LVK_ENCODE_BOS) | (p->o->special ? LVK_ENCODE_SPECIAL : 0);
    bool ok = read_prompt(p->o, &text, &len, err) && lvk_tokenizer_encode(tok, text, len, flags, &p->ids, &p->n, err);
    free(text);
    if (!ok)
        lvk_err_prefix(err, "prompt");
    /* the prompt and at least one token to generate */
    ok = ok && lvk_context_fits(0, (uint64_t)p->n + 1, context, err);
    if (!ok && p->n)
        lvk_err_prefix(err, "the prompt is %zu tokens long (the model allows a context of %d)", p->n, cfg->max_seq_len);
    p->refused = !ok;
    return ok;
}

/* How the model is opened, from the command line (generation and chat alike). */
static lvk_open_params open_params(const options *o)
{
    lvk_open_params params = {
        .files = o->model,
        .device = o->device,
        .context = (uint32_t)o->context,
        .max_batch = (uint32_t)o->batch,
        .force = o->force,
        .progress = !o->quiet && lvk_stderr_is_terminal(),
        .quiet = o->quiet,
        .weights = o->weights,
        .vram = o->vram,
        .spill = o->spill,
    };
    return params;
}

/* A failure's exit code: 5 when host memory ran out on the way (not the input's fault), else rc. */
static int failure_code(int rc) { return lvk_alloc_failures() ? 5 : rc; }

/* A run that went well still fails when the validation layer (on in CI) reported an error. */
static int exit_code(int rc)
{
    if (!rc && lvk_validation_error_count()) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        return 1;
    }
    return rc;
}

static int generate(const options *o)
{
    lvk_err err = {{0}};
    prompt_ids prompt = {.o = o};
    lvk_open_params params = open_params(o);
    params.before_load = tokenize_prompt;
    params.user = &prompt;
    lvk_model *model = NULL;
    lvk_sequence *seq = NULL;
    int rc = 0;
    if (!lvk_model_open(&model, &params, &err) || !lvk_model_new_sequence(model, &seq, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = prompt.refused ? failure_code(4) : 5;
    }
    if (!rc) {
        lvk_model_info info = lvk_model_get_info(model);
        text_sink sink = {.stream = !o->json};
        lvk_generate_result g;
        if (!lvk_model_generate(model, seq, prompt.ids, prompt.n, &o->gen, on_text, &sink, &g, &err)) {
            fprintf(stderr, "\nerror: %s\n", err.msg);
            rc = 5;
        } else {
            if (sink.failed) {
                fprintf(stderr, "error: out of host memory for the answer's text\n");
                rc = 5;
            } else if (o->json) {
                rc = print_json(prompt.ids, prompt.n, &g, &sink, &info) ? 0 : 5;
            } else {
                fputc('\n', stdout);
            }
            if (!o->quiet)
                print_timings(prompt.n, &g, &info);
            free(g.ids);
        }
        free(sink.buf);
    }
    if (model)
        lvk_model_free_sequence(model, seq);
    lvk_model_close(model);
    free(prompt.ids);
    return exit_code(rc);
}

/* ---- --plan ------------------------------------------------------------------------------------------------ */

static bool print_plan_json(const lvk_memory_plan *p)
{
    unsigned long failures = lvk_alloc_failures();
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "weights", lvk_weights_choice_name(p->weights));
    cJSON_AddNumberToObject(root, "context", p->context);
    cJSON_AddNumberToObject(root, "sequences", p->n_sequences);
    cJSON_AddNumberToObject(root, "weight_bytes", (double)p->weight_bytes);
    cJSON_AddNumberToObject(root, "host_bytes", (double)p->host_bytes);
    cJSON_AddNumberToObject(root, "kv_bytes", (double)p->kv_bytes);
    cJSON_AddNumberToObject(root, "other_bytes", (double)p->other_bytes);
    cJSON_AddNumberToObject(root, "total_bytes", (double)p->total_bytes);
    cJSON_AddNumberToObject(root, "budget_bytes", (double)p->budget_bytes);
    cJSON_AddStringToObject(root, "budget_source", p->budget_source ? p->budget_source : "");
    cJSON_AddBoolToObject(root, "fits", p->fits);
    cJSON_AddNumberToObject(root, "spilled_layers", p->spilled_layers);
    cJSON_AddNumberToObject(root, "spill_ms_per_token", p->spill_ms_per_token);
    cJSON_AddStringToObject(root, "notes", p->notes);
    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    for (int i = 0; i < p->n_tensors; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", p->tensors[i].name);
        cJSON_AddStringToObject(t, "format", p->tensors[i].format);
        cJSON_AddNumberToObject(t, "bytes", (double)p->tensors[i].bytes);
        cJSON_AddStringToObject(t, "memory", p->tensors[i].host ? "host" : "device");
        add_item(tensors, t);
    }
    return print_tree(root, failures);
}

static void print_plan(const lvk_memory_plan *p)
{
    printf("%-48s %-6s %12s  %s\n", "tensor", "format", "bytes", "memory");
    for (int i = 0; i < p->n_tensors; i++)
        printf("%-48s %-6s %12llu  %s\n", p->tensors[i].name, p->tensors[i].format,
               (unsigned long long)p->tensors[i].bytes, p->tensors[i].host ? "host" : "device");
    printf("\nweights  %s: %.2f GB on the device, %.2f GB in host memory (%d layers)\n",
           lvk_weights_choice_name(p->weights), p->weight_bytes / 1e9, p->host_bytes / 1e9, p->spilled_layers);
    printf("KV cache %.2f GB (%u sequence%s x %u positions, fp16)\n", p->kv_bytes / 1e9, p->n_sequences,
           p->n_sequences == 1 ? "" : "s", p->context);
    printf("other    %.2f GB (activations, scratch)\n", p->other_bytes / 1e9);
    printf("device   %.2f GB needed, %.2f GB offered (%s): %s\n", p->total_bytes / 1e9, p->budget_bytes / 1e9,
           p->budget_source, p->fits ? "fits" : "does NOT fit");
    if (p->host_bytes)
        printf("host     %.2f GB, read over the bus every token: about %.0f ms per token at %.0f GB/s\n",
               p->host_bytes / 1e9, p->spill_ms_per_token, LVK_PLAN_BUS_GBPS);
    if (p->notes[0])
        printf("notes    %s\n", p->notes);
}

static int plan(const options *o)
{
    lvk_err err = {{0}};
    lvk_open_params params = open_params(o);
    lvk_memory_plan p;
    if (!lvk_model_plan(&params, &p, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 4;
    }
    bool printed = true;
    if (o->json)
        printed = print_plan_json(&p);
    else
        print_plan(&p);
    if (!p.fits)
        fprintf(stderr, "error: %s\n", err.msg);
    int rc = !printed ? 5 : p.fits ? 0 : 1;
    lvk_memory_plan_free(&p);
    return exit_code(rc);
}

/* ---- chat ------------------------------------------------------------------------------------------------- */

static void stream_text(void *user, const char *text, size_t len)
{
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

static bool stop_on_ctrl_c(void *user)
{
    (void)user;
    return lvk_interrupt_take();
}

/* A turn typed at the console: lines ending in a backslash go on to the next. */
static lvk_read_result read_turn(char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    for (;;) {
        char *line = NULL;
        size_t n = 0;
        lvk_read_result r = lvk_console_read_line(&line, &n);
        if (r != LVK_READ_LINE) {
            free(*text);
            *text = NULL;
            return *len && r == LVK_READ_END ? LVK_READ_END : r;
        }
        bool more = n > 0 && line[n - 1] == '\\';
        if (more)
            line[n - 1] = '\n'; /* the backslash becomes the line break it stood for */
        char *t = lvk_realloc(*text, *len + n + 1);
        if (!t) {
            free(line);
            free(*text);
            *text = NULL;
            return LVK_READ_END;
        }
        memcpy(t + *len, line, n);
        *len += n;
        t[*len] = '\0';
        *text = t;
        free(line);
        if (!more)
            return LVK_READ_LINE;
        fputs(". ", stdout);
        fflush(stdout);
    }
}

static void print_turn_stats(const lvk_chat_turn *t)
{
    if (t->dropped_turns)
        fprintf(stderr, "(the context was full: the %zu oldest turn%s dropped, the rest prefilled again)\n",
                t->dropped_turns, t->dropped_turns == 1 ? " was" : "s were");
    fprintf(stderr, "(%zu new tokens prefilled after %zu in the cache; %zu tokens at %.2f tok/s%s)\n",
            t->prefill_tokens, t->cached_tokens, t->g.n_ids,
            t->g.decode_seconds > 0 ? (double)t->g.n_decode_steps / t->g.decode_seconds : 0,
            t->g.stop == LVK_STOP_CANCELLED ? ", stopped by Ctrl-C" : t->g.stop == LVK_STOP_LIMIT ? ", -n reached" : "");
}

static bool print_chat_json(const lvk_chat_turn *t)
{
    unsigned long failures = lvk_alloc_failures();
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "text", t->text ? t->text : "");
    cJSON *gen = cJSON_AddArrayToObject(root, "generated_ids");
    for (size_t i = 0; i < t->g.n_ids; i++)
        add_item(gen, cJSON_CreateNumber(t->g.ids[i]));
    cJSON_AddStringToObject(root, "stop", stop_text(t->g.stop));
    cJSON_AddNumberToObject(root, "prefill_tokens", (double)t->prefill_tokens);
    cJSON *timings = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(timings, "prefill_s", t->g.prefill_seconds);
    cJSON_AddNumberToObject(timings, "decode_s", t->g.decode_seconds);
    cJSON_AddNumberToObject(timings, "ttft_s", t->g.first_token_seconds);
    return print_tree(root, failures);
}

/* The interactive loop; returns the exit code. */
static int chat_loop(lvk_chat_session *s, const options *o)
{
    if (!o->quiet)
        fprintf(stderr, "chat (%s template): a line is a turn, a trailing \\ continues it; /reset, /system TEXT, "
                        "/exit; Ctrl-C stops an answer\n",
                lvk_chat_template_name(s->tmpl));
    lvk_generate_params gp = o->gen;
    gp.should_stop = stop_on_ctrl_c;
    lvk_interrupt_watch();
    for (;;) {
        fputs("> ", stdout);
        fflush(stdout);
        char *text = NULL;
        size_t len = 0;
        lvk_read_result r = read_turn(&text, &len);
        if (r == LVK_READ_END) {
            fputc('\n', stdout);
            break;
        }
        if (r == LVK_READ_INTERRUPTED) {
            fputs("\n(Ctrl-C: /exit to leave)\n", stdout);
            continue;
        }
        lvk_err err = {{0}};
        if (!strcmp(text, "/exit") || !strcmp(text, "/quit")) {
            free(text);
            break;
        } else if (!strcmp(text, "/reset")) {
            lvk_chat_session_reset(s);
            fputs("(a new conversation)\n", stdout);
        } else if (!strncmp(text, "/system", 7) && (text[7] == ' ' || text[7] == '\0')) {
            const char *sys = text[7] ? text + 8 : NULL;
            if (!lvk_chat_session_set_system(s, sys, sys ? strlen(sys) : 0, &err))
                fprintf(stderr, "error: %s\n", err.msg);
            else
                fputs(sys ? "(system prompt set; the conversation is prefilled again)\n" : "(no system prompt)\n",
                      stdout);
        } else if (len > 0) {
            lvk_interrupt_take(); /* a Ctrl-C from before this turn does not stop it */
            lvk_chat_turn t;
            if (!lvk_chat_session_reply(s, text, len, &gp, stream_text, NULL, &t, &err)) {
                fprintf(stderr, "\nerror: %s\n", err.msg);
            } else {
                fputc('\n', stdout);
                fflush(stdout);
                if (!o->quiet)
                    print_turn_stats(&t);
                free(t.g.ids);
                free(t.text);
            }
        }
        free(text);
    }
    return 0;
}

static int chat(const options *o)
{
    lvk_err err = {{0}};
    lvk_open_params params = open_params(o);
    lvk_model *model = NULL;
    lvk_chat_session session = {0};
    lvk_chat conversation;
    lvk_chat_init(&conversation);
    char *system = NULL;
    size_t system_len = 0;
    int rc = 0;
    /* Everything the user gave is read and checked before the model loads. */
    if ((o->prompt_file && !lvk_chat_load_json(o->prompt_file, &conversation, &err)) ||
        (o->system_file && !lvk_chat_read_text_file(o->system_file, &system, &system_len, &err))) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_chat_free(&conversation);
        return failure_code(4);
    }
    if (!lvk_model_open(&model, &params, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 5;
    }
    lvk_chat_template tmpl = model ? lvk_model_get_info(model).cfg->chat_template : LVK_CHAT_TEMPLATE_NONE;
    if (!rc && o->chat_template && !lvk_chat_template_from_name(o->chat_template, &tmpl, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = 2;
    }
    if (!rc && !lvk_chat_session_init(&session, model, tmpl, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = tmpl == LVK_CHAT_TEMPLATE_NONE ? 2 : 5; /* no template: --chat-template is missing; else memory */
    }
    if (!rc && o->prompt_file) {
        /* the file's conversation, with --system / --system-file in place of its own system message */
        lvk_chat_free(&session.chat);
        session.chat = conversation;
        lvk_chat_init(&conversation);
    }
    const char *sys = system ? system : o->system;
    if (!rc && sys && !lvk_chat_session_set_system(&session, sys, system ? system_len : strlen(sys), &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        rc = failure_code(4);
    }
    if (!rc && o->prompt_file) {
        lvk_chat_turn t;
        if (!lvk_chat_session_reply(&session, NULL, 0, &o->gen, o->json ? NULL : stream_text, NULL, &t, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            rc = failure_code(4);
        } else {
            if (o->json && !print_chat_json(&t))
                rc = 5;
            else if (!o->json)
                fputc('\n', stdout);
            if (!o->quiet)
                print_turn_stats(&t);
            free(t.g.ids);
            free(t.text);
        }
    } else if (!rc) {
        rc = chat_loop(&session, o);
    }
    lvk_chat_session_free(&session);
    lvk_model_close(model);
    lvk_chat_free(&conversation);
    free(system);
    return exit_code(rc);
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
    return o.plan ? plan(&o) : o.chat ? chat(&o) : generate(&o);
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
