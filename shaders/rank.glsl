// The order argmax and top-k rank logits by (same as src/ref/argmax.c): a number beats NaN; between
// numbers the larger wins; equal values (and two NaNs) go to the lower index. A total order, so results
// do not depend on how the work is split. The sentinel (NaN, 0xffffffff) loses to every real entry.
const uint LVK_NO_INDEX = 0xffffffffu;

bool lvk_better(float av, uint ai, float bv, uint bi)
{
    bool a_nan = isnan(av), b_nan = isnan(bv);
    if (a_nan != b_nan)
        return b_nan;
    if (!a_nan && av != bv)
        return av > bv;
    return ai < bi;
}

float lvk_nan() { return uintBitsToFloat(0x7fc00000u); }
