#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#include "base/thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((lvk_mutex *)0)->storage), "lvk_mutex too small");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(((lvk_cond *)0)->storage), "lvk_cond too small");

#define MUTEX(m) ((pthread_mutex_t *)(void *)(m)->storage)
#define COND(c) ((pthread_cond_t *)(void *)(c)->storage)

bool lvk_mutex_init(lvk_mutex *m, lvk_err *err)
{
    int rc = pthread_mutex_init(MUTEX(m), NULL);
    return rc == 0 ? true : lvk_fail(err, "pthread_mutex_init: %s", strerror(rc));
}

void lvk_mutex_destroy(lvk_mutex *m) { pthread_mutex_destroy(MUTEX(m)); }
void lvk_mutex_lock(lvk_mutex *m) { pthread_mutex_lock(MUTEX(m)); }
void lvk_mutex_unlock(lvk_mutex *m) { pthread_mutex_unlock(MUTEX(m)); }

bool lvk_cond_init(lvk_cond *c, lvk_err *err)
{
    /* the monotonic clock, so a clock change does not stretch a timed wait */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(COND(c), &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? true : lvk_fail(err, "pthread_cond_init: %s", strerror(rc));
}

void lvk_cond_destroy(lvk_cond *c) { pthread_cond_destroy(COND(c)); }
void lvk_cond_wait(lvk_cond *c, lvk_mutex *m) { pthread_cond_wait(COND(c), MUTEX(m)); }
void lvk_cond_signal(lvk_cond *c) { pthread_cond_signal(COND(c)); }
void lvk_cond_broadcast(lvk_cond *c) { pthread_cond_broadcast(COND(c)); }

bool lvk_cond_wait_ms(lvk_cond *c, lvk_mutex *m, uint32_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(COND(c), MUTEX(m), &t) != ETIMEDOUT;
}

typedef struct start_arg {
    void (*fn)(void *);
    void *arg;
} start_arg;

static void *trampoline(void *p)
{
    start_arg a = *(start_arg *)p;
    free(p);
    a.fn(a.arg);
    return NULL;
}

bool lvk_thread_start(lvk_thread *t, void (*fn)(void *arg), void *arg, lvk_err *err)
{
    start_arg *a = lvk_malloc(sizeof *a);
    pthread_t *h = lvk_malloc(sizeof *h);
    if (!a || !h) {
        free(a), free(h);
        return lvk_fail(err, "out of host memory");
    }
    a->fn = fn;
    a->arg = arg;
    int rc = pthread_create(h, NULL, trampoline, a);
    if (rc) {
        free(a), free(h);
        return lvk_fail(err, "pthread_create: %s", strerror(rc));
    }
    t->handle = h;
    return true;
}

void lvk_thread_join(lvk_thread *t)
{
    if (!t->handle)
        return;
    pthread_join(*(pthread_t *)t->handle, NULL);
    free(t->handle);
    t->handle = NULL;
}
#endif
