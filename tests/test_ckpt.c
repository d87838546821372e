/* The .ckpt reader: against checkpoints MindSpore itself wrote (tests/data/ckpt, made by
 * tools/make_mindspore_ckpts.py), and against hand-built bad input, which must give a clear error
 * and never an out-of-bounds read (run under the ASan build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "io/ckpt.h"
#include "io/crc32.h"

/* ---- a small protobuf writer for building test files ------------------------------------- */

typedef struct pb {
    uint8_t data[1 << 16];
    size_t size;
} pb;

static void pb_raw(pb *b, const void *p, size_t n)
{
    assert_true(b->size + n <= sizeof b->data);
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void pb_varint(pb *b, uint64_t v)
{
    while (v >= 0x80) {
        uint8_t c = (uint8_t)(v | 0x80);
        pb_raw(b, &c, 1);
        v >>= 7;
    }
    uint8_t c = (uint8_t)v;
    pb_raw(b, &c, 1);
}

static void pb_key(pb *b, unsigned field, unsigned wire_type)
{
    pb_varint(b, (uint64_t)field << 3 | wire_type);
}

static void pb_bytes(pb *b, unsigned field, const void *p, size_t n)
{
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_raw(b, p, n);
}

static void pb_message(pb *b, unsigned field, const pb *inner)
{
    pb_bytes(b, field, inner->data, inner->size);
}

typedef struct tensor_desc {
    const char *tag, *type;
    int n_dims;
    int64_t dims[4];
    const void *content;
    size_t content_size;
    bool packed_dims, unknown_fields;
} tensor_desc;

/* Appends one "0x0A <len> Value" record, as MindSpore writes each slice. */
static void pb_value(pb *file, const tensor_desc *d)
{
    static pb tensor, value;
    tensor.size = value.size = 0;
    if (d->packed_dims) {
        pb dims = {.size = 0};
        for (int i = 0; i < d->n_dims; i++)
            pb_varint(&dims, (uint64_t)d->dims[i]);
        if (d->n_dims)
            pb_message(&tensor, 1, &dims);
    } else {
        for (int i = 0; i < d->n_dims; i++) {
            pb_key(&tensor, 1, 0);
            pb_varint(&tensor, (uint64_t)d->dims[i]);
        }
    }
    if (d->unknown_fields) {
        pb_key(&tensor, 9, 0);
        pb_varint(&tensor, 12345);
        pb_key(&tensor, 10, 5);
        pb_raw(&tensor, "abcd", 4);
    }
    if (d->type)
        pb_bytes(&tensor, 2, d->type, strlen(d->type));
    if (d->content)
        pb_bytes(&tensor, 3, d->content, d->content_size);
    if (d->tag)
        pb_bytes(&value, 1, d->tag, strlen(d->tag));
    if (d->unknown_fields) {
        pb_key(&value, 15, 1);
        pb_raw(&value, "12345678", 8);
    }
    pb_message(&value, 2, &tensor);
    pb_message(file, 1, &value);
}

static const float four_floats[4] = {1.0f, -2.0f, 3.5f, 0.25f};

static void pb_f32x4(pb *file, const char *tag)
{
    tensor_desc d = {.tag = tag, .type = "Float32", .n_dims = 1, .dims = {4}, .content = four_floats,
                     .content_size = 16};
    pb_value(file, &d);
}

static void pb_add_crc(pb *b)
{
    uint8_t trailer[LVK_CKPT_CRC_TRAILER_SIZE];
    lvk_ckpt_crc_trailer(lvk_crc32_update(0, b->data, b->size), trailer);
    pb_raw(b, trailer, sizeof trailer);
}

/* Parses from a heap copy of exactly `size` bytes, so that ASan sees any read past the end. */
static bool parse_exact(lvk_ckpt *ck, const uint8_t *data, size_t size, const lvk_ckpt_options *opt, lvk_err *err)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    if (size)
        memcpy(copy, data, size);
    bool ok = lvk_ckpt_parse_memory(ck, copy, size, "test.ckpt", opt, err);
    if (ok) {
        /* touch every byte of every tensor while the buffer is alive */
        for (int i = 0; i < ck->n_tensors; i++) {
            const lvk_ckpt_tensor *t = &ck->tensors[i];
            uint8_t *buf = malloc(t->n_bytes ? (size_t)t->n_bytes : 1);
            assert_non_null(buf);
            assert_true(lvk_ckpt_read(ck, t, 0, t->n_bytes, buf, err));
            free(buf);
        }
        lvk_ckpt_close(ck);
    }
    free(copy);
    return ok;
}

