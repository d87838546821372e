#include "base/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SITES 8

static struct {
    char name[24];
    long fail_at, passes;
} sites[MAX_SITES];
static int n_sites = -1; /* -1: LLAMA_VK_FAIL not read yet */

static void print_counts(void)
{
    for (int i = 0; i < n_sites; i++)
        if (sites[i].fail_at == 0)
            fprintf(stderr, "LLAMA_VK_FAIL: %s passed %ld times\n", sites[i].name, sites[i].passes);
}

static void read_spec(void)
{
    bool count = false;
    n_sites = 0;
    const char *p = getenv("LLAMA_VK_FAIL");
    while (p && *p && n_sites < MAX_SITES) {
        const char *colon = strchr(p, ':'), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (colon && colon < end && (size_t)(colon - p) < sizeof sites[0].name) {
            memcpy(sites[n_sites].name, p, (size_t)(colon - p));
            sites[n_sites].name[colon - p] = '\0';
            sites[n_sites].fail_at = strtol(colon + 1, NULL, 10);
            sites[n_sites].passes = 0;
            count = count || sites[n_sites].fail_at == 0;
            n_sites++;
        }
        p = *end ? end + 1 : end;
    }
    if (count)
        atexit(print_counts);
}

bool lvk_fault(const char *site)
{
    if (n_sites < 0)
        read_spec();
    for (int i = 0; i < n_sites; i++)
        if (strcmp(sites[i].name, site) == 0)
            return ++sites[i].passes == sites[i].fail_at;
    return false;
}
