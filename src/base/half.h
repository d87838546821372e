/* IEEE fp16 and bfloat16 <-> fp32, exact and portable (no F16C, no _Float16). */
#ifndef LVK_BASE_HALF_H
#define LVK_BASE_HALF_H
#include <stdint.h>
#include <string.h>

static inline float lvk_bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t lvk_f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float lvk_bf16_to_f32(uint16_t h) { return lvk_bits_to_f32((uint32_t)h << 16); }

/* Round to nearest even; NaN stays NaN (quiet). */
static inline uint16_t lvk_f32_to_bf16(float f)
{
    uint32_t u = lvk_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float lvk_f16_to_f32(uint16_t h);
/* Round to nearest even, overflow to infinity, subnormals kept. */
uint16_t lvk_f32_to_f16(float f);

#endif
