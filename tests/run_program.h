/* For tests that run the project's programs: run one with arguments, capture its exit code,
 * stdout and stderr. Header-only, one copy per test program. */
#ifndef LVK_TESTS_RUN_PROGRAM_H
#define LVK_TESTS_RUN_PROGRAM_H
#include <stdio.h>
#include <stdlib.h>
#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/wait.h>
#endif

static char run_out[1 << 16], run_err[1 << 14];

static void run_slurp(const char *path, char *dst, size_t size)
{
    dst[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(dst, 1, size - 1, f);
    dst[n] = '\0';
    fclose(f);
}

/* Runs "<bin dir>/<program> <args>"; returns its exit code (128 if it died of a signal). */
static int run_program(const char *program, const char *args)
{
    /* per test program: ctest runs them in parallel */
    const char *out = LVK_TEST_TMP "/" LVK_TEST_NAME "_out.txt", *err = LVK_TEST_TMP "/" LVK_TEST_NAME "_err.txt";
    char cmd[4096];
#if defined(_WIN32)
    /* cmd.exe strips the outer quotes of a line that starts with one: add a pair to be stripped */
    snprintf(cmd, sizeof cmd, "\"\"%s/%s\" %s > \"%s\" 2> \"%s\"\"", LVK_BIN_DIR, program, args, out, err);
#else
    snprintf(cmd, sizeof cmd, "\"%s/%s\" %s > \"%s\" 2> \"%s\"", LVK_BIN_DIR, program, args, out, err);
#endif
#if defined(_WIN32)
    /* system() reads the command in the ANSI code page, which loses a Chinese prompt or path:
     * the wide _wsystem gets the UTF-8 command line intact, as a user's shell would pass it. */
    wchar_t wcmd[4096];
    int rc = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, cmd, -1, wcmd, 4096) > 0 ? _wsystem(wcmd) : 127;
#else
    int status = system(cmd);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
#endif
    run_slurp(out, run_out, sizeof run_out);
    run_slurp(err, run_err, sizeof run_err);
    return rc;
}

#endif
