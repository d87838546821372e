#include "ref/matvec_q8.h"

#include <string.h>

#include "base/half.h"
#include "ops/quant_format.h"

void lvk_ref_matvec_q8(const uint8_t *quants, const uint8_t *scales, uint32_t rows, uint32_t cols, const float *x,
                       double *y)
{
    uint64_t qrow = lvk_quant_row_bytes(LVK_QUANT_Q8, cols), srow = lvk_quant_scale_row_bytes(LVK_QUANT_Q8, cols);
    for (uint32_t r = 0; r < rows; r++) {
        const uint8_t *q = quants + r * qrow, *s = scales + r * srow;
        double acc = 0;
        for (uint32_t c = 0; c < cols; c++) {
            uint16_t d;
            memcpy(&d, s + (c / 32) * 2, 2);
            acc += (double)lvk_f16_to_f32(d) * (double)(int8_t)q[c] * (double)x[c];
        }
        y[r] = acc;
    }
}
