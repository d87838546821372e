/* What both tokenizers build on, and nothing else: the table of tokens (their texts and surfaces in
 * one arena, a hash map from text to id), the BPE merge loop and a growable id list.
 * tokenizer_spm.c and tokenizer_tiktoken.c each use this and never each other; tokenizer.c picks one. */
#ifndef LVK_IO_BPE_H
#define LVK_IO_BPE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* What a token is; the SentencePiece piece types plus tiktoken's two kinds. */
typedef enum lvk_token_kind {
    LVK_TOKEN_NORMAL = 1,       /* SentencePiece NORMAL, tiktoken ranked token */
    LVK_TOKEN_UNKNOWN = 2,
    LVK_TOKEN_CONTROL = 3,      /* SentencePiece <s>, </s>: decodes to nothing */
    LVK_TOKEN_USER_DEFINED = 4,
    LVK_TOKEN_UNUSED = 5,
    LVK_TOKEN_BYTE = 6,         /* SentencePiece <0xNN> */
    LVK_TOKEN_SPECIAL = 7,      /* tiktoken special token: decodes to its name */
} lvk_token_kind;

typedef struct lvk_token_info {
    uint32_t text_off, text_len; /* the token as in the file, in the vocab's arena */
    uint32_t surf_off, surf_len; /* the bytes it decodes to, in the vocab's arena */
    float score;                 /* SentencePiece score (higher merges first); tiktoken: rank */
    uint8_t kind;                /* lvk_token_kind */
    bool drops_bos_space;        /* SentencePiece piece starting with '▁': its space may be dropped */
} lvk_token_info;

/* Open-addressing hash table from token bytes (the text of an id) to id. */
typedef struct lvk_token_slot {
    uint32_t hash; /* high bits of the text's hash: most mismatches are rejected without touching the text */
    int32_t id;    /* -1 for an empty slot */
} lvk_token_slot;

typedef struct lvk_token_map {
    lvk_token_slot *slots;
    size_t mask;    /* number of slots - 1 (a power of two) */
} lvk_token_map;

/* The tokens of a tokenizer: filled by its loader, freed with lvk_vocab_free. */
typedef struct lvk_vocab {
    lvk_token_info *tokens; /* [n_vocab of the tokenizer] */
    char *arena;            /* texts and surfaces of all tokens */
    size_t arena_len, arena_cap;
    lvk_token_map map;      /* text -> id over the ids given to lvk_vocab_map_build */
} lvk_vocab;

void lvk_vocab_free(lvk_vocab *v);
/* Appends bytes to the arena; returns their offset. */
bool lvk_vocab_add_bytes(lvk_vocab *v, const void *data, size_t len, uint32_t *off, lvk_err *err);
/* Builds the map over ids [0, n); fails on two ids with the same text. */
bool lvk_vocab_map_build(lvk_vocab *v, int n, const char *name, lvk_err *err);
/* The id whose text is s[0..len), or -1. */
int32_t lvk_vocab_find(const lvk_vocab *v, const char *s, size_t len);
static inline const char *lvk_vocab_text(const lvk_vocab *v, int32_t id)
{
    return v->arena + v->tokens[id].text_off;
}

/* A symbol of the BPE merge: a byte range of the text, linked to its neighbours. */
typedef struct lvk_bpe_symbol {
    uint32_t start, len;
    int32_t prev, next; /* index of neighbour symbol, -1 at the ends */
    bool frozen;        /* never merged (SentencePiece user-defined piece) */
} lvk_bpe_symbol;

/* Scratch memory reused across merges (free with lvk_bpe_work_free). */
typedef struct lvk_bpe_work {
    lvk_bpe_symbol *syms;
    size_t syms_cap;
    void *heap;
    size_t heap_cap;
} lvk_bpe_work;
bool lvk_bpe_work_reserve(lvk_bpe_work *w, size_t n_symbols, lvk_err *err);
void lvk_bpe_work_free(lvk_bpe_work *w);

/* Which mergeable token wins: SentencePiece merges the highest score first, tiktoken the lowest rank
 * (both kept in lvk_token_info.score). */
typedef enum lvk_bpe_order {
    LVK_BPE_HIGHEST_SCORE,
    LVK_BPE_LOWEST_RANK,
} lvk_bpe_order;

/* Repeatedly merges the adjacent pair whose joined bytes are the best mergeable token, leftmost first
 * on ties, until no pair merges. syms[0..n) must be linked in order in w->syms (reserved for n);
 * afterwards follow .next from index 0. O(n log n) with a heap. */
void lvk_bpe_merge(const lvk_vocab *v, lvk_bpe_order order, const char *text, lvk_bpe_work *w, size_t n);

/* A growable id list used while encoding. */
typedef struct lvk_id_list {
    int32_t *ids;
    size_t n, cap;
} lvk_id_list;
bool lvk_id_list_push(lvk_id_list *list, int32_t id, lvk_err *err);

#endif
