#ifndef LVK_HALF_BITS_GLSL
#define LVK_HALF_BITS_GLSL
// fp16 bits to fp32 bits with integer operations only, shared by the weight decoder and the quantizers.
// fp16 bits -> fp32 bits, exact for every input (subnormals, inf, NaN): no device flushes or quiets
// anything on the way.
uint lvk_half_bits_to_float_bits(uint h)
{
    uint sign = (h & 0x8000u) << 16;
    uint e = (h >> 10) & 0x1fu;
    uint m = h & 0x3ffu;
    if (e == 0x1fu)
        return sign | 0x7f800000u | (m << 13);
    if (e != 0u)
        return sign | ((e + 112u) << 23) | (m << 13);
    if (m == 0u)
        return sign;
    uint msb = uint(findMSB(m)); // subnormal: m * 2^-24 = 1.f * 2^(msb - 24)
    return sign | ((msb + 103u) << 23) | ((m << (23u - msb)) & 0x7fffffu);
}
#endif
