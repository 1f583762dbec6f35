/*
 * shape.c: the one check of a script reply's shape (types and element
 * counts, by the indices of shared/scripts.h), made before anything reads
 * an element of it; a reply that does not fit is logged here and answered
 * `internal` by its caller. Everything after the check may index freely.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "roomd.h"

static struct log_limit shape_log;

static int
is_str(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING;
}

static int
is_str_or_nil(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL;
}

static int
is_int(const redisReply *r)
{
	return r->type == REDIS_REPLY_INTEGER;
}

/* An array of strings, of an even count when pairs is set. */
static int
is_strings(const redisReply *r, int pairs)
{
	if (r->type != REDIS_REPLY_ARRAY || (pairs && r->elements % 2 != 0))
		return 0;
	for (size_t i = 0; i < r->elements; i++) {
		if (!is_str(r->element[i]))
			return 0;
	}
	return 1;
}

static int
join_ok(const redisReply *rr)
{
	redisReply *const *e = rr->element;
	const redisReply *d;

	if (rr->elements < JOIN_R_COUNT)
		return 0;
	d = e[JOIN_R_DETAILS];
	if (d->type != REDIS_REPLY_ARRAY || d->elements != JOIN_D_COUNT)
		return 0;
	for (int i = 0; i < JOIN_D_COUNT; i++) {
		if (!is_str_or_nil(d->element[i]))
			return 0;
	}
	return is_str_or_nil(e[JOIN_R_SEQ]) && is_strings(e[JOIN_R_MEMBERS], 0) &&
	    is_strings(e[JOIN_R_STATE], 1) && is_int(e[JOIN_R_STATE_VERSION]) &&
	    is_int(e[JOIN_R_RECOVERED]) && is_strings(e[JOIN_R_FRAMES], 0) &&
	    is_str_or_nil(e[JOIN_R_MEMBER]) && is_int(e[JOIN_R_MORE]);
}

static int
rooms_ok(const redisReply *rr)
{
	for (size_t i = 0; i < rr->elements; i++) {
		const redisReply *row = rr->element[i];
		redisReply *const *f;

		if (row->type != REDIS_REPLY_ARRAY ||
		    row->elements < ROOMS_R_COUNT)
			return 0;
		f = row->element;
		if (!is_str(f[ROOMS_R_ROOM]) || !is_str(f[ROOMS_R_TITLE]) ||
		    !is_str(f[ROOMS_R_TOPIC]) || !is_str(f[ROOMS_R_VISIBILITY]) ||
		    !is_int(f[ROOMS_R_MEMBERS]) ||
		    !is_int(f[ROOMS_R_MAX_MEMBERS]) ||
		    !is_int(f[ROOMS_R_CREATED_AT]))
			return 0;
	}
	return 1;
}

/* The fields after an "ok" status (or "already", for a join). */
static int
ok_fields(enum shape shape, const redisReply *rr)
{
	redisReply *const *e = rr->element;
	size_t n = rr->elements;

	switch (shape) {
	case SHAPE_JOIN:
		return join_ok(rr);
	case SHAPE_MATCH:
		return join_ok(rr) && n >= MATCH_R_COUNT &&
		    is_str(e[MATCH_R_ROOM]) && is_int(e[MATCH_R_CREATED]);
	case SHAPE_LOCK:
		return n >= LOCK_R_COUNT && is_str_or_nil(e[LOCK_R_SEQ]) &&
		    is_str(e[LOCK_R_ROOM]);
	case SHAPE_APPEND:
		return n >= APPEND_R_COUNT && is_str(e[APPEND_R_SEQ]);
	case SHAPE_STATE_SET:
		return n >= STATE_SET_R_COUNT && is_int(e[STATE_SET_R_VERSION]) &&
		    is_str(e[STATE_SET_R_SEQ]);
	case SHAPE_STATE:
		return n > READ_R_STATE_VERSION && is_strings(e[READ_R_STATE], 1) &&
		    is_int(e[READ_R_STATE_VERSION]);
	case SHAPE_PRESENCE:
		return n > READ_R_MEMBERS && is_strings(e[READ_R_MEMBERS], 0);
	case SHAPE_HISTORY:
		return n >= READ_R_HISTORY_COUNT &&
		    is_strings(e[READ_R_FRAMES], 0) && is_int(e[READ_R_MORE]) &&
		    is_str_or_nil(e[READ_R_LAST]);
	default:
		return 0;
	}
}

static int
shape_fits(enum shape shape, const redisReply *rr)
{
	const char *status;

	if (rr->type != REDIS_REPLY_ARRAY)
		return 0;
	switch (shape) {
	case SHAPE_ROOMS:
		return rooms_ok(rr);
	case SHAPE_LEAVE:
		return rr->elements >= LEAVE_R_COUNT &&
		    is_int(rr->element[LEAVE_R_REMOVED]) &&
		    is_str_or_nil(rr->element[LEAVE_R_SEQ]) &&
		    is_int(rr->element[LEAVE_R_CLOSED]);
	case SHAPE_GC:
		return rr->elements >= GC_R_COUNT &&
		    is_strings(rr->element[GC_R_DEAD], 0) &&
		    is_int(rr->element[GC_R_REMOVED]);
	default:
		break;
	}
	/* The rest put a status word first. */
	if (rr->elements < 1 || !is_str(rr->element[SCRIPT_R_STATUS]))
		return 0;
	status = rr->element[SCRIPT_R_STATUS]->str;
	if (strcmp(status, "ok") == 0 ||
	    ((shape == SHAPE_JOIN || shape == SHAPE_MATCH) &&
	    strcmp(status, "already") == 0))
		return ok_fields(shape, rr);
	/* These carry a number after the word. */
	if (strcmp(status, "conflict") == 0 || strcmp(status, "too_large") == 0)
		return rr->elements > 1 && is_int(rr->element[1]);
	return 1;
}

static const char *const shape_names[] = {
	[SHAPE_JOIN] = "join",
	[SHAPE_LEAVE] = "leave",
	[SHAPE_APPEND] = "append",
	[SHAPE_STATE_SET] = "state_set",
	[SHAPE_STATE] = "read state",
	[SHAPE_PRESENCE] = "read presence",
	[SHAPE_HISTORY] = "read history",
	[SHAPE_ROOMS] = "rooms",
	[SHAPE_GC] = "gc",
	[SHAPE_MATCH] = "match",
	[SHAPE_LOCK] = "lock",
};

/*
 * Check a script's reply (not NULL, not a Redis error: the callers handle
 * those first) against what the script returns. Returns 0 when it fits;
 * otherwise logs it (at a limited rate) and returns -1.
 */
int
shape_check(enum shape shape, const redisReply *rr)
{
	if (shape_fits(shape, rr))
		return 0;
	log_warnx_limited(&shape_log, "redis: a %s reply of an unexpected "
	    "shape (type %d, %zu elements)", shape_names[shape], rr->type,
	    rr->type == REDIS_REPLY_ARRAY ? rr->elements : 0);
	return -1;
}
