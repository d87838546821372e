/* Threads, a mutex and a condition variable: pthreads on POSIX (thread_posix.c), the Win32 ones on
 * Windows (thread_win32.c). Only what the server needs. The structs are opaque storage big enough for
 * either platform's object, so this header includes no system header. */
#ifndef LVK_BASE_THREAD_H
#define LVK_BASE_THREAD_H
#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"

typedef struct lvk_mutex {
    _Alignas(8) unsigned char storage[64];
} lvk_mutex;

typedef struct lvk_cond {
    _Alignas(8) unsigned char storage[64];
} lvk_cond;

typedef struct lvk_thread {
    void *handle;
} lvk_thread;

bool lvk_mutex_init(lvk_mutex *m, lvk_err *err);
void lvk_mutex_destroy(lvk_mutex *m);
void lvk_mutex_lock(lvk_mutex *m);
void lvk_mutex_unlock(lvk_mutex *m);

bool lvk_cond_init(lvk_cond *c, lvk_err *err);
void lvk_cond_destroy(lvk_cond *c);
void lvk_cond_wait(lvk_cond *c, lvk_mutex *m);
/* Waits at most ms milliseconds; false when the time ran out (a wakeup may still be spurious). */
bool lvk_cond_wait_ms(lvk_cond *c, lvk_mutex *m, uint32_t ms);
void lvk_cond_signal(lvk_cond *c);
void lvk_cond_broadcast(lvk_cond *c);

bool lvk_thread_start(lvk_thread *t, void (*fn)(void *arg), void *arg, lvk_err *err);
void lvk_thread_join(lvk_thread *t);

#endif
