/* Chat templates: every conversation of tests/data/chat/ renders to the ids HF transformers'
 * apply_chat_template gave (tools/chat_template_oracle.py), with the real LLaMA-2 / LLaMA-3 tokenizers;
 * bad conversations and bad JSON get errors that say what is wrong; llama-vk-tokenize --chat-template
 * prints the same ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "io/chat_messages.h"
#include "io/chat_template.h"
#include "io/config.h"
#include "io/tokenizer.h"
#include "run_program.h"
#include "test_files.h"

#define CHAT LVK_TEST_DATA "/chat"
#define TOKENIZERS LVK_TEST_DATA "/tokenizers"

static lvk_tokenizer *spm, *tiktoken;

static int load_tokenizers(void **state)
{
    (void)state;
    lvk_err err;
    if (!lvk_tokenizer_load(&spm, LVK_TOKENIZER_SPM, TOKENIZERS "/llama2/tokenizer.model", &err) ||
        !lvk_tokenizer_load(&tiktoken, LVK_TOKENIZER_TIKTOKEN, TOKENIZERS "/llama3/tokenizer.model", &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int free_tokenizers(void **state)
{
    (void)state;
    lvk_tokenizer_free(spm);
    lvk_tokenizer_free(tiktoken);
    return 0;
}

/* Parses a JSON text the test writes inline, failing the test if it does not parse. */
static void parse_ok(const char *json, lvk_chat *chat)
{
    lvk_err err;
    if (!lvk_chat_parse_json(json, strlen(json), "test", chat, &err))
        fail_msg("%s", err.msg);
}

/* Expects parsing to fail with a message containing want. */
static void parse_fails(const char *json, size_t len, const char *want)
{
    lvk_chat chat;
    lvk_chat_init(&chat);
    lvk_err err;
    if (lvk_chat_parse_json(json, len, "test.json", &chat, &err))
        fail_msg("parsed: %s", json);
    assert_int_equal(chat.n, 0);
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
    assert_non_null(strstr(err.msg, "test.json"));
}

/* Expects rendering to fail with a message containing want. */
static void render_fails(lvk_chat_template t, const lvk_tokenizer *tok, const char *json, const char *want)
{
    lvk_chat chat;
    lvk_chat_init(&chat);
    parse_ok(json, &chat);
    int32_t *ids = NULL;
    size_t n = 0;
    lvk_err err;
    bool ok = lvk_chat_render(t, tok, chat.messages, chat.n, true, &ids, &n, &err);
    lvk_chat_free(&chat);
    if (ok)
        fail_msg("rendered %d ids from %s", (int)n, json);
    assert_null(ids);
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
}

/* ---- the fixture ---------------------------------------------------------------------------- */

/* Renders every line of tests/data/chat/<name>.jsonl and compares with its ids; returns how many. */
static int compare_fixture(const char *name, lvk_chat_template t, const lvk_tokenizer *tok)
{
    char path[512];
    snprintf(path, sizeof path, CHAT "/%s.jsonl", name);
    char *text = test_read_file(path, NULL);
    assert_non_null(text);
    int count = 0, bad = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        cJSON *item = cJSON_Parse(line);
        assert_non_null(item);
        const char *conv = cJSON_GetObjectItem(item, "name")->valuestring;
        bool gen = cJSON_IsTrue(cJSON_GetObjectItem(item, "add_generation_prompt"));
        const cJSON *want = cJSON_GetObjectItem(item, "ids");
        /* the messages go through the JSON reader as a file would */
        char *messages = cJSON_PrintUnformatted(cJSON_GetObjectItem(item, "messages"));
        lvk_chat chat;
        lvk_chat_init(&chat);
        lvk_err err;
        int32_t *ids = NULL;
        size_t n = 0;
        if (!lvk_chat_parse_json(messages, strlen(messages), conv, &chat, &err) ||
            !lvk_chat_render(t, tok, chat.messages, chat.n, gen, &ids, &n, &err))
            fail_msg("%s %s: %s", name, conv, err.msg);
        size_t n_want = (size_t)cJSON_GetArraySize(want), i = 0;
        const cJSON *id = want->child;
        while (i < n && id && ids[i] == (int32_t)id->valueint) {
            i++;
            id = id->next;
        }
        if (i != n || n != n_want) {
            print_error("%s %s: %d ids, expected %d; first difference at %d: %d, expected %d\n", name, conv, (int)n,
                        (int)n_want, (int)i, i < n ? (int)ids[i] : -1, id ? id->valueint : -1);
            bad++;
        }
        free(ids);
        lvk_chat_free(&chat);
        free(messages);
        cJSON_Delete(item);
        count++;
    }
    free(text);
    assert_int_equal(bad, 0);
    return count;
}

