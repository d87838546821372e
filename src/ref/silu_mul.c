#include "ref/silu_mul.h"

#include <math.h>

void lvk_ref_silu_mul(const float *gate, const float *up, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double a = gate[i];
        /* exp(-a) overflows to inf for a < -709: a / inf = -0, the right limit. */
        out[i] = a / (1.0 + exp(-a)) * (double)up[i];
    }
}
