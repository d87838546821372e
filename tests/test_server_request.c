/* The server's request parser without a server: what a good body gives (defaults, every parameter, stop as
 * a string or a list, the openai client's one-string prompt list) and what each bad one answers (status,
 * param, a message naming the problem), so these hold where the Python server tests are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/request.h"

static lvk_request parse_ok(lvk_request_kind kind, const char *body)
{
    lvk_request r;
    lvk_request_error e = {0};
    if (!lvk_request_parse(kind, body, strlen(body), &r, &e))
        fail_msg("%s: %s", body, e.message);
    return r;
}

static void expect_bad(lvk_request_kind kind, const char *body, const char *param, const char *words)
{
    lvk_request r;
    lvk_request_error e = {0};
    if (lvk_request_parse(kind, body, strlen(body), &r, &e))
        fail_msg("accepted: %s", body);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.param, param);
    if (!strstr(e.message, words))
        fail_msg("%s: the message '%s' lacks '%s'", body, e.message, words);
    assert_null(r.prompt);
    assert_int_equal(r.chat.n, 0);
}

static void defaults(void **state)
{
    (void)state;
    lvk_request r = parse_ok(LVK_REQUEST_COMPLETION, "{\"prompt\": \"Hi\"}");
    assert_string_equal(r.prompt, "Hi");
    assert_null(r.model);
    assert_int_equal(r.max_tokens, 0);
    assert_true(r.temperature == 1.0f && r.top_p == 1.0f);
    assert_false(r.stream || r.seed_given);
    assert_int_equal(r.n_stop, 0);
    lvk_request_free(&r);
}

static void every_parameter(void **state)
{
    (void)state;
    lvk_request r = parse_ok(LVK_REQUEST_COMPLETION,
                             "{\"model\": \"m\", \"prompt\": [\"\\u4f60\\u597d\"], \"max_tokens\": 7, \"temperature\": 0,"
                             " \"top_p\": 0.5, \"seed\": 42, \"stop\": [\"a\", \"\", \"bc\"], \"stream\": true, \"n\": 1,"
                             " \"logprobs\": null, \"user\": \"x\"}");
    assert_string_equal(r.model, "m");
    assert_string_equal(r.prompt, "\xe4\xbd\xa0\xe5\xa5\xbd");
    assert_int_equal(r.max_tokens, 7);
    assert_true(r.temperature == 0.0f && r.top_p == 0.5f);
    assert_true(r.seed_given && r.seed == 42);
    assert_true(r.stream);
    assert_int_equal(r.n_stop, 2); /* the empty one is dropped */
    assert_string_equal(r.stop[0], "a");
    assert_string_equal(r.stop[1], "bc");
    lvk_request_free(&r);

    r = parse_ok(LVK_REQUEST_CHAT, "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\","
                                   " \"content\": \"U\"}], \"stop\": \"\\n\", \"max_completion_tokens\": 3}");
    assert_int_equal(r.chat.n, 2);
    assert_int_equal(r.chat.messages[1].role, LVK_CHAT_USER);
    assert_string_equal(r.chat.messages[1].content, "U");
    assert_int_equal(r.n_stop, 1);
    assert_string_equal(r.stop[0], "\n");
    assert_int_equal(r.max_tokens, 3);
    lvk_request_free(&r);
}

static void bad_bodies(void **state)
{
    (void)state;
    const lvk_request_kind C = LVK_REQUEST_COMPLETION, H = LVK_REQUEST_CHAT;
    expect_bad(C, "{\"prompt\": \"x\"", "", "not valid JSON");
    expect_bad(C, "[]", "", "JSON object");
    expect_bad(C, "{}", "prompt", "missing");
    expect_bad(C, "{\"prompt\": 1}", "prompt", "string");
    expect_bad(C, "{\"prompt\": \"x\", \"max_tokens\": 0}", "max_tokens", "between");
    expect_bad(C, "{\"prompt\": \"x\", \"max_tokens\": 1.5}", "max_tokens", "integer");
    expect_bad(C, "{\"prompt\": \"x\", \"temperature\": 2.5}", "temperature", "between");
    expect_bad(C, "{\"prompt\": \"x\", \"top_p\": 0}", "top_p", "above 0");
    expect_bad(C, "{\"prompt\": \"x\", \"seed\": \"1\"}", "seed", "number");
    expect_bad(C, "{\"prompt\": \"x\", \"stream\": 1}", "stream", "true or false");
    expect_bad(C, "{\"prompt\": \"x\", \"n\": 3}", "n", "between");
    expect_bad(C, "{\"prompt\": \"x\", \"stop\": [\"a\", 1]}", "stop", "strings");
    expect_bad(C, "{\"prompt\": \"x\", \"stop\": [\"1\", \"2\", \"3\", \"4\", \"5\"]}", "stop", "more than 4");
    expect_bad(C, "{\"prompt\": \"x\", \"model\": 5}", "model", "string");
    expect_bad(H, "{\"messages\": {}}", "messages", "array");
    expect_bad(H, "{\"messages\": []}", "messages", "empty");
    expect_bad(H, "{\"messages\": [{\"role\": \"user\"}]}", "messages", "content");
    expect_bad(H, "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}", "messages", "bot");
}

static void error_json(void **state)
{
    (void)state;
    lvk_request_error e;
    lvk_request_fail(&e, 404, "invalid_request_error", "model_not_found", "model", "no model '%s'", "q\"x");
    char *json = lvk_request_error_json(&e);
    assert_non_null(json);
    assert_string_equal(json, "{\"error\":{\"message\":\"no model 'q\\\"x'\",\"type\":\"invalid_request_error\","
                              "\"param\":\"model\",\"code\":\"model_not_found\"}}");
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(every_parameter),
        cmocka_unit_test(bad_bodies),
        cmocka_unit_test(error_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
