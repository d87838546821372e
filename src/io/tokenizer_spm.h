/* The SentencePiece tokenizer (LLaMA2): its model file and its encoder. */
#ifndef LVK_IO_TOKENIZER_SPM_H
#define LVK_IO_TOKENIZER_SPM_H
#include "io/tokenizer_internal.h"

bool lvk_spm_load(lvk_tokenizer *tok, const uint8_t *data, size_t size, const char *name, lvk_err *err);
/* Encodes valid UTF-8 text (no special-token parsing), appending ids. */
bool lvk_spm_encode(const lvk_tokenizer *tok, const char *text, size_t len, lvk_id_list *out, lvk_err *err);

#endif
