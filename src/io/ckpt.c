#include "io/ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/crc32.h"

static bool bytes_equal_str(const char *bytes, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(bytes, s, len) == 0;
}

/* ---- protobuf wire format ---------------------------------------------------------------- */

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* A cursor over [pos, end) of the records, with what it needs to word an error. */
typedef struct wire {
    const uint8_t *data;
    uint64_t pos, end;
    const char *file;
    lvk_err *err;
} wire;

typedef unsigned long long ull;

static bool wire_varint(wire *w, uint64_t *out, const char *what)
{
    uint64_t start = w->pos, v = 0;
    for (int i = 0; i < 10; i++) {
        if (w->pos >= w->end)
            return lvk_fail(w->err, "%s: at byte %llu: %s: varint truncated (the record ends at byte %llu)", w->file,
                            (ull)start, what, (ull)w->end);
        uint8_t b = w->data[w->pos++];
        if (i == 9 && b > 1)
            return lvk_fail(w->err, "%s: at byte %llu: %s: varint overflows 64 bits", w->file, (ull)start, what);
        v |= (uint64_t)(b & 0x7Fu) << (7 * i);
        if (!(b & 0x80u)) {
            *out = v;
            return true;
        }
    }
    return lvk_fail(w->err, "%s: at byte %llu: %s: varint overflows 64 bits", w->file, (ull)start, what); /* not reached */
}

/* Reads a length prefix and checks the bytes it promises are there; *start is where they begin. */
static bool wire_len(wire *w, uint64_t *start, uint64_t *len, const char *what)
{
    uint64_t at = w->pos;
    if (!wire_varint(w, len, what))
        return false;
    if (*len > w->end - w->pos)
        return lvk_fail(w->err, "%s: at byte %llu: %s: length %llu goes past the end of its record (%llu bytes left)",
                        w->file, (ull)at, what, (ull)*len, (ull)(w->end - w->pos));
    *start = w->pos;
    w->pos += *len;
    return true;
}

static bool wire_skip(wire *w, unsigned wire_type, uint64_t field, const char *where)
{
    uint64_t at = w->pos, v, start;
    switch (wire_type) {
    case WIRE_VARINT:
        return wire_varint(w, &v, where);
    case WIRE_LEN:
        return wire_len(w, &start, &v, where);
    case WIRE_I64:
    case WIRE_I32: {
        uint64_t n = wire_type == WIRE_I64 ? 8 : 4;
        if (n > w->end - w->pos)
            return lvk_fail(w->err, "%s: at byte %llu: %s: field %llu truncated", w->file, (ull)at, where, (ull)field);
        w->pos += n;
        return true;
    }
    default:
        return lvk_fail(w->err, "%s: at byte %llu: %s: field %llu has wire type %u, which a checkpoint never uses",
                        w->file, (ull)at, where, (ull)field, wire_type);
    }
}

static bool wire_key(wire *w, uint64_t *field, unsigned *wire_type, const char *where)
{
    uint64_t at = w->pos, key;
    if (!wire_varint(w, &key, where))
        return false;
    *field = key >> 3;
    *wire_type = (unsigned)(key & 7u);
    if (*field == 0)
        return lvk_fail(w->err, "%s: at byte %llu: %s: field number 0 is invalid", w->file, (ull)at, where);
    return true;
}

/* ---- one Value record -------------------------------------------------------------------- */

/* What one Value record holds: a name and a TensorProto (kept as byte ranges into the file). */
typedef struct value_record {
    uint64_t offset; /* of the Value, for messages */
    const char *tag;
    uint64_t tag_len;
    bool has_tag, has_tensor, is_map;
    int n_dims;
    int64_t dims[LVK_CKPT_MAX_DIMS];
    const char *type;
    uint64_t type_len;
    bool has_type, has_content;
    uint64_t content_offset, content_size;
} value_record;

static bool parse_dim(wire *w, value_record *v, uint64_t raw, uint64_t at)
{
    if (v->n_dims >= LVK_CKPT_MAX_DIMS)
        return lvk_fail(w->err, "%s: at byte %llu: tensor has more than %d dims", w->file, (ull)at,
                        LVK_CKPT_MAX_DIMS);
    int64_t d = (int64_t)raw;
    if (d < 0)
        return lvk_fail(w->err, "%s: at byte %llu: negative dim %lld", w->file, (ull)at, (long long)d);
    v->dims[v->n_dims++] = d;
    return true;
}

