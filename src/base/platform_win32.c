#include "base/platform.h"

#ifdef _WIN32
#include <windows.h>
#include <shellapi.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* UTF-8 -> UTF-16 in a malloc'd buffer, NULL on failure. */
static wchar_t *utf8_to_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = lvk_malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) <= 0) {
        free(w);
        return NULL;
    }
    return w;
}

static char *wide_to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *s = lvk_malloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) <= 0) {
        free(s);
        return NULL;
    }
    return s;
}

bool lvk_file_map_open(lvk_file_map *map, const char *path, lvk_err *err)
{
    memset(map, 0, sizeof *map);
    wchar_t *wpath = utf8_to_wide(path);
    if (!wpath)
        return lvk_fail(err, "%s: the path is not valid UTF-8", path);
    HANDLE file = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    free(wpath);
    if (file == INVALID_HANDLE_VALUE)
        return lvk_fail(err, "%s: cannot open (Windows error %lu)", path, (unsigned long)GetLastError());
    LARGE_INTEGER size;
    if (!GetFileSizeEx(file, &size)) {
        CloseHandle(file);
        return lvk_fail(err, "%s: cannot read its size (Windows error %lu)", path, (unsigned long)GetLastError());
    }
    map->size = (uint64_t)size.QuadPart;
    if (map->size > 0) {
        HANDLE mapping = CreateFileMappingW(file, NULL, PAGE_READONLY, 0, 0, NULL);
        if (!mapping) {
            CloseHandle(file);
            return lvk_fail(err, "%s: cannot map (Windows error %lu)", path, (unsigned long)GetLastError());
        }
        const void *p = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
        CloseHandle(mapping); /* the view keeps the mapping alive */
        if (!p) {
            CloseHandle(file);
            return lvk_fail(err, "%s: cannot map %llu bytes (Windows error %lu)", path,
                            (unsigned long long)map->size, (unsigned long)GetLastError());
        }
        map->data = p;
    }
    CloseHandle(file);
    return true;
}

void lvk_file_map_close(lvk_file_map *map)
{
    if (map->data)
        UnmapViewOfFile(map->data);
    memset(map, 0, sizeof *map);
}

FILE *lvk_fopen(const char *path, const char *mode)
{
    wchar_t *wpath = utf8_to_wide(path), *wmode = utf8_to_wide(mode);
    FILE *f = (wpath && wmode) ? _wfopen(wpath, wmode) : NULL;
    free(wpath);
    free(wmode);
    return f;
}

bool lvk_fseek64(FILE *f, int64_t offset, int whence) { return _fseeki64(f, offset, whence) == 0; }

int64_t lvk_ftell64(FILE *f) { return _ftelli64(f); }

bool lvk_file_exists(const char *path)
{
    wchar_t *wpath = utf8_to_wide(path);
    if (!wpath)
        return false;
    DWORD attr = GetFileAttributesW(wpath);
    free(wpath);
    return attr != INVALID_FILE_ATTRIBUTES && !(attr & FILE_ATTRIBUTE_DIRECTORY);
}

bool lvk_exe_dir(char *out, size_t size)
{
    wchar_t wpath[MAX_PATH * 4];
    DWORD n = GetModuleFileNameW(NULL, wpath, (DWORD)(sizeof wpath / sizeof wpath[0]));
    if (n == 0 || n >= sizeof wpath / sizeof wpath[0])
        return false;
    char *path = wide_to_utf8(wpath);
    if (!path)
        return false;
    char *sep = strrchr(path, '\\');
    bool ok = sep && (size_t)(sep - path) < size;
    if (ok) {
        *sep = '\0';
        snprintf(out, size, "%s", path);
    }
    free(path);
    return ok;
}

double lvk_now(void)
{
    LARGE_INTEGER freq, now;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart / (double)freq.QuadPart;
}

bool lvk_stderr_is_terminal(void) { return _isatty(_fileno(stderr)) != 0; }

uint64_t lvk_system_memory_total(void)
{
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    return GlobalMemoryStatusEx(&ms) ? (uint64_t)ms.ullTotalPhys : 0;
}

uint64_t lvk_system_memory_available(void)
{
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    return GlobalMemoryStatusEx(&ms) ? (uint64_t)ms.ullAvailPhys : 0;
}

/* One UTF-8 copy per variable name, replaced on the next call for that name. The few names the
 * programs read (LLAMA_VK_MODELS, LLAMA_VK_DEVICE, the off-switches) fit. */
#define ENV_SLOTS 16
static struct {
    char name[64];
    char *value;
} env_slots[ENV_SLOTS];

const char *lvk_getenv(const char *name)
{
    int slot = -1;
    for (int i = 0; i < ENV_SLOTS && slot < 0; i++)
        if (!env_slots[i].name[0] || strcmp(env_slots[i].name, name) == 0)
            slot = i;
    wchar_t *wname = utf8_to_wide(name);
    if (slot < 0 || strlen(name) >= sizeof env_slots[slot].name || !wname) {
        free(wname);
        return getenv(name); /* more names than slots: the ANSI value, as before */
    }
    const wchar_t *wvalue = _wgetenv(wname);
    free(wname);
    snprintf(env_slots[slot].name, sizeof env_slots[slot].name, "%s", name);
    free(env_slots[slot].value);
    env_slots[slot].value = wvalue ? wide_to_utf8(wvalue) : NULL;
    return env_slots[slot].value;
}

int lvk_run_main(int argc, char **argv, int (*main_fn)(int argc, char **argv))
{
    (void)argc;
    (void)argv;
    lvk_alloc_route_libraries();
    SetConsoleOutputCP(CP_UTF8);
    SetConsoleCP(CP_UTF8);
    /* Byte for byte what the program writes, as on Linux: in text mode the C runtime turns every
     * "\n" into "\r\n", so --json output and token lists piped to a file differed from the Linux
     * build's. The console itself starts a new line at a bare "\n". */
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    int wargc = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
    if (!wargv) {
        fputs("error: cannot read the command line\n", stderr);
        return 2;
    }
    /* Out of host memory here exits 5, as everywhere else (2 is for a bad command line). */
    char **uargv = lvk_calloc((size_t)wargc + 1, sizeof *uargv);
    int rc = 5;
    if (uargv) {
        int ok = 1;
        unsigned long failures = lvk_alloc_failures();
        for (int i = 0; i < wargc && ok; i++)
            ok = (uargv[i] = wide_to_utf8(wargv[i])) != NULL;
        if (ok) {
            rc = main_fn(wargc, uargv);
        } else if (lvk_alloc_failures() != failures) {
            fputs("error: out of host memory\n", stderr);
        } else {
            fputs("error: cannot convert the command line to UTF-8\n", stderr);
            rc = 2;
        }
        for (int i = 0; i < wargc; i++)
            free(uargv[i]);
        free(uargv);
    } else {
        fputs("error: out of host memory\n", stderr);
    }
    LocalFree(wargv);
    return rc;
}

bool lvk_setenv(const char *name, const char *value)
{
    return _putenv_s(name, value ? value : "") == 0; /* "" removes it */
}

#else
typedef int lvk_platform_win32_unused; /* this file is empty outside Windows */
#endif

void lvk_pin_leaky_vulkan_modules(void) {} /* no LeakSanitizer on Windows builds */
