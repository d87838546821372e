/* libFuzzer target for the .ckpt reader: index arbitrary bytes, look every tensor up by name and
 * read the start and end of its data. Any crash or sanitizer report is a bug in src/io/ckpt.c. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lvk_ckpt ck;
    lvk_err err;
    /* half the inputs verify the CRC, half skip it, chosen by the input so runs are reproducible */
    lvk_ckpt_options opt = {.skip_crc = size > 0 && (data[size - 1] & 1)};
    if (!lvk_ckpt_parse_memory(&ck, data, size, "fuzz.ckpt", &opt, &err)) {
        if (err.msg[0] == '\0')
            __builtin_trap(); /* a failure must say why */
        return 0;
    }
    uint8_t head[64];
    for (int i = 0; i < ck.n_tensors; i++) {
        const lvk_ckpt_tensor *t = &ck.tensors[i];
        if (lvk_ckpt_find(&ck, t->name) != t)
            __builtin_trap();
        uint64_t n = t->n_bytes < sizeof head ? t->n_bytes : sizeof head;
        if (!lvk_ckpt_read(&ck, t, 0, n, head, &err) || !lvk_ckpt_read(&ck, t, t->n_bytes - n, n, head, &err))
            __builtin_trap();
        (void)lvk_ckpt_peek(&ck, t, t->n_bytes / 2, 1);
    }
    lvk_ckpt_close(&ck);
    return 0;
}
