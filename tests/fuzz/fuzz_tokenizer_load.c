/* Fuzzes loading tokenizer files: byte 0 picks SentencePiece (even) or tiktoken (odd), the rest is the
 * file. A file must either load or fail with a message; one that loads must encode and decode text.
 * LVK_FUZZ_TOKENIZER_DIR is not needed here; the seed corpus holds small valid files of both kinds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    lvk_tokenizer_type type = (data[0] & 1) ? LVK_TOKENIZER_TIKTOKEN : LVK_TOKENIZER_SPM;
    lvk_tokenizer *tok = NULL;
    lvk_err err;
    err.msg[0] = '\0';
    if (!lvk_tokenizer_load_memory(&tok, type, data + 1, size - 1, "fuzz", &err)) {
        if (tok || err.msg[0] == '\0')
            abort();
        return 0;
    }
    static const char *texts[] = {"", " ", "Hello world", "ab  ba\n\t", "中文 and <s></s><|eot_id|>", "e\xCC\x81 \xF0\x9F\x98\x80"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *ids;
        size_t n;
        if (!lvk_tokenizer_encode(tok, texts[i], strlen(texts[i]), LVK_ENCODE_BOS | (int)(i & 1) * LVK_ENCODE_SPECIAL,
                                  &ids, &n, &err))
            continue;
        char *dec;
        size_t len;
        if (!lvk_tokenizer_decode(tok, ids, n, &dec, &len, &err))
            abort(); /* every id the encoder gives must decode */
        free(dec);
        free(ids);
    }
    lvk_tokenizer_free(tok);
    return 0;
}
