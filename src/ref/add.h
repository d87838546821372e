/* CPU twin of shaders/add_f32.comp, in fp64. */
#ifndef LVK_REF_ADD_H
#define LVK_REF_ADD_H
#include <stddef.h>

void lvk_ref_add(const float *a, const float *b, double *out, size_t n);

#endif
