/* The interactive side of the console, for the chat: the user's lines, and Ctrl-C as a request to stop
 * the current answer rather than the program. Text is UTF-8 everywhere (on a Windows console the line is
 * read as UTF-16 and converted). */
#ifndef LVK_BASE_CONSOLE_H
#define LVK_BASE_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>

typedef enum lvk_read_result { LVK_READ_LINE, LVK_READ_END, LVK_READ_INTERRUPTED } lvk_read_result;

/* One line from standard input, malloc'd into *line without its line end (NUL-terminated). END at the
 * end of input; INTERRUPTED when Ctrl-C came while waiting (after lvk_interrupt_watch). */
lvk_read_result lvk_console_read_line(char **line, size_t *len);
bool lvk_stdin_is_terminal(void);

/* From now on Ctrl-C sets a flag instead of ending the program. */
void lvk_interrupt_watch(void);
/* Whether Ctrl-C came since the last call; clears it. */
bool lvk_interrupt_take(void);

#endif
