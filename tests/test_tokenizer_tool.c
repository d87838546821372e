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
#if !defined(_WIN32)
#include <sys/wait.h>
#endif

#define TOOL LVK_BIN_DIR "/llama-vk-tokenize"
#define DATA LVK_TEST_DATA "/tokenizers"
#define OUT LVK_TEST_TMP "/tokenize_out.txt"
#define ERR LVK_TEST_TMP "/tokenize_err.txt"

static char output[65536], errors[4096];

static void slurp(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs the tool with args; returns its exit status; output and errors hold stdout and stderr.
 * (Not tests/run_program.h: its fixed scratch file names would collide with other tests under ctest -j.) */
static int run_tool(const char *args)
{
    char cmd[4096];
#if defined(_WIN32)
    /* cmd.exe strips the outer quotes of a line that starts with one: add a pair to be stripped */
    snprintf(cmd, sizeof cmd, "\"\"%s\" %s > \"%s\" 2> \"%s\"\"", TOOL, args, OUT, ERR);
#else
    snprintf(cmd, sizeof cmd, "\"%s\" %s > \"%s\" 2> \"%s\"", TOOL, args, OUT, ERR);
#endif
    int status = system(cmd);
    slurp(OUT, output, sizeof output);
    slurp(ERR, errors, sizeof errors);
#if defined(_WIN32)
    return status;
#else
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
#endif
}

static void encodes_to_json(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --json \"Hello world\""), 0);
    assert_non_null(strstr(output, "\"ids\":[128000,9906,1917]"));
    assert_non_null(strstr(output, "\"pieces\":[\"<|begin_of_text|>\",\"Hello\",\" world\"]"));
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama2/tokenizer.model --no-bos --json \"Hello world\""), 0);
    assert_non_null(strstr(output, "\"ids\":[15043,3186]"));
    assert_non_null(strstr(output, "\"pieces\":[\"\xE2\x96\x81Hello\",\"\xE2\x96\x81world\"]"));
}

static void plain_output_and_specials(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --no-bos --special \"Hi<|eot_id|>\""), 0);
    assert_string_equal(output, "13347\tHi\n128009\t<|eot_id|>\n");
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model --no-bos \"Hi<|eot_id|>\""), 0);
    assert_null(strstr(output, "128009"));
}

static void decodes_ids(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama2/tokenizer.model --decode 1 15043 2787 2"), 0);
    assert_string_equal(output, "Hello World\n");
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama2/tokenizer.model --decode 1 32000"), 2);
    assert_non_null(strstr(errors, "error: --decode: '32000'"));
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
    assert_non_null(strstr(output, "{\"ids\":[220,1403,12908,198],\"pieces\":[\" \",\" two\",\" spaces\",\"\\\\x0A\"]}"));
    f = fopen(LVK_TEST_TMP "/tokenize_bad.txt", "wb");
    assert_non_null(f);
    fputs("ok\xC3(", f);
    fclose(f);
    assert_int_equal(run_tool("-V 3 -F " DATA "/llama3/tokenizer.model -f " LVK_TEST_TMP "/tokenize_bad.txt"), 1);
    assert_non_null(strstr(errors, "not valid UTF-8"));
    assert_non_null(strstr(errors, "offset 2"));
}

static void refuses_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(run_tool("-V 4 x"), 2);
    assert_non_null(strstr(errors, "error: -V must be 2 or 3"));
    assert_int_equal(run_tool("x"), 2);
    assert_int_equal(run_tool("-V 2 -F " DATA "/llama3/tokenizer.model x"), 1);
    assert_non_null(strstr(errors, "error: "));
    assert_int_equal(run_tool("-V 3 -F " DATA "/nonexistent.model x"), 1);
    assert_non_null(strstr(errors, "nonexistent.model"));
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
