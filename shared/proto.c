/*
 * proto.c: protocol identifiers, sequence numbers, error codes and JSON
 * string output.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "shared.h"

/* Return 1 if the len bytes at s match ^[A-Za-z0-9_.:-]{1,64}$, else 0. */
int
id_valid(const char *s, size_t len)
{
	size_t i;
	char c;

	if (s == NULL || len == 0 || len > ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == ':' || c == '-')
			continue;
		return 0;
	}
	return 1;
}

/*
 * Parse a run of digits from s up to end into *out, stopping at the first
 * non-digit; return a pointer past the digits, or NULL when there are none
 * or the value does not fit in 64 bits.
 */
static const char *
seq_digits(const char *s, const char *end, uint64_t *out)
{
	const char *start = s;
	uint64_t v = 0;
	unsigned d;

	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (s == start)
		return NULL;
	*out = v;
	return s;
}

/*
 * Parse a Redis stream id "<ms>-<n>" (the full form only) from len bytes.
 * Return 0, or -1 leaving *seq alone.
 */
int
seq_parse(const char *s, size_t len, struct seq *seq)
{
	const char *end = s + len, *p;
	struct seq v;

	if (s == NULL)
		return -1;
	p = seq_digits(s, end, &v.ms);
	if (p == NULL || p == end || *p != '-')
		return -1;
	p = seq_digits(p + 1, end, &v.n);
	if (p != end)
		return -1;
	*seq = v;
	return 0;
}

/* Order two sequence numbers numerically: -1, 0 or 1. */
int
seq_cmp(const struct seq *a, const struct seq *b)
{
	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return 0;
}

/*
 * Append len bytes at s as a quoted JSON string. Bytes from 0x80 up are
 * copied as they are: callers pass text that is already UTF-8 (it came
 * through cJSON or from our own code).
 */
void
json_add_string(struct buf *b, const char *s, size_t len)
{
	char esc[8];
	size_t i, run = 0;
	unsigned char c;

	buf_reserve(b, len + 2);
	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		/* Copy unescaped stretches in one go. */
		buf_add(b, s + i - run, run);
		run = 0;
		switch (c) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		case '\b':
			buf_add(b, "\\b", 2);
			break;
		case '\f':
			buf_add(b, "\\f", 2);
			break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			buf_add(b, esc, 6);
			break;
		}
	}
	buf_add(b, s + len - run, run);
	buf_addc(b, '"');
}

/* Name a cJSON item type the way error messages to clients spell it. */
const char *
json_type_name(int type)
{
	switch (type & 0xff) {
	case cJSON_String:
		return "string";
	case cJSON_Number:
		return "number";
	case cJSON_Object:
		return "object";
	case cJSON_Array:
		return "array";
	case cJSON_True:
	case cJSON_False:
		return "bool";
	case cJSON_NULL:
		return "null";
	case cJSON_Raw:
		return "raw";
	default:
		return "invalid";
	}
}

/* The one name table of enum err_code. */
static const char *const err_names[ERR_COUNT] = {
	[ERR_BAD_JSON] = "bad_json",
	[ERR_BAD_REQUEST] = "bad_request",
	[ERR_UNKNOWN_TYPE] = "unknown_type",
	[ERR_UNAUTHORIZED] = "unauthorized",
	[ERR_FORBIDDEN] = "forbidden",
	[ERR_NOT_FOUND] = "not_found",
	[ERR_NOT_MEMBER] = "not_member",
	[ERR_ROOM_FULL] = "room_full",
	[ERR_TOO_MANY_ROOMS] = "too_many_rooms",
	[ERR_CONFLICT] = "conflict",
	[ERR_RATE_LIMITED] = "rate_limited",
	[ERR_TOO_LARGE] = "too_large",
	[ERR_UNAVAILABLE] = "unavailable",
	[ERR_INTERNAL] = "internal",
};

/* The wire name of an error code; "internal" for one out of range. */
const char *
err_name(enum err_code code)
{
	if ((unsigned)code >= ERR_COUNT)
		return err_names[ERR_INTERNAL];
	return err_names[code];
}

/* The code named s (a script's status word, say); -1 when none is. */
int
err_parse(const char *s, enum err_code *out)
{
	for (int i = 0; i < ERR_COUNT; i++) {
		if (strcmp(s, err_names[i]) == 0) {
			*out = (enum err_code)i;
			return 0;
		}
	}
	return -1;
}

/* The one name table of enum req_type: what a request's "type" says. */
static const char *const req_type_names[REQ_TYPE_COUNT] = {
	[REQ_JOIN] = "join",
	[REQ_LEAVE] = "leave",
	[REQ_PUBLISH] = "publish",
	[REQ_STATE_SET] = "state.set",
	[REQ_STATE_GET] = "state.get",
	[REQ_PRESENCE] = "presence",
	[REQ_HISTORY] = "history",
	[REQ_ROOMS] = "rooms",
	[REQ_PING] = "ping",
	[REQ_MATCH] = "match",
	[REQ_LOCK] = "lock",
	[REQ_UNLOCK] = "unlock",
};

/*
 * The name of request type t; REQ_TYPE_COUNT, standing for a type no table
 * has, is "other" (the /metrics label of unknown types).
 */
const char *
req_type_name(enum req_type t)
{
	if ((unsigned)t >= REQ_TYPE_COUNT)
		return "other";
	return req_type_names[t];
}
