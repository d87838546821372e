/* llama-vk-testmodel: writes a LLaMA-shaped MindSpore checkpoint of random weights, of any shape up to
 * the real 7B / 8B ones, streamed to disk (the model is never whole in memory).
 *
 * The file is laid out as MindSpore writes it: one "0x0A <len> Value" record per slice, tensors over
 * --slice-bytes cut every --slice-bytes raw bytes into consecutive records with the same tag, dtype
 * and full dims, and with --crc the "crc_num" trailer (CRC-32 of every byte before it, 10 bytes
 * big-endian). Values are deterministic from --seed and small enough that a forward pass stays sane:
 * linear weights uniform in +-1/sqrt(in), norm weights 1 +- 0.1, embeddings +-1.
 * --round-trip q8|q4|q4-plain writes the weights as llama-vk holds them under that --weights choice,
 * dequantized, in Float32: the CPU reference's twin of a quantized model (see round_trip below). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/half.h"
#include "base/platform.h"
#include "io/ckpt.h"
#include "io/config.h"
#include "io/crc32.h"
#include "io/llama_layout.h"
#include "model/memory_plan.h"
#include "ref/quant.h"

static const char usage[] =
    "usage: llama-vk-testmodel -o OUT.ckpt [-C config.json | -V 2|3] [--dim N] [--layers N] [--heads N]\n"
    "                          [--kv-heads N] [--ffn N] [--vocab N] [--dtype Float16|BFloat16|Float32]\n"
    "                          [--seed N] [--slice-bytes N] [--crc] [--round-trip q8|q4|q4-plain]\n"
    "Writes a LLaMA-shaped MindSpore checkpoint with random weights. Default: -V 2 shapes, the\n"
    "version's dtype (LLaMA2 Float16, LLaMA3 BFloat16), seed 1, slices of 536870912 bytes, no CRC.\n"
    "--heads without --kv-heads keeps the version's heads per kv head where it divides.\n";

/* ---- output with a running CRC ----------------------------------------------------------- */

typedef struct out_file {
    FILE *f;
    const char *path;
    bool want_crc;
    uint32_t crc;
    uint64_t written;
    bool failed;
} out_file;

