/* The --kl-base file of llama-vk-perplexity: the logits of every scored position of one run, so a later
 * run (other weights: q8, q4) can be compared with it position by position (model/kl_stats.h).
 *
 * Format, all little-endian:
 *   offset  size  field
 *   0       8     magic "LVKKLBAS" ("LVKKLTMP" while being written: a run that died leaves that)
 *   8       4     u32 version, 1
 *   12      4     u32 vocab      logits per position
 *   16      4     u32 ctx        tokens per chunk
 *   20      4     u32 first      the first scored position of a chunk (ctx / 2)
 *   24      4     u32 n_chunks
 *   28      4     u32 0          reserved
 *   32      8     u64 n_tokens   scored positions: n_chunks * (ctx - 1 - first)
 *   40      8     u64 ids_hash   FNV-1a 64 of the chunks' ids as run (BOS first), each an i32 LE
 *   48            n_tokens * vocab fp32 logits, in scoring order (chunk by chunk, position by position)
 * The two runs are comparable when all the header fields are equal: same tokenizer and text (the hash),
 * same ctx and chunks. The file is written and read one position at a time: a 7B run over a long text
 * holds tens of GB of logits. */
#ifndef LVK_IO_KL_BASE_H
#define LVK_IO_KL_BASE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"

#define LVK_KL_BASE_VERSION 1u
#define LVK_KL_BASE_HEADER_BYTES 48

typedef struct lvk_kl_base_header {
    uint32_t vocab, ctx, first, n_chunks;
    uint64_t n_tokens, ids_hash;
} lvk_kl_base_header;

typedef struct lvk_kl_base {
    FILE *f;
    const char *path;
    lvk_kl_base_header header;
    uint64_t done;     /* positions written or read so far */
    uint8_t *bytes;    /* one position's logits as stored */
    bool writing;
} lvk_kl_base;

/* FNV-1a 64 over the ids' little-endian bytes; h is the hash so far (start with LVK_FNV1A_START). */
#define LVK_FNV1A_START 0xcbf29ce484222325ull
uint64_t lvk_kl_base_hash(uint64_t h, const int32_t *ids, size_t n);

/* A new file at path with this header (marked unfinished until lvk_kl_base_finish). */
bool lvk_kl_base_create(lvk_kl_base *b, const char *path, const lvk_kl_base_header *h, lvk_err *err);
/* An existing file, refused unless its header equals want and its size is what the header says. */
bool lvk_kl_base_open(lvk_kl_base *b, const char *path, const lvk_kl_base_header *want, lvk_err *err);
/* The next position's logits[0..vocab). */
bool lvk_kl_base_write(lvk_kl_base *b, const float *logits, lvk_err *err);
bool lvk_kl_base_read(lvk_kl_base *b, float *logits, lvk_err *err);
/* Writing: checks every position was written and marks the file finished. Reading: checks every
 * position was read. Closes either way. */
bool lvk_kl_base_finish(lvk_kl_base *b, lvk_err *err);
/* Safe on a zeroed or closed lvk_kl_base. */
void lvk_kl_base_close(lvk_kl_base *b);

#endif
