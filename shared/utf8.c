/*
 * utf8.c owns the one UTF-8 decoder of roomd and roomctl (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), used to check
 * JWT claims, WebSocket text and close reasons, and to escape log lines.
 */
#include <stddef.h>
#include <stdint.h>

#include "shared.h"

/*
 * Return the length (1 to 4) of the valid UTF-8 sequence starting at s, of
 * which n > 0 bytes are available, or 0 when it is not valid there
 * (overlong, surrogate, beyond U+10FFFF, a stray continuation byte, or cut
 * short by the end of the buffer).
 */
size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Return 1 when the n bytes at p are valid UTF-8 (n may be 0), else 0. */
int
utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0, len;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((len = utf8_seq_len(s + i, n - i)) == 0)
			return 0;
		i += len;
	}
	return 1;
}
