/* Host memory: malloc, calloc and realloc as the C library has them (free with free()), except that
 * each one first asks lvk_fault("host-alloc") (base/fault.h) and returns NULL when told to, so that a
 * test can fail every allocation of a run in turn and see each one end in a clear error.
 * Every allocation in src/ goes through these; so do cJSON's, once lvk_alloc_route_libraries ran. */
#ifndef LVK_BASE_ALLOC_H
#define LVK_BASE_ALLOC_H
#include <stddef.h>

void *lvk_malloc(size_t size);
void *lvk_calloc(size_t count, size_t size);
/* Like realloc: NULL leaves p as it was, still to be freed. */
void *lvk_realloc(void *p, size_t size);

/* How many allocations have failed so far, for a caller whose library reports every failure alike
 * (cJSON_Parse's NULL is bad JSON or no memory): a count that moved means it was the memory. */
unsigned long lvk_alloc_failures(void);

/* Makes cJSON allocate through lvk_malloc. Called once by lvk_run_main, before the program starts. */
void lvk_alloc_route_libraries(void);

#endif