static bool parse_tensor_proto(wire w, value_record *v)
{
    while (w.pos < w.end) {
        uint64_t at = w.pos, field, start, len, raw;
        unsigned wt;
        if (!wire_key(&w, &field, &wt, "TensorProto"))
            return false;
        if (field == 1 && wt == WIRE_VARINT) { /* dims, unpacked */
            if (!wire_varint(&w, &raw, "dims") || !parse_dim(&w, v, raw, at))
                return false;
        } else if (field == 1 && wt == WIRE_LEN) { /* dims, packed */
            if (!wire_len(&w, &start, &len, "packed dims"))
                return false;
            wire packed = w;
            packed.pos = start;
            packed.end = start + len;
            while (packed.pos < packed.end) {
                uint64_t dim_at = packed.pos;
                if (!wire_varint(&packed, &raw, "packed dims") || !parse_dim(&w, v, raw, dim_at))
                    return false;
            }
        } else if (field == 2 && wt == WIRE_LEN) {
            if (!wire_len(&w, &start, &len, "tensor_type"))
                return false;
            v->type = (const char *)w.data + start;
            v->type_len = len;
            v->has_type = true;
        } else if (field == 3 && wt == WIRE_LEN) {
            if (!wire_len(&w, &start, &len, "tensor_content"))
                return false;
            v->content_offset = start;
            v->content_size = len;
            v->has_content = true;
        } else if (!wire_skip(&w, wt, field, "TensorProto")) {
            return false;
        }
    }
    return true;
}

static bool parse_value(wire w, value_record *v)
{
    memset(v, 0, sizeof *v);
    v->offset = w.pos;
    while (w.pos < w.end) {
        uint64_t field, start, len;
        unsigned wt;
        if (!wire_key(&w, &field, &wt, "Value"))
            return false;
        if (field == 1 && wt == WIRE_LEN) {
            if (!wire_len(&w, &start, &len, "tag"))
                return false;
            v->tag = (const char *)w.data + start;
            v->tag_len = len;
            v->has_tag = true;
        } else if (field == 2 && wt == WIRE_LEN) {
            if (!wire_len(&w, &start, &len, "tensor"))
                return false;
            wire sub = w;
            sub.pos = start;
            sub.end = start + len;
            v->has_tensor = true;
            v->is_map = false; /* a oneof: the last member wins */
            v->n_dims = 0;
            v->has_type = v->has_content = false;
            if (!parse_tensor_proto(sub, v))
                return false;
        } else if (field == 3 && wt == WIRE_LEN) {
            if (!wire_len(&w, &start, &len, "maptensor"))
                return false;
            v->is_map = true;
            v->has_tensor = false;
        } else if (!wire_skip(&w, wt, field, "Value")) {
            return false;
        }
    }
    if (!v->has_tag)
        return lvk_fail(w.err, "%s: at byte %llu: Value record without a tag (name)", w.file, (ull)v->offset);
    if (memchr(v->tag, 0, (size_t)v->tag_len))
        return lvk_fail(w.err, "%s: at byte %llu: tensor name contains a NUL byte", w.file, (ull)v->offset);
    if (v->has_tensor && (!v->has_type || !v->has_content))
        return lvk_fail(w.err, "%s: at byte %llu: tensor '%.*s' lacks its %s", w.file, (ull)v->offset,
                        (int)(v->tag_len > 200 ? 200 : v->tag_len), v->tag,
                        v->has_type ? "tensor_content" : "tensor_type");
    if (!v->has_tensor && !v->is_map)
        return lvk_fail(w.err, "%s: at byte %llu: Value '%.*s' has neither a tensor nor a map tensor", w.file,
                        (ull)v->offset, (int)(v->tag_len > 200 ? 200 : v->tag_len), v->tag);
    return true;
}

/* ---- building the index ------------------------------------------------------------------ */

typedef struct lvk_ckpt_name_index {
    const char *name;
    int index;
} name_index;

