#include "base/alloc.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/fault.h"

static unsigned long failures; /* not thread-safe, like the fault counters: a count for tests */

static bool refused(void)
{
    if (!lvk_fault("host-alloc"))
        return false;
    failures++;
    return true;
}

void *lvk_malloc(size_t size)
{
    if (refused())
        return NULL;
    void *p = malloc(size);
    failures += !p && size;
    return p;
}

void *lvk_calloc(size_t count, size_t size)
{
    if (refused())
        return NULL;
    void *p = calloc(count, size);
    failures += !p && count && size;
    return p;
}

void *lvk_realloc(void *p, size_t size)
{
    if (refused())
        return NULL;
    void *np = realloc(p, size);
    failures += !np && size;
    return np;
}

unsigned long lvk_alloc_failures(void) { return failures; }

void lvk_alloc_route_libraries(void)
{
    /* cJSON has no realloc hook: with its own malloc it reallocates by malloc, copy and free */
    cJSON_Hooks hooks = {.malloc_fn = lvk_malloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
}
