/* llama-vk-inspect: lists a MindSpore checkpoint's tensors and says what model it looks like. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"
#include "io/ckpt.h"
#include "io/config.h"

static const char usage[] = "usage: llama-vk-inspect FILE.ckpt [--json] [--no-crc]\n"
                            "Lists the tensors (index, name, dtype, shape, slices, bytes) and a summary:\n"
                            "parameters, bytes, dtypes, which model the file looks like, CRC status, indexing time.\n"
                            "--no-crc skips verifying the crc_num trailer (it is still detected).\n";

typedef struct summary {
    uint64_t params, bytes;
    int dtype_count[LVK_DTYPE_COUNT];
    char model[256];
    char crc[96];
} summary;

static void shape_text(const lvk_ckpt_tensor *t, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (int d = 0; d < t->n_dims && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", d ? ", " : "", (long long)t->dims[d]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

/* The built-in configs first, then any LLaMA layout whose shapes the file itself gives. */
static void identify_model(const lvk_ckpt *ck, char *out, size_t size)
{
    lvk_err err;
    for (int version = 2; version <= 3; version++) {
        lvk_model_config cfg;
        if (lvk_config_builtin(version, &cfg, &err) && lvk_config_check_ckpt(&cfg, ck, &err)) {
            snprintf(out, size, "%s", cfg.name);
            return;
        }
    }
    lvk_model_config base, shaped;
    if (lvk_config_builtin(2, &base, &err) && lvk_config_from_ckpt(&base, ck, &shaped, NULL, 0, &err)) {
        snprintf(out, size, "llama-shaped (dim %d, layers %d, kv dim %d, ffn %d, vocab %d)", shaped.dim,
                 shaped.n_layers, shaped.dim / shaped.n_heads * shaped.n_kv_heads, shaped.ffn_dim, shaped.vocab_size);
        return;
    }
    snprintf(out, size, "unknown");
}

static void summarize(const lvk_ckpt *ck, bool crc_skipped, summary *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < ck->n_tensors; i++) {
        s->params += ck->tensors[i].n_elems;
        s->bytes += ck->tensors[i].n_bytes;
        s->dtype_count[ck->tensors[i].dtype]++;
    }
    identify_model(ck, s->model, sizeof s->model);
    if (!ck->has_crc)
        snprintf(s->crc, sizeof s->crc, "none (no crc_num trailer)");
    else if (crc_skipped)
        snprintf(s->crc, sizeof s->crc, "present (0x%08X), not checked (--no-crc)", (unsigned)ck->crc_stored);
    else
        snprintf(s->crc, sizeof s->crc, "verified (0x%08X)", (unsigned)ck->crc_stored);
}

static void print_text(const lvk_ckpt *ck, const summary *s)
{
    printf("%5s  %-56s %-9s %-18s %6s %14s\n", "index", "name", "dtype", "shape", "slices", "bytes");
    for (int i = 0; i < ck->n_tensors; i++) {
        const lvk_ckpt_tensor *t = &ck->tensors[i];
        char shape[160];
        shape_text(t, shape, sizeof shape);
        printf("%5d  %-56s %-9s %-18s %6d %14llu\n", i, t->name, lvk_dtype_name(t->dtype), shape, t->n_slices,
               (unsigned long long)t->n_bytes);
    }
    printf("\nfile:       %s (%llu bytes)\n", ck->path, (unsigned long long)(ck->map.size));
    printf("tensors:    %d\n", ck->n_tensors);
    printf("parameters: %llu (%.3f B)\n", (unsigned long long)s->params, (double)s->params / 1e9);
    printf("bytes:      %llu (%.2f GiB)\n", (unsigned long long)s->bytes, (double)s->bytes / (1024.0 * 1024 * 1024));
    printf("dtypes:    ");
    for (int d = 0; d < LVK_DTYPE_COUNT; d++)
        if (s->dtype_count[d])
            printf(" %s x%d", lvk_dtype_name((lvk_dtype)d), s->dtype_count[d]);
    printf("\nmodel:      %s\n", s->model);
    printf("crc:        %s\n", s->crc);
    if (ck->n_skipped)
        printf("skipped:    %d value(s): %s\n", ck->n_skipped, ck->notes);
    printf("indexing:   %.3f ms", ck->index_seconds * 1e3);
    if (ck->crc_verified)
        printf(" (+ %.3f s CRC check)", ck->crc_seconds);
    printf("\n");
}

static bool print_json(const lvk_ckpt *ck, const summary *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", ck->path);
    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    for (int i = 0; i < ck->n_tensors; i++) {
        const lvk_ckpt_tensor *t = &ck->tensors[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "dtype", lvk_dtype_name(t->dtype));
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->n_dims; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[d]));
        cJSON_AddNumberToObject(o, "slices", t->n_slices);
        cJSON_AddNumberToObject(o, "bytes", (double)t->n_bytes);
        cJSON_AddItemToArray(tensors, o);
    }
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(sum, "tensors", ck->n_tensors);
    cJSON_AddNumberToObject(sum, "parameters", (double)s->params);
    cJSON_AddNumberToObject(sum, "bytes", (double)s->bytes);
    cJSON *dtypes = cJSON_AddObjectToObject(sum, "dtypes");
    for (int d = 0; d < LVK_DTYPE_COUNT; d++)
        if (s->dtype_count[d])
            cJSON_AddNumberToObject(dtypes, lvk_dtype_name((lvk_dtype)d), s->dtype_count[d]);
    cJSON_AddStringToObject(sum, "model", s->model);
    cJSON_AddStringToObject(sum, "crc", !ck->has_crc ? "none" : ck->crc_verified ? "verified" : "not checked");
    cJSON_AddNumberToObject(sum, "skipped", ck->n_skipped);
    cJSON_AddStringToObject(sum, "notes", ck->notes);
    cJSON_AddNumberToObject(sum, "index_seconds", ck->index_seconds);
    cJSON_AddNumberToObject(sum, "crc_seconds", ck->crc_seconds);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return false;
    puts(text);
    cJSON_free(text);
    return true;
}

static int run(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false, no_crc = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--no-crc") == 0) {
            no_crc = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "error: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "error: no checkpoint file given\n%s", usage);
        return 2;
    }
    lvk_ckpt ck;
    lvk_ckpt_options opt = {.skip_crc = no_crc};
    lvk_err err;
    if (!lvk_ckpt_open(&ck, path, &opt, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    summary s;
    summarize(&ck, no_crc, &s);
    bool ok = true;
    if (json)
        ok = print_json(&ck, &s);
    else
        print_text(&ck, &s);
    lvk_ckpt_close(&ck);
    if (!ok) {
        fprintf(stderr, "error: out of memory writing JSON\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    return lvk_run_main(argc, argv, run);
}
