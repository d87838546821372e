/* The LLaMA tokenizers: LLaMA-2 SentencePiece BPE ("sentencepiece", tokenizer.model is a protobuf
 * ModelProto) and LLaMA-3 tiktoken byte-level BPE ("tiktoken", lines `base64(bytes) rank`).
 * Both reproduce their reference encoders id for id (tests/data/tokenizers/<model>/expected.jsonl).
 *
 * Text in and out is UTF-8. Encoding rejects invalid UTF-8 with an error naming the byte offset.
 * Decoding never fails on valid ids: bytes that do not form valid UTF-8 come out as U+FFFD, one per
 * bad byte (as SentencePiece does), so the result is always valid UTF-8.
 *
 * Special tokens (`<s>`, `<|eot_id|>`, ...) written in the text are ordinary text unless
 * LVK_ENCODE_SPECIAL is given. With it, each run of text between special tokens is encoded on its
 * own, as if passed to the encoder separately (for SentencePiece each run gets the dummy-prefix `▁`).
 *
 * Decoding follows the reference decoders: SentencePiece drops control tokens (<s>, </s>), writes
 * <unk> as " ⁇ ", and drops the dummy-prefix space of the first piece; tiktoken writes special
 * tokens as their names. A tokenizer is read-only after loading and may be shared between threads. */
#ifndef LVK_IO_TOKENIZER_H
#define LVK_IO_TOKENIZER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef enum lvk_tokenizer_type { LVK_TOKENIZER_SPM, LVK_TOKENIZER_TIKTOKEN } lvk_tokenizer_type;

/* "sentencepiece" or "tiktoken" (the names model configs use). */
bool lvk_tokenizer_type_from_name(const char *name, lvk_tokenizer_type *out, lvk_err *err);
const char *lvk_tokenizer_type_name(lvk_tokenizer_type type);

typedef struct lvk_tokenizer lvk_tokenizer;

bool lvk_tokenizer_load(lvk_tokenizer **out, lvk_tokenizer_type type, const char *path, lvk_err *err);
/* The same from bytes in memory (name is used in error messages). */
bool lvk_tokenizer_load_memory(lvk_tokenizer **out, lvk_tokenizer_type type, const uint8_t *data, size_t size,
                               const char *name, lvk_err *err);
void lvk_tokenizer_free(lvk_tokenizer *tok);

lvk_tokenizer_type lvk_tokenizer_get_type(const lvk_tokenizer *tok);
/* Number of ids, special tokens included (LLaMA-2: 32000, LLaMA-3: 128256). */
int lvk_tokenizer_vocab_size(const lvk_tokenizer *tok);
int lvk_tokenizer_bos_id(const lvk_tokenizer *tok);
int lvk_tokenizer_eos_id(const lvk_tokenizer *tok);
/* Id of a special/control token by its text (`<|eot_id|>`, `</s>`), or -1. */
int lvk_tokenizer_special_id(const lvk_tokenizer *tok, const char *text);

enum { LVK_ENCODE_BOS = 1, LVK_ENCODE_SPECIAL = 2 /* parse special-token text into ids */ };

/* ids is malloc'd (caller frees; may be NULL when *n_ids is 0). */
bool lvk_tokenizer_encode(const lvk_tokenizer *tok, const char *text, size_t len, int flags, int32_t **ids,
                          size_t *n_ids, lvk_err *err);

/* Raw bytes a token stands for (SentencePiece: '▁' -> ' ', <0xNN> -> the byte, control -> "",
 * <unk> -> " ⁇ "; tiktoken: the token's bytes, special tokens their names). Not NUL-terminated and
 * possibly a fragment of a UTF-8 character. NULL for an invalid id. */
const char *lvk_tokenizer_piece(const lvk_tokenizer *tok, int32_t id, size_t *len);
/* The token as written in the tokenizer file (SentencePiece "▁Hello", "<0x0A>"; tiktoken: its bytes). */
const char *lvk_tokenizer_piece_text(const lvk_tokenizer *tok, int32_t id, size_t *len);

/* Whole-sequence decode, malloc'd and NUL-terminated; fails only for an id out of range. */
bool lvk_tokenizer_decode(const lvk_tokenizer *tok, const int32_t *ids, size_t n, char **text, size_t *len,
                          lvk_err *err);

/* Streaming detokenizer: push ids one at a time and get only complete UTF-8 characters out; at the end,
 * flush what is left (an incomplete character comes out as U+FFFD per byte). The concatenated output
 * equals lvk_tokenizer_decode of the same ids. Invalid ids produce nothing. */
#define LVK_DETOK_MAX_PIECE 256 /* longest token the loaders accept, in bytes */
#define LVK_DETOK_MAX_OUT 1024  /* room out must have: (3 pending + 256) bytes, each at worst 3 for U+FFFD */
typedef struct lvk_detokenizer {
    const lvk_tokenizer *tok;
    bool space_pending;      /* SentencePiece: the dummy-prefix space may still be dropped */
    uint8_t pending[4];      /* the start of a character whose remaining bytes have not come yet */
    size_t n_pending;
} lvk_detokenizer;

void lvk_detokenizer_init(lvk_detokenizer *d, const lvk_tokenizer *tok);
/* Appends complete UTF-8 characters to out; returns the number of bytes written (not NUL-terminated). */
size_t lvk_detokenizer_push(lvk_detokenizer *d, int32_t id, char *out);
size_t lvk_detokenizer_flush(lvk_detokenizer *d, char *out);

#endif
