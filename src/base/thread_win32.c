#ifdef _WIN32
#include "base/thread.h"

#include <process.h>
#include <stdlib.h>
#include <windows.h>

#include "base/alloc.h"

_Static_assert(sizeof(CRITICAL_SECTION) <= sizeof(((lvk_mutex *)0)->storage), "lvk_mutex too small");
_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(((lvk_cond *)0)->storage), "lvk_cond too small");

#define MUTEX(m) ((CRITICAL_SECTION *)(void *)(m)->storage)
#define COND(c) ((CONDITION_VARIABLE *)(void *)(c)->storage)

bool lvk_mutex_init(lvk_mutex *m, lvk_err *err)
{
    (void)err;
    InitializeCriticalSection(MUTEX(m));
    return true;
}

void lvk_mutex_destroy(lvk_mutex *m) { DeleteCriticalSection(MUTEX(m)); }
void lvk_mutex_lock(lvk_mutex *m) { EnterCriticalSection(MUTEX(m)); }
void lvk_mutex_unlock(lvk_mutex *m) { LeaveCriticalSection(MUTEX(m)); }

bool lvk_cond_init(lvk_cond *c, lvk_err *err)
{
    (void)err;
    InitializeConditionVariable(COND(c));
    return true;
}

void lvk_cond_destroy(lvk_cond *c) { (void)c; /* Win32 condition variables need no cleanup */ }
void lvk_cond_wait(lvk_cond *c, lvk_mutex *m) { SleepConditionVariableCS(COND(c), MUTEX(m), INFINITE); }
bool lvk_cond_wait_ms(lvk_cond *c, lvk_mutex *m, uint32_t ms)
{
    return SleepConditionVariableCS(COND(c), MUTEX(m), ms) || GetLastError() != ERROR_TIMEOUT;
}
void lvk_cond_signal(lvk_cond *c) { WakeConditionVariable(COND(c)); }
void lvk_cond_broadcast(lvk_cond *c) { WakeAllConditionVariable(COND(c)); }

typedef struct start_arg {
    void (*fn)(void *);
    void *arg;
} start_arg;

static unsigned __stdcall trampoline(void *p)
{
    start_arg a = *(start_arg *)p;
    free(p);
    a.fn(a.arg);
    return 0;
}

bool lvk_thread_start(lvk_thread *t, void (*fn)(void *arg), void *arg, lvk_err *err)
{
    start_arg *a = lvk_malloc(sizeof *a);
    if (!a)
        return lvk_fail(err, "out of host memory");
    a->fn = fn;
    a->arg = arg;
    uintptr_t h = _beginthreadex(NULL, 0, trampoline, a, 0, NULL);
    if (!h) {
        free(a);
        return lvk_fail(err, "_beginthreadex failed (error %lu)", (unsigned long)GetLastError());
    }
    t->handle = (void *)h;
    return true;
}

void lvk_thread_join(lvk_thread *t)
{
    if (!t->handle)
        return;
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
    t->handle = NULL;
}
#endif
