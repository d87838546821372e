/* UTF-8 helpers: decoding one character, validating a buffer, encoding a code point.
 * "Valid" follows RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 * No Unicode tables here: character classes live in PCRE2 where they are needed. */
#ifndef LVK_BASE_UTF8_H
#define LVK_BASE_UTF8_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER, what decoders put in place of a byte that is not valid UTF-8. */
#define LVK_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length of the character a lead byte announces (1..4), or 0 if the byte cannot start a character. */
int lvk_utf8_lead_len(uint8_t lead);

/* Decodes the character at s[0..len). Returns its length in bytes (1..4) and stores the code point,
 * or returns 0 if the bytes there are not one valid, complete character. */
int lvk_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* True if s[0..len) is a complete, valid UTF-8 prefix of some character: the bytes seen so far
 * could still become a valid character once more bytes arrive (used by streaming decoders). */
bool lvk_utf8_is_incomplete_prefix(const uint8_t *s, size_t len);

/* True if all of s[0..len) is valid UTF-8; otherwise false and *bad_offset = first bad byte. */
bool lvk_utf8_validate(const uint8_t *s, size_t len, size_t *bad_offset);

/* Writes cp as UTF-8 into out (room for 4 bytes); returns the length, or 0 for a surrogate or cp > U+10FFFF. */
int lvk_utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
