#include "ops/weight_format.h"

#include <stdio.h>

/* The 16-bit formats are read through 32-bit words (DESIGN §3): no optional storage feature needed. */
static const lvk_weight_format formats[] = {
    {LVK_DTYPE_F16, 8, 16, 0},
    {LVK_DTYPE_BF16, 8, 16, 0},
    {LVK_DTYPE_F32, 4, 16, 0},
    {LVK_DTYPE_Q8, 32, 32, 2}, /* int8 quants; one fp16 scale per block */
    {LVK_DTYPE_Q4, 32, 16, 4}, /* 4-bit codes; fp16 scale and offset per block */
};

const lvk_weight_format *lvk_weight_format_of(lvk_dtype dtype, const char *what, lvk_err *err)
{
    char names[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (formats[i].dtype == dtype)
            return &formats[i];
        int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", lvk_dtype_name(formats[i].dtype));
        if (n > 0 && (size_t)n < sizeof names - used)
            used += (size_t)n;
    }
    lvk_fail(err, "%s: weights of type %s cannot be read on the device (the formats are %s)", what,
             lvk_dtype_name(dtype), names);
    return NULL;
}