static void expect_error(const pb *b, const char *phrase)
{
    lvk_ckpt ck;
    lvk_err err = {{0}};
    bool ok = parse_exact(&ck, b->data, b->size, NULL, &err);
    if (ok || !strstr(err.msg, phrase))
        print_error("expected an error with '%s', got %s: '%s'\n", phrase, ok ? "success" : "error", err.msg);
    assert_false(ok);
    assert_non_null(strstr(err.msg, phrase));
    assert_non_null(strstr(err.msg, "test.ckpt")); /* every message names the file */
}

/* ---- bad input --------------------------------------------------------------------------- */

static void empty_file(void **state)
{
    (void)state;
    pb b = {.size = 0};
    expect_error(&b, "empty");
}

static void truncated_file_and_record(void **state)
{
    (void)state;
    pb b = {.size = 0};
    pb_f32x4(&b, "a");
    size_t first = b.size;
    pb_f32x4(&b, "b");
    size_t full = b.size;
    b.size = full - 3; /* cut inside the last record's content */
    expect_error(&b, "past the end");
    b.size = first + 3; /* the second record's length promises more than is left */
    expect_error(&b, "past the end");
    b.size = first + 1; /* cut after the second record's key */
    expect_error(&b, "varint truncated");
    /* a record that ends inside a varint */
    pb v = {.size = 0};
    uint8_t bytes[] = {0x0A, 0x03, 0x0A, 0x80, 0x80};
    pb_raw(&v, bytes, sizeof bytes);
    expect_error(&v, "varint truncated");
}

static void every_prefix_fails_cleanly(void **state)
{
    (void)state;
    pb b = {.size = 0};
    pb_f32x4(&b, "first");
    tensor_desc d = {.tag = "second", .type = "Float32", .n_dims = 2, .dims = {2, 2}, .content = four_floats,
                     .content_size = 16, .packed_dims = true};
    pb_value(&b, &d);
    pb_add_crc(&b);
    int successes = 0;
    for (size_t n = 1; n < b.size; n++) {
        lvk_ckpt ck;
        lvk_err err;
        lvk_ckpt_options skip = {.skip_crc = true};
        if (parse_exact(&ck, b.data, n, &skip, &err))
            successes++; /* only a cut at a record boundary parses */
        else
            assert_true(strlen(err.msg) > 0);
    }
    assert_int_equal(successes, 2); /* after the first record, and the records without the trailer */
}

static void varint_overflow(void **state)
{
    (void)state;
    pb b = {.size = 0};
    uint8_t bytes[] = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00};
    pb_raw(&b, bytes, sizeof bytes);
    expect_error(&b, "overflow");
    pb c = {.size = 0};
    uint8_t eleven[] = {0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    pb_raw(&c, eleven, sizeof eleven);
    expect_error(&c, "varint overflows 64 bits");
}

static void length_past_the_end(void **state)
{
    (void)state;
    pb b = {.size = 0};
    uint8_t bytes[] = {0x0A, 0xE8, 0x07, 0x0A, 0x01, 'a'}; /* a Value of 1000 bytes, 3 present */
    pb_raw(&b, bytes, sizeof bytes);
    expect_error(&b, "length 1000 goes past the end");
    pb c = {.size = 0};
    pb inner = {.size = 0};
    uint8_t tag_too_long[] = {0x0A, 0x7F, 'a', 'b'}; /* tag length 127 inside a 4-byte Value */
    pb_raw(&inner, tag_too_long, sizeof tag_too_long);
    pb_message(&c, 1, &inner);
    expect_error(&c, "goes past the end of its record");
}

