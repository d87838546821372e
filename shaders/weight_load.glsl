// Reads element i of a 1-D weight stored as fp32, fp16 or bf16 through 32-bit words (no 16-bit storage needed).
// Needs: a spec constant WDTYPE (0 fp32, 1 fp16, 2 bf16) and a buffer `uint w_words[]`.
float lvk_weight_at(uint i)
{
    if (WDTYPE == 0u)
        return uintBitsToFloat(w_words[i]);
    uint word = w_words[i >> 1];
    uint h = (i & 1u) != 0u ? word >> 16 : word & 0xffffu;
    if (WDTYPE == 1u)
        return unpackHalf2x16(h).x;
    return uintBitsToFloat(h << 16);
}
