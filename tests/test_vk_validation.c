/* The validation-layer check the device tests rely on (tests/vk_checks.h): a misuse of the API is counted,
 * and the per-test check fails the test that caused it and starts the next one clean.
 *
 * ctest runs this with VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation (tests/CMakeLists.txt). Where the layer
 * is not installed there is nothing to test: it exits 77, which ctest reports as "Not Run / Skipped". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vk_checks.h"

#define SKIPPED 77

typedef struct fixture {
    lvk_instance inst;
    lvk_device d;
} fixture;

static bool validation_layer_installed(void)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties *layers = calloc(n, sizeof *layers);
    bool found = false;
    if (layers && vkEnumerateInstanceLayerProperties(&n, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            found = found || strcmp(layers[i].layerName, "VK_LAYER_KHRONOS_validation") == 0;
    free(layers);
    return found;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || !vk_test_open_device(&f->inst, &f->d))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vk_test_close_device(&f->inst, &f->d);
    free(f);
    return 0;
}

static void create_zero_sized_buffer(fixture *f)
{
    VkBufferCreateInfo bad = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 0, /* VUID-VkBufferCreateInfo-size-00912 */
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
    };
    VkBuffer b = VK_NULL_HANDLE;
    VkResult r = vkCreateBuffer(f->d.dev, &bad, NULL, &b);
    if (r == VK_SUCCESS && b)
        vkDestroyBuffer(f->d.dev, b, NULL);
}

static void a_misuse_is_counted(void **state)
{
    assert_int_equal(lvk_validation_error_count(), 0);
    create_zero_sized_buffer(*state);
    assert_true(lvk_validation_error_count() > 0);
    lvk_validation_reset_count();
}

/* What vk_test() runs after each test: it fails on a counted error and leaves the count at zero. */
static void the_per_test_check_fails_and_resets(void **state)
{
    assert_int_equal(vk_validation_clean(NULL), 0);
    create_zero_sized_buffer(*state);
    assert_int_equal(vk_validation_clean(NULL), -1);
    assert_int_equal(lvk_validation_error_count(), 0);
    assert_int_equal(vk_validation_clean(NULL), 0);
    create_zero_sized_buffer(*state);
    assert_int_equal(vk_checked_result(0), 1);
    assert_int_equal(vk_checked_result(3), 3);
    lvk_validation_reset_count();
}

int main(void)
{
    lvk_instance probe;
    lvk_err err = {{0}};
    if (!lvk_instance_create(&probe, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    bool installed = validation_layer_installed();
    const char *layers = getenv("VK_INSTANCE_LAYERS");
    bool requested = layers && strstr(layers, "VK_LAYER_KHRONOS_validation");
    lvk_instance_destroy(&probe);
    if (!installed || !requested) {
        printf("skipped: %s\n", !installed ? "the Khronos validation layer is not installed "
                                             "(Debian: apt install vulkan-validationlayers)"
                                           : "VK_INSTANCE_LAYERS does not name VK_LAYER_KHRONOS_validation");
        return SKIPPED;
    }
    const struct CMUnitTest tests[] = {
        vk_test(a_misuse_is_counted),
        vk_test(the_per_test_check_fails_and_resets),
    };
    return vk_checked_run(tests, setup, teardown);
}
