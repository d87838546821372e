/* llama-vk-tokenize end to end: encode to JSON, decode ids, read a file's exact bytes, and refuse bad
 * input with one error line and a non-zero exit status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "run_program.h"

#define DATA LVK_TEST_DATA "/tokenizers"

/* Runs the tool with args; returns its exit status; run_out and run_err hold stdout and stderr. */
static int run_tool(const char *args) { return run_program("llama-vk-tokenize", args); }

static void encodes_to_json(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --json \"Hello world\""), 0);
    assert_non_null(strstr(run_out, "\"ids\":[128000,9906,1917]"));
    assert_non_null(strstr(run_out, "\"pieces\":[\"<|begin_of_text|>\",\"Hello\",\" world\"]"));
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama2/tokenizer.model --no-bos --json \"Hello world\""), 0);
    assert_non_null(strstr(run_out, "\"ids\":[15043,3186]"));
    assert_non_null(strstr(run_out, "\"pieces\":[\"\xE2\x96\x81Hello\",\"\xE2\x96\x81world\"]"));
}

static void plain_output_and_specials(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --no-bos --special \"Hi<|eot_id|>\""), 0);
    assert_string_equal(run_out, "13347\tHi\n128009\t<|eot_id|>\n");
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --no-bos \"Hi<|eot_id|>\""), 0);
    assert_null(strstr(run_out, "128009"));
}

static void decodes_ids(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama2/tokenizer.model --decode 1 15043 2787 2"), 0);
    assert_string_equal(run_out, "Hello World\n");
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama2/tokenizer.model --decode 1 32000"), 2);
    assert_non_null(strstr(run_err, "error: --decode: '32000'"));
}

static void reads_file_bytes(void **state)
{
    (void)state;
    FILE *f = fopen(LVK_TEST_TMP "/tokenize_in.txt", "wb");
    assert_non_null(f);
    fputs("  two spaces\n", f);
    fclose(f);
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --no-bos --json -f " LVK_TEST_TMP
                              "/tokenize_in.txt"), 0);
    /* Control characters in pieces are shown as \xNN (JSON-escaped backslash). */
    assert_non_null(strstr(run_out, "{\"ids\":[220,1403,12908,198],\"pieces\":[\" \",\" two\",\" spaces\",\"\\\\x0A\"]}"));
    f = fopen(LVK_TEST_TMP "/tokenize_bad.txt", "wb");
    assert_non_null(f);
    fputs("ok\xC3(", f);
    fclose(f);
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model -f " LVK_TEST_TMP "/tokenize_bad.txt"), 1);
    assert_non_null(strstr(run_err, "not valid UTF-8"));
    assert_non_null(strstr(run_err, "offset 2"));
}

static void refuses_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 4 x"), 2);
    assert_non_null(strstr(run_err, "error: -V must be 2 or 3"));
    assert_int_equal(run_tool("x"), 2);
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama3/tokenizer.model x"), 1);
    assert_non_null(strstr(run_err, "error: "));
    assert_int_equal(run_tool("-V 3 -F " DATA "/nonexistent.model x"), 1);
    assert_non_null(strstr(run_err, "nonexistent.model"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_to_json),
        cmocka_unit_test(plain_output_and_specials),
        cmocka_unit_test(decodes_ids),
        cmocka_unit_test(reads_file_bytes),
        cmocka_unit_test(refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