static void slices_that_do_not_add_up(void **state)
{
    (void)state;
    pb b = {.size = 0};
    tensor_desc d = {.tag = "w", .type = "Float32", .n_dims = 1, .dims = {4}, .content = four_floats,
                     .content_size = 8};
    pb_value(&b, &d); /* 8 of 16 bytes, then the file ends */
    expect_error(&b, "slice(s) hold 8 bytes, but dims x Float32 size need 16");
    pb_f32x4(&b, "next"); /* 8 of 16 bytes, then another tensor starts */
    expect_error(&b, "need 16");
    pb c = {.size = 0};
    d.content_size = 12;
    pb_value(&c, &d);
    pb_value(&c, &d); /* 12 + 12 > 16 */
    expect_error(&c, "slice(s) hold 24 bytes");
    pb e = {.size = 0};
    d.content_size = 8;
    pb_value(&e, &d);
    d.dims[0] = 5; /* a slice must repeat the full dims */
    pb_value(&e, &d);
    expect_error(&e, "different dtype or dims");
}

static void dims_product_overflow(void **state)
{
    (void)state;
    pb b = {.size = 0};
    tensor_desc d = {.tag = "huge", .type = "Float16", .n_dims = 2, .dims = {(int64_t)1 << 40, (int64_t)1 << 40},
                     .content = four_floats, .content_size = 16};
    pb_value(&b, &d);
    expect_error(&b, "product of its dims overflows");
    pb c = {.size = 0};
    d.n_dims = 1;
    d.type = "Float64";
    d.dims[0] = (int64_t)1 << 62; /* fits in elements, not in bytes */
    pb_value(&c, &d);
    expect_error(&c, "size in bytes overflows");
    pb e = {.size = 0};
    tensor_desc neg = {.tag = "n", .type = "Int8", .n_dims = 1, .dims = {-1}, .content = "", .content_size = 0};
    pb_value(&e, &neg);
    expect_error(&e, "negative dim");
}

static void unknown_dtype(void **state)
{
    (void)state;
    pb b = {.size = 0};
    tensor_desc d = {.tag = "w", .type = "Float8", .n_dims = 1, .dims = {4}, .content = four_floats,
                     .content_size = 4};
    pb_value(&b, &d);
    expect_error(&b, "unknown tensor_type 'Float8'");
}

static void same_tag_in_two_places(void **state)
{
    (void)state;
    pb b = {.size = 0};
    pb_f32x4(&b, "a");
    pb_f32x4(&b, "b");
    pb_f32x4(&b, "a");
    expect_error(&b, "'a' appears a second time");
    pb c = {.size = 0};
    pb_f32x4(&c, "a");
    pb_f32x4(&c, "a"); /* consecutive, but the first was already complete */
    expect_error(&c, "appears again");
}

static void not_a_checkpoint(void **state)
{
    (void)state;
    pb text = {.size = 0};
    const char *s = "hello, this is a text file\nwith two lines\n";
    pb_raw(&text, s, strlen(s));
    expect_error(&text, "not a MindSpore checkpoint");

    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 2000; round++) {
        pb r = {.size = 0};
        size_t n = 1 + (size_t)(x % 300);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint8_t c = (uint8_t)x;
            pb_raw(&r, &c, 1);
        }
        if (round % 2)
            r.data[0] = 0x0A; /* get past the first-byte check half the time */
        lvk_ckpt ck;
        lvk_err err = {{0}};
        if (!parse_exact(&ck, r.data, r.size, NULL, &err))
            assert_true(strlen(err.msg) > 0);
    }
    pb first = {.size = 0};
    uint8_t bytes[] = {0x50, 0x4B, 0x03, 0x04};
    pb_raw(&first, bytes, sizeof bytes);
    expect_error(&first, "first byte 0x50");
}

