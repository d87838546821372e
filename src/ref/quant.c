#include "ref/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "base/half.h"

#if defined(_MSC_VER)
#pragma fp_contract(off)
#endif

#if FLT_EVAL_METHOD != 0
#error "quant.c needs fp32 evaluated in fp32 (no x87 excess precision) to match the shaders bit for bit"
#endif

/* fp32 constants by their bits, as the shaders spell them, so no decimal parser rounds them differently. */
#define C_24_17 0x3fb4b4b5u  /* 24/17 */
#define C_8_17 0x3ef0f0f1u   /* 8/17 */
#define C_1_127 0x3c010204u  /* 1/127 */
#define C_1_15 0x3d888889u   /* 1/15 */
#define C_0_1 0x3dcccccdu    /* 0.1 */
#define FLUSH_BELOW 0x2f800000u /* 2^-32 */

float lvk_quant_recip(float y)
{
    /* y = f * 2^(e - 127) with f in [1, 2): 1/f from the classic linear start (error <= 1/17) and three
     * Newton steps (each squares the error), times 2^(127 - e) built on the bits (exact). */
    uint32_t u = lvk_f32_to_bits(y);
    uint32_t e = u >> 23;
    float f = lvk_bits_to_f32((u & 0x7fffffu) | 0x3f800000u);
    float t = lvk_bits_to_f32(C_8_17) * f;
    float r = lvk_bits_to_f32(C_24_17) - t;
    for (int i = 0; i < 3; i++) {
        float fr = f * r;
        float err = 1.0f - fr;
        float c = r * err;
        r = r + c;
    }
    return r * lvk_bits_to_f32((254u - e) << 23);
}

static float round_half_up(float t) { return floorf(t + 0.5f); }

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* The block's 32 values as fp32 (padding zeros past cols); false on NaN or infinity at *bad_col. */
static bool load_block(lvk_dtype dtype, const void *row, uint32_t cols, uint32_t c0, float x[32], uint32_t *bad_col)
{
    for (uint32_t j = 0; j < LVK_QUANT_BLOCK; j++) {
        uint32_t c = c0 + j;
        uint32_t u = 0;
        if (c < cols) {
            if (dtype == LVK_DTYPE_F16) {
                uint16_t h;
                memcpy(&h, (const uint8_t *)row + 2 * (size_t)c, 2);
                u = lvk_f32_to_bits(lvk_f16_to_f32(h));
            } else if (dtype == LVK_DTYPE_BF16) {
                uint16_t h;
                memcpy(&h, (const uint8_t *)row + 2 * (size_t)c, 2);
                u = (uint32_t)h << 16;
            } else {
                memcpy(&u, (const uint8_t *)row + 4 * (size_t)c, 4);
            }
        }
        if ((u & 0x7f800000u) == 0x7f800000u) {
            *bad_col = c;
            return false;
        }
        if ((u & 0x7fffffffu) < FLUSH_BELOW)
            u = 0;
        x[j] = lvk_bits_to_f32(u);
    }
    return true;
}

/* fp16 bits of x, or false if x rounds to infinity. */
static bool to_f16(float x, uint16_t *h)
{
    *h = lvk_f32_to_f16(x);
    return (*h & 0x7c00u) != 0x7c00u;
}

static bool q8_block(const float x[32], int8_t q[32], uint16_t *d)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        float a = x[j] < 0.0f ? -x[j] : x[j];
        amax = a > amax ? a : amax;
    }
    if (!to_f16(amax * lvk_bits_to_f32(C_1_127), d))
        return false;
    float dv = lvk_f16_to_f32(*d);
    float inv = dv > 0.0f ? lvk_quant_recip(dv) : 0.0f;
    for (int j = 0; j < 32; j++)
        q[j] = (int8_t)clampf(round_half_up(x[j] * inv), -127.0f, 127.0f);
    return true;
}

/* Codes of x for w = m + s * L, and their squared error (summed in order j = 0..31). */
static float q4_assign(const float x[32], float s, float m, uint8_t L[32])
{
    float inv = s > 0.0f ? lvk_quant_recip(s) : 0.0f;
    float sse = 0.0f;
    for (int j = 0; j < 32; j++) {
        float t = (x[j] - m) * inv;
        L[j] = (uint8_t)clampf(round_half_up(t), 0.0f, 15.0f);
        float v = s * (float)L[j];
        float w = m + v;
        float dlt = w - x[j];
        float sq = dlt * dlt;
        sse = sse + sq;
    }
    return sse;
}

