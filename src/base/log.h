/* Messages for the user go to stderr; stdout is kept for the program's real output
 * (generated text, tables, JSON). */
#ifndef LVK_BASE_LOG_H
#define LVK_BASE_LOG_H
#include "base/status.h"

typedef enum lvk_log_level {
    LVK_LOG_QUIET = 0, /* errors only */
    LVK_LOG_INFO = 1,
    LVK_LOG_DEBUG = 2,
} lvk_log_level;

void lvk_log_set_level(lvk_log_level level);
lvk_log_level lvk_log_get_level(void);

void lvk_info(const char *fmt, ...) LVK_PRINTF(1, 2);
void lvk_warn(const char *fmt, ...) LVK_PRINTF(1, 2);
void lvk_debug(const char *fmt, ...) LVK_PRINTF(1, 2);

#endif