typedef struct index_builder {
    lvk_ckpt *ck;
    wire w;
    int cap_tensors, n_slices, cap_slices;
    uint64_t last_tensor_bytes; /* bytes of the last tensor's slices so far */
} index_builder;

static void add_note(lvk_ckpt *ck, const char *fmt_name, const value_record *v)
{
    ck->n_skipped++;
    size_t used = strlen(ck->notes);
    if (used + 1 >= sizeof ck->notes)
        return;
    snprintf(ck->notes + used, sizeof ck->notes - used, "%sskipped %s '%.*s'", used ? "; " : "", fmt_name,
             (int)(v->tag_len > 80 ? 80 : v->tag_len), v->tag);
}

static bool grow(void **array, int *cap, int need, size_t elem_size, lvk_err *err)
{
    if (need <= *cap)
        return true;
    int new_cap = *cap ? *cap * 2 : 64;
    while (new_cap < need)
        new_cap *= 2;
    void *p = lvk_realloc(*array, (size_t)new_cap * elem_size);
    if (!p)
        return lvk_fail(err, "out of host memory indexing the checkpoint");
    *array = p;
    *cap = new_cap;
    return true;
}

/* Only ever asked about the last tensor, the one still open for slices. */
static uint64_t tensor_bytes_so_far(const index_builder *b, const lvk_ckpt_tensor *t)
{
    (void)t;
    return b->last_tensor_bytes;
}

static bool check_complete(const index_builder *b, const lvk_ckpt_tensor *t)
{
    uint64_t have = tensor_bytes_so_far(b, t);
    if (have != t->n_bytes)
        return lvk_fail(b->w.err,
                        "%s: at byte %llu: tensor '%s': its %d slice(s) hold %llu bytes, but dims x %s size need %llu",
                        b->w.file, (ull)t->record_offset, t->name, t->n_slices, (ull)have, lvk_dtype_name(t->dtype),
                        (ull)t->n_bytes);
    return true;
}

static bool same_shape(const lvk_ckpt_tensor *t, const value_record *v)
{
    if (t->n_dims != v->n_dims)
        return false;
    for (int i = 0; i < t->n_dims; i++)
        if (t->dims[i] != v->dims[i])
            return false;
    return true;
}

static bool add_slice(index_builder *b, lvk_ckpt_tensor *t, const value_record *v)
{
    if (!grow((void **)&b->ck->slice_store, &b->cap_slices, b->n_slices + 1, sizeof(lvk_ckpt_slice), b->w.err))
        return false;
    b->ck->slice_store[b->n_slices].offset = v->content_offset;
    b->ck->slice_store[b->n_slices].size = v->content_size;
    b->n_slices++;
    t->n_slices++;
    b->last_tensor_bytes += v->content_size; /* each <= file size: cannot overflow */
    if (tensor_bytes_so_far(b, t) > t->n_bytes)
        return check_complete(b, t);
    return true;
}

static bool start_tensor(index_builder *b, const value_record *v, lvk_dtype dtype)
{
    lvk_ckpt *ck = b->ck;
    const char *file = b->w.file;
    if (!grow((void **)&ck->tensors, &b->cap_tensors, ck->n_tensors + 1, sizeof(lvk_ckpt_tensor), b->w.err))
        return false;
    lvk_ckpt_tensor *t = &ck->tensors[ck->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = lvk_malloc((size_t)v->tag_len + 1);
    if (!t->name)
        return lvk_fail(b->w.err, "out of host memory indexing the checkpoint");
    memcpy(t->name, v->tag, (size_t)v->tag_len);
    t->name[v->tag_len] = '\0';
    ck->n_tensors++; /* counted now so that close frees the name on any later failure */
    t->dtype = dtype;
    t->n_dims = v->n_dims;
    memcpy(t->dims, v->dims, sizeof t->dims);
    t->record_offset = v->offset;
    uint64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) {
        uint64_t d = (uint64_t)t->dims[i];
        if (d != 0 && n > UINT64_MAX / d)
            return lvk_fail(b->w.err, "%s: at byte %llu: tensor '%s': the product of its dims overflows 64 bits",
                            file, (ull)v->offset, t->name);
        n *= d;
    }
    size_t es = lvk_dtype_size(dtype);
    if (n > UINT64_MAX / es)
        return lvk_fail(b->w.err, "%s: at byte %llu: tensor '%s': its size in bytes overflows 64 bits", file,
                        (ull)v->offset, t->name);
    t->n_elems = n;
    t->n_bytes = n * es;
    b->last_tensor_bytes = 0;
    return add_slice(b, t, v);
}