static void bad_crc(void **state)
{
    (void)state;
    pb b = {.size = 0};
    pb_f32x4(&b, "a");
    pb_add_crc(&b);
    lvk_ckpt ck;
    lvk_err err;
    assert_true(parse_exact(&ck, b.data, b.size, NULL, &err));
    b.data[b.size - 20] ^= 0x01; /* inside the tensor content */
    expect_error(&b, "CRC mismatch");
    lvk_ckpt_options skip = {.skip_crc = true};
    assert_true(parse_exact(&ck, b.data, b.size, &skip, &err));
    b.data[b.size - 20] ^= 0x01;
    b.data[b.size - 10] = 0x01; /* a trailer value over 32 bits */
    expect_error(&b, "over 32 bits");
}

static void missing_fields(void **state)
{
    (void)state;
    pb b = {.size = 0};
    tensor_desc d = {.tag = NULL, .type = "Float32", .n_dims = 1, .dims = {4}, .content = four_floats,
                     .content_size = 16};
    pb_value(&b, &d);
    expect_error(&b, "without a tag");
    pb c = {.size = 0};
    d.tag = "w";
    d.content = NULL;
    pb_value(&c, &d);
    expect_error(&c, "lacks its tensor_content");
    pb e = {.size = 0};
    uint8_t group[] = {0x0A, 0x02, 0x0B, 0x0C}; /* wire type 3 (group) */
    pb_raw(&e, group, sizeof group);
    expect_error(&e, "wire type 3");
}

/* ---- good input -------------------------------------------------------------------------- */

static void packed_dims_unknown_fields_and_skips(void **state)
{
    (void)state;
    pb b = {.size = 0};
    tensor_desc d = {.tag = "packed", .type = "Float32", .n_dims = 2, .dims = {2, 2}, .content = four_floats,
                     .content_size = 16, .packed_dims = true, .unknown_fields = true};
    pb_value(&b, &d);
    pb_key(&b, 7, 0); /* an unknown top-level field */
    pb_varint(&b, 99);
    tensor_desc s = {.tag = "version", .type = "str", .n_dims = 1, .dims = {0}, .content = "v\0\0\0",
                     .content_size = 4};
    pb_value(&b, &s);
    pb map = {.size = 0}, value = {.size = 0};
    pb_bytes(&value, 1, "table", 5);
    pb_message(&value, 3, &map);
    pb_message(&b, 1, &value);
    tensor_desc old = {.tag = "old", .type = "Uint8", .n_dims = 1, .dims = {3}, .content = "xyz", .content_size = 3};
    pb_value(&b, &old);

    lvk_ckpt ck;
    lvk_err err;
    assert_true(lvk_ckpt_parse_memory(&ck, b.data, b.size, "mem", NULL, &err));
    assert_int_equal(ck.n_tensors, 2);
    assert_int_equal(ck.n_skipped, 2);
    assert_non_null(strstr(ck.notes, "string value 'version'"));
    assert_non_null(strstr(ck.notes, "map tensor 'table'"));
    const lvk_ckpt_tensor *t = lvk_ckpt_find(&ck, "packed");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->dims[0], 2);
    assert_int_equal(t->dims[1], 2);
    float got[4];
    assert_true(lvk_ckpt_read(&ck, t, 0, 16, got, &err));
    assert_memory_equal(got, four_floats, 16);
    const lvk_ckpt_tensor *u = lvk_ckpt_find(&ck, "old");
    assert_non_null(u);
    assert_int_equal(u->dtype, LVK_DTYPE_U8);
    assert_null(lvk_ckpt_find(&ck, "version"));
    assert_null(lvk_ckpt_find(&ck, "nope"));
    assert_false(lvk_ckpt_read(&ck, t, 10, 7, got, &err));
    assert_non_null(strstr(err.msg, "outside"));
    assert_false(ck.has_crc);
    lvk_ckpt_close(&ck);
}

