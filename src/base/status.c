#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool lvk_fail(lvk_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return false;
}

void lvk_err_prefix(lvk_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[LVK_ERR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[2 * LVK_ERR_MSG_SIZE + 2];
    snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
    joined[sizeof err->msg - 1] = '\0'; /* cut to fit */
    memcpy(err->msg, joined, sizeof err->msg);
}
