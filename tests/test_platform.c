/* What differs on Windows (src/base/platform_win32.c), checked on every platform: a Chinese
 * command-line argument reaching a program intact and its UTF-8 output coming back byte for byte,
 * file names with non-ASCII characters, and mapping a file past 4 GiB. The Windows build runs
 * this under Wine in CI (tools/windows-test.sh). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#if defined(_WIN32)
#include <windows.h>
#include <winioctl.h>
#include <io.h>
#endif

#include "base/platform.h"
#include "io/config.h"
#include "run_program.h"
#include "test_files.h"

#define L3_TOKENIZER LVK_TEST_DATA "/tokenizers/llama3/tokenizer.model"
/* A file with a hole reads as zeros without taking the disk space. POSIX files are sparse when
 * written past their end; NTFS ones only when marked. */
static bool make_sparse(FILE *f)
{
#if defined(_WIN32)
    DWORD got = 0;
    return DeviceIoControl((HANDLE)_get_osfhandle(_fileno(f)), FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &got, NULL) != 0;
#else
    (void)f;
    return true;
#endif
}

#define PROMPT "用中文回答：什么是GPU？"

/* The prompt goes in as an argument and comes back as the text of its ids: an argv read in the
 * ANSI code page (or a console in it) turns the Chinese into '?' on the way in or out. */
static void chinese_argument_round_trips(void **state)
{
    (void)state;
    if (run_program("llama-vk-tokenize", "-V 3 -F " L3_TOKENIZER " --no-bos --json \"" PROMPT "\"") != 0)
        fail_msg("llama-vk-tokenize: %s", run_err);
    cJSON *root = cJSON_Parse(run_out);
    assert_non_null(root);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "ids");
    assert_true(cJSON_IsArray(ids));
    char args[2048];
    int n = snprintf(args, sizeof args, "-V 3 -F %s --decode", L3_TOKENIZER);
    const cJSON *id;
    cJSON_ArrayForEach(id, ids)
        n += snprintf(args + n, sizeof args - (size_t)n, " %d", id->valueint);
    assert_true(n < (int)sizeof args);
    assert_true(cJSON_GetArraySize(ids) > 3); /* a '?' per character would give fewer, other ids */
    cJSON_Delete(root);
    if (run_program("llama-vk-tokenize", args) != 0)
        fail_msg("llama-vk-tokenize %s: %s", args, run_err);
    assert_string_equal(run_out, PROMPT "\n");
}

/* A checkpoint under a non-ASCII file name opens (UTF-8 path -> the wide Windows API), and a
 * missing one is named correctly in the error. */
static void non_ascii_file_names(void **state)
{
    (void)state;
    size_t size;
    char *data = test_read_file(LVK_TEST_DATA "/ckpt/ms_f16_dtypes.ckpt", &size);
    assert_non_null(data);
    const char *path = LVK_TEST_TMP "/模型-ü.ckpt";
    FILE *f = lvk_fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
    free(data);
    assert_true(lvk_file_exists(path));
    if (run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/模型-ü.ckpt\"") != 0)
        fail_msg("llama-vk-inspect on a non-ASCII name: %s", run_err);
    assert_non_null(strstr(run_out, "tensors"));

    int rc = run_program("llama-vk-inspect", "\"" LVK_TEST_TMP "/不存在-ü.ckpt\"");
    assert_true(rc >= 1 && rc <= 127);
    if (!strstr(run_err, "不存在-ü.ckpt"))
        fail_msg("the error does not name the file: %s", run_err);
}

/* LLAMA_VK_MODELS with Chinese in it reaches the file lookup as UTF-8 (getenv alone gives the
 * ANSI code page on Windows: question marks). */
static void non_ascii_environment_variable(void **state)
{
    (void)state;
    const char *dir = LVK_TEST_TMP "/模型目录";
#if defined(_WIN32)
    wchar_t wdir[1024];
    assert_true(MultiByteToWideChar(CP_UTF8, 0, dir, -1, wdir, 1024) > 0);
    assert_int_equal(_wputenv_s(L"LLAMA_VK_MODELS", wdir), 0);
#else
    assert_int_equal(setenv("LLAMA_VK_MODELS", dir, 1), 0);
#endif
    assert_string_equal(lvk_getenv("LLAMA_VK_MODELS"), dir);
    lvk_model_config cfg;
    lvk_err err;
    assert_true(lvk_config_builtin(2, &cfg, &err));
    char out[1200];
    assert_false(lvk_config_resolve_file(&cfg, "no-such.ckpt", NULL, out, sizeof out, &err));
    if (!strstr(err.msg, LVK_TEST_TMP "/模型目录/no-such.ckpt"))
        fail_msg("the lookup did not try the folder of LLAMA_VK_MODELS: %s", err.msg);
}

/* A sparse file of 4 GiB + 4 KiB: bytes past 4 GiB read through the mapping, and the size is the
 * whole 64-bit one (a 32-bit size or offset anywhere gives 4 KiB or the wrong byte). */
static void maps_a_file_past_4_gib(void **state)
{
    (void)state;
    const char *path = LVK_TEST_TMP "/platform_4g.bin";
    const uint64_t four_gib = (uint64_t)1 << 32, size = four_gib + 4096;
    FILE *f = lvk_fopen(path, "wb");
    assert_non_null(f);
    assert_true(make_sparse(f));
    assert_int_equal(fputc(0x11, f), 0x11);
    assert_true(lvk_fseek64(f, (int64_t)four_gib + 100, SEEK_SET));
    assert_int_equal(fputc(0x5A, f), 0x5A);
    assert_true(lvk_fseek64(f, (int64_t)size - 1, SEEK_SET));
    assert_int_equal(fputc(0xA5, f), 0xA5);
    assert_int_equal(fclose(f), 0);

    /* read what the checks need, then delete the 4 GiB file before any check can fail */
    lvk_file_map map;
    lvk_err err;
    bool ok = lvk_file_map_open(&map, path, &err);
    uint64_t got_size = ok ? map.size : 0;
    int first = -1, before = -1, marker = -1, last = -1;
    if (ok && map.size == size) {
        first = map.data[0], before = map.data[four_gib - 1], marker = map.data[four_gib + 100];
        last = map.data[size - 1];
    }
    if (ok)
        lvk_file_map_close(&map);
    assert_int_equal(remove(path), 0);
    if (!ok)
        fail_msg("%s", err.msg);
    assert_true(got_size == size);
    assert_int_equal(first, 0x11);
    assert_int_equal(before, 0);
    assert_int_equal(marker, 0x5A);
    assert_int_equal(last, 0xA5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chinese_argument_round_trips),
        cmocka_unit_test(non_ascii_file_names),
        cmocka_unit_test(non_ascii_environment_variable),
        cmocka_unit_test(maps_a_file_past_4_gib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
