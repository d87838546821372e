/* Everything that differs between Windows and POSIX lives behind this header
 * (platform_posix.c, platform_win32.c). Paths and text are UTF-8 everywhere. */
#ifndef LVK_BASE_PLATFORM_H
#define LVK_BASE_PLATFORM_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"

/* A read-only view of a whole file. size may exceed 4 GiB; data is NULL for an empty file. */
typedef struct lvk_file_map {
    const uint8_t *data;
    uint64_t size;
    void *handle; /* platform bookkeeping */
} lvk_file_map;

bool lvk_file_map_open(lvk_file_map *map, const char *path, lvk_err *err);
void lvk_file_map_close(lvk_file_map *map);

/* fopen with a UTF-8 path, and 64-bit seek/tell. */
FILE *lvk_fopen(const char *path, const char *mode);
bool lvk_fseek64(FILE *f, int64_t offset, int whence);
int64_t lvk_ftell64(FILE *f);
bool lvk_file_exists(const char *path);
/* The folder of the running program (no trailing separator), so files shipped beside it are found
 * wherever it was unpacked. False when the system cannot tell. */
bool lvk_exe_dir(char *out, size_t size);

/* Monotonic clock in seconds. */
double lvk_now(void);

bool lvk_stderr_is_terminal(void);

/* Physical memory of the machine and how much of it is free now, in bytes (0 if unknown). */
uint64_t lvk_system_memory_total(void);
uint64_t lvk_system_memory_available(void);

/* An environment variable as UTF-8, NULL if unset. getenv gives Windows' ANSI code page, which
 * turns LLAMA_VK_MODELS=C:\Users\张三\models into question marks. The string stays valid until
 * the next call for the same name. */
const char *lvk_getenv(const char *name);

/* The off-switches for optional fast paths (DESIGN §3: fragile drivers need one for each):
 * true when the environment variable is set to anything but "" or "0". */
bool lvk_env_flag(const char *name);

/* Sets (value NULL: removes) an environment variable of this process; programs it starts inherit it. */
bool lvk_setenv(const char *name, const char *value);

/* Sanitizer builds only (a no-op otherwise): loads the Vulkan drivers and layers that leak a little at exit
 * and pins them, so the loader's unloading at vkDestroyInstance cannot take them away before LeakSanitizer
 * reports. Unloaded, their frames print as "<unknown module>", which no suppression can match; pinned, they
 * carry their names, and .ci/lsan.supp keeps them out of the report. Call before the loader starts. */
void lvk_pin_leaky_vulkan_modules(void);

/* Runs main_fn with the command line as UTF-8. On Windows the argv the C runtime gives is in
 * the ANSI code page, so the wide command line is converted and the console is switched to
 * UTF-8 output; elsewhere argv is passed through. */
int lvk_run_main(int argc, char **argv, int (*main_fn)(int argc, char **argv));

#endif
