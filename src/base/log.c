#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

static lvk_log_level g_level = LVK_LOG_INFO;

void lvk_log_set_level(lvk_log_level level) { g_level = level; }
lvk_log_level lvk_log_get_level(void) { return g_level; }

static void log_line(const char *tag, const char *fmt, va_list ap)
{
    fputs(tag, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void lvk_info(const char *fmt, ...)
{
    if (g_level < LVK_LOG_INFO)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line("", fmt, ap);
    va_end(ap);
}

void lvk_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line("warning: ", fmt, ap);
    va_end(ap);
}

void lvk_debug(const char *fmt, ...)
{
    if (g_level < LVK_LOG_DEBUG)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line("debug: ", fmt, ap);
    va_end(ap);
}
