#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "base/console.h"

#ifndef _WIN32
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

void lvk_interrupt_watch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a read waiting for the user returns, so Ctrl-C at the prompt is seen */
    sigaction(SIGINT, &sa, NULL);
}

bool lvk_interrupt_take(void)
{
    bool was = interrupted != 0;
    interrupted = 0;
    return was;
}

bool lvk_stdin_is_terminal(void) { return isatty(STDIN_FILENO) == 1; }

lvk_read_result lvk_console_read_line(char **line, size_t *len)
{
    *line = NULL;
    *len = 0;
    size_t cap = 0;
    errno = 0;
    ssize_t n = getline(line, &cap, stdin);
    if (n < 0) {
        bool eintr = errno == EINTR;
        clearerr(stdin);
        free(*line);
        *line = NULL;
        return eintr ? LVK_READ_INTERRUPTED : LVK_READ_END;
    }
    while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r'))
        (*line)[--n] = '\0';
    *len = (size_t)n;
    return LVK_READ_LINE;
}

#else
typedef int lvk_console_posix_unused; /* this file is empty on Windows */
#endif
