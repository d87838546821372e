/* Shared insides of the two tokenizers (tokenizer.c, tokenizer_spm.c, tokenizer_tiktoken.c). */
#ifndef LVK_IO_TOKENIZER_INTERNAL_H
#define LVK_IO_TOKENIZER_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "io/tokenizer.h"

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
    uint32_t text_off, text_len; /* the token as in the file, in tok->arena */
    uint32_t surf_off, surf_len; /* the bytes it decodes to, in tok->arena */
    float score;                 /* SentencePiece score (higher merges first); tiktoken: rank */
    uint8_t kind;                /* lvk_token_kind */
    bool drops_bos_space;        /* SentencePiece piece starting with '▁': its space may be dropped */
} lvk_token_info;

/* Open-addressing hash table from token bytes (the text of an id) to id. */
typedef struct lvk_token_slot {
    uint32_t hash; /* low bits of the text's hash: most mismatches are rejected without touching the text */
    int32_t id;    /* -1 for an empty slot */
} lvk_token_slot;

typedef struct lvk_token_map {
    lvk_token_slot *slots;
    size_t mask;    /* number of slots - 1 (a power of two) */
} lvk_token_map;

struct lvk_tokenizer {
    lvk_tokenizer_type type;
    int n_vocab;
    int bos_id, eos_id, unk_id;
    lvk_token_info *tokens; /* [n_vocab] */
    char *arena;            /* texts and surfaces of all tokens */
    size_t arena_len, arena_cap;
    lvk_token_map map;      /* every token's text -> id (tiktoken: ranked tokens only) */

    /* SentencePiece settings (from normalizer_spec / trainer_spec). */
    bool add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, byte_fallback;
    /* No mergeable piece has '▁' right after another character: words (runs starting at a '▁' that
     * follows something else) can then be merged one at a time, with the same result. */
    bool words_independent;
    int32_t byte_ids[256];  /* id of <0xNN>, or -1 */
    int32_t *user_defined;  /* ids of USER_DEFINED pieces (matched whole, never split) */
    size_t n_user_defined;

    /* Ids that LVK_ENCODE_SPECIAL recognises in text (control, unknown and special tokens). */
    int32_t *special_ids;
    size_t n_special;

    /* tiktoken: the pre-split regex (pcre2_code *), kept opaque here. */
    void *regex;
    bool regex_jit;
};

/* ---- tokenizer.c: helpers for the loaders and encoders ---- */
uint64_t lvk_tok_hash(const char *s, size_t len);
/* Appends bytes to the arena; returns their offset. */
bool lvk_tok_arena_add(lvk_tokenizer *tok, const void *data, size_t len, uint32_t *off, lvk_err *err);
/* Builds tok->map over ids [0, n) whose kind passes `include` (NULL: all); fails on duplicate texts. */
bool lvk_tok_map_build(lvk_tokenizer *tok, int n, bool (*include)(const lvk_token_info *t), const char *name,
                       lvk_err *err);
int32_t lvk_tok_map_find(const lvk_tokenizer *tok, const char *s, size_t len);
static inline const char *lvk_tok_text(const lvk_tokenizer *tok, int32_t id)
{
    return tok->arena + tok->tokens[id].text_off;
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

/* Repeatedly merges the adjacent pair whose joined bytes are the best mergeable token (SentencePiece:
 * highest score; tiktoken: lowest rank), leftmost first on ties, until no pair merges. syms[0..n) must be
 * linked in order in w->syms (reserved for n); afterwards follow .next from index 0.
 * O(n log n) with a heap. */
void lvk_bpe_merge(const lvk_tokenizer *tok, const char *text, lvk_bpe_work *w, size_t n);

/* A growable id list used while encoding. */
typedef struct lvk_id_list {
    int32_t *ids;
    size_t n, cap;
} lvk_id_list;
bool lvk_id_list_push(lvk_id_list *list, int32_t id, lvk_err *err);

/* ---- per-type loaders and encoders ---- */
bool lvk_spm_load(lvk_tokenizer *tok, const uint8_t *data, size_t size, const char *name, lvk_err *err);
/* Encodes valid UTF-8 text (no special-token parsing), appending ids. */
bool lvk_spm_encode(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err);

bool lvk_tiktoken_load(lvk_tokenizer *tok, const uint8_t *data, size_t size, const char *name, lvk_err *err);
bool lvk_tiktoken_encode(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err);
void lvk_tiktoken_free_regex(lvk_tokenizer *tok);

#endif
