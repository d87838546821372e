#include "base/utf8.h"

int lvk_utf8_lead_len(uint8_t lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0; /* continuation byte, overlong lead C0/C1, or F5..FF */
}

/* The allowed range of the second byte depends on the lead byte: this is what rules out overlong
 * forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4). */
static bool second_byte_ok(uint8_t lead, uint8_t b)
{
    switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
    }
}

static bool is_continuation(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

int lvk_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
    if (len == 0)
        return 0;
    int n = lvk_utf8_lead_len(s[0]);
    if (n == 0 || (size_t)n > len)
        return 0;
    if (n == 1) {
        *cp = s[0];
        return 1;
    }
    if (!second_byte_ok(s[0], s[1]))
        return 0;
    for (int i = 2; i < n; i++)
        if (!is_continuation(s[i]))
            return 0;
    uint32_t c = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++)
        c = (c << 6) | (s[i] & 0x3F);
    *cp = c;
    return n;
}

bool lvk_utf8_is_incomplete_prefix(const uint8_t *s, size_t len)
{
    if (len == 0)
        return false;
    int n = lvk_utf8_lead_len(s[0]);
    if (n <= 1 || len >= (size_t)n)
        return false;
    if (len >= 2 && !second_byte_ok(s[0], s[1]))
        return false;
    for (size_t i = 2; i < len; i++)
        if (!is_continuation(s[i]))
            return false;
    return true;
}

bool lvk_utf8_validate(const uint8_t *s, size_t len, size_t *bad_offset)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) { /* ASCII fast path */
            i++;
            continue;
        }
        uint32_t cp;
        int n = lvk_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            if (bad_offset)
                *bad_offset = i;
            return false;
        }
        i += (size_t)n;
    }
    return true;
}

int lvk_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return 0;
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
