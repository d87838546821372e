/* The server's inference: N slots, each its own sequence of the one model, a queue of waiting jobs, and
 * one thread that runs the steps (continuous batching). Each step carries the next token of every
 * decoding slot, and a chunk of a new prompt when there is room in the batch, so a long prompt delays the
 * others by one chunk per step rather than by its whole prefill.
 *
 * A job is made by an HTTP handler thread, submitted, then watched: the engine appends the answer's text
 * to it and wakes the handler; the handler takes the new text (lvk_job_wait) and may cancel the job (its
 * client went away). The handler frees the job only after the engine has let go of it (done). */
#ifndef LVK_SERVER_ENGINE_H
#define LVK_SERVER_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/thread.h"
#include "io/chat_template.h"
#include "llamavk/llamavk.h"
#include "model/sampler.h"
#include "server/request.h"

typedef enum lvk_finish { LVK_FINISH_NONE, LVK_FINISH_STOP, LVK_FINISH_LENGTH, LVK_FINISH_ERROR } lvk_finish;

typedef struct lvk_job {
    /* set by the submitter, read-only afterwards */
    int32_t *prompt;
    uint32_t n_prompt;
    uint32_t max_tokens; /* >= 1, and prompt + max_tokens fit the context */
    lvk_sampler_params sampling;
    int32_t stop_ids[LVK_CHAT_MAX_STOP + 8];
    int n_stop_ids;
    char *stop[LVK_REQUEST_MAX_STOP]; /* borrowed from the request */
    size_t stop_len[LVK_REQUEST_MAX_STOP];
    int n_stop;
    /* under the engine's lock */
    char *text; /* the answer so far, NUL-terminated */
    size_t len, cap;
    size_t ready;   /* text[0..ready) can go out: no stop string can start in it */
    size_t taken;   /* text[0..taken) went out (lvk_job_wait) */
    uint32_t n_generated;
    double queued_at, first_token_at;
    lvk_finish finish;
    bool done;      /* the engine let go of the job */
    bool cancelled; /* the client went away */
    char error[LVK_ERR_MSG_SIZE];
    struct lvk_job *next; /* the queue */
} lvk_job;

typedef struct lvk_engine lvk_engine;

typedef struct lvk_engine_params {
    uint32_t slots; /* parallel sequences, 1 .. LVK_STEP_MAX_SEQS */
    uint32_t queue; /* jobs that may wait for a slot */
} lvk_engine_params;

bool lvk_engine_start(lvk_engine **out, lvk_model *m, const lvk_engine_params *p, lvk_err *err);
/* Stops the thread; jobs still queued or running finish with an error (their handlers may still wait
 * on them), later submits are refused. Safe on NULL and twice. */
void lvk_engine_halt(lvk_engine *e);
/* Halts, then frees the slots' sequences (the model must still be open) and the engine. */
void lvk_engine_free(lvk_engine *e);

/* Hands the job to the engine; false (and the job untouched) when N running and M queued are there. */
bool lvk_engine_submit(lvk_engine *e, lvk_job *job);

/* Waits up to ms for news about the job: copies the newly ready text into a malloc'd *text (NULL when
 * none) and returns true when the job is done (then everything has been handed out). */
bool lvk_job_wait(lvk_engine *e, lvk_job *job, uint32_t ms, char **text, size_t *len);
/* The client went away: the engine frees the slot at its next step. Then wait for done before freeing. */
void lvk_job_cancel(lvk_engine *e, lvk_job *job);
/* Frees what the job owns (not the request's stop strings). */
void lvk_job_free(lvk_job *job);

typedef struct lvk_engine_stats {
    uint32_t active, queued, slots;
    uint64_t steps, tokens;
} lvk_engine_stats;
lvk_engine_stats lvk_engine_get_stats(lvk_engine *e);

#endif
