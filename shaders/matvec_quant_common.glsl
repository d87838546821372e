// Shared by the matrix × vector kernels of q8 and q4 weights (matvec_quant_*.comp): one block of 32
// weights of a row times x. A block's weights are w_j = s * code_j + m (quant_block.glsl), so
//   sum_j w_j x_j = s * sum_j code_j x_j + m * sum_j x_j,
// and sum_j x_j is the same for every row: a kernel that serves several rows computes it once.
// The codes are read in place (lvk_q8_word_inplace, lvk_q4_word_inplace) against x prescaled once per
// block (quant_prescale), which spares a shift per weight, the costliest part on CPU drivers.
// The including shader declares the specialization constant DTYPE first: LVK_Q8 or LVK_Q4.
#include "quant_block.glsl"

// xs holds x[0 .. 31] of the block as 8 vec4; scales each by the weight of its place in its word.
void quant_prescale(inout vec4 xs[8])
{
    for (uint k = 0; k < 8u; k++) {
        if (DTYPE == LVK_Q8)
            xs[k] *= lvk_q8_x_scale;
        else
            xs[k] *= (k & 1u) == 0u ? lvk_q4_x_scale_lo : lvk_q4_x_scale_hi;
    }
}

float quant_sum(vec4 xs[8])
{
    vec4 s = (xs[0] + xs[1]) + (xs[2] + xs[3]) + ((xs[4] + xs[5]) + (xs[6] + xs[7]));
    return (s.x + s.y) + (s.z + s.w);
}

// The block's 32 codes in place, in the order of x: qa holds the quants (q8: bytes 0..15; q4: all 16),
// qb bytes 16..31 of a q8 block (unused for q4).
void quant_codes(uvec4 qa, uvec4 qb, out vec4 c[8])
{
    if (DTYPE == LVK_Q8) {
        for (uint k = 0; k < 4u; k++) {
            c[k] = lvk_q8_word_inplace(qa[k]);
            c[k + 4u] = lvk_q8_word_inplace(qb[k]);
        }
    } else {
        for (uint k = 0; k < 4u; k++)
            lvk_q4_word_inplace(qa[k], c[2u * k], c[2u * k + 1u]);
    }
}

// sum_j code_j x_j over the block (codes and x as above), as two chains of fused multiply-adds.
float quant_codes_dot(vec4 c[8], vec4 xs[8])
{
    float a = 0.0, b = 0.0;
    for (uint k = 0; k < 8u; k += 2u) {
        a = fma(c[k].x, xs[k].x, a);
        a = fma(c[k].y, xs[k].y, a);
        a = fma(c[k].z, xs[k].z, a);
        a = fma(c[k].w, xs[k].w, a);
        b = fma(c[k + 1u].x, xs[k + 1u].x, b);
        b = fma(c[k + 1u].y, xs[k + 1u].y, b);
        b = fma(c[k + 1u].z, xs[k + 1u].z, b);
        b = fma(c[k + 1u].w, xs[k + 1u].w, b);
    }
    return a + b;
}
