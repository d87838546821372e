#include "io/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* ---- the token table ---- */

void lvk_vocab_free(lvk_vocab *v)
{
    free(v->tokens);
    free(v->arena);
    free(v->map.slots);
    memset(v, 0, sizeof *v);
}

bool lvk_vocab_add_bytes(lvk_vocab *v, const void *data, size_t len, uint32_t *off, lvk_err *err)
{
    if (v->arena_len + len > UINT32_MAX)
        return lvk_fail(err, "tokenizer text exceeds 4 GiB");
    if (v->arena_len + len > v->arena_cap) {
        size_t cap = v->arena_cap ? v->arena_cap * 2 : 65536;
        while (cap < v->arena_len + len)
            cap *= 2;
        char *grown = lvk_realloc(v->arena, cap);
        if (!grown)
            return lvk_fail(err, "out of host memory for tokenizer text (%zu bytes)", cap);
        v->arena = grown;
        v->arena_cap = cap;
    }
    if (len)
        memcpy(v->arena + v->arena_len, data, len);
    *off = (uint32_t)v->arena_len;
    v->arena_len += len;
    return true;
}

/* FNV-1a: tokens are short, so a simple byte-at-a-time hash is fast enough. */
static uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool lvk_vocab_map_build(lvk_vocab *v, int n, const char *name, lvk_err *err)
{
    size_t slots = 1024;
    while (slots < (size_t)n * 2)
        slots *= 2;
    v->map.slots = lvk_malloc(slots * sizeof *v->map.slots);
    if (!v->map.slots)
        return lvk_fail(err, "out of host memory for the token table");
    for (size_t i = 0; i < slots; i++)
        v->map.slots[i].id = -1;
    v->map.mask = slots - 1;
    for (int id = 0; id < n; id++) {
        const lvk_token_info *t = &v->tokens[id];
        const char *text = lvk_vocab_text(v, id);
        uint64_t h = text_hash(text, t->text_len);
        size_t i = (size_t)h & v->map.mask;
        while (v->map.slots[i].id >= 0) {
            int32_t other = v->map.slots[i].id;
            if (v->tokens[other].text_len == t->text_len && memcmp(lvk_vocab_text(v, other), text, t->text_len) == 0)
                return lvk_fail(err, "%s: token %d has the same bytes as token %d", name, id, other);
            i = (i + 1) & v->map.mask;
        }
        v->map.slots[i].id = id;
        v->map.slots[i].hash = (uint32_t)(h >> 32);
    }
    return true;
}

int32_t lvk_vocab_find(const lvk_vocab *v, const char *s, size_t len)
{
    uint64_t h = text_hash(s, len);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & v->map.mask;; i = (i + 1) & v->map.mask) {
        const lvk_token_slot *slot = &v->map.slots[i];
        if (slot->id < 0)
            return -1;
        if (slot->hash == tag && v->tokens[slot->id].text_len == len &&
            memcmp(lvk_vocab_text(v, slot->id), s, len) == 0)
            return slot->id;
    }
}

/* ---- the BPE merge ---- */

/* A candidate merge of two adjacent symbols. It goes stale when either side changes; the lengths
 * tell: a side that merged elsewhere is empty or longer, so left.len + right.len != len. */
typedef struct bpe_pair {
    double priority; /* higher merges first */
    int32_t left, right;
    uint32_t len;
} bpe_pair;

static bool pair_before(const bpe_pair *a, const bpe_pair *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->left < b->left; /* ties: leftmost */
}

static void heap_push(bpe_pair *heap, size_t *n, bpe_pair p)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_before(&p, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = p;
}

static bpe_pair heap_pop(bpe_pair *heap, size_t *n)
{
    bpe_pair top = heap[0];
    bpe_pair last = heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n)
            break;
        if (child + 1 < *n && pair_before(&heap[child + 1], &heap[child]))
            child++;
        if (!pair_before(&heap[child], &last))
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (*n > 0)
        heap[i] = last;
    return top;
}

static bool kind_mergeable(uint8_t kind)
{
    return kind == LVK_TOKEN_NORMAL || kind == LVK_TOKEN_USER_DEFINED || kind == LVK_TOKEN_UNUSED;
}

static void try_add_pair(const lvk_vocab *v, lvk_bpe_order order, const char *text, const lvk_bpe_symbol *syms, int32_t left,
                         int32_t right, bpe_pair *heap, size_t *n_heap)
{
    if (left < 0 || right < 0 || syms[left].frozen || syms[right].frozen)
        return;
    uint32_t len = syms[left].len + syms[right].len;
    int32_t id = lvk_vocab_find(v, text + syms[left].start, len);
    if (id < 0 || !kind_mergeable(v->tokens[id].kind))
        return;
    bpe_pair p;
    p.priority = order == LVK_BPE_HIGHEST_SCORE ? (double)v->tokens[id].score : -(double)v->tokens[id].score;
    p.left = left;
    p.right = right;
    p.len = len;
    heap_push(heap, n_heap, p);
}

bool lvk_bpe_work_reserve(lvk_bpe_work *w, size_t n_symbols, lvk_err *err)
{
    if (n_symbols > w->syms_cap) {
        size_t cap = n_symbols > 2 * w->syms_cap ? n_symbols : 2 * w->syms_cap; /* grow geometrically */
        lvk_bpe_symbol *syms = lvk_realloc(w->syms, cap * sizeof *syms);
        if (!syms)
            return lvk_fail(err, "out of host memory for %zu BPE symbols", cap);
        w->syms = syms;
        w->syms_cap = cap;
    }
    /* Every merge pushes at most two new pairs, on top of the n - 1 initial ones. */
    size_t heap_need = 3 * w->syms_cap + 1;
    if (heap_need > w->heap_cap) {
        bpe_pair *heap = lvk_realloc(w->heap, heap_need * sizeof *heap);
        if (!heap)
            return lvk_fail(err, "out of host memory for the BPE queue");
        w->heap = heap;
        w->heap_cap = heap_need;
    }
    return true;
}

void lvk_bpe_work_free(lvk_bpe_work *w)
{
    free(w->syms);
    free(w->heap);
    memset(w, 0, sizeof *w);
}

void lvk_bpe_merge(const lvk_vocab *v, lvk_bpe_order order, const char *text, lvk_bpe_work *w, size_t n)
{
    lvk_bpe_symbol *syms = w->syms;
    bpe_pair *heap = w->heap;
    size_t n_heap = 0;
    for (size_t i = 1; i < n; i++)
        try_add_pair(v, order, text, syms, (int32_t)i - 1, (int32_t)i, heap, &n_heap);
    while (n_heap > 0) {
        bpe_pair top = heap_pop(heap, &n_heap);
        lvk_bpe_symbol *l = &syms[top.left], *r = &syms[top.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != top.len)
            continue; /* stale */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0)
            syms[r->next].prev = top.left;
        r->len = 0;
        try_add_pair(v, order, text, syms, l->prev, top.left, heap, &n_heap);
        try_add_pair(v, order, text, syms, top.left, l->next, heap, &n_heap);
    }
}

bool lvk_id_list_push(lvk_id_list *list, int32_t id, lvk_err *err)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        int32_t *ids = lvk_realloc(list->ids, cap * sizeof *ids);
        if (!ids)
            return lvk_fail(err, "out of host memory for %zu token ids", cap);
        list->ids = ids;
        list->cap = cap;
    }
    list->ids[list->n++] = id;
    return true;
}
