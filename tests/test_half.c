/* fp16 / bf16 conversions against exhaustive round trips and known values. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/half.h"

static void f16_round_trips_every_value(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = lvk_f16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        assert_int_equal(lvk_f32_to_f16(f), h);
    }
}

static void f16_known_values(void **state)
{
    (void)state;
    assert_true(lvk_f16_to_f32(0x3c00) == 1.0f);
    assert_true(lvk_f16_to_f32(0xc000) == -2.0f);
    assert_true(lvk_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(lvk_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    assert_int_equal(lvk_f32_to_f16(65520.0f), 0x7c00);      /* overflow rounds to inf */
    assert_int_equal(lvk_f32_to_f16(65519.0f), 0x7bff);
    assert_int_equal(lvk_f32_to_f16(ldexpf(1.0f, -25)), 0);   /* tie to even: zero */
    assert_int_equal(lvk_f32_to_f16(ldexpf(1.5f, -25)), 1);
    assert_int_equal(lvk_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00); /* tie to even */
    assert_int_equal(lvk_f32_to_f16(1.0f + ldexpf(3.0f, -11)), 0x3c02);
    assert_true(isnan(lvk_f16_to_f32(lvk_f32_to_f16(NAN))));
}

static void bf16_round_trips_and_rounds(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = lvk_bf16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        assert_int_equal(lvk_f32_to_bf16(f), h);
    }
    assert_int_equal(lvk_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(lvk_f32_to_bf16(lvk_bits_to_f32(0x3f808000u)), 0x3f80); /* tie to even */
    assert_int_equal(lvk_f32_to_bf16(lvk_bits_to_f32(0x3f818000u)), 0x3f82);
    assert_int_equal(lvk_f32_to_bf16(lvk_bits_to_f32(0x3f808001u)), 0x3f81);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f16_round_trips_every_value),
        cmocka_unit_test(f16_known_values),
        cmocka_unit_test(bf16_round_trips_and_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