static void out_write(out_file *o, const void *data, size_t n)
{
    if (o->failed)
        return;
    if (fwrite(data, 1, n, o->f) != n) {
        o->failed = true;
        return;
    }
    if (o->want_crc)
        o->crc = lvk_crc32_update(o->crc, data, n);
    o->written += n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes everything of one slice's record up to (not including) the tensor_content bytes. */
static void write_record_head(out_file *o, const lvk_tensor_spec *spec, const char *dtype_name, uint64_t content)
{
    size_t tag_len = strlen(spec->name), type_len = strlen(dtype_name);
    uint64_t tensor_len = 0;
    for (int i = 0; i < spec->n_dims; i++)
        tensor_len += 1 + varint_size((uint64_t)spec->dims[i]);
    tensor_len += 1 + varint_size(type_len) + type_len;
    tensor_len += 1 + varint_size(content) + content;
    uint64_t value_len = 1 + varint_size(tag_len) + tag_len + 1 + varint_size(tensor_len) + tensor_len;

    uint8_t head[512];
    size_t n = 0;
    head[n++] = 0x0A; /* Checkpoint.value */
    n += put_varint(head + n, value_len);
    head[n++] = 0x0A; /* Value.tag */
    n += put_varint(head + n, tag_len);
    memcpy(head + n, spec->name, tag_len);
    n += tag_len;
    head[n++] = 0x12; /* Value.tensor */
    n += put_varint(head + n, tensor_len);
    for (int i = 0; i < spec->n_dims; i++) {
        head[n++] = 0x08; /* TensorProto.dims, unpacked as proto2 writes them */
        n += put_varint(head + n, (uint64_t)spec->dims[i]);
    }
    head[n++] = 0x12; /* TensorProto.tensor_type */
    n += put_varint(head + n, type_len);
    memcpy(head + n, dtype_name, type_len);
    n += type_len;
    head[n++] = 0x1A; /* TensorProto.tensor_content */
    n += put_varint(head + n, content);
    out_write(o, head, n);
}

/* ---- values ------------------------------------------------------------------------------ */

/* splitmix64 seeds, xorshift64* draws: cheap enough that a 7B model is bound by the disk. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Values are drawn from 4096 evenly spaced levels across [center - scale, center + scale), encoded once
 * per tensor into a table: a draw is then a table look-up by 12 random bits, five draws per 64-bit
 * number, so writing a 7B model is bound by the disk and the CRC, not by fp16 conversion. */
enum { LEVEL_BITS = 12, LEVELS = 1 << LEVEL_BITS };

typedef struct value_gen {
    uint64_t state;
    lvk_dtype dtype;
    uint32_t level[LEVELS]; /* the dtype's bit pattern of each level */
} value_gen;

static void gen_init(value_gen *g, uint64_t seed, int tensor_index, const lvk_tensor_spec *spec, lvk_dtype dtype)
{
    uint64_t s = seed ^ ((uint64_t)(tensor_index + 1) * 0xD1B54A32D192ED03ull);
    g->state = splitmix64(&s) | 1u; /* xorshift state must not be 0 */
    g->dtype = dtype;
    float center = 0.0f, scale;
    if (spec->n_dims == 1) {
        center = 1.0f; /* norm weights */
        scale = 0.1f;
    } else if (strcmp(spec->name, "model.tok_embeddings.embedding_weight") == 0) {
        scale = 1.0f;
    } else {
        scale = 1.0f / sqrtf((float)spec->dims[1]); /* linear weights [out, in] */
    }
    for (int k = 0; k < LEVELS; k++) {
        float v = center + scale * (((float)k + 0.5f) * (2.0f / LEVELS) - 1.0f);
        g->level[k] = dtype == LVK_DTYPE_F16 ? lvk_f32_to_f16(v) : dtype == LVK_DTYPE_BF16 ? lvk_f32_to_bf16(v)
                                                                                          : lvk_f32_to_bits(v);
    }
}

static inline uint64_t gen_bits(value_gen *g)
{
    uint64_t x = g->state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g->state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Fills n elements into buf in the tensor's dtype (little-endian hosts, like the rest of the project). */
static void gen_fill(value_gen *g, uint8_t *buf, size_t n)
{
    size_t i = 0;
    if (lvk_dtype_size(g->dtype) == 2) {
        uint16_t five[5];
        for (; i + 5 <= n; i += 5) {
            uint64_t bits = gen_bits(g);
            for (int k = 0; k < 5; k++)
                five[k] = (uint16_t)g->level[(bits >> (LEVEL_BITS * k)) & (LEVELS - 1)];
            memcpy(buf + 2 * i, five, sizeof five);
        }
        for (; i < n; i++) {
            uint16_t v = (uint16_t)g->level[gen_bits(g) & (LEVELS - 1)];
            memcpy(buf + 2 * i, &v, 2);
        }
    } else {
        for (; i < n; i++) {
            uint32_t v = g->level[gen_bits(g) & (LEVELS - 1)];
            memcpy(buf + 4 * i, &v, 4);
        }
    }
}

/* ---- one tensor -------------------------------------------------------------------------- */

enum { CHUNK_BYTES = 8 << 20 };

/* Writes n_bytes of data as records of at most slice_bytes (slice_left carries over between calls). */
static void write_sliced(out_file *o, const lvk_tensor_spec *spec, const char *dtype_name, uint64_t total_bytes,
                         const uint8_t *data, uint64_t n_bytes, uint64_t *done, uint64_t slice_bytes,
                         uint64_t *slice_left)
{
    uint64_t at = 0;
    while (at < n_bytes) {
        if (*slice_left == 0) {
            uint64_t remaining = total_bytes - *done - at;
            *slice_left = remaining < slice_bytes ? remaining : slice_bytes;
            write_record_head(o, spec, dtype_name, *slice_left);
        }
        uint64_t take = n_bytes - at < *slice_left ? n_bytes - at : *slice_left;
        out_write(o, data + at, (size_t)take);
        at += take;
        *slice_left -= take;
    }
    *done += n_bytes;
}

/* --round-trip: the weights as llama-vk holds them under a --weights choice, made exact for the CPU
 * reference: every matrix the choice quantizes goes through lvk_ref_quantize (the device's quantizer
 * makes the same blocks bit for bit, vk-selftest checks it) and back, and every tensor is written as
 * Float32 (the rest converted exactly). tests/test_model.c runs the reference on such a file against
 * the device on the original with that choice. The tensor is held whole in memory. */
typedef struct round_trip {
    bool on;
    lvk_weights_choice choice;
    const lvk_model_config *cfg;
} round_trip;

static bool round_trip_tensor(const round_trip *rt, const lvk_tensor_spec *spec, lvk_dtype dtype,
                              const uint8_t *values, uint64_t n_elems, float *out, lvk_err *err)
{
    const char *format = lvk_plan_tensor_format(rt->cfg, dtype, rt->choice, spec);
    if (!strcmp(format, "q8") || !strcmp(format, "q4")) {
        lvk_quant_format f = format[1] == '8' ? LVK_QUANT_Q8 : LVK_QUANT_Q4;
        uint32_t rows = (uint32_t)spec->dims[0], cols = (uint32_t)spec->dims[1];
        uint8_t *q = malloc((size_t)(rows * lvk_quant_row_bytes(f, cols)));
        uint8_t *sc = malloc((size_t)(rows * lvk_quant_scale_row_bytes(f, cols)));
        bool ok = q && sc;
        if (!ok)
            lvk_fail(err, "out of memory");
        ok = ok && lvk_ref_quantize(f, dtype, values, rows, cols, rt->choice != LVK_WEIGHTS_Q4_PLAIN, q, sc, err);
        if (ok)
            lvk_ref_dequantize(f, q, sc, rows, cols, out);
        free(q);
        free(sc);
        return ok;
    }
    for (uint64_t i = 0; i < n_elems; i++) {
        uint16_t h;
        if (dtype == LVK_DTYPE_F32) {
            memcpy(&out[i], values + 4 * i, 4);
            continue;
        }
        memcpy(&h, values + 2 * i, 2);
        out[i] = dtype == LVK_DTYPE_F16 ? lvk_f16_to_f32(h) : lvk_bf16_to_f32(h);
    }
    return true;
}

/* Streams one tensor: values are generated in CHUNK_BYTES pieces, and a new record starts every
 * slice_bytes raw bytes, possibly inside a chunk (or inside an element, as MindSpore cuts). With a
 * round trip the pieces are gathered (the same draws) and written once transformed. */
static bool write_tensor(out_file *o, const lvk_tensor_spec *spec, int index, lvk_dtype dtype, uint64_t seed,
                         uint64_t slice_bytes, uint8_t *chunk, const round_trip *rt, lvk_err *err)
{
    size_t es = lvk_dtype_size(dtype);
    uint64_t n_elems = 1;
    for (int i = 0; i < spec->n_dims; i++)
        n_elems *= (uint64_t)spec->dims[i];
    uint64_t n_bytes = n_elems * es;
    value_gen g;
    gen_init(&g, seed, index, spec, dtype);
    uint8_t *whole = rt->on ? malloc((size_t)n_bytes) : NULL;
    float *trip = rt->on ? malloc((size_t)n_elems * sizeof(float)) : NULL;
    if (rt->on && (!whole || !trip)) {
        free(whole);
        free(trip);
        return lvk_fail(err, "%s: out of memory for the round trip", spec->name);
    }

    uint64_t done = 0, written = 0, slice_left = 0;
    while (done < n_bytes) {
        uint64_t chunk_bytes = n_bytes - done < CHUNK_BYTES ? n_bytes - done : CHUNK_BYTES;
        uint8_t *dst = rt->on ? whole + done : chunk;
        gen_fill(&g, dst, (size_t)(chunk_bytes / es));
        if (!rt->on)
            write_sliced(o, spec, lvk_dtype_name(dtype), n_bytes, dst, chunk_bytes, &written, slice_bytes, &slice_left);
        done += chunk_bytes;
    }
    bool ok = true;
    if (rt->on) {
        ok = round_trip_tensor(rt, spec, dtype, whole, n_elems, trip, err);
        if (ok)
            write_sliced(o, spec, lvk_dtype_name(LVK_DTYPE_F32), n_elems * 4, (const uint8_t *)trip, n_elems * 4,
                         &written, slice_bytes, &slice_left);
    }
    free(whole);
    free(trip);
    return ok;
}

/* ---- command line ------------------------------------------------------------------------ */

typedef struct options {
    const char *out, *config_path;
    int version;
    int dim, layers, heads, kv_heads, ffn, vocab; /* 0 = from the config */
    const char *dtype;
    uint64_t seed, slice_bytes;
    bool crc;
    const char *round_trip; /* --round-trip q8|q4|q4-plain, or NULL */
} options;

static bool parse_u64(const char *flag, const char *text, uint64_t *out)
{
    char *end;
    if (!text || !*text || *text == '-')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end)
        return false;
    *out = v;
    (void)flag;
    return true;
}

static int fail_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "error: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", usage);
    return 2;
}

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->version = 2;
    o->seed = 1;
    o->slice_bytes = 536870912ull;
    struct {
        const char *flag;
        int *field;
    } int_flags[] = {{"--dim", &o->dim},   {"--layers", &o->layers}, {"--heads", &o->heads},
                     {"--kv-heads", &o->kv_heads}, {"--ffn", &o->ffn},       {"--vocab", &o->vocab}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        bool matched = false;
        for (size_t k = 0; k < sizeof int_flags / sizeof int_flags[0]; k++) {
            if (strcmp(a, int_flags[k].flag) == 0) {
                uint64_t v;
                if (!parse_u64(a, next, &v) || v == 0 || v > 1000000000)
                    return fail_usage("expected a positive number after", a);
                *int_flags[k].field = (int)v;
                i++;
                matched = true;
            }
        }
        if (matched)
            continue;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return -1;
        } else if (strcmp(a, "-o") == 0 && next) {
            o->out = argv[++i];
        } else if (strcmp(a, "-C") == 0 && next) {
            o->config_path = argv[++i];
        } else if (strcmp(a, "-V") == 0 && next) {
            if (strcmp(next, "2") != 0 && strcmp(next, "3") != 0)
                return fail_usage("-V takes 2 or 3, not", next);
            o->version = atoi(argv[++i]);
        } else if (strcmp(a, "--dtype") == 0 && next) {
            o->dtype = argv[++i];
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(a, next, &o->seed))
                return fail_usage("expected a number after", a);
            i++;
        } else if (strcmp(a, "--slice-bytes") == 0) {
            if (!parse_u64(a, next, &o->slice_bytes) || o->slice_bytes == 0)
                return fail_usage("expected a positive number after", a);
            i++;
        } else if (strcmp(a, "--round-trip") == 0 && next) {
            o->round_trip = next;
            i++;
        } else if (strcmp(a, "--crc") == 0) {
            o->crc = true;
        } else {
            return fail_usage("unknown or incomplete argument", a);
        }
    }
    if (!o->out)
        return fail_usage("-o OUT.ckpt is required", NULL);
    return 0;
}