static void llama2_matches_transformers(void **state)
{
    (void)state;
    assert_true(compare_fixture("llama2", LVK_CHAT_TEMPLATE_LLAMA2, spm) >= 12);
}

static void llama3_matches_transformers(void **state)
{
    (void)state;
    assert_true(compare_fixture("llama3", LVK_CHAT_TEMPLATE_LLAMA3, tiktoken) >= 12);
}

/* ---- stop ids, names, turns ----------------------------------------------------------------- */

static void stop_ids_and_names(void **state)
{
    (void)state;
    int32_t stop[LVK_CHAT_MAX_STOP];
    int n;
    lvk_err err;
    assert_true(lvk_chat_stop_ids(LVK_CHAT_TEMPLATE_LLAMA2, spm, stop, &n, &err));
    assert_int_equal(n, 1);
    assert_int_equal(stop[0], 2);
    assert_true(lvk_chat_stop_ids(LVK_CHAT_TEMPLATE_LLAMA3, tiktoken, stop, &n, &err));
    assert_int_equal(n, 2);
    assert_int_equal(stop[0], 128009);
    assert_int_equal(stop[1], 128001);
    assert_false(lvk_chat_stop_ids(LVK_CHAT_TEMPLATE_LLAMA3, spm, stop, &n, &err));
    assert_non_null(strstr(err.msg, "needs the LLaMA-3 tokenizer"));
    assert_false(lvk_chat_stop_ids(LVK_CHAT_TEMPLATE_NONE, spm, stop, &n, &err));

    lvk_chat_template t;
    assert_true(lvk_chat_template_from_name("llama3", &t, &err));
    assert_int_equal(t, LVK_CHAT_TEMPLATE_LLAMA3);
    assert_string_equal(lvk_chat_template_name(LVK_CHAT_TEMPLATE_LLAMA2), "llama2");
    assert_false(lvk_chat_template_from_name("chatml", &t, &err));
    assert_non_null(strstr(err.msg, "\"chatml\""));
}

/* What a chat loop with a KV cache does: the cache holds turn 1; turn 2 adds only its own ids. */
static void render_from_gives_the_new_turn(void **state)
{
    (void)state;
    lvk_chat chat;
    lvk_chat_init(&chat);
    parse_ok("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"},"
             "{\"role\":\"assistant\",\"content\":\"Hello!\"},{\"role\":\"user\",\"content\":\"Bye\"}]",
             &chat);
    lvk_err err;
    int32_t *ids;
    size_t n;
    assert_true(lvk_chat_render_from(LVK_CHAT_TEMPLATE_LLAMA2, spm, chat.messages, chat.n, 3, true, &ids, &n, &err));
    /* <s>[INST] Bye [/INST] (these ids and the llama3 ones below are what transformers gives for the suffix) */
    const int32_t llama2_turn[] = {1, 518, 25580, 29962, 2648, 29872, 518, 29914, 25580, 29962};
    assert_int_equal(n, sizeof llama2_turn / sizeof llama2_turn[0]);
    assert_memory_equal(ids, llama2_turn, sizeof llama2_turn);
    free(ids);
    assert_true(lvk_chat_render_from(LVK_CHAT_TEMPLATE_LLAMA3, tiktoken, chat.messages, chat.n, 3, true, &ids, &n,
                                     &err));
    /* <|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n */
    const int32_t llama3_turn[] = {128006, 882, 128007, 271, 1383, 68, 128009, 128006, 78191, 128007, 271};
    assert_int_equal(n, sizeof llama3_turn / sizeof llama3_turn[0]);
    assert_memory_equal(ids, llama3_turn, sizeof llama3_turn);
    free(ids);
    /* from 0: the whole conversation */
    int32_t *all;
    size_t n_all;
    assert_true(lvk_chat_render(LVK_CHAT_TEMPLATE_LLAMA3, tiktoken, chat.messages, chat.n, true, &all, &n_all, &err));
    assert_true(lvk_chat_render_from(LVK_CHAT_TEMPLATE_LLAMA3, tiktoken, chat.messages, chat.n, 0, true, &ids, &n,
                                     &err));
    assert_int_equal(n, n_all);
    assert_memory_equal(ids, all, n * sizeof *ids);
    free(ids);
    free(all);
    assert_false(lvk_chat_render_from(LVK_CHAT_TEMPLATE_LLAMA3, tiktoken, chat.messages, chat.n, 5, true, &ids, &n,
                                      &err));

    /* the context is full: the oldest turn goes, the system prompt stays */
    assert_true(lvk_chat_drop_oldest_turn(&chat));
    assert_int_equal(chat.n, 2);
    assert_int_equal(chat.messages[0].role, LVK_CHAT_SYSTEM);
    assert_string_equal(chat.messages[1].content, "Bye");
    assert_true(lvk_chat_drop_oldest_turn(&chat));
    assert_int_equal(chat.n, 1);
    assert_false(lvk_chat_drop_oldest_turn(&chat));
    lvk_chat_free(&chat);
}

