/* The tokenizer's fields, shared by tokenizer.c (loading by type, special tokens, decoding) and the
 * loader and encoder of each type (tokenizer_spm.c, tokenizer_tiktoken.c). */
#ifndef LVK_IO_TOKENIZER_INTERNAL_H
#define LVK_IO_TOKENIZER_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "io/bpe.h"
#include "io/tokenizer.h"

struct lvk_tokenizer {
    lvk_tokenizer_type type;
    int n_vocab;
    int bos_id, eos_id, unk_id;
    lvk_vocab vocab;        /* [n_vocab] tokens; its map: every text -> id (tiktoken: ranked tokens only) */

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

#endif