static bool build_config(const options *o, lvk_model_config *cfg, lvk_dtype *dtype, lvk_err *err)
{
    if (o->config_path ? !lvk_config_load(o->config_path, cfg, err) : !lvk_config_builtin(o->version, cfg, err))
        return false;
    if (o->dim) cfg->dim = o->dim;
    if (o->layers) cfg->n_layers = o->layers;
    if (o->heads && !o->kv_heads) {
        /* keep the base's grouping (LLaMA2 1:1, LLaMA3 4:1) where the new head count allows it */
        int group = cfg->n_kv_heads > 0 ? cfg->n_heads / cfg->n_kv_heads : 1;
        cfg->n_kv_heads = group > 0 && o->heads % group == 0 ? o->heads / group : o->heads;
    }
    if (o->heads) cfg->n_heads = o->heads;
    if (o->kv_heads) cfg->n_kv_heads = o->kv_heads;
    if (o->ffn) cfg->ffn_dim = o->ffn;
    if (o->vocab) {
        cfg->vocab_size = o->vocab;
        /* a small test vocabulary keeps the special ids inside it */
        if (cfg->bos_id >= cfg->vocab_size)
            cfg->bos_id = cfg->vocab_size > 1 ? 1 : 0;
        for (int i = 0; i < cfg->n_eos; i++)
            if (cfg->eos_ids[i] >= cfg->vocab_size)
                cfg->eos_ids[i] = cfg->vocab_size > 2 ? 2 : 0;
    }
    if (!lvk_config_validate(cfg, "llama-vk-testmodel shape", err))
        return false;
    const char *dtype_name = o->dtype ? o->dtype : strcmp(cfg->tokenizer_type, "tiktoken") == 0 ? "BFloat16" : "Float16";
    if (!lvk_dtype_from_name(dtype_name, strlen(dtype_name), dtype) ||
        (*dtype != LVK_DTYPE_F16 && *dtype != LVK_DTYPE_BF16 && *dtype != LVK_DTYPE_F32))
        return lvk_fail(err, "--dtype %s: expected Float16, BFloat16 or Float32", dtype_name);
    return true;
}