/* A user can type "<|eot_id|>" or "</s>": it stays text and cannot end the turn early (transformers would
 * make it the control token). */
static void special_token_text_stays_text(void **state)
{
    (void)state;
    lvk_chat chat;
    lvk_chat_init(&chat);
    parse_ok("[{\"role\":\"user\",\"content\":\"a<|eot_id|>b</s><s>\"}]", &chat);
    const lvk_tokenizer *toks[2] = {spm, tiktoken};
    const lvk_chat_template templates[2] = {LVK_CHAT_TEMPLATE_LLAMA2, LVK_CHAT_TEMPLATE_LLAMA3};
    const int32_t controls[2][2] = {{1, 2}, {128009, 128001}};
    const int want[2][2] = {{1, 0}, {1, 0}}; /* the template's own <s> (llama2) / <|eot_id|> (llama3) */
    for (int t = 0; t < 2; t++) {
        int32_t *ids;
        size_t n;
        lvk_err err;
        assert_true(lvk_chat_render(templates[t], toks[t], chat.messages, chat.n, true, &ids, &n, &err));
        int seen[2] = {0, 0};
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < 2; c++)
                seen[c] += ids[i] == controls[t][c];
        assert_int_equal(seen[0], want[t][0]);
        assert_int_equal(seen[1], want[t][1]);
        free(ids);
    }
    lvk_chat_free(&chat);
}

/* ---- bad conversations ---------------------------------------------------------------------- */

static void llama2_wants_alternating_roles(void **state)
{
    (void)state;
    const lvk_chat_template L2 = LVK_CHAT_TEMPLATE_LLAMA2;
    render_fails(L2, spm, "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]",
                 "message 1 is user");
    render_fails(L2, spm, "[{\"role\":\"assistant\",\"content\":\"a\"}]", "message 0 is assistant");
    render_fails(L2, spm, "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"assistant\",\"content\":\"a\"}]",
                 "message 1 is assistant");
    render_fails(L2, spm,
                 "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
                 "{\"role\":\"system\",\"content\":\"late\"}]",
                 "message 2 is system");
    render_fails(L2, spm,
                 "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\",\"content\":\"late\"}]",
                 "message 1 is system");
    render_fails(L2, spm, "[]", "no messages");
    render_fails(L2, tiktoken, "[{\"role\":\"user\",\"content\":\"a\"}]", "needs the LLaMA-2 tokenizer");
    render_fails(LVK_CHAT_TEMPLATE_NONE, spm, "[{\"role\":\"user\",\"content\":\"a\"}]", "no chat template");
}

