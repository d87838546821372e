/* Fuzzes encoding and decoding with the real LLaMA-2 and LLaMA-3 tokenizers.
 * Input: byte 0 picks the tokenizer (bit 0) and the flags (bits 1-2); the rest is the text.
 * Checks: encoding either succeeds or reports invalid UTF-8; valid text round-trips (SentencePiece:
 * except a literal U+2581, which decodes as a space); the streaming detokenizer equals decode.
 * The tokenizer files come from $LVK_FUZZ_TOKENIZER_DIR (default tests/data/tokenizers). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "io/tokenizer.h"

static lvk_tokenizer *toks[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("LVK_FUZZ_TOKENIZER_DIR");
    if (!dir)
        dir = "tests/data/tokenizers";
    const char *names[2] = {"llama2", "llama3"};
    const lvk_tokenizer_type types[2] = {LVK_TOKENIZER_SPM, LVK_TOKENIZER_TIKTOKEN};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/tokenizer.model", dir, names[i]);
        lvk_err err;
        if (!lvk_tokenizer_load(&toks[i], types[i], path, &err)) {
            fprintf(stderr, "fuzz_tokenizer_encode: %s (set LVK_FUZZ_TOKENIZER_DIR)\n", err.msg);
            abort();
        }
    }
    return 0;
}

static bool contains_space_symbol(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++)
        if (s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const lvk_tokenizer *tok = toks[data[0] & 1];
    int flags = (data[0] >> 1) & 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t *ids;
    size_t n;
    lvk_err err;
    bool valid = lvk_utf8_validate((const uint8_t *)text, len, NULL);
    if (!lvk_tokenizer_encode(tok, text, len, flags, &ids, &n, &err)) {
        if (valid) {
            fprintf(stderr, "encode failed on valid UTF-8: %s\n", err.msg);
            abort();
        }
        return 0;
    }
    if (!valid)
        abort(); /* invalid UTF-8 must be rejected */
    char *dec;
    size_t dec_len;
    if (!lvk_tokenizer_decode(tok, ids, n, &dec, &dec_len, &err))
        abort();
    bool exact = !(flags & LVK_ENCODE_BOS) && !(flags & LVK_ENCODE_SPECIAL) &&
                 !(lvk_tokenizer_get_type(tok) == LVK_TOKENIZER_SPM && contains_space_symbol(data + 1, len));
    if (exact && (dec_len != len || memcmp(dec, text, len) != 0)) {
        fprintf(stderr, "round trip differs\n");
        abort();
    }
    lvk_detokenizer d;
    lvk_detokenizer_init(&d, tok);
    char *streamed = malloc((n + 1) * LVK_DETOK_MAX_OUT);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += lvk_detokenizer_push(&d, ids[i], streamed + w);
    w += lvk_detokenizer_flush(&d, streamed + w);
    if (w != dec_len || memcmp(streamed, dec, w) != 0)
        abort();
    free(streamed);
    free(dec);
    free(ids);
    return 0;
}