/* Turns one Value into a new tensor or the next slice of the previous one. */
static bool index_value(index_builder *b, const value_record *v)
{
    lvk_ckpt *ck = b->ck;
    const char *file = b->w.file;
    lvk_ckpt_tensor *prev = ck->n_tensors ? &ck->tensors[ck->n_tensors - 1] : NULL;
    bool continues_prev = prev && bytes_equal_str(v->tag, (size_t)v->tag_len, prev->name);

    if (v->is_map) {
        if (prev && !continues_prev && !check_complete(b, prev))
            return false;
        add_note(ck, "map tensor", v);
        return true;
    }
    if (bytes_equal_str(v->type, (size_t)v->type_len, "str") || bytes_equal_str(v->type, (size_t)v->type_len, "Int4")) {
        if (prev && !continues_prev && !check_complete(b, prev))
            return false;
        add_note(ck, bytes_equal_str(v->type, (size_t)v->type_len, "str") ? "string value" : "Int4 tensor", v);
        return true;
    }
    lvk_dtype dtype;
    if (!lvk_dtype_from_name(v->type, (size_t)v->type_len, &dtype))
        return lvk_fail(b->w.err, "%s: at byte %llu: tensor '%.*s': unknown tensor_type '%.*s'", file, (ull)v->offset,
                        (int)(v->tag_len > 200 ? 200 : v->tag_len), v->tag,
                        (int)(v->type_len > 40 ? 40 : v->type_len), v->type);

    if (continues_prev) {
        if (tensor_bytes_so_far(b, prev) >= prev->n_bytes)
            return lvk_fail(b->w.err,
                            "%s: at byte %llu: tensor '%s' appears again although its first record (at byte %llu) "
                            "already held all %llu bytes",
                            file, (ull)v->offset, prev->name, (ull)prev->record_offset, (ull)prev->n_bytes);
        if (dtype != prev->dtype || !same_shape(prev, v))
            return lvk_fail(b->w.err,
                            "%s: at byte %llu: slice of tensor '%s' has a different dtype or dims than its first "
                            "record (at byte %llu)",
                            file, (ull)v->offset, prev->name, (ull)prev->record_offset);
        return add_slice(b, prev, v);
    }
    if (prev && !check_complete(b, prev))
        return false;
    return start_tensor(b, v, dtype);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const name_index *)a)->name, ((const name_index *)b)->name);
}

/* Sorts the names for lookup and rejects a name used by two separate tensors. */
static bool build_name_index(lvk_ckpt *ck, const char *file, lvk_err *err)
{
    size_t count = ck->n_tensors > 0 ? (size_t)ck->n_tensors : 1;
    ck->by_name = lvk_malloc(count * sizeof(name_index));
    if (!ck->by_name)
        return lvk_fail(err, "out of host memory indexing the checkpoint");
    for (int i = 0; i < ck->n_tensors; i++) {
        ck->by_name[i].name = ck->tensors[i].name;
        ck->by_name[i].index = i;
    }
    qsort(ck->by_name, (size_t)ck->n_tensors, sizeof(name_index), compare_names);
    for (int i = 1; i < ck->n_tensors; i++) {
        if (strcmp(ck->by_name[i - 1].name, ck->by_name[i].name) == 0) {
            const lvk_ckpt_tensor *a = &ck->tensors[ck->by_name[i - 1].index];
            const lvk_ckpt_tensor *b = &ck->tensors[ck->by_name[i].index];
            if (a->record_offset > b->record_offset) {
                const lvk_ckpt_tensor *t = a;
                a = b;
                b = t;
            }
            return lvk_fail(err, "%s: at byte %llu: tensor '%s' appears a second time (first at byte %llu), "
                                 "not right after its first record",
                            file, (ull)b->record_offset, b->name, (ull)a->record_offset);
        }
    }
    return true;
}