static int run(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    lvk_model_config cfg;
    lvk_dtype dtype;
    lvk_err err;
    if (!build_config(&o, &cfg, &dtype, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    out_file out = {.path = o.out, .want_crc = o.crc};
    out.f = lvk_fopen(o.out, "wb");
    uint8_t *chunk = malloc(CHUNK_BYTES);
    if (!out.f || !chunk) {
        fprintf(stderr, "error: %s: %s\n", o.out, out.f ? "out of memory" : "cannot create the file");
        if (out.f)
            fclose(out.f);
        free(chunk);
        return 1;
    }
    static char file_buffer[16 << 20];
    setvbuf(out.f, file_buffer, _IOFBF, sizeof file_buffer);

    round_trip rt = {.on = o.round_trip != NULL, .cfg = &cfg};
    bool ok = !rt.on || lvk_weights_choice_from_name(o.round_trip, &rt.choice, &err);
    if (ok && rt.on && rt.choice != LVK_WEIGHTS_Q8 && rt.choice != LVK_WEIGHTS_Q4 && rt.choice != LVK_WEIGHTS_Q4_PLAIN)
        ok = lvk_fail(&err, "--round-trip %s: expected q8, q4 or q4-plain", o.round_trip);
    double t0 = lvk_now();
    int count = lvk_llama_tensor_count(&cfg);
    for (int i = 0; ok && i < count && !out.failed; i++) {
        lvk_tensor_spec spec;
        lvk_llama_tensor_spec(&cfg, i, &spec);
        ok = write_tensor(&out, &spec, i, dtype, o.seed, o.slice_bytes, chunk, &rt, &err);
    }
    if (!ok) {
        fprintf(stderr, "error: %s\n", err.msg);
        fclose(out.f);
        free(chunk);
        return 1;
    }
    if (o.crc) {
        uint8_t trailer[LVK_CKPT_CRC_TRAILER_SIZE];
        lvk_ckpt_crc_trailer(out.crc, trailer);
        uint32_t records_crc = out.crc;
        out_write(&out, trailer, sizeof trailer);
        out.crc = records_crc;
    }
    free(chunk);
    bool closed = fclose(out.f) == 0;
    if (out.failed || !closed) {
        fprintf(stderr, "error: %s: writing failed after %llu bytes (disk full?)\n", o.out,
                (unsigned long long)out.written);
        return 1;
    }
    double secs = lvk_now() - t0;
    printf("wrote %s: %d tensors, %s, dim %d, layers %d, heads %d/%d, ffn %d, vocab %d, %llu bytes%s in %.2f s "
           "(%.2f GB/s)\n",
           o.out, count, lvk_dtype_name(dtype), cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.ffn_dim,
           cfg.vocab_size, (unsigned long long)out.written, o.crc ? " with CRC" : "", secs,
           secs > 0 ? (double)out.written / secs / 1e9 : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    return lvk_run_main(argc, argv, run);
}