static void slices_concatenate_in_order(void **state)
{
    (void)state;
    uint8_t content[40];
    for (int i = 0; i < 40; i++)
        content[i] = (uint8_t)(i * 7 + 1);
    pb b = {.size = 0};
    /* [5, 4] Int16 = 40 bytes in slices of 16 + 16 + 8 (cut by raw bytes) */
    for (int s = 0; s < 3; s++) {
        tensor_desc d = {.tag = "t", .type = "Int16", .n_dims = 2, .dims = {5, 4}, .content = content + 16 * s,
                         .content_size = s < 2 ? 16 : 8};
        pb_value(&b, &d);
    }
    pb_f32x4(&b, "after");
    pb_add_crc(&b);
    lvk_ckpt ck;
    lvk_err err;
    assert_true(lvk_ckpt_parse_memory(&ck, b.data, b.size, "mem", NULL, &err));
    assert_true(ck.has_crc);
    assert_true(ck.crc_verified);
    assert_int_equal(ck.records_size, b.size - 17);
    const lvk_ckpt_tensor *t = lvk_ckpt_find(&ck, "t");
    assert_non_null(t);
    assert_int_equal(t->n_slices, 3);
    assert_int_equal(t->n_bytes, 40);
    for (uint64_t from = 0; from < 40; from++) {
        for (uint64_t n = 0; from + n <= 40; n++) {
            uint8_t got[40];
            assert_true(lvk_ckpt_read(&ck, t, from, n, got, &err));
            assert_memory_equal(got, content + from, (size_t)n);
        }
    }
    assert_non_null(lvk_ckpt_peek(&ck, t, 16, 16));
    assert_null(lvk_ckpt_peek(&ck, t, 12, 8)); /* crosses a slice boundary */
    /* zero-copy: the slices point into the buffer itself */
    assert_memory_equal(b.data + t->slices[1].offset, content + 16, 16);
    lvk_ckpt_close(&ck);
}

static void dtype_names_round_trip(void **state)
{
    (void)state;
    for (int d = 0; d < LVK_DTYPE_COUNT; d++) {
        lvk_dtype back;
        const char *name = lvk_dtype_name((lvk_dtype)d);
        assert_true(lvk_dtype_from_name(name, strlen(name), &back));
        assert_int_equal(back, d);
        assert_true(lvk_dtype_size((lvk_dtype)d) >= 1);
    }
    assert_int_equal(lvk_dtype_size(LVK_DTYPE_BF16), 2);
    assert_int_equal(lvk_dtype_size(LVK_DTYPE_F64), 8);
    assert_string_equal(lvk_dtype_name(LVK_DTYPE_BF16), "BFloat16");
}

static void crc32_known_value(void **state)
{
    (void)state;
    assert_int_equal(lvk_crc32_update(0, "123456789", 9), 0xCBF43926u); /* the standard check value */
    uint32_t split = lvk_crc32_update(lvk_crc32_update(0, "1234", 4), "56789", 5);
    assert_int_equal(split, 0xCBF43926u);
}

/* ---- checkpoints MindSpore wrote --------------------------------------------------------- */

static uint8_t *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *size = (size_t)n;
    return buf;
}

