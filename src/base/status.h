/* Errors are values. Every fallible function returns bool (true = success) and, on failure,
 * has written into *err one message a user can act on: which file, tensor or device, where,
 * and what was expected. Callers add context with lvk_err_prefix as the error travels up. */
#ifndef LVK_BASE_STATUS_H
#define LVK_BASE_STATUS_H
#include <stdbool.h>

#define LVK_ERR_MSG_SIZE 1024

typedef struct lvk_err {
    char msg[LVK_ERR_MSG_SIZE];
} lvk_err;

#include <stdio.h> /* for MinGW's __MINGW_PRINTF_FORMAT */

#if defined(__MINGW32__)
/* MinGW is built with __USE_MINGW_ANSI_STDIO=1, so %zu and %lld work as in C99. */
#define LVK_PRINTF(a, b) __attribute__((format(__MINGW_PRINTF_FORMAT, a, b)))
#elif defined(__GNUC__) || defined(__clang__)
#define LVK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LVK_PRINTF(a, b)
#endif

/* Writes the message and returns false, so that `return lvk_fail(err, ...);` reads naturally.
 * err may be NULL (the message is dropped). */
bool lvk_fail(lvk_err *err, const char *fmt, ...) LVK_PRINTF(2, 3);

/* Puts "<context>: " in front of the message already in err. */
void lvk_err_prefix(lvk_err *err, const char *fmt, ...) LVK_PRINTF(2, 3);

#endif
