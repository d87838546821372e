/* Placeholder: the silu_mul cases are being written; this file is replaced by them. */
#include "selftest/harness.h"

bool lvk_selftest_silu_mul(lvk_selftest *t, lvk_err *err)
{
    (void)t;
    (void)err;
    return true;
}
