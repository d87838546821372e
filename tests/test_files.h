/* Reading a whole fixture file in a test. Header-only, one copy per test program. */
#ifndef LVK_TESTS_TEST_FILES_H
#define LVK_TESTS_TEST_FILES_H
#include <stdio.h>
#include <stdlib.h>

/* The file's bytes with a NUL after them (so text can be parsed in place); NULL if it cannot be
 * read. size may be NULL. */
static char *test_read_file(const char *path, size_t *size)
{
    if (size)
        *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (size)
            *size = (size_t)n;
    }
    return buf;
}

#endif
