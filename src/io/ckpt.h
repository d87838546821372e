/* MindSpore .ckpt reader (DESIGN §2.1).
 *
 * The file is mapped, never read whole: opening it scans the protobuf record stream and keeps,
 * for every tensor, its name, dtype, dims and the byte ranges ("slices") of its data inside the
 * mapping. A tensor MindSpore wrote in several consecutive records with the same tag (it cuts
 * tensors over 512 MiB) is one tensor here whose data is the concatenation of its slices.
 * Tensor bytes are never copied by the reader; lvk_ckpt_read copies only what a caller asks for. */
#ifndef LVK_IO_CKPT_H
#define LVK_IO_CKPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/dtype.h"
#include "base/platform.h"
#include "base/status.h"

#define LVK_CKPT_MAX_DIMS 8

typedef struct lvk_ckpt_slice {
    uint64_t offset, size; /* byte range in the mapped file */
} lvk_ckpt_slice;

typedef struct lvk_ckpt_tensor {
    char *name;
    lvk_dtype dtype;
    int n_dims;
    int64_t dims[LVK_CKPT_MAX_DIMS];
    uint64_t n_elems, n_bytes;
    int n_slices;
    lvk_ckpt_slice *slices; /* n_slices ranges, in file order; they add up to n_bytes */
    uint64_t record_offset; /* where the tensor's first record starts, for messages */
} lvk_ckpt_tensor;

typedef struct lvk_ckpt_options {
    bool skip_crc; /* do not verify the crc_num trailer (it is still detected and excluded) */
} lvk_ckpt_options;

typedef struct lvk_ckpt {
    lvk_file_map map;
    char *path;
    int n_tensors;
    lvk_ckpt_tensor *tensors; /* in file order */
    bool has_crc;             /* the file ends in a crc_num trailer */
    bool crc_verified;        /* ... and it was checked and matched */
    uint32_t crc_stored;
    uint64_t records_size;    /* bytes of records (the file minus the trailer) */
    int n_skipped;            /* values not kept: strings, map tensors */
    char notes[512];          /* what was skipped, for tools to show */
    double index_seconds;     /* time to scan the records (without CRC) */
    double crc_seconds;       /* time to verify the CRC */
    /* private */
    lvk_ckpt_slice *slice_store;
    struct lvk_ckpt_name_index *by_name; /* names sorted, with their tensor index */
    const uint8_t *data; /* the records: map.data or the caller's buffer */
} lvk_ckpt;

/* Maps and indexes a file. On failure *ck is left closed (safe to lvk_ckpt_close again). */
bool lvk_ckpt_open(lvk_ckpt *ck, const char *path, const lvk_ckpt_options *opt, lvk_err *err);
/* Indexes a checkpoint already in memory; data must outlive ck. name is used in messages. */
bool lvk_ckpt_parse_memory(lvk_ckpt *ck, const uint8_t *data, uint64_t size, const char *name,
                           const lvk_ckpt_options *opt, lvk_err *err);
void lvk_ckpt_close(lvk_ckpt *ck);

/* NULL if the checkpoint has no tensor of that name. Binary search over a sorted index. */
const lvk_ckpt_tensor *lvk_ckpt_find(const lvk_ckpt *ck, const char *name);

/* Copies bytes [from, from + n) of the tensor's concatenated slices into dst. */
bool lvk_ckpt_read(const lvk_ckpt *ck, const lvk_ckpt_tensor *t, uint64_t from, uint64_t n, void *dst,
                   lvk_err *err);
/* A pointer to bytes [from, from + n) if they lie inside one slice (no copy), else NULL. */
const uint8_t *lvk_ckpt_peek(const lvk_ckpt *ck, const lvk_ckpt_tensor *t, uint64_t from, uint64_t n);

/* The trailer MindSpore appends with crc_check=True: "crc_num" then the CRC-32 of every byte
 * before it as 10 big-endian bytes (serialization.py: crc_num.to_bytes(10, byteorder='big')). */
#define LVK_CKPT_CRC_TRAILER_SIZE 17
void lvk_ckpt_crc_trailer(uint32_t crc, uint8_t out[LVK_CKPT_CRC_TRAILER_SIZE]);

#endif
