/* Fuzzes reading a conversation from JSON and rendering it with both chat templates.
 * Input: the JSON text (any bytes). Checks: parsing either succeeds with valid UTF-8 contents or fails
 * with a message; rendering either succeeds or fails with a message, and its ids are in the vocabulary;
 * rendering from any message gives the tail of the whole rendering or an error.
 * The tokenizer files come from $LVK_FUZZ_TOKENIZER_DIR (default tests/data/tokenizers). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "io/chat_messages.h"
#include "io/chat_template.h"
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
            fprintf(stderr, "fuzz_chat_messages: %s (set LVK_FUZZ_TOKENIZER_DIR)\n", err.msg);
            abort();
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lvk_chat chat;
    lvk_chat_init(&chat);
    lvk_err err;
    err.msg[0] = '\0';
    if (!lvk_chat_parse_json((const char *)data, size, "fuzz", &chat, &err)) {
        if (!err.msg[0] || chat.n != 0)
            abort();
        return 0;
    }
    for (size_t i = 0; i < chat.n; i++)
        if (!lvk_utf8_validate((const uint8_t *)chat.messages[i].content, chat.messages[i].len, NULL) ||
            chat.messages[i].content[chat.messages[i].len] != '\0')
            abort();
    const lvk_chat_template templates[2] = {LVK_CHAT_TEMPLATE_LLAMA2, LVK_CHAT_TEMPLATE_LLAMA3};
    for (int t = 0; t < 2; t++) {
        int32_t *all = NULL;
        size_t n_all = 0;
        err.msg[0] = '\0';
        if (!lvk_chat_render(templates[t], toks[t], chat.messages, chat.n, true, &all, &n_all, &err)) {
            if (!err.msg[0] || all)
                abort();
            continue;
        }
        for (size_t i = 0; i < n_all; i++)
            if (all[i] < 0 || all[i] >= lvk_tokenizer_vocab_size(toks[t]))
                abort();
        for (size_t first = 0; first <= chat.n; first++) {
            int32_t *tail = NULL;
            size_t n_tail = 0;
            if (lvk_chat_render_from(templates[t], toks[t], chat.messages, chat.n, first, true, &tail, &n_tail,
                                     &err) &&
                (n_tail > n_all || (n_tail && memcmp(tail, all + (n_all - n_tail), n_tail * sizeof *tail) != 0)))
                abort();
            free(tail);
        }
        free(all);
    }
    lvk_chat_free(&chat);
    return 0;
}
