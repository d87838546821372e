/* Chat templates: a conversation turned into the token ids a chat model was trained on, exactly as HF
 * transformers' apply_chat_template(messages, tokenize=True, add_generation_prompt=...) does with the
 * models' own chat_template strings (tests/data/chat/ holds the oracle's renderings):
 *
 *   llama2 (Llama-2-*-chat):  <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user1} [/INST] {assistant1} </s><s>[INST] {user2} [/INST]
 *     <s> and </s> are the ids 1 and 2. The system block is glued to the first user turn and the
 *     whole "<<SYS>>...{user1}" is stripped (so the system text keeps its own edge whitespace, as in the
 *     original); other turns are stripped. After the optional system message the roles must be user,
 *     assistant, user, ... A lone system message renders as nothing. The text between two special
 *     tokens is encoded as one run (SentencePiece adds its dummy-prefix space to each run), which is
 *     what the models' tokenizer.json and Meta's own chat code do.
 *   llama3 (Llama-3-*-Instruct): <|begin_of_text|> then per message
 *     <|start_header_id|>{role}<|end_header_id|>\n\n{content trimmed}<|eot_id|>, any order of roles.
 *   add_generation_prompt appends <|start_header_id|>assistant<|end_header_id|>\n\n for llama3; the
 *   llama2 template has no such part (the prompt already ends with [/INST]).
 *
 * "Stripped"/"trimmed" is Python's str.strip(): Unicode whitespace (incl. U+00A0, U+3000) at both ends.
 * One deliberate difference: special-token text inside a content ("<|eot_id|>", "</s>") stays text, as
 * a user can type it; transformers would turn it into the control token. */
#ifndef LVK_IO_CHAT_TEMPLATE_H
#define LVK_IO_CHAT_TEMPLATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "io/chat_messages.h"
#include "io/tokenizer.h"

typedef enum lvk_chat_template {
    LVK_CHAT_TEMPLATE_NONE, /* a base model: no chat format */
    LVK_CHAT_TEMPLATE_LLAMA2,
    LVK_CHAT_TEMPLATE_LLAMA3,
} lvk_chat_template;

/* "llama2", "llama3" (the names of the config key "chat_template" and of --chat-template), "none". */
bool lvk_chat_template_from_name(const char *name, lvk_chat_template *out, lvk_err *err);
const char *lvk_chat_template_name(lvk_chat_template t);

/* The ids that end an assistant turn, for generation to stop on: llama2 </s> (2); llama3 <|eot_id|>
 * (128009) and <|end_of_text|> (128001). Looked up in tok, which must be the template's tokenizer
 * (llama2: SentencePiece, llama3: tiktoken). out has room for LVK_CHAT_MAX_STOP ids. */
#define LVK_CHAT_MAX_STOP 4
bool lvk_chat_stop_ids(lvk_chat_template t, const lvk_tokenizer *tok, int32_t out[LVK_CHAT_MAX_STOP], int *n,
                       lvk_err *err);

/* The ids of the whole conversation (malloc'd into *ids, caller frees; may be NULL when *n_ids is 0).
 * Errors: no messages, roles out of order (llama2), a tokenizer of the wrong kind. */
bool lvk_chat_render(lvk_chat_template t, const lvk_tokenizer *tok, const lvk_chat_message *messages, size_t n,
                     bool add_generation_prompt, int32_t **ids, size_t *n_ids, lvk_err *err);

/* For a conversation kept in a KV cache: the ids that messages[first..n) add after messages[0..first)
 * were rendered (without generation prompt: the cache holds the model's answer in its place). That is
 * render(all) with render(messages[0..first)) cut from its front; an error if that is not a prefix
 * (llama2: messages[first-1] must be an assistant answer, or first 0). first 0 gives the whole
 * rendering. */
bool lvk_chat_render_from(lvk_chat_template t, const lvk_tokenizer *tok, const lvk_chat_message *messages,
                          size_t n, size_t first, bool add_generation_prompt, int32_t **ids, size_t *n_ids,
                          lvk_err *err);

#endif
