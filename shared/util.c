/* util.c: allocators that never fail, clocks and strict number parsing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared.h"

/*
 * Running out of memory is not something roomd can recover from in a useful
 * way, so every allocation either succeeds or aborts with a message (abort
 * rather than exit so a core dump shows where).
 */
static void __attribute__((noreturn))
oom(const char *what, size_t size)
{
	log_error("%s: out of memory allocating %zu bytes", what, size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p;

	p = malloc(size == 0 ? 1 : size);
	if (p == NULL)
		oom("xmalloc", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		oom("xcalloc", nmemb * size);
	return p;
}

/* Resize p; p is freed (or reused) by this call, use the result instead. */
void *
xrealloc(void *p, size_t size)
{
	void *q;

	q = realloc(p, size == 0 ? 1 : size);
	if (q == NULL)
		oom("xrealloc", size);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;

	p = strdup(s);
	if (p == NULL)
		oom("xstrdup", strlen(s) + 1);
	return p;
}

/* Copy at most n bytes of s (stopping at a NUL) into a new string. */
char *
xstrndup(const char *s, size_t n)
{
	char *p;

	p = strndup(s, n);
	if (p == NULL)
		oom("xstrndup", n + 1);
	return p;
}

/* Format into a new string in *ret; return its length. */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom("xasprintf", 0);
	return n;
}

static uint64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wall clock: milliseconds since the Unix epoch. */
uint64_t
time_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* Milliseconds on a clock that never jumps, for timeouts and intervals. */
uint64_t
mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/*
 * Parse a run of decimal digits at *sp into *out, advancing *sp. Return the
 * number of digits, or -1 on overflow.
 */
static int
parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		s++;
		n++;
	}
	*sp = s;
	*out = v;
	return n;
}

/*
 * Parse a duration: a decimal number with an optional fraction and a unit
 * of ms, s, m or h ("250ms", "1.5s", "1m"); a bare number means seconds.
 * Fractions of a millisecond are dropped. Return 0, or -1 if malformed or
 * too large.
 */
int
parse_duration_ms(const char *s, uint64_t *out)
{
	uint64_t whole, frac = 0, scale = 1, unit, ms;
	int nfrac = 0;

	if (parse_digits(&s, &whole) <= 0)
		return -1;
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++, nfrac++) {
			/* Digits past the ninth cannot matter for ms. */
			if (scale < 1000000000) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
		if (nfrac == 0)
			return -1;
	}
	if (strcmp(s, "ms") == 0)
		unit = 1;
	else if (*s == '\0' || strcmp(s, "s") == 0)
		unit = 1000;
	else if (strcmp(s, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(s, "h") == 0)
		unit = 3600 * 1000;
	else
		return -1;
	if (whole > UINT64_MAX / unit)
		return -1;
	ms = whole * unit;
	if (ms > UINT64_MAX - frac * unit / scale)
		return -1;
	*out = ms + frac * unit / scale;
	return 0;
}

/*
 * Parse s as a plain decimal number (no sign, spaces or trailing junk) in
 * [min, max]. Return 0, or -1 leaving *out alone.
 */
int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (s == NULL || parse_digits(&s, &v) <= 0 || *s != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