static void bad_json_is_refused(void **state)
{
    (void)state;
#define BAD(json, want) parse_fails(json, sizeof json - 1, want)
    BAD("[{\"role\":\"tool\",\"content\":\"x\"}]", "messages[0]: unknown role \"tool\"");
    BAD("[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"bad \xC3(\"}]",
        "messages[1]: the user message is not valid UTF-8 (byte offset 4)");
    BAD("[{\"role\":\"user\",\"content\":\"\xED\xA0\x80\"}]", "not valid UTF-8"); /* a surrogate */
    BAD("[{\"role\":\"user\",\"content\":5}]", "messages[0].content must be a string");
    BAD("[{\"role\":\"user\",\"content\":null}]", "messages[0].content must be a string");
    BAD("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]", "content parts are not supported");
    BAD("[{\"role\":1,\"content\":\"x\"}]", "messages[0].role must be a string");
    BAD("[{\"content\":\"x\"}]", "messages[0] has no \"role\"");
    BAD("[{\"role\":\"user\"}]", "messages[0] has no \"content\"");
    BAD("[\"hello\"]", "messages[0] must be an object");
    BAD("{\"messages\":{\"role\":\"user\"}}", "\"messages\" must be an array");
    BAD("{\"model\":\"x\"}", "no key \"messages\"");
    BAD("42", "the file must be an array");
    BAD("[{\"role\":\"user\",", "not valid JSON");
    BAD("", "not valid JSON");
    BAD("[] []", "not valid JSON"); /* text after the value */
#undef BAD
    /* the length is respected: what comes after it is not read */
    lvk_chat chat;
    lvk_chat_init(&chat);
    lvk_err err;
    assert_true(lvk_chat_parse_json("[]]", 2, "test", &chat, &err));
    assert_int_equal(chat.n, 0);
}

static void good_json_forms(void **state)
{
    (void)state;
    lvk_chat chat;
    lvk_chat_init(&chat);
    parse_ok("{\"model\":\"llama3\",\"messages\":[{\"role\":\"system\",\"content\":\"\"},"
             "{\"role\":\"user\",\"content\":\"\\u4f60\\u597d\",\"name\":\"x\"}]}",
             &chat);
    assert_int_equal(chat.n, 2);
    assert_int_equal(chat.messages[0].role, LVK_CHAT_SYSTEM);
    assert_int_equal(chat.messages[0].len, 0);
    assert_string_equal(chat.messages[1].content, "\xE4\xBD\xA0\xE5\xA5\xBD"); /* 你好 */
    assert_int_equal(chat.messages[1].len, 6);
    parse_ok("[]", &chat); /* replaces what was there */
    assert_int_equal(chat.n, 0);
    lvk_err err;
    assert_false(lvk_chat_add(&chat, LVK_CHAT_USER, "\xFF", 1, &err));
    assert_non_null(strstr(err.msg, "not valid UTF-8"));
    assert_int_equal(chat.n, 0);
    assert_true(lvk_chat_add(&chat, LVK_CHAT_USER, "abc", 2, &err));
    assert_string_equal(chat.messages[0].content, "ab");

    /* /system TEXT: the leading system message is put in, replaced, removed */
    assert_false(lvk_chat_set_system(&chat, "\xC3", 1, &err));
    assert_int_equal(chat.n, 1);
    assert_true(lvk_chat_set_system(&chat, "sys", 3, &err));
    assert_int_equal(chat.n, 2);
    assert_int_equal(chat.messages[0].role, LVK_CHAT_SYSTEM);
    assert_string_equal(chat.messages[0].content, "sys");
    assert_string_equal(chat.messages[1].content, "ab");
    assert_true(lvk_chat_set_system(&chat, "new", 3, &err));
    assert_int_equal(chat.n, 2);
    assert_string_equal(chat.messages[0].content, "new");
    assert_true(lvk_chat_set_system(&chat, NULL, 0, &err));
    assert_int_equal(chat.n, 1);
    assert_int_equal(chat.messages[0].role, LVK_CHAT_USER);
    lvk_chat_free(&chat);
}

static void write_file(const char *path, const char *text);

/* What --system-file and a messages file saved by a Windows editor look like. */
static void files_with_bom_and_line_ends(void **state)
{
    (void)state;
    const char *path = LVK_TEST_TMP "/chat_system.txt";
    write_file(path, "\xEF\xBB\xBFYou are \xE5\xA5\xBD.\r\n\n");
    char *text;
    size_t len;
    lvk_err err;
    assert_true(lvk_chat_read_text_file(path, &text, &len, &err));
    assert_string_equal(text, "You are \xE5\xA5\xBD.");
    assert_int_equal(len, strlen(text));
    free(text);
    write_file(path, "ok\n\xFF\n");
    assert_false(lvk_chat_read_text_file(path, &text, &len, &err));
    assert_non_null(strstr(err.msg, "chat_system.txt: not valid UTF-8 (byte offset 3)"));
    assert_null(text);
    assert_false(lvk_chat_read_text_file(LVK_TEST_TMP "/no_such_system.txt", &text, &len, &err));
    assert_non_null(strstr(err.msg, "no_such_system.txt"));

    lvk_chat chat;
    lvk_chat_init(&chat);
    parse_ok("\xEF\xBB\xBF[{\"role\":\"user\",\"content\":\"hi\"}]\r\n", &chat);
    assert_int_equal(chat.n, 1);
    lvk_chat_free(&chat);
}

/* ---- llama-vk-tokenize --chat-template ------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The ids of the fixture line named conv, as the tool prints them: "ids":[...] */
static void fixture_ids(const char *name, const char *conv, char *messages_path, char *ids_json, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, CHAT "/%s.jsonl", name);
    char *text = test_read_file(path, NULL);
    assert_non_null(text);
    bool found = false;
    for (char *line = text, *next; line && *line && !found; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        cJSON *item = cJSON_Parse(line);
        assert_non_null(item);
        if (strcmp(cJSON_GetObjectItem(item, "name")->valuestring, conv) == 0) {
            found = true;
            char *messages = cJSON_PrintUnformatted(cJSON_GetObjectItem(item, "messages"));
            char *ids = cJSON_PrintUnformatted(cJSON_GetObjectItem(item, "ids"));
            write_file(messages_path, messages);
            snprintf(ids_json, size, "{\"ids\":%s,", ids);
            free(messages);
            free(ids);
        }
        cJSON_Delete(item);
    }
    free(text);
    assert_true(found);
}

