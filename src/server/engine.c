#include "server/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "io/tokenizer.h"
#include "model/sequence.h"

typedef struct slot {
    lvk_job *job;
    lvk_sequence *seq;
    lvk_sampler sampler;
    lvk_detokenizer detok;
    uint32_t n_fed; /* prompt tokens run so far */
    bool decoding;  /* the prompt is in; `next` is the token to run */
    int32_t next;
    lvk_llama_output what;
    uint32_t top_k;
    lvk_llama_result result;
    float *logits;
    uint32_t chunk; /* prompt tokens in the step being run */
} slot;

struct lvk_engine {
    lvk_model *m;
    const lvk_tokenizer *tok;
    uint32_t vocab, max_batch;
    lvk_mutex mu;
    lvk_cond wake; /* the engine: a job came, a job was cancelled, stop */
    lvk_cond news; /* the handlers: text or an end */
    lvk_thread thread;
    bool stopping;
    slot slots[LVK_STEP_MAX_SEQS];
    uint32_t n_slots, n_active;
    lvk_job *head, *tail;
    uint32_t n_queued, max_queue;
    uint64_t steps, tokens;
};

/* ---- the answer's text: appended, searched for stop strings, released when no stop string can start in it */

static bool append(lvk_job *j, const char *s, size_t n)
{
    if (j->len + n + 1 > j->cap) {
        size_t cap = (j->len + n + 1) * 2;
        char *nt = lvk_realloc(j->text, cap);
        if (!nt)
            return false;
        j->text = nt;
        j->cap = cap;
    }
    memcpy(j->text + j->len, s, n);
    j->len += n;
    j->text[j->len] = '\0';
    return true;
}

/* Earliest position >= from where a stop string starts in full; len when none. */
static size_t find_stop(const lvk_job *j, size_t from)
{
    for (size_t p = from; p < j->len; p++)
        for (int i = 0; i < j->n_stop; i++)
            if (j->stop_len[i] <= j->len - p && !memcmp(j->text + p, j->stop[i], j->stop_len[i]))
                return p;
    return j->len;
}

/* Earliest position >= from where the rest of the text is the start of a stop string. */
static size_t hold_back(const lvk_job *j, size_t from)
{
    for (size_t p = from; p < j->len; p++)
        for (int i = 0; i < j->n_stop; i++)
            if (j->len - p < j->stop_len[i] && !memcmp(j->text + p, j->stop[i], j->len - p))
                return p;
    return j->len;
}

/* New text of the answer; true when a stop string ended it (the text is cut where it starts). */
static bool add_text(lvk_job *j, const char *s, size_t n, bool *oom)
{
    if (!n)
        return false;
    if (!append(j, s, n)) {
        *oom = true;
        return false;
    }
    size_t at = find_stop(j, j->ready);
    if (at < j->len) {
        j->len = at;
        j->text[at] = '\0';
        j->ready = at;
        return true;
    }
    j->ready = hold_back(j, j->ready);
    return false;
}

/* ---- slots (engine thread, lock held) */

static void release(lvk_engine *e, slot *s, lvk_finish finish, const char *error)
{
    lvk_job *j = s->job;
    if (!j->finish)
        j->finish = finish;
    if (error)
        snprintf(j->error, sizeof j->error, "%s", error);
    j->ready = j->len;
    j->done = true;
    s->job = NULL;
    lvk_sampler_free(&s->sampler);
    lvk_sequence_reset(s->seq);
    e->n_active--;
    lvk_cond_broadcast(&e->news);
}

static void fail_job(lvk_engine *e, lvk_job *j, const char *error)
{
    j->finish = LVK_FINISH_ERROR;
    snprintf(j->error, sizeof j->error, "%s", error);
    j->ready = j->len;
    j->done = true;
    lvk_cond_broadcast(&e->news);
}

static void admit(lvk_engine *e)
{
    for (uint32_t i = 0; i < e->n_slots && e->head; i++) {
        slot *s = &e->slots[i];
        if (s->job)
            continue;
        lvk_job *j = e->head;
        e->head = j->next;
        if (!e->head)
            e->tail = NULL;
        e->n_queued--;
        j->next = NULL;
        if (j->cancelled) {
            j->done = true;
            lvk_cond_broadcast(&e->news);
            i--; /* the slot is still free */
            continue;
        }
        lvk_err err;
        if (!lvk_sampler_init(&s->sampler, &j->sampling, e->vocab, &err)) {
            fail_job(e, j, err.msg);
            i--;
            continue;
        }
        s->job = j;
        s->n_fed = 0;
        s->decoding = false;
        s->what = lvk_sampler_output(&s->sampler, e->vocab, &s->top_k);
        lvk_detokenizer_init(&s->detok, e->tok);
        e->n_active++;
    }
}

static bool is_stop_id(const lvk_job *j, int32_t id)
{
    for (int i = 0; i < j->n_stop_ids; i++)
        if (j->stop_ids[i] == id)
            return true;
    return false;
}

