#include "base/console.h"

#ifdef _WIN32
#include <windows.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static volatile LONG interrupted;

static BOOL WINAPI on_ctrl(DWORD type)
{
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
        return FALSE;
    InterlockedExchange(&interrupted, 1);
    return TRUE;
}

void lvk_interrupt_watch(void) { SetConsoleCtrlHandler(on_ctrl, TRUE); }

bool lvk_interrupt_take(void) { return InterlockedExchange(&interrupted, 0) != 0; }

bool lvk_stdin_is_terminal(void) { return _isatty(_fileno(stdin)) != 0; }

/* A console gives UTF-16 (ReadConsoleW); a pipe or file gives bytes, taken as UTF-8. */
static lvk_read_result read_console(HANDLE in, char **line, size_t *len)
{
    size_t cap = 256, n = 0;
    wchar_t *w = lvk_malloc(cap * sizeof *w);
    if (!w)
        return LVK_READ_END;
    for (;;) {
        if (n + 1 >= cap) {
            wchar_t *nw = lvk_realloc(w, 2 * cap * sizeof *w);
            if (!nw) {
                free(w);
                return LVK_READ_END;
            }
            w = nw;
            cap *= 2;
        }
        DWORD got = 0;
        if (!ReadConsoleW(in, w + n, 1, &got, NULL)) {
            free(w);
            return LVK_READ_END;
        }
        if (got == 0) { /* Ctrl-C while waiting */
            free(w);
            return InterlockedExchange(&interrupted, 0) ? LVK_READ_INTERRUPTED : LVK_READ_END;
        }
        if (w[n] == L'\n')
            break;
        if (w[n] == 26 && n == 0) { /* Ctrl-Z at the start of a line: end of input */
            free(w);
            return LVK_READ_END;
        }
        n++;
    }
    while (n > 0 && (w[n - 1] == L'\r' || w[n - 1] == L'\n'))
        n--;
    int bytes = n ? WideCharToMultiByte(CP_UTF8, 0, w, (int)n, NULL, 0, NULL, NULL) : 0;
    *line = lvk_malloc((size_t)bytes + 1);
    if (!*line) {
        free(w);
        return LVK_READ_END;
    }
    if (bytes)
        WideCharToMultiByte(CP_UTF8, 0, w, (int)n, *line, bytes, NULL, NULL);
    (*line)[bytes] = '\0';
    *len = (size_t)bytes;
    free(w);
    return LVK_READ_LINE;
}

lvk_read_result lvk_console_read_line(char **line, size_t *len)
{
    *line = NULL;
    *len = 0;
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    DWORD mode;
    if (in != INVALID_HANDLE_VALUE && GetConsoleMode(in, &mode))
        return read_console(in, line, len);
    size_t cap = 256, n = 0;
    char *s = lvk_malloc(cap);
    int c = EOF;
    while (s && (c = fgetc(stdin)) != EOF && c != '\n') {
        if (n + 1 >= cap) {
            char *ns = lvk_realloc(s, 2 * cap);
            if (!ns)
                break;
            s = ns;
            cap *= 2;
        }
        s[n++] = (char)c;
    }
    if (!s || (c == EOF && n == 0)) {
        free(s);
        return LVK_READ_END;
    }
    while (n > 0 && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    *line = s;
    *len = n;
    return LVK_READ_LINE;
}

#else
typedef int lvk_console_win32_unused; /* this file is empty outside Windows */
#endif