static void tool_prints_the_rendered_ids(void **state)
{
    (void)state;
    static char want[1 << 14];
    const char *file = LVK_TEST_TMP "/chat_messages.json";
    fixture_ids("llama2", "chinese", (char *)file, want, sizeof want);
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template llama2 -F " TOKENIZERS
                                                      "/llama2/tokenizer.model --json --messages " LVK_TEST_TMP
                                                      "/chat_messages.json"),
                     0);
    assert_non_null(strstr(run_out, want));
    fixture_ids("llama3", "two_turns_with_system", (char *)file, want, sizeof want);
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template llama3 -F " TOKENIZERS
                                                      "/llama3/tokenizer.model --json --messages " LVK_TEST_TMP
                                                      "/chat_messages.json"),
                     0);
    assert_non_null(strstr(run_out, want));
    assert_non_null(strstr(run_out, "\"pieces\":[\"<|begin_of_text|>\",\"<|start_header_id|>\",\"system\""));
}

static void tool_refuses_bad_conversations(void **state)
{
    (void)state;
    const char *file = LVK_TEST_TMP "/chat_bad.json";
    write_file(file, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}");
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template llama2 -F " TOKENIZERS
                                                      "/llama2/tokenizer.model --messages " LVK_TEST_TMP
                                                      "/chat_bad.json"),
                     1);
    assert_non_null(strstr(run_err, "error: message 1 is user"));
    write_file(file, "[{\"role\":\"user\",\"content\":\"\xC3(\"}]");
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template llama3 -F " TOKENIZERS
                                                      "/llama3/tokenizer.model --messages " LVK_TEST_TMP
                                                      "/chat_bad.json"),
                     1);
    assert_non_null(strstr(run_err, "chat_bad.json: messages[0]: the user message is not valid UTF-8"));
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template chatml --messages x.json"), 2);
    assert_non_null(strstr(run_err, "unknown chat template \"chatml\""));
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template llama3"), 2);
    assert_non_null(strstr(run_err, "go together"));
    assert_int_equal(run_program("llama-vk-tokenize", "--chat-template llama3 -F " TOKENIZERS
                                                      "/llama3/tokenizer.model --messages " LVK_TEST_TMP
                                                      "/no_such_file.json"),
                     1);
    assert_non_null(strstr(run_err, "no_such_file.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_matches_transformers),
        cmocka_unit_test(llama3_matches_transformers),
        cmocka_unit_test(stop_ids_and_names),
        cmocka_unit_test(render_from_gives_the_new_turn),
        cmocka_unit_test(special_token_text_stays_text),
        cmocka_unit_test(llama2_wants_alternating_roles),
        cmocka_unit_test(bad_json_is_refused),
        cmocka_unit_test(good_json_forms),
        cmocka_unit_test(files_with_bom_and_line_ends),
        cmocka_unit_test(tool_prints_the_rendered_ids),
        cmocka_unit_test(tool_refuses_bad_conversations),
    };
    return cmocka_run_group_tests(tests, load_tokenizers, free_tokenizers);
}
