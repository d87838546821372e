#include "io/kl_base.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"

static const char magic_done[8] = {'L', 'V', 'K', 'K', 'L', 'B', 'A', 'S'};
static const char magic_unfinished[8] = {'L', 'V', 'K', 'K', 'L', 'T', 'M', 'P'};

uint64_t lvk_kl_base_hash(uint64_t h, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (int k = 0; k < 4; k++) {
            h ^= (v >> (8 * k)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

static void put_le(uint8_t *at, uint64_t v, int n)
{
    for (int k = 0; k < n; k++)
        at[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t get_le(const uint8_t *at, int n)
{
    uint64_t v = 0;
    for (int k = 0; k < n; k++)
        v |= (uint64_t)at[k] << (8 * k);
    return v;
}

static bool alloc_position(lvk_kl_base *b, const char *path, const lvk_kl_base_header *h, lvk_err *err)
{
    b->path = path;
    b->header = *h;
    b->done = 0;
    b->bytes = lvk_malloc((size_t)h->vocab * 4);
    return b->bytes ? true : lvk_fail(err, "%s: out of host memory", path);
}

bool lvk_kl_base_create(lvk_kl_base *b, const char *path, const lvk_kl_base_header *h, lvk_err *err)
{
    memset(b, 0, sizeof *b);
    if (!alloc_position(b, path, h, err))
        return false;
    b->writing = true;
    b->f = lvk_fopen(path, "wb");
    if (!b->f) {
        lvk_kl_base_close(b);
        return lvk_fail(err, "--kl-base %s: cannot create", path);
    }
    uint8_t head[LVK_KL_BASE_HEADER_BYTES] = {0};
    memcpy(head, magic_unfinished, 8);
    put_le(head + 8, LVK_KL_BASE_VERSION, 4);
    put_le(head + 12, h->vocab, 4);
    put_le(head + 16, h->ctx, 4);
    put_le(head + 20, h->first, 4);
    put_le(head + 24, h->n_chunks, 4);
    put_le(head + 32, h->n_tokens, 8);
    put_le(head + 40, h->ids_hash, 8);
    if (fwrite(head, 1, sizeof head, b->f) != sizeof head) {
        lvk_kl_base_close(b);
        return lvk_fail(err, "--kl-base %s: write error", path);
    }
    return true;
}

/* One header field against the run's: the message says which and both values. */
static bool same_field(const char *path, const char *what, uint64_t file, uint64_t run, lvk_err *err)
{
    if (file == run)
        return true;
    return lvk_fail(err,
                    "--kl-base %s: it was written for %s %llu, this run has %llu: the two runs are not comparable "
                    "(give the same text, --ctx and --chunks, and a model with the same tokenizer)",
                    path, what, (unsigned long long)file, (unsigned long long)run);
}

bool lvk_kl_base_open(lvk_kl_base *b, const char *path, const lvk_kl_base_header *want, lvk_err *err)
{
    memset(b, 0, sizeof *b);
    b->f = lvk_fopen(path, "rb");
    if (!b->f)
        return lvk_fail(err, "--kl-base %s: cannot open", path);
    uint8_t head[LVK_KL_BASE_HEADER_BYTES];
    bool ok = true;
    if (fread(head, 1, sizeof head, b->f) != sizeof head)
        ok = lvk_fail(err, "--kl-base %s: shorter than the %d-byte header: not a base file", path,
                      LVK_KL_BASE_HEADER_BYTES);
    else if (!memcmp(head, magic_unfinished, 8))
        ok = lvk_fail(err, "--kl-base %s: unfinished (the run that wrote it stopped early): delete it and run again",
                      path);
    else if (memcmp(head, magic_done, 8))
        ok = lvk_fail(err, "--kl-base %s: not a llama-vk-perplexity base file (bad magic)", path);
    else if (get_le(head + 8, 4) != LVK_KL_BASE_VERSION)
        ok = lvk_fail(err, "--kl-base %s: version %u, this program reads version %u", path,
                      (unsigned)get_le(head + 8, 4), LVK_KL_BASE_VERSION);
    ok = ok && same_field(path, "vocab", get_le(head + 12, 4), want->vocab, err) &&
         same_field(path, "ctx", get_le(head + 16, 4), want->ctx, err) &&
         same_field(path, "first scored position", get_le(head + 20, 4), want->first, err) &&
         same_field(path, "chunks", get_le(head + 24, 4), want->n_chunks, err) &&
         same_field(path, "scored tokens", get_le(head + 32, 8), want->n_tokens, err);
    if (ok && get_le(head + 40, 8) != want->ids_hash)
        ok = lvk_fail(err,
                      "--kl-base %s: it was written for other tokens (the ids' hash differs): the two runs are not "
                      "comparable (give the same text and a model with the same tokenizer)",
                      path);
    /* the size, before a long run: a truncated copy is refused now, not after an hour of scoring */
    if (ok) {
        uint64_t expect = LVK_KL_BASE_HEADER_BYTES + want->n_tokens * want->vocab * 4;
        int64_t size = lvk_fseek64(b->f, 0, SEEK_END) ? lvk_ftell64(b->f) : -1;
        if (size < 0 || !lvk_fseek64(b->f, LVK_KL_BASE_HEADER_BYTES, SEEK_SET))
            ok = lvk_fail(err, "--kl-base %s: cannot seek", path);
        else if ((uint64_t)size != expect)
            ok = lvk_fail(err, "--kl-base %s: %llu bytes, the header says %llu: %s", path, (unsigned long long)size,
                          (unsigned long long)expect, (uint64_t)size < expect ? "truncated" : "trailing bytes");
    }
    ok = ok && alloc_position(b, path, want, err);
    if (!ok)
        lvk_kl_base_close(b);
    return ok;
}

bool lvk_kl_base_write(lvk_kl_base *b, const float *logits, lvk_err *err)
{
    if (b->done >= b->header.n_tokens)
        return lvk_fail(err, "--kl-base %s: more positions than the header's %llu", b->path,
                        (unsigned long long)b->header.n_tokens);
    for (uint32_t i = 0; i < b->header.vocab; i++) {
        uint32_t bits;
        memcpy(&bits, &logits[i], 4);
        put_le(b->bytes + 4 * (size_t)i, bits, 4);
    }
    size_t n = (size_t)b->header.vocab * 4;
    if (fwrite(b->bytes, 1, n, b->f) != n)
        return lvk_fail(err, "--kl-base %s: write error (disk full?)", b->path);
    b->done++;
    return true;
}

bool lvk_kl_base_read(lvk_kl_base *b, float *logits, lvk_err *err)
{
    size_t n = (size_t)b->header.vocab * 4;
    if (b->done >= b->header.n_tokens || fread(b->bytes, 1, n, b->f) != n)
        return lvk_fail(err, "--kl-base %s: read error at position %llu", b->path, (unsigned long long)b->done);
    for (uint32_t i = 0; i < b->header.vocab; i++) {
        uint32_t bits = (uint32_t)get_le(b->bytes + 4 * (size_t)i, 4);
        memcpy(&logits[i], &bits, 4);
    }
    b->done++;
    return true;
}

bool lvk_kl_base_finish(lvk_kl_base *b, lvk_err *err)
{
    bool ok = b->done == b->header.n_tokens ||
              lvk_fail(err, "--kl-base %s: %llu of %llu positions %s", b->path, (unsigned long long)b->done,
                       (unsigned long long)b->header.n_tokens, b->writing ? "written" : "read");
    if (ok && b->writing) {
        /* finished only now: a run that dies before this leaves a file every later run refuses */
        ok = (lvk_fseek64(b->f, 0, SEEK_SET) && fwrite(magic_done, 1, 8, b->f) == 8 && fflush(b->f) == 0) ||
             lvk_fail(err, "--kl-base %s: write error", b->path);
    }
    FILE *f = b->f;
    b->f = NULL;
    if (f && fclose(f) != 0 && ok && b->writing)
        ok = lvk_fail(err, "--kl-base %s: write error (disk full?)", b->path);
    lvk_kl_base_close(b);
    return ok;
}

void lvk_kl_base_close(lvk_kl_base *b)
{
    if (b->f)
        fclose(b->f);
    free(b->bytes);
    b->f = NULL;
    b->bytes = NULL;
}
