/* A conversation: messages {role, content}, built in code or read from OpenAI-style JSON
 *
 *   {"messages": [{"role": "system" | "user" | "assistant", "content": "..."}, ...]}   or the bare array.
 *
 * Other keys (of the root object or of a message: "model", "name", ...) are ignored, as OpenAI request
 * files carry them. A role that is not one of the three, a content that is not a string, or a content
 * that is not valid UTF-8 is an error naming the message (its index from 0) and, for UTF-8, the byte.
 * Contents are copied and NUL-terminated; they may be empty. */
#ifndef LVK_IO_CHAT_MESSAGES_H
#define LVK_IO_CHAT_MESSAGES_H
#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

typedef enum lvk_chat_role { LVK_CHAT_SYSTEM, LVK_CHAT_USER, LVK_CHAT_ASSISTANT } lvk_chat_role;

typedef struct lvk_chat_message {
    lvk_chat_role role;
    char *content; /* malloc'd, NUL-terminated, valid UTF-8 */
    size_t len;    /* bytes, without the NUL */
} lvk_chat_message;

typedef struct lvk_chat {
    lvk_chat_message *messages;
    size_t n, cap;
} lvk_chat;

/* "system", "user", "assistant". */
bool lvk_chat_role_from_name(const char *name, lvk_chat_role *out, lvk_err *err);
const char *lvk_chat_role_name(lvk_chat_role role);

/* A zeroed lvk_chat is an empty conversation. */
void lvk_chat_init(lvk_chat *chat);
void lvk_chat_free(lvk_chat *chat);
/* Appends a copy of content[0..len); fails (and appends nothing) if it is not valid UTF-8. */
bool lvk_chat_add(lvk_chat *chat, lvk_chat_role role, const char *content, size_t len, lvk_err *err);
/* Makes content the leading system message (replacing the one there, or put in front of the rest);
 * NULL removes it. Fails (changing nothing) if content is not valid UTF-8. */
bool lvk_chat_set_system(lvk_chat *chat, const char *content, size_t len, lvk_err *err);
/* Removes messages[first .. first+count) (clamped to the conversation), keeping the order of the rest. */
void lvk_chat_remove(lvk_chat *chat, size_t first, size_t count);
/* When the context is full: removes the oldest user turn and the assistant answer after it, keeping a
 * leading system message. Returns false if there is no user turn to drop. */
bool lvk_chat_drop_oldest_turn(lvk_chat *chat);

/* Parses json[0..len) (need not be NUL-terminated) into *chat, which is replaced. origin names the
 * text in messages (a file name). A leading UTF-8 byte-order mark (Windows editors write one) is
 * skipped. On failure *chat is empty. */
bool lvk_chat_parse_json(const char *json, size_t len, const char *origin, lvk_chat *chat, lvk_err *err);
bool lvk_chat_load_json(const char *path, lvk_chat *chat, lvk_err *err);

/* A text file for --system-file: malloc'd into *text (NUL-terminated), without a leading byte-order
 * mark and without trailing line ends (as the shell's "$(cat FILE)" gives it). Invalid UTF-8 is an error
 * naming the file and byte offset. */
bool lvk_chat_read_text_file(const char *path, char **text, size_t *len, lvk_err *err);

#endif
