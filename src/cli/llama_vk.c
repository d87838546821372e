/* llama-vk: run LLaMA on any Vulkan GPU. */
#include <stdio.h>
#include <string.h>

#include "base/platform.h"
#include "vk/context.h"
#include "vk/device_report.h"

static const char *usage =
    "usage: llama-vk --list-devices [--json]\n"
    "  --list-devices   every Vulkan device with its memory, limits and features\n"
    "  --json           machine-readable output\n";

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

static int run(int argc, char **argv)
{
    bool list = false, json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--list-devices"))
            list = true;
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "error: unknown argument '%s' (see llama-vk --help)\n", argv[i]);
            return 2;
        }
    }
    if (list)
        return list_devices(json);
    fputs(usage, stderr);
    return 2;
}

int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
