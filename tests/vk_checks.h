/* For tests that use the device: the Khronos validation layer's errors (when VK_INSTANCE_LAYERS turns it
 * on, as CI does) fail the test that caused them. Header-only, one copy per test program.
 *
 * Register each test with vk_test(fn): a per-test teardown checks the count after every test. A group
 * teardown cannot do it: cmocka 1.1.5 exits 0 when a group teardown fails. Errors raised while the group
 * is set up or torn down are caught by vk_checked_run, which wraps cmocka_run_group_tests. */
#ifndef LVK_TESTS_VK_CHECKS_H
#define LVK_TESTS_VK_CHECKS_H
#include <stdio.h>

#include "vk/context.h"

static int vk_validation_clean(void **state)
{
    (void)state;
    int n = lvk_validation_error_count();
    lvk_validation_reset_count();
    if (n > 0) {
        fprintf(stderr, "the Vulkan validation layer reported %d error(s) during this test\n", n);
        return -1;
    }
    return 0;
}

#define vk_test(fn) cmocka_unit_test_teardown(fn, vk_validation_clean)

#define vk_checked_run(tests, setup, teardown)                                                                    \
    vk_checked_result(cmocka_run_group_tests(tests, setup, teardown))

static int vk_checked_result(int cmocka_rc)
{
    int n = lvk_validation_error_count();
    if (n > 0)
        fprintf(stderr, "the Vulkan validation layer reported %d error(s) outside the tests (set-up or tear-down)\n",
                n);
    return cmocka_rc != 0 ? cmocka_rc : (n > 0 ? 1 : 0);
}

/* The device the programs would pick by default; false, with the reason on stderr, if there is none. */
static inline bool vk_test_open_device(lvk_instance *inst, lvk_device *d)
{
    lvk_err err = {{0}};
    int index = 0;
    if (!lvk_instance_create(inst, &err))
        goto fail;
    if (!lvk_device_choose(inst, NULL, &index, &err) || !lvk_device_create(d, inst, index, &err)) {
        lvk_instance_destroy(inst);
        goto fail;
    }
    return true;
fail:
    fprintf(stderr, "no Vulkan device: %s\n", err.msg);
    return false;
}

static inline void vk_test_close_device(lvk_instance *inst, lvk_device *d)
{
    lvk_device_destroy(d);
    lvk_instance_destroy(inst);
}

#endif