/* A token was sampled for the slot. */
static void accept(lvk_engine *e, slot *s, int32_t id)
{
    lvk_job *j = s->job;
    char buf[LVK_DETOK_MAX_OUT];
    bool oom = false;
    j->n_generated++;
    e->tokens++;
    if (j->n_generated == 1)
        j->first_token_at = lvk_now();
    if (is_stop_id(j, id)) {
        size_t n = lvk_detokenizer_flush(&s->detok, buf);
        add_text(j, buf, n, &oom);
        release(e, s, oom ? LVK_FINISH_ERROR : LVK_FINISH_STOP, oom ? "out of host memory" : NULL);
        return;
    }
    size_t n = lvk_detokenizer_push(&s->detok, id, buf);
    if (add_text(j, buf, n, &oom)) {
        release(e, s, LVK_FINISH_STOP, NULL);
        return;
    }
    if (!oom && j->n_generated >= j->max_tokens) {
        n = lvk_detokenizer_flush(&s->detok, buf);
        bool stopped = add_text(j, buf, n, &oom);
        release(e, s, oom ? LVK_FINISH_ERROR : stopped ? LVK_FINISH_STOP : LVK_FINISH_LENGTH,
                oom ? "out of host memory" : NULL);
        return;
    }
    if (oom) {
        release(e, s, LVK_FINISH_ERROR, "out of host memory");
        return;
    }
    s->decoding = true;
    s->next = id;
    lvk_cond_broadcast(&e->news);
}

/* ---- the inference thread */

/* Queued jobs whose clients went away leave the queue at once: their handlers are waiting for done. */
static void drop_cancelled(lvk_engine *e)
{
    lvk_job **link = &e->head;
    e->tail = NULL;
    while (*link) {
        lvk_job *j = *link;
        if (j->cancelled) {
            *link = j->next;
            j->next = NULL;
            j->done = true;
            e->n_queued--;
            lvk_cond_broadcast(&e->news);
        } else {
            e->tail = j;
            link = &j->next;
        }
    }
}

/* One step's items: every decoding slot's next token, then prompt chunks while the batch has room. */
static uint32_t build_step(lvk_engine *e, lvk_step_item *items, slot **owner)
{
    uint32_t n = 0, budget = e->max_batch;
    for (uint32_t i = 0; i < e->n_slots; i++) {
        slot *s = &e->slots[i];
        s->chunk = 0;
        if (!s->job || !s->decoding)
            continue;
        items[n] = (lvk_step_item){s->seq, &s->next, 1, s->what, s->top_k, &s->result};
        owner[n++] = s;
        budget--;
    }
    for (uint32_t i = 0; i < e->n_slots && budget; i++) {
        slot *s = &e->slots[i];
        if (!s->job || s->decoding)
            continue;
        uint32_t left = s->job->n_prompt - s->n_fed;
        s->chunk = left < budget ? left : budget;
        bool last = s->chunk == left;
        items[n] = (lvk_step_item){s->seq, s->job->prompt + s->n_fed, s->chunk, last ? s->what : LVK_OUT_NONE,
                                   s->top_k, last ? &s->result : NULL};
        owner[n++] = s;
        budget -= s->chunk;
    }
    return n;
}

static void run(void *arg)
{
    lvk_engine *e = arg;
    lvk_step_item items[LVK_STEP_MAX_SEQS];
    slot *owner[LVK_STEP_MAX_SEQS];
    lvk_mutex_lock(&e->mu);
    for (;;) {
        for (uint32_t i = 0; i < e->n_slots; i++)
            if (e->slots[i].job && e->slots[i].job->cancelled)
                release(e, &e->slots[i], LVK_FINISH_NONE, NULL);
        drop_cancelled(e);
        if (e->stopping)
            break;
        admit(e);
        if (!e->n_active) {
            lvk_cond_wait(&e->wake, &e->mu);
            continue;
        }
        /* Slots change only on this thread, and a job's prompt is read-only: the step runs unlocked. */
        uint32_t n = build_step(e, items, owner);
        lvk_mutex_unlock(&e->mu);
        lvk_err err;
        bool ok = lvk_model_step(e->m, items, n, &err);
        int32_t picked[LVK_STEP_MAX_SEQS];
        for (uint32_t i = 0; ok && i < n; i++)
            if (items[i].what != LVK_OUT_NONE)
                picked[i] = lvk_sampler_pick_result(&owner[i]->sampler, items[i].what, &owner[i]->result, NULL, 0);
        lvk_mutex_lock(&e->mu);
        e->steps++;
        for (uint32_t i = 0; i < n; i++) {
            slot *s = owner[i];
            if (!ok) {
                release(e, s, LVK_FINISH_ERROR, err.msg);
                continue;
            }
            s->n_fed += s->chunk;
            if (items[i].what != LVK_OUT_NONE)
                accept(e, s, picked[i]);
        }
    }
    /* stopping: every job still here ends with an error */
    for (uint32_t i = 0; i < e->n_slots; i++)
        if (e->slots[i].job)
            release(e, &e->slots[i], LVK_FINISH_ERROR, "the server is shutting down");
    while (e->head) {
        lvk_job *j = e->head;
        e->head = j->next;
        fail_job(e, j, "the server is shutting down");
    }
    e->tail = NULL;
    e->n_queued = 0;
    lvk_mutex_unlock(&e->mu);
}