static bool scan_records(lvk_ckpt *ck, const char *file, lvk_err *err)
{
    index_builder b = {.ck = ck, .w = {ck->data, 0, ck->records_size, file, err}};
    if (ck->records_size > 0 && ck->data[0] != 0x0A)
        return lvk_fail(err, "%s: at byte 0: not a MindSpore checkpoint (first byte 0x%02X, expected 0x0A, the start "
                             "of a Value record; encrypted checkpoints are not supported)",
                        file, ck->data[0]);
    while (b.w.pos < b.w.end) {
        uint64_t field, start, len;
        unsigned wt;
        if (!wire_key(&b.w, &field, &wt, "record"))
            return false;
        if (field == 1 && wt == WIRE_LEN) {
            if (!wire_len(&b.w, &start, &len, "Value record"))
                return false;
            wire sub = b.w;
            sub.pos = start;
            sub.end = start + len;
            value_record v;
            if (!parse_value(sub, &v) || !index_value(&b, &v))
                return false;
        } else if (!wire_skip(&b.w, wt, field, "record")) {
            return false;
        }
    }
    if (ck->n_tensors && !check_complete(&b, &ck->tensors[ck->n_tensors - 1]))
        return false;
    /* slices were appended tensor by tensor, so each tensor's run starts where the previous ended */
    int next = 0;
    for (int i = 0; i < ck->n_tensors; i++) {
        ck->tensors[i].slices = ck->slice_store + next;
        next += ck->tensors[i].n_slices;
    }
    return build_name_index(ck, file, err);
}

/* ---- the CRC trailer --------------------------------------------------------------------- */

void lvk_ckpt_crc_trailer(uint32_t crc, uint8_t out[LVK_CKPT_CRC_TRAILER_SIZE])
{
    memcpy(out, "crc_num", 7);
    memset(out + 7, 0, 10);
    for (int i = 0; i < 4; i++)
        out[16 - i] = (uint8_t)(crc >> (8 * i));
}

static bool check_crc_trailer(lvk_ckpt *ck, uint64_t size, const char *file, const lvk_ckpt_options *opt,
                              lvk_err *err)
{
    ck->records_size = size;
    if (size < LVK_CKPT_CRC_TRAILER_SIZE || memcmp(ck->data + size - 17, "crc_num", 7) != 0)
        return true;
    ck->has_crc = true;
    ck->records_size = size - LVK_CKPT_CRC_TRAILER_SIZE;
    const uint8_t *digits = ck->data + size - 10;
    uint64_t stored = 0;
    for (int i = 0; i < 10; i++)
        stored = (stored << 8) | digits[i]; /* 10 bytes: the top 2 shift out, and must be 0 anyway */
    if (digits[0] | digits[1] | digits[2] | digits[3] | digits[4] | digits[5])
        return lvk_fail(err, "%s: at byte %llu: the crc_num trailer holds a value over 32 bits: not a CRC-32", file,
                        (ull)(size - 10));
    ck->crc_stored = (uint32_t)stored;
    if (opt && opt->skip_crc)
        return true;
    double t0 = lvk_now();
    uint32_t crc = 0;
    const uint64_t chunk = 1u << 30; /* size_t may be 32-bit */
    for (uint64_t at = 0; at < ck->records_size; at += chunk) {
        uint64_t n = ck->records_size - at < chunk ? ck->records_size - at : chunk;
        crc = lvk_crc32_update(crc, ck->data + at, (size_t)n);
    }
    ck->crc_seconds = lvk_now() - t0;
    if (crc != ck->crc_stored)
        return lvk_fail(err, "%s: at byte %llu: CRC mismatch: the crc_num trailer says 0x%08X, the %llu bytes before "
                             "it give 0x%08X (the file is damaged; --no-crc skips the check)",
                        file, (ull)(size - 17), (unsigned)ck->crc_stored, (ull)ck->records_size, (unsigned)crc);
    ck->crc_verified = true;
    return true;
}

/* ---- open / close ------------------------------------------------------------------------ */