static void check_mindspore_file(const char *stem, int want_min_slices)
{
    char path[512];
    size_t json_size, bin_size;
    snprintf(path, sizeof path, "%s/ckpt/%s.expected.json", LVK_TEST_DATA, stem);
    char *json_text = (char *)read_whole(path, &json_size);
    snprintf(path, sizeof path, "%s/ckpt/%s.expected.bin", LVK_TEST_DATA, stem);
    uint8_t *expected = read_whole(path, &bin_size);
    cJSON *root = cJSON_Parse(json_text);
    assert_non_null(root);

    snprintf(path, sizeof path, "%s/ckpt/%s.ckpt", LVK_TEST_DATA, stem);
    lvk_ckpt ck;
    lvk_err err;
    if (!lvk_ckpt_open(&ck, path, NULL, &err))
        fail_msg("%s", err.msg);
    cJSON *tensors = cJSON_GetObjectItem(root, "tensors");
    assert_int_equal(ck.n_tensors, cJSON_GetArraySize(tensors));
    assert_int_equal(ck.n_skipped, cJSON_GetArraySize(cJSON_GetObjectItem(root, "skipped")));
    bool crc = cJSON_IsTrue(cJSON_GetObjectItem(root, "crc"));
    assert_int_equal(ck.has_crc, crc);
    assert_int_equal(ck.crc_verified, crc);
    int most_slices = 0, index = 0;
    for (cJSON *e = tensors->child; e; e = e->next, index++) {
        const char *name = cJSON_GetObjectItem(e, "name")->valuestring;
        const lvk_ckpt_tensor *t = lvk_ckpt_find(&ck, name);
        assert_non_null(t);
        assert_ptr_equal(t, &ck.tensors[index]); /* file order is the order MindSpore saved */
        assert_string_equal(lvk_dtype_name(t->dtype), cJSON_GetObjectItem(e, "dtype")->valuestring);
        cJSON *shape = cJSON_GetObjectItem(e, "shape");
        assert_int_equal(t->n_dims, cJSON_GetArraySize(shape));
        int d = 0;
        for (cJSON *s = shape->child; s; s = s->next, d++)
            assert_int_equal(t->dims[d], (int64_t)s->valuedouble);
        size_t off = (size_t)cJSON_GetObjectItem(e, "offset")->valuedouble;
        size_t n = (size_t)cJSON_GetObjectItem(e, "bytes")->valuedouble;
        assert_int_equal(t->n_bytes, n);
        assert_true(off + n <= bin_size);
        uint8_t *got = malloc(n);
        assert_non_null(got);
        assert_true(lvk_ckpt_read(&ck, t, 0, n, got, &err));
        assert_memory_equal(got, expected + off, n);
        if (n > 10) { /* and a read that starts and ends mid-slice */
            assert_true(lvk_ckpt_read(&ck, t, 3, n - 10, got, &err));
            assert_memory_equal(got, expected + off + 3, n - 10);
        }
        free(got);
        if (t->n_slices > most_slices)
            most_slices = t->n_slices;
    }
    assert_true(most_slices >= want_min_slices);
    lvk_ckpt_close(&ck);
    cJSON_Delete(root);
    free(json_text);
    free(expected);
}

static void mindspore_f16_and_all_dtypes(void **state)
{
    (void)state;
    check_mindspore_file("ms_f16_dtypes", 1);
}

static void mindspore_bf16_sliced_with_crc(void **state)
{
    (void)state;
    check_mindspore_file("ms_bf16_sliced_crc", 10);
}

static void mindspore_array_split_slices(void **state)
{
    (void)state;
    check_mindspore_file("ms_f16_array_split", 2);
}

static void mindspore_crc_detects_damage(void **state)
{
    (void)state;
    char path[512];
    size_t size;
    snprintf(path, sizeof path, "%s/ckpt/ms_bf16_sliced_crc.ckpt", LVK_TEST_DATA);
    uint8_t *data = read_whole(path, &size);
    data[size / 2] ^= 0x40;
    lvk_ckpt ck;
    lvk_err err;
    assert_false(lvk_ckpt_parse_memory(&ck, data, size, "damaged.ckpt", NULL, &err));
    assert_non_null(strstr(err.msg, "CRC mismatch"));
    assert_non_null(strstr(err.msg, "damaged.ckpt"));
    free(data);
    assert_false(lvk_ckpt_open(&ck, "/nonexistent/dir/x.ckpt", NULL, &err));
    assert_non_null(strstr(err.msg, "x.ckpt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_file),
        cmocka_unit_test(truncated_file_and_record),
        cmocka_unit_test(every_prefix_fails_cleanly),
        cmocka_unit_test(varint_overflow),
        cmocka_unit_test(length_past_the_end),
        cmocka_unit_test(slices_that_do_not_add_up),
        cmocka_unit_test(dims_product_overflow),
        cmocka_unit_test(unknown_dtype),
        cmocka_unit_test(same_tag_in_two_places),
        cmocka_unit_test(not_a_checkpoint),
        cmocka_unit_test(bad_crc),
        cmocka_unit_test(missing_fields),
        cmocka_unit_test(packed_dims_unknown_fields_and_skips),
        cmocka_unit_test(slices_concatenate_in_order),
        cmocka_unit_test(dtype_names_round_trip),
        cmocka_unit_test(crc32_known_value),
        cmocka_unit_test(mindspore_f16_and_all_dtypes),
        cmocka_unit_test(mindspore_bf16_sliced_with_crc),
        cmocka_unit_test(mindspore_array_split_slices),
        cmocka_unit_test(mindspore_crc_detects_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
