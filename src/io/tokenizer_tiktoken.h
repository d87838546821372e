/* The tiktoken tokenizer (LLaMA3): its rank file, pre-split regex and encoder. */
#ifndef LVK_IO_TOKENIZER_TIKTOKEN_H
#define LVK_IO_TOKENIZER_TIKTOKEN_H
#include "io/tokenizer_internal.h"

bool lvk_tiktoken_load(lvk_tokenizer *tok, const uint8_t *data, size_t size, const char *name, lvk_err *err);
/* Encodes valid UTF-8 text (no special-token parsing), appending ids. */
bool lvk_tiktoken_encode(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err);
void lvk_tiktoken_free_regex(lvk_tokenizer *tok);

#endif