static bool q4_block(const float x[32], bool search, uint8_t L[32], uint32_t *param)
{
    float mn = x[0], mx = x[0];
    for (int j = 1; j < 32; j++) {
        mn = x[j] < mn ? x[j] : mn;
        mx = x[j] > mx ? x[j] : mx;
    }
    float range = mx - mn;
    uint16_t s16, m16;
    if (!to_f16(range * lvk_bits_to_f32(C_1_15), &s16) || !to_f16(mn, &m16))
        return false;
    float best = q4_assign(x, lvk_f16_to_f32(s16), lvk_f16_to_f32(m16), L);
    if (search && s16 != 0) {
        float irange = lvk_quant_recip(range);
        uint8_t cand[32];
        for (int is = 0; is <= LVK_QUANT_Q4_STEPS; is++) {
            float step = (float)is * lvk_bits_to_f32(C_0_1);
            float iscale = (14.0f + step) * irange;
            float sum_l = 0.0f, sum_l2 = 0.0f, sum_x = 0.0f, sum_xl = 0.0f;
            for (int j = 0; j < 32; j++) {
                float t = (x[j] - mn) * iscale;
                float l = clampf(round_half_up(t), 0.0f, 15.0f);
                sum_l = sum_l + l;
                float l2 = l * l;
                sum_l2 = sum_l2 + l2;
                sum_x = sum_x + x[j];
                float xl = x[j] * l;
                sum_xl = sum_xl + xl;
            }
            /* Least squares of x ~ m + s * l: D = n sum l^2 - (sum l)^2 is an exact integer. */
            float d_a = 32.0f * sum_l2, d_b = sum_l * sum_l;
            float D = d_a - d_b;
            if (!(D > 0.0f))
                continue;
            float rd = lvk_quant_recip(D);
            float ns_a = 32.0f * sum_xl, ns_b = sum_x * sum_l;
            float nm_a = sum_l2 * sum_x, nm_b = sum_l * sum_xl;
            float s = (ns_a - ns_b) * rd;
            float m = (nm_a - nm_b) * rd;
            uint16_t cs, cm;
            if (!(s > 0.0f) || !to_f16(s, &cs) || !to_f16(m, &cm) || cs == 0)
                continue;
            float e = q4_assign(x, lvk_f16_to_f32(cs), lvk_f16_to_f32(cm), cand);
            if (e < best) {
                best = e;
                s16 = cs, m16 = cm;
                memcpy(L, cand, 32);
            }
        }
    }
    *param = (uint32_t)s16 | (uint32_t)m16 << 16;
    return true;
}

bool lvk_ref_quantize(lvk_quant_format f, lvk_dtype dtype, const void *src, uint32_t rows, uint32_t cols,
                      bool search, uint8_t *quants, uint8_t *scales, lvk_err *err)
{
    if (dtype != LVK_DTYPE_F16 && dtype != LVK_DTYPE_BF16 && dtype != LVK_DTYPE_F32)
        return lvk_fail(err, "quantize: input must be fp16, bf16 or fp32");
    size_t esize = dtype == LVK_DTYPE_F32 ? 4 : 2;
    uint32_t nb = lvk_quant_blocks(cols);
    uint64_t qrow = lvk_quant_row_bytes(f, cols), srow = lvk_quant_scale_row_bytes(f, cols);
    for (uint32_t r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)src + (size_t)r * cols * esize;
        uint8_t *q = quants + r * qrow, *s = scales + r * srow;
        memset(s, 0, srow);
        for (uint32_t b = 0; b < nb; b++) {
            float x[32];
            uint32_t bad = 0;
            if (!load_block(dtype, row, cols, b * 32, x, &bad))
                return lvk_fail(err, "quantize %s: row %u, column %u is NaN or infinite", lvk_quant_name(f), r, bad);
            bool ok;
            if (f == LVK_QUANT_Q8) {
                int8_t qb[32] = {0};
                uint16_t d = 0;
                ok = q8_block(x, qb, &d);
                memcpy(q + b * 32, qb, 32);
                memcpy(s + b * 2, &d, 2);
            } else {
                uint8_t L[32] = {0};
                uint32_t p = 0;
                ok = q4_block(x, search, L, &p);
                for (int j = 0; j < 16; j++)
                    q[b * 16 + j] = (uint8_t)(L[2 * j] | L[2 * j + 1] << 4);
                memcpy(s + b * 4, &p, 4);
            }
            if (!ok)
                return lvk_fail(err,
                                "quantize %s: row %u, columns %u..%u: values too large for an fp16 block scale "
                                "(|x| up to about %s)",
                                lvk_quant_name(f), r, b * 32, b * 32 + 31, f == LVK_QUANT_Q8 ? "8.3e6" : "65504");
        }
    }
    return true;
}

float lvk_ref_quant_weight(lvk_quant_format f, const uint8_t *quants, const uint8_t *scales, uint32_t cols, uint32_t r,
                          uint32_t c)
{
    const uint8_t *q = quants + r * lvk_quant_row_bytes(f, cols), *s = scales + r * lvk_quant_scale_row_bytes(f, cols);
    uint32_t b = c / 32, j = c % 32;
    if (f == LVK_QUANT_Q8) {
        uint16_t d = 0;
        memcpy(&d, s + b * 2, 2);
        return lvk_f16_to_f32(d) * (float)(int8_t)q[b * 32 + j];
    }
    uint32_t p = 0;
    memcpy(&p, s + b * 4, 4);
    uint32_t L = (q[b * 16 + j / 2] >> (4 * (j & 1))) & 15u;
    float v = lvk_f16_to_f32((uint16_t)(p & 0xffffu)) * (float)L;
    return lvk_f16_to_f32((uint16_t)(p >> 16)) + v;
}

void lvk_ref_dequantize(lvk_quant_format f, const uint8_t *quants, const uint8_t *scales, uint32_t rows,
                        uint32_t cols, float *out)
{
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < cols; c++)
            out[(size_t)r * cols + c] = lvk_ref_quant_weight(f, quants, scales, cols, r, c);
}