static bool index_data(lvk_ckpt *ck, uint64_t size, const char *file, const lvk_ckpt_options *opt, lvk_err *err)
{
    if (size == 0)
        return lvk_fail(err, "%s: the file is empty, not a checkpoint", file);
    if (!check_crc_trailer(ck, size, file, opt, err))
        return false;
    double t0 = lvk_now();
    if (!scan_records(ck, file, err))
        return false;
    ck->index_seconds = lvk_now() - t0;
    return true;
}

bool lvk_ckpt_parse_memory(lvk_ckpt *ck, const uint8_t *data, uint64_t size, const char *name,
                           const lvk_ckpt_options *opt, lvk_err *err)
{
    memset(ck, 0, sizeof *ck);
    ck->path = lvk_malloc(strlen(name) + 1);
    if (!ck->path)
        return lvk_fail(err, "out of host memory");
    strcpy(ck->path, name);
    ck->data = data;
    if (!index_data(ck, size, name, opt, err)) {
        lvk_ckpt_close(ck);
        return false;
    }
    return true;
}

bool lvk_ckpt_open(lvk_ckpt *ck, const char *path, const lvk_ckpt_options *opt, lvk_err *err)
{
    memset(ck, 0, sizeof *ck);
    ck->path = lvk_malloc(strlen(path) + 1);
    if (!ck->path)
        return lvk_fail(err, "out of host memory");
    strcpy(ck->path, path);
    if (!lvk_file_map_open(&ck->map, path, err)) {
        lvk_ckpt_close(ck);
        return false;
    }
    ck->data = ck->map.data;
    if (!index_data(ck, ck->map.size, path, opt, err)) {
        lvk_ckpt_close(ck);
        return false;
    }
    return true;
}

void lvk_ckpt_close(lvk_ckpt *ck)
{
    for (int i = 0; i < ck->n_tensors; i++)
        free(ck->tensors[i].name);
    free(ck->tensors);
    free(ck->slice_store);
    free(ck->by_name);
    free(ck->path);
    if (ck->map.handle || ck->map.data)
        lvk_file_map_close(&ck->map);
    memset(ck, 0, sizeof *ck);
}

/* ---- lookup and reading ------------------------------------------------------------------ */

const lvk_ckpt_tensor *lvk_ckpt_find(const lvk_ckpt *ck, const char *name)
{
    int lo = 0, hi = ck->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, ck->by_name[mid].name);
        if (c == 0)
            return &ck->tensors[ck->by_name[mid].index];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool lvk_ckpt_read(const lvk_ckpt *ck, const lvk_ckpt_tensor *t, uint64_t from, uint64_t n, void *dst,
                   lvk_err *err)
{
    if (from > t->n_bytes || n > t->n_bytes - from)
        return lvk_fail(err, "%s: tensor '%s': bytes [%llu, +%llu) are outside its %llu bytes", ck->path, t->name,
                        (ull)from, (ull)n, (ull)t->n_bytes);
    uint8_t *out = dst;
    uint64_t slice_start = 0;
    for (int i = 0; i < t->n_slices && n > 0; i++) {
        const lvk_ckpt_slice *s = &t->slices[i];
        uint64_t slice_end = slice_start + s->size;
        if (from < slice_end) {
            uint64_t within = from - slice_start;
            uint64_t take = s->size - within < n ? s->size - within : n;
            memcpy(out, ck->data + s->offset + within, (size_t)take);
            out += take;
            from += take;
            n -= take;
        }
        slice_start = slice_end;
    }
    return true;
}

const uint8_t *lvk_ckpt_peek(const lvk_ckpt *ck, const lvk_ckpt_tensor *t, uint64_t from, uint64_t n)
{
    if (from > t->n_bytes || n > t->n_bytes - from)
        return NULL;
    uint64_t slice_start = 0;
    for (int i = 0; i < t->n_slices; i++) {
        const lvk_ckpt_slice *s = &t->slices[i];
        if (from >= slice_start && from - slice_start <= s->size && n <= s->size - (from - slice_start))
            return ck->data + s->offset + (from - slice_start);
        slice_start += s->size;
    }
    return NULL;
}
