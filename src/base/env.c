#include <stdlib.h>
#include <string.h>

#include "base/platform.h"

bool lvk_env_flag(const char *name)
{
    const char *v = lvk_getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}
