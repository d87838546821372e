#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64
#endif
#include "base/platform.h"

#ifndef _WIN32

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"

bool lvk_file_map_open(lvk_file_map *map, const char *path, lvk_err *err)
{
    memset(map, 0, sizeof *map);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return lvk_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lvk_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lvk_fail(err, "%s: not a regular file", path);
    }
    map->size = (uint64_t)st.st_size;
    if (map->size > 0) {
        void *p = mmap(NULL, (size_t)map->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return lvk_fail(err, "%s: cannot map %llu bytes: %s", path, (unsigned long long)map->size, strerror(e));
        }
        map->data = p;
    }
    close(fd); /* the mapping keeps the file open */
    return true;
}

void lvk_file_map_close(lvk_file_map *map)
{
    if (map->data)
        munmap((void *)map->data, (size_t)map->size);
    memset(map, 0, sizeof *map);
}

FILE *lvk_fopen(const char *path, const char *mode) { return fopen(path, mode); }

bool lvk_fseek64(FILE *f, int64_t offset, int whence) { return fseeko(f, (off_t)offset, whence) == 0; }

int64_t lvk_ftell64(FILE *f) { return (int64_t)ftello(f); }

bool lvk_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool lvk_exe_dir(char *out, size_t size)
{
    if (size < 2)
        return false;
    /* Linux; elsewhere the link is missing and the caller falls back to other places. */
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return false;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return true;
}

double lvk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool lvk_stderr_is_terminal(void) { return isatty(STDERR_FILENO) == 1; }

uint64_t lvk_system_memory_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

uint64_t lvk_system_memory_available(void)
{
    /* MemAvailable counts reclaimable page cache, which is what an allocation can really get. */
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb = 0;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                break;
        }
        fclose(f);
        if (kb)
            return (uint64_t)kb * 1024u;
    }
    return lvk_system_memory_total();
}

const char *lvk_getenv(const char *name) { return getenv(name); }

int lvk_run_main(int argc, char **argv, int (*main_fn)(int argc, char **argv))
{
    lvk_alloc_route_libraries();
    return main_fn(argc, argv);
}

bool lvk_setenv(const char *name, const char *value)
{
    return (value ? setenv(name, value, 1) : unsetenv(name)) == 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define LVK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LVK_ASAN 1
#endif
#endif

void lvk_pin_leaky_vulkan_modules(void)
{
#ifdef LVK_ASAN
    /* lavapipe (with LLVM) leaks 128 bytes from realloc in Mesa 22.3.6-1+deb12u2; the validation layer too.
     * A module that is not installed is simply not pinned. */
    static const char *const modules[] = {"libvulkan_lvp.so", "libVkLayer_khronos_validation.so"};
    static bool done;
    if (done)
        return;
    done = true;
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
        (void)dlopen(modules[i], RTLD_NOW | RTLD_NODELETE);
#endif
}

#else
typedef int lvk_platform_posix_unused; /* this file is empty on Windows */

#endif