/* ---- the handlers' side */

bool lvk_engine_start(lvk_engine **out, lvk_model *m, const lvk_engine_params *p, lvk_err *err)
{
    *out = NULL;
    if (p->slots < 1 || p->slots > LVK_STEP_MAX_SEQS)
        return lvk_fail(err, "--parallel %u: between 1 and %d slots", p->slots, LVK_STEP_MAX_SEQS);
    lvk_engine *e = lvk_calloc(1, sizeof *e);
    if (!e)
        return lvk_fail(err, "out of host memory");
    lvk_model_info info = lvk_model_get_info(m);
    e->m = m;
    e->tok = info.tok;
    e->vocab = (uint32_t)info.cfg->vocab_size;
    e->max_batch = info.max_batch;
    e->n_slots = p->slots;
    e->max_queue = p->queue;
    if (e->max_batch < e->n_slots) {
        free(e);
        return lvk_fail(err, "a step of %u tokens cannot carry %u slots", info.max_batch, p->slots);
    }
    bool ok = lvk_mutex_init(&e->mu, err);
    if (ok && !lvk_cond_init(&e->wake, err)) {
        lvk_mutex_destroy(&e->mu);
        ok = false;
    }
    if (ok && !lvk_cond_init(&e->news, err)) {
        lvk_cond_destroy(&e->wake);
        lvk_mutex_destroy(&e->mu);
        ok = false;
    }
    if (!ok) {
        free(e);
        return false;
    }
    for (uint32_t i = 0; ok && i < e->n_slots; i++) {
        slot *s = &e->slots[i];
        s->logits = lvk_malloc((size_t)e->vocab * sizeof *s->logits);
        s->result.logits = s->logits;
        ok = s->logits ? lvk_model_new_sequence(m, &s->seq, err) : lvk_fail(err, "out of host memory");
    }
    if (ok)
        ok = lvk_thread_start(&e->thread, run, e, err);
    if (!ok) {
        e->thread.handle = NULL;
        lvk_engine_free(e);
        return false;
    }
    *out = e;
    return true;
}

void lvk_engine_halt(lvk_engine *e)
{
    if (!e || !e->thread.handle)
        return;
    lvk_mutex_lock(&e->mu);
    e->stopping = true;
    lvk_cond_signal(&e->wake);
    lvk_mutex_unlock(&e->mu);
    lvk_thread_join(&e->thread);
}

void lvk_engine_free(lvk_engine *e)
{
    if (!e)
        return;
    lvk_engine_halt(e);
    for (uint32_t i = 0; i < e->n_slots; i++) {
        if (e->slots[i].seq)
            lvk_model_free_sequence(e->m, e->slots[i].seq);
        free(e->slots[i].logits);
    }
    lvk_cond_destroy(&e->news);
    lvk_cond_destroy(&e->wake);
    lvk_mutex_destroy(&e->mu);
    free(e);
}

bool lvk_engine_submit(lvk_engine *e, lvk_job *j)
{
    lvk_mutex_lock(&e->mu);
    bool ok = !e->stopping && e->n_active + e->n_queued < e->n_slots + e->max_queue;
    if (ok) {
        j->queued_at = lvk_now();
        j->next = NULL;
        if (e->tail)
            e->tail->next = j;
        else
            e->head = j;
        e->tail = j;
        e->n_queued++;
        lvk_cond_signal(&e->wake);
    }
    lvk_mutex_unlock(&e->mu);
    return ok;
}

bool lvk_job_wait(lvk_engine *e, lvk_job *j, uint32_t ms, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    lvk_mutex_lock(&e->mu);
    if (!j->done && j->taken == j->ready)
        lvk_cond_wait_ms(&e->news, &e->mu, ms);
    if (j->ready > j->taken) {
        size_t n = j->ready - j->taken;
        *text = lvk_malloc(n + 1);
        if (*text) {
            memcpy(*text, j->text + j->taken, n);
            (*text)[n] = '\0';
            *len = n;
            j->taken = j->ready;
        }
    }
    bool done = j->done && j->taken == j->ready;
    lvk_mutex_unlock(&e->mu);
    return done;
}

void lvk_job_cancel(lvk_engine *e, lvk_job *j)
{
    lvk_mutex_lock(&e->mu);
    j->cancelled = true;
    lvk_cond_signal(&e->wake);
    lvk_mutex_unlock(&e->mu);
}

void lvk_job_free(lvk_job *j)
{
    free(j->prompt);
    free(j->text);
    memset(j, 0, sizeof *j);
}

lvk_engine_stats lvk_engine_get_stats(lvk_engine *e)
{
    lvk_mutex_lock(&e->mu);
    lvk_engine_stats s = {e->n_active, e->n_queued, e->n_slots, e->steps, e->tokens};
    lvk_mutex_unlock(&e->mu);
    return s;
}
