#include "ref/matmul.h"

#include <stddef.h>

/* Columns decoded at a time (a multiple of the q8/q4 block): the W row block lives on the stack and is
 * reused for every token, so each weight is decoded once per row, not once per (row, token). */
#define REF_MATMUL_BLOCK 1024

void lvk_ref_matmul(const lvk_ref_weight *w, const float *x, uint32_t n_tokens, double *y)
{
    const uint32_t rows = w->rows, cols = w->cols;
    float wrow[REF_MATMUL_BLOCK];
    for (uint32_t r = 0; r < rows; r++) {
        for (uint32_t t = 0; t < n_tokens; t++)
            y[(size_t)t * rows + r] = 0;
        for (uint32_t c0 = 0; c0 < cols; c0 += REF_MATMUL_BLOCK) {
            uint32_t n = cols - c0 < REF_MATMUL_BLOCK ? cols - c0 : REF_MATMUL_BLOCK;
            lvk_ref_weight_values(w, r, c0, n, wrow);
            for (uint32_t t = 0; t < n_tokens; t++) {
                const float *xt = x + (size_t)t * cols + c0;
                double sum = 0;
                for (uint32_t c = 0; c < n; c++)
                    sum += (double)wrow[c] * (double)xt[c];
                y[(size_t)t * rows + r] += sum;
            }
        }
    }
}
