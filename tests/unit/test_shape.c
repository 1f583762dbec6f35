/*
 * test_shape.c: the shape check every script reply passes before roomd
 * reads it (daemon/shape.c): good replies of each script fit, and a wrong
 * type or a short count anywhere is refused rather than read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "roomd.h"

/* Replies built here live until the test ends (a small arena). */
static redisReply pool[256];
static redisReply *ptrs[1024];
static size_t npool, nptrs;

static redisReply *
rstr(const char *s)
{
	redisReply *r = &pool[npool++];

	memset(r, 0, sizeof *r);
	r->type = REDIS_REPLY_STRING;
	r->str = (char *)s;
	r->len = strlen(s);
	return r;
}

static redisReply *
rnum(long long v)
{
	redisReply *r = &pool[npool++];

	memset(r, 0, sizeof *r);
	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *
rnil(void)
{
	redisReply *r = &pool[npool++];

	memset(r, 0, sizeof *r);
	r->type = REDIS_REPLY_NIL;
	return r;
}

/* An array of n elements given after n. */
static redisReply *
rarr(size_t n, ...)
{
	redisReply *r = &pool[npool++];
	va_list ap;

	memset(r, 0, sizeof *r);
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = &ptrs[nptrs];
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		ptrs[nptrs++] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void
reset(void)
{
	npool = nptrs = 0;
}

static redisReply *
join_reply(redisReply *seq, redisReply *state, redisReply *more)
{
	return rarr(JOIN_R_COUNT, rstr("ok"), seq, rarr(1, rstr("{}")), state,
	    rnum(3), rnum(-1), rarr(0), rstr("{}"),
	    rarr(JOIN_D_COUNT, rstr(""), rstr(""), rstr("public"), rstr("0"),
	    rnil(), rstr("0"), rnil(), rnil(), rnil()), more);
}

static void
test_join(void **state)
{
	(void)state;
	reset();
	assert_int_equal(shape_check(SHAPE_JOIN, join_reply(rstr("1-0"),
	    rarr(2, rstr("k"), rstr("1")), rnum(0))), 0);
	assert_int_equal(shape_check(SHAPE_JOIN, join_reply(rnil(),
	    rarr(0), rnum(1))), 0);
	assert_int_equal(shape_check(SHAPE_JOIN, rarr(1, rstr("room_full"))),
	    0);
	/* An odd state, a seq that is a number, more missing. */
	assert_int_equal(shape_check(SHAPE_JOIN, join_reply(rstr("1-0"),
	    rarr(1, rstr("k")), rnum(0))), -1);
	assert_int_equal(shape_check(SHAPE_JOIN, join_reply(rnum(1),
	    rarr(0), rnum(0))), -1);
	assert_int_equal(shape_check(SHAPE_JOIN, join_reply(rstr("1-0"),
	    rarr(0), rnil())), -1);
	assert_int_equal(shape_check(SHAPE_JOIN, rarr(2, rstr("ok"),
	    rstr("1-0"))), -1);
	assert_int_equal(shape_check(SHAPE_JOIN, rarr(0)), -1);
	assert_int_equal(shape_check(SHAPE_JOIN, rnum(1)), -1);
	assert_int_equal(shape_check(SHAPE_JOIN, rarr(1, rnum(1))), -1);
}

static void
test_others(void **state)
{
	(void)state;
	reset();
	assert_int_equal(shape_check(SHAPE_APPEND, rarr(2, rstr("ok"),
	    rstr("1-0"))), 0);
	assert_int_equal(shape_check(SHAPE_APPEND, rarr(1, rstr("ok"))), -1);
	assert_int_equal(shape_check(SHAPE_APPEND, rarr(1,
	    rstr("not_member"))), 0);
	assert_int_equal(shape_check(SHAPE_STATE_SET, rarr(3, rstr("ok"),
	    rnum(2), rstr("1-0"))), 0);
	assert_int_equal(shape_check(SHAPE_STATE_SET, rarr(2,
	    rstr("conflict"), rnum(2))), 0);
	assert_int_equal(shape_check(SHAPE_STATE_SET, rarr(1,
	    rstr("conflict"))), -1);
	assert_int_equal(shape_check(SHAPE_STATE_SET, rarr(2,
	    rstr("too_large"), rstr("x"))), -1);
	assert_int_equal(shape_check(SHAPE_STATE, rarr(3, rstr("ok"),
	    rarr(2, rstr("k"), rstr("v")), rnum(1))), 0);
	assert_int_equal(shape_check(SHAPE_STATE, rarr(3, rstr("ok"),
	    rarr(2, rstr("k"), rnum(1)), rnum(1))), -1);
	assert_int_equal(shape_check(SHAPE_PRESENCE, rarr(2, rstr("ok"),
	    rarr(1, rstr("{}")))), 0);
	assert_int_equal(shape_check(SHAPE_PRESENCE, rarr(2, rstr("ok"),
	    rstr("{}"))), -1);
	assert_int_equal(shape_check(SHAPE_HISTORY, rarr(4, rstr("ok"),
	    rarr(1, rstr("{}")), rnum(1), rstr("1-0"))), 0);
	assert_int_equal(shape_check(SHAPE_HISTORY, rarr(4, rstr("ok"),
	    rarr(0), rnum(0), rnil())), 0);
	assert_int_equal(shape_check(SHAPE_HISTORY, rarr(2, rstr("ok"),
	    rarr(0))), -1);
	assert_int_equal(shape_check(SHAPE_LEAVE, rarr(3, rnum(1),
	    rstr("1-0"), rnum(0))), 0);
	assert_int_equal(shape_check(SHAPE_LEAVE, rarr(3, rnum(0), rnil(),
	    rnum(0))), 0);
	assert_int_equal(shape_check(SHAPE_LEAVE, rarr(2, rnum(0), rnil())),
	    -1);
	assert_int_equal(shape_check(SHAPE_ROOMS, rarr(1, rarr(ROOMS_R_COUNT,
	    rstr("r"), rstr(""), rstr(""), rstr("public"), rnum(1), rnum(0),
	    rnum(5)))), 0);
	assert_int_equal(shape_check(SHAPE_ROOMS, rarr(0)), 0);
	assert_int_equal(shape_check(SHAPE_ROOMS, rarr(1, rarr(ROOMS_R_COUNT,
	    rstr("r"), rnil(), rstr(""), rstr("public"), rnum(1), rnum(0),
	    rnum(5)))), -1);
	assert_int_equal(shape_check(SHAPE_ROOMS, rarr(1, rstr("r"))), -1);
	assert_int_equal(shape_check(SHAPE_GC, rarr(4, rarr(1, rstr("n")),
	    rnum(1), rnum(0), rnum(0))), 0);
	assert_int_equal(shape_check(SHAPE_GC, rarr(4, rarr(1, rnum(1)),
	    rnum(1), rnum(0), rnum(0))), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_others),
	};

	log_init("test", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
