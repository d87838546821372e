/* vk-selftest: every kernel checked against its CPU twin on the chosen device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "base/platform.h"
#include "selftest/harness.h"

static const char *usage =
    "usage: vk-selftest [--device N|NAME] [--filter NAME] [--json] [--bench] [-v]\n"
    "Runs every kernel on a Vulkan device and compares it with its CPU twin (fp64).\n"
    "  --device N|NAME  device index or name substring (default: env LLAMA_VK_DEVICE, else the best GPU)\n"
    "  --filter NAME    run only kernels whose name contains NAME\n"
    "  --json           print {\"device\": ..., \"results\": [...]} instead of the table\n"
    "  --bench          more repetitions and bigger speed cases\n"
    "Exit status: 0 when every case passes (and, with the validation layer on, it reported no error).\n";

static void print_json(const lvk_selftest *t, const lvk_device *d)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "device", d->info->name);
    cJSON_AddStringToObject(root, "driver", d->info->driver_name);
    cJSON_AddNumberToObject(root, "copy_gbps", t->copy_gbps);
    cJSON_AddNumberToObject(root, "read_gbps", t->read_gbps);
    cJSON *arr = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < t->n_results; i++) {
        const lvk_selftest_result *r = &t->results[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kernel", r->kernel);
        cJSON_AddStringToObject(o, "dtype", r->dtype);
        cJSON_AddStringToObject(o, "shape", r->shape);
        if (r->checked) {
            cJSON_AddNumberToObject(o, "max_abs_err", r->max_abs_err);
            cJSON_AddNumberToObject(o, "nmse", r->nmse);
            cJSON_AddNumberToObject(o, "tol", r->tol);
        } else {
            cJSON_AddNullToObject(o, "max_abs_err");
            cJSON_AddNullToObject(o, "nmse");
            cJSON_AddNullToObject(o, "tol");
        }
        cJSON_AddBoolToObject(o, "pass", r->pass);
        cJSON_AddNumberToObject(o, "ms", r->ms);
        cJSON_AddNumberToObject(o, "gbps", r->gbps);
        cJSON_AddNumberToObject(o, "gflops", r->gflops);
        if (t->copy_gbps > 0 && r->gbps > 0)
            cJSON_AddNumberToObject(o, "of_copy", r->gbps / t->copy_gbps);
        if (t->read_gbps > 0 && r->gbps > 0)
            cJSON_AddNumberToObject(o, "of_read", r->gbps / t->read_gbps);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(root, "passed", t->n_run - t->n_failed);
    cJSON_AddNumberToObject(root, "failed", t->n_failed);
    char *text = cJSON_Print(root);
    if (text)
        printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(root);
}

static int run(int argc, char **argv)
{
    lvk_selftest t = {0};
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            t.filter = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            t.json = true;
        else if (!strcmp(argv[i], "--bench"))
            t.bench = true;
        else if (!strcmp(argv[i], "-v"))
            lvk_log_set_level(LVK_LOG_DEBUG);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see vk-selftest --help)\n", argv[i]);
            return 2;
        }
    }

    lvk_err err = {{0}};
    lvk_instance inst;
    lvk_device d;
    lvk_kernels k;
    lvk_transfer xfer;
    int index = 0;
    if (!lvk_instance_create(&inst, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 3;
    }
    if (!lvk_device_choose(&inst, device, &index, &err) || !lvk_device_create(&d, &inst, index, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_instance_destroy(&inst);
        return 3;
    }
    int rc = 0;
    if (!lvk_kernels_init(&k, &d, &err) || !lvk_transfer_init(&d, &xfer, 16u << 20, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_device_destroy(&d);
        lvk_instance_destroy(&inst);
        return 3;
    }
    t.d = &d;
    t.k = &k;
    t.xfer = &xfer;
    if (!t.json) {
        printf("vk-selftest on [%d] %s (%s), subgroup %u, maxStorageBufferRange %llu\n", index, d.info->name,
               d.info->driver_name, d.info->subgroup_size, (unsigned long long)d.info->max_storage_buffer_range);
        printf("%-18s %-6s %-22s %10s %10s %8s  %-4s %10s  %s\n", "kernel", "dtype", "shape", "max_abs", "nmse", "tol",
               "", "ms", "speed");
    }
    int n_errors = 0;
#define LVK_SELFTEST_CASE(name)                                                                                        \
    if (!lvk_selftest_##name(&t, &err)) {                                                                               \
        fprintf(stderr, "error: case %s could not run: %s\n", #name, err.msg);                                         \
        n_errors++;                                                                                                    \
    }
#include "selftest/cases.h"
#undef LVK_SELFTEST_CASE

    if (t.json)
        print_json(&t, &d);
    else
        printf("%d passed, %d failed\n", t.n_run - t.n_failed, t.n_failed + n_errors);
    if (t.n_failed || n_errors)
        rc = 1;
    if (t.n_run == 0 && n_errors == 0) {
        fprintf(stderr, "error: no case matches --filter %s\n", t.filter ? t.filter : "");
        rc = 1;
    }
    lvk_transfer_destroy(&d, &xfer);
    lvk_kernels_destroy(&k);
    lvk_device_destroy(&d);
    lvk_instance_destroy(&inst);
    free(t.results);
    if (lvk_validation_error_count() > 0) {
        fprintf(stderr, "error: the Vulkan validation layer reported %d error(s)\n", lvk_validation_error_count());
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
