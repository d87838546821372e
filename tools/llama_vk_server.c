/* llama-vk-server: an OpenAI-compatible HTTP server for one model, several conversations at once
 * (src/server/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/console.h"
#include "base/log.h"
#include "base/thread.h"
#include "llamavk/llamavk.h"
#include "server/server.h"

static const char *usage =
    "usage: llama-vk-server [model options] [--host ADDR] [--port N] [--parallel N] [--queue M] [--api-key KEY]\n"
    "\n"
    "model (as llama-vk):\n"
    "  -V 2|3               LLaMA version: the built-in config (default 2)\n"
    "  -C FILE              a model config instead\n"
    "  -M FILE              the MindSpore checkpoint (default: the config's, in the models folder)\n"
    "  -F FILE              the tokenizer.model (default: the config's, in the models folder)\n"
    "  --models DIR         the models folder (default: $LLAMA_VK_MODELS, else ./models)\n"
    "  --device D           the GPU: an index or part of its name (see llama-vk --list-devices)\n"
    "  --no-crc             do not verify the checkpoint's CRC trailer\n"
    "  -c N                 context per conversation (default: the model's, at most 4096)\n"
    "  --batch N            tokens per step (default 64)\n"
    "  --chat-template T    llama2 | llama3: for a model whose config names none\n"
    "  --force              load even if the memory check says it will not fit\n"
    "server:\n"
    "  --host ADDR          the address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port N             the port (default 8080; 0: any free one, printed at start)\n"
    "  --parallel N         conversations answered at once, each its own KV cache (default 4, at most 8)\n"
    "  --queue M            requests that may wait for a slot; beyond: 503 (default 16)\n"
    "  --api-key KEY        ask every /v1 request for 'Authorization: Bearer KEY'\n"
    "  --max-body BYTES     the largest request body (default 1048576; beyond: 413)\n"
    "  -q                   no information lines;  -v: more of them\n"
    "\n"
    "endpoints: GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions (stream or not)\n"
    "Ctrl-C stops the server.\n";

typedef struct options {
    lvk_open_params open;
    lvk_server_params server;
} options;

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!end || *end || end == s || s[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

/* Returns 0 to go on, -1 after --help, else the exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->open.files.version = 2;
    o->open.files.need_tokenizer = true;
    o->server.host = "127.0.0.1";
    o->server.port = 8080;
    o->server.parallel = 4;
    o->server.queue = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n = 0;
        bool ok = true, takes_value = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(a, "-q")) {
            o->server.quiet = o->open.quiet = true, takes_value = false;
        } else if (!strcmp(a, "-v")) {
            lvk_log_set_level(LVK_LOG_DEBUG), takes_value = false;
        } else if (!strcmp(a, "--no-crc")) {
            o->open.files.skip_crc = true, takes_value = false;
        } else if (!strcmp(a, "--force")) {
            o->open.force = true, takes_value = false;
        } else if (!v) {
            fprintf(stderr, "error: %s needs a value (see llama-vk-server --help)\n", a);
            return 2;
        } else if (!strcmp(a, "-V")) {
            ok = parse_uint(v, 3, &n) && (n == 2 || n == 3);
            o->open.files.version = (int)n;
        } else if (!strcmp(a, "-C")) {
            o->open.files.config_path = v;
        } else if (!strcmp(a, "-M")) {
            o->open.files.ckpt_path = v;
        } else if (!strcmp(a, "-F")) {
            o->open.files.tokenizer_path = v;
        } else if (!strcmp(a, "--models") || !strcmp(a, "--models-dir")) {
            o->open.files.models_dir = v;
        } else if (!strcmp(a, "--device")) {
            o->open.device = v;
        } else if (!strcmp(a, "-c")) {
            ok = parse_uint(v, 1u << 20, &n) && n > 0;
            o->open.context = (uint32_t)n;
        } else if (!strcmp(a, "--batch")) {
            ok = parse_uint(v, 4096, &n) && n > 0;
            o->open.max_batch = (uint32_t)n;
        } else if (!strcmp(a, "--chat-template")) {
            o->server.chat_template = v;
        } else if (!strcmp(a, "--host")) {
            o->server.host = v;
        } else if (!strcmp(a, "--port")) {
            ok = parse_uint(v, 65535, &n);
            o->server.port = (int)n;
        } else if (!strcmp(a, "--parallel") || !strcmp(a, "-np")) {
            ok = parse_uint(v, LVK_STEP_MAX_SEQS, &n) && n > 0;
            o->server.parallel = (uint32_t)n;
        } else if (!strcmp(a, "--queue")) {
            ok = parse_uint(v, 4096, &n);
            o->server.queue = (uint32_t)n;
        } else if (!strcmp(a, "--api-key")) {
            o->server.api_key = v;
            ok = v[0] != '\0';
        } else if (!strcmp(a, "--max-body")) {
            ok = parse_uint(v, 1ul << 30, &n) && n > 0;
            o->server.max_body = n;
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see llama-vk-server --help)\n", a);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "error: bad value '%s' for %s (see llama-vk-server --help)\n", v, a);
            return 2;
        }
        if (takes_value)
            i++;
    }
    o->open.max_sequences = o->server.parallel;
    o->open.progress = !o->open.quiet && lvk_stderr_is_terminal();
    return 0;
}

/* Sleeps until Ctrl-C (SIGINT). */
static void wait_for_interrupt(void)
{
    lvk_err err;
    lvk_mutex mu;
    lvk_cond cv;
    if (!lvk_mutex_init(&mu, &err) || !lvk_cond_init(&cv, &err))
        return;
    lvk_mutex_lock(&mu);
    while (!lvk_interrupt_take())
        lvk_cond_wait_ms(&cv, &mu, 100);
    lvk_mutex_unlock(&mu);
    lvk_cond_destroy(&cv);
    lvk_mutex_destroy(&mu);
}

static int run(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.open.quiet)
        lvk_log_set_level(LVK_LOG_QUIET);
    lvk_interrupt_watch();
    lvk_err err = {{0}};
    lvk_server *server = NULL;
    lvk_model *model = NULL;
    if (!lvk_server_start(&server, &o.server, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 3;
    }
    if (!o.open.quiet)
        fprintf(stderr, "loading the model; /health answers 503 until it is ready\n");
    if (!lvk_model_open(&model, &o.open, &err) || !lvk_server_attach(server, model, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_server_stop(server);
        lvk_model_close(model);
        return 5;
    }
    /* the line scripts wait for (and with --port 0 the port they need) */
    fprintf(stderr, "listening on http://%s:%d (%u slots, queue %u); Ctrl-C stops\n", o.server.host,
            lvk_server_port(server), o.server.parallel, o.server.queue);
    fflush(stderr);
    wait_for_interrupt();
    if (!o.open.quiet)
        fprintf(stderr, "stopping\n");
    lvk_server_stop(server);
    lvk_model_close(model);
    if (lvk_validation_error_count()) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
