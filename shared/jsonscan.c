/*
 * jsonscan.c: reading JSON text that came from outside: parsing it from a
 * NUL-terminated copy, where a top-level member's value lies (so a ref is
 * echoed as the exact text the client sent), whether a string holds an
 * escaped NUL (which cJSON's C strings would silently cut short), and a
 * value's text without its whitespace (event data passed on as sent). The
 * scanners are for text cJSON has accepted as one object; on anything
 * else they fail safely, never reading past len.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "shared.h"

/* cJSON skips every byte up to and including space as whitespace. */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (unsigned char)*p <= 32)
		p++;
	return p;
}

/* p is at an opening quote: return the byte after the closing one. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Return the byte after the value at p (string, number, literal, nest). */
static const char *
skip_value(const char *p, const char *end)
{
	size_t depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' &&
		    (unsigned char)*p > 32)
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '"') {
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
	}
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Does the quoted key at [p, q) (quotes included) decode to name? Escapes
 * are decoded as cJSON does, so "r\u0065f" names ref too.
 */
static int
key_is(const char *p, const char *q, const char *name)
{
	size_t n = strlen(name), i = 0;
	int v, d;

	for (p++, q--; p < q; p++, i++) {
		char c = *p;

		if (c == '\\') {
			if (++p >= q)
				return 0;
			switch (*p) {
			case 'u':
				if (q - p < 5)
					return 0;
				v = 0;
				for (int k = 1; k <= 4; k++) {
					if ((d = hexval(p[k])) < 0)
						return 0;
					v = v * 16 + d;
				}
				if (v == 0 || v >= 0x80)
					return 0;	/* not in an ASCII name */
				c = (char)v;
				p += 4;
				break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			default: c = *p; break;
			}
		}
		if (i >= n || name[i] != c)
			return 0;
	}
	return i == n;
}

/*
 * Find the value of the first top-level member called name in the JSON
 * object text (as cJSON_GetObjectItemCaseSensitive would). Sets *val and
 * *vlen to its exact text and returns 0, or returns -1 when there is none.
 */
int
json_member_span(const char *text, size_t len, const char *name,
    const char **val, size_t *vlen)
{
	const char *p = text, *end = text + len, *k, *v;

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	for (p++;;) {
		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			return -1;
		k = p;
		if ((p = skip_string(p, end)) == NULL)
			return -1;
		if (!key_is(k, p, name)) {
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return -1;
			p = skip_ws(p + 1, end);
			if ((p = skip_value(p, end)) == NULL)
				return -1;
		} else {
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return -1;
			v = skip_ws(p + 1, end);
			if ((p = skip_value(v, end)) == NULL || p == v)
				return -1;
			*val = v;
			*vlen = (size_t)(p - v);
			return 0;
		}
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			return -1;
		p++;
	}
}

/*
 * Return 1 when a string in the JSON text holds the escape \u0000 (a key
 * or a value, at any depth), else 0. A backslash before the u does not
 * count when it is itself escaped ("\\u0000" is text, not NUL).
 */
int
json_has_nul_escape(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int in_string = 0;

	for (; p < end; p++) {
		if (!in_string) {
			if (*p == '"')
				in_string = 1;
			continue;
		}
		if (*p == '"')
			in_string = 0;
		else if (*p == '\\') {
			if (end - p >= 6 && p[1] == 'u' && memcmp(p + 2, "0000",
			    4) == 0)
				return 1;
			p++;
		}
	}
	return 0;
}

/*
 * Parse len bytes of JSON from a NUL-terminated copy, so cJSON never reads
 * a byte past the buffer whatever its version (CVE-2023-53154 is an
 * over-read of a buffer given with its length). Sets *used to the bytes
 * the value took, whitespace before it included. Returns NULL when the
 * text does not start with a value; the caller frees with cJSON_Delete.
 */
cJSON *
json_parse(const char *text, size_t len, size_t *used)
{
	char *copy = xmalloc(len + 1);
	const char *end = NULL;
	cJSON *root;

	memcpy(copy, text, len);
	copy[len] = '\0';
	root = cJSON_ParseWithOpts(copy, &end, 0);
	*used = root != NULL ? (size_t)(end - copy) : 0;
	free(copy);
	return root;
}

/* What cJSON takes into a number, and JSON's punctuation. */
static int
number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
	    c == '+' || c == '-';
}

static int
punct_char(char c)
{
	return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' ||
	    c == ':';
}

/*
 * Is [p, end) a number as JSON writes one? cJSON reads more than that
 * (strtod takes 01, 1., -.5 and 1.e5), and those must not reach clients
 * whose JSON.parse would refuse the whole frame.
 */
static int
json_number_ok(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else
		return 0;
	if (p < end && *p == '.') {
		if (++p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return p == end;
}

/*
 * Append the JSON value text at [v, v + len), which cJSON has accepted,
 * to out without the whitespace between its tokens. A client's value is
 * passed on as it was sent, not parsed and printed again: cheaper, and
 * its numbers keep every digit where cJSON would print them from a
 * double. Returns -1 (out then holds part of it; the caller resets it)
 * where the text leaves JSON's own grammar in a way cJSON allows: a
 * number such as 01 or 1., or a raw control byte in a string. Such text
 * is printed from cJSON's reading instead.
 */
int
json_minify(const char *v, size_t len, struct buf *out)
{
	const char *p = v, *end = v + len, *q;

	buf_reserve(out, len + 1);
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c <= 32) {
			p++;
		} else if (c == '"') {
			for (q = p + 1; q < end && *q != '"'; q++) {
				if ((unsigned char)*q < 0x20)
					return -1;
				if (*q == '\\')
					q++;
			}
			if (q >= end)
				return -1;
			buf_add(out, p, (size_t)(q + 1 - p));
			p = q + 1;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			for (q = p; q < end && number_char(*q); q++)
				;
			if (!json_number_ok(p, q))
				return -1;
			buf_add(out, p, (size_t)(q - p));
			p = q;
		} else if (punct_char((char)c)) {
			buf_add(out, p++, 1);
		} else {
			/* true, false or null */
			for (q = p; q < end && *q >= 'a' && *q <= 'z'; q++)
				;
			if (q == p)
				return -1;
			buf_add(out, p, (size_t)(q - p));
			p = q;
		}
	}
	return 0;
}

/*
 * The text to pass on for a JSON value cJSON read as v from the n bytes
 * at p (p NULL when the text is not known): those bytes less whitespace
 * (json_minify), else cJSON's printing of v. Caller frees.
 */
char *
json_value_text(const char *p, size_t n, const cJSON *v)
{
	struct buf b;

	buf_init(&b);
	if (p != NULL && json_minify(p, n, &b) == 0)
		return buf_detach(&b);
	buf_free(&b);
	return cJSON_PrintUnformatted(v);
}
