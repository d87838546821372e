#include "ref/add.h"

void lvk_ref_add(const float *a, const float *b, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (double)a[i] + (double)b[i];
}
