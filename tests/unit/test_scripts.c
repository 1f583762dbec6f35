/*
 * test_scripts.c: each script's C builder (shared/scripts.h) against its
 * Lua source: the keys come first, in order, and the builder passes as
 * many arguments as the script reads; plus the error code names.
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

#include "shared.h"
#include "cluster.h"

/* The highest what[n] (ARGV, KEYS) the script reads; 0 for none. The
 * prelude reads no ARGV. */
static int
max_index(enum script_id id, const char *what)
{
	const char *src = script_source(id), *p;
	size_t wl = strlen(what);
	int max = 0, n;

	for (p = src; (p = strstr(p, what)) != NULL; p += wl) {
		if (p[wl] != '[')
			continue;
		n = atoi(p + wl + 1);
		if (n > max)
			max = n;
	}
	return max;
}

static void
check_arity(const struct script_args *sa, int nkeys)
{
	int want = max_index(sa->id, "ARGV");

	if (sa->argc - sa->nkeys != want || sa->nkeys != nkeys)
		print_error("script %s: %d keys, %d args; lua reads %d args\n",
		    script_name(sa->id), sa->nkeys, sa->argc - sa->nkeys, want);
	assert_int_equal(sa->nkeys, nkeys);
	assert_int_equal(sa->argc - sa->nkeys, want);
	for (int i = 0; i < sa->argc; i++)
		assert_int_equal(sa->lens[i], strlen(sa->argv[i]));
}

static void
test_join(void **state)
{
	struct script_args sa;

	(void)state;
	script_join_args(&sa, &(struct script_join){ .prefix = "p:",
	    .room = "r1", .conn = "c1", .member = "{\"conn\":\"c1\"",
	    .maxlen = 1000, .ttl = 60, .max_members = 5 });
	check_arity(&sa, 6);
	assert_string_equal(sa.argv[0], "p:room:{r1}");
	assert_string_equal(sa.argv[5], "p:rooms:public");
	assert_string_equal(sa.argv[6], "r1");
	assert_string_equal(sa.argv[9], "p:ch:{r1}");
	assert_string_equal(sa.argv[10], "1000");
	assert_string_equal(sa.argv[12], "");		/* since */
	assert_string_equal(sa.argv[16], "5");
	script_args_free(&sa);
	script_join_args(&sa, &(struct script_join){ .prefix = "p:",
	    .room = "r1", .conn = "c1", .member = "{" });
	assert_string_equal(sa.argv[16], "");		/* no limit */
	script_args_free(&sa);
}

static void
test_leave(void **state)
{
	struct script_args sa;

	(void)state;
	script_leave_args(&sa, &(struct script_leave){ .prefix = "p:",
	    .room = "r1", .conn = "c1", .reason = "evicted",
	    .ctl_message = "{}" });
	check_arity(&sa, 6);
	assert_string_equal(sa.argv[6 + 7], "p:ctl");
	assert_string_equal(sa.argv[6 + 8], "{}");
	script_args_free(&sa);
	script_leave_args(&sa, &(struct script_leave){ .prefix = "p:",
	    .room = "r1", .conn = "c1", .reason = "leave" });
	assert_int_equal(sa.argc, 6 + 7);
	assert_string_equal(sa.argv[6 + 6], "leave");
	script_args_free(&sa);
}

static void
test_writes(void **state)
{
	struct script_args sa;

	(void)state;
	script_append_args(&sa, &(struct script_append){ .prefix = "p:",
	    .room = "r1", .type = "event", .body = ",\"x\":1", .noecho = 1,
	    .must_exist = 1 });
	check_arity(&sa, 4);
	assert_string_equal(sa.argv[4 + 6], "");	/* no conn */
	assert_string_equal(sa.argv[4 + 7], "1");
	script_args_free(&sa);
	script_state_set_args(&sa, &(struct script_state_set){ .prefix = "p:",
	    .room = "r1", .conn = "c1", .key = "k\"", .value = "null",
	    .has_if_version = 1, .if_version = 7, .by = "{}" });
	check_arity(&sa, 4);
	assert_string_equal(sa.argv[4 + 6], "\"k\\\"\"");
	assert_string_equal(sa.argv[4 + 8], "7");
	script_args_free(&sa);
}

static void
test_reads(void **state)
{
	struct script_args sa;
	struct script_restore r = { .prefix = "p:", .room = "r1",
	    .conn = "c1", .member = "{}", .ttl = 9 };

	(void)state;
	script_read_args(&sa, &(struct script_read){ .prefix = "p:",
	    .room = "r1", .what = "history", .limit = 10 });
	check_arity(&sa, 4);
	assert_string_equal(sa.argv[4 + 3], "10");
	script_args_free(&sa);
	script_rooms_args(&sa, &(struct script_rooms){ .prefix = "p:",
	    .all = 0, .limit = 3 });
	check_arity(&sa, 1);
	assert_string_equal(sa.argv[0], "p:rooms:public");
	script_args_free(&sa);
	script_restore_args(&sa, &r);
	check_arity(&sa, 6);
	assert_string_equal(sa.argv[6 + 6], "public");	/* defaults */
	assert_string_equal(sa.argv[6 + 7], "0");
	assert_string_equal(sa.argv[6 + 9], "0");	/* not locked */
	assert_string_equal(sa.argv[6 + 12], "");	/* no pool key */
	script_args_free(&sa);
	script_gc_args(&sa, &(struct script_gc){ .prefix = "p:",
	    .restarted = "n1" });
	check_arity(&sa, 0);
	script_args_free(&sa);
}

static void
test_match(void **state)
{
	struct script_args sa;

	(void)state;
	assert_int_equal(script_match_args(&sa, &(struct script_match){
	    .prefix = "p:", .pool = "duel", .size = 2, .filter = "{}",
	    .new_room = "duel-0123456789ab", .conn = "c1", .member = "{",
	    .maxlen = 1000, .ttl = 60 }), 0);
	check_arity(&sa, 7);
	/* The digest is of "2:{}": size and canonical filter. */
	assert_string_equal(sa.argv[0], "p:pool:{duel}:c36ebdf8d64760da");
	assert_string_equal(sa.argv[1], "p:room:{duel-0123456789ab}");
	assert_string_equal(sa.argv[6], "p:rooms:public");
	assert_string_equal(sa.argv[7 + 0], "p:");
	assert_string_equal(sa.argv[7 + 4], "2");
	assert_string_equal(sa.argv[7 + 6], "duel-0123456789ab");
	assert_string_equal(sa.argv[7 + 11], "");	/* visibility */
	/* The positions store-match.c reads the call by. */
	assert_int_equal(sa.argc, MATCH_A_COUNT);
	assert_string_equal(sa.argv[MATCH_K_POOL], sa.argv[0]);
	assert_string_equal(sa.argv[MATCH_K_NEW_ROOM],
	    "p:room:{duel-0123456789ab}");
	assert_string_equal(sa.argv[MATCH_K_ROOMS], "p:rooms");
	assert_string_equal(sa.argv[MATCH_A_POOL], "duel");
	assert_string_equal(sa.argv[MATCH_A_NEW_ROOM], "duel-0123456789ab");
	assert_string_equal(sa.argv[MATCH_A_TTL], "60");
	assert_string_equal(sa.argv[MATCH_A_VISIBILITY], "");
	script_args_free(&sa);
	script_match_room_args(&sa, &(struct script_match_room){
	    .prefix = "p:", .room = "duel-0123456789ab", .conn = "c1",
	    .member = "{", .pool = "duel", .size = "2", .filter = "{}",
	    .pool_key = "p:pool:{duel}:c36ebdf8d64760da", .maxlen = "1000",
	    .ttl = "60", .create = 1 });
	check_arity(&sa, 4);
	assert_string_equal(sa.argv[1], "p:room:{duel-0123456789ab}:members");
	assert_string_equal(sa.argv[4 + 10], "1");	/* create */
	script_args_free(&sa);
	script_match_pick_args(&sa, &(struct script_match_pick){
	    .pool_key = "p:pool:{duel}:c36ebdf8d64760da", .max = 8,
	    .new_room = "duel-0123456789ab", .open_ms = 1000 });
	check_arity(&sa, 3);
	assert_string_equal(sa.argv[1], "p:pool:{duel}:c36ebdf8d64760da:opening");
	script_args_free(&sa);
	script_pool_set_args(&sa, &(struct script_pool_set){
	    .pool_key = "p:pool:{duel}:c36ebdf8d64760da", .room = "duel-1",
	    .count = 1, .max_members = 2, .seq = "1-0" });
	check_arity(&sa, 3);
	assert_string_equal(sa.argv[1], "p:pool:{duel}:c36ebdf8d64760da:seq");
	assert_string_equal(sa.argv[3 + 3], "0");	/* not locked */
	assert_string_equal(sa.argv[2], "p:pool:{duel}:c36ebdf8d64760da:born");
	script_args_free(&sa);
	script_lock_args(&sa, &(struct script_lock){ .prefix = "p:",
	    .room = "r1", .lock = 1, .by = "{}" });
	check_arity(&sa, 4);
	assert_string_equal(sa.argv[4 + 4], "");	/* no conn */
	assert_string_equal(sa.argv[4 + 5], "1");
	script_args_free(&sa);
}

static void
test_err_names(void **state)
{
	enum err_code code;

	(void)state;
	for (int i = 0; i < ERR_COUNT; i++) {
		assert_int_equal(err_parse(err_name((enum err_code)i), &code),
		    0);
		assert_int_equal(code, i);
	}
	assert_string_equal(err_name(ERR_NOT_MEMBER), "not_member");
	assert_int_equal(err_parse("no_such_code", &code), -1);
}

/* Cluster: the webhook settings and the slot's stream, last; unwrapping. */
static void
test_notices(void **state)
{
	struct script_args sa;
	const redisReply *inner;
	const char *stream;
	redisReply e0 = { .type = REDIS_REPLY_STRING,
	    .str = (char *)SCRIPT_NOTICES_WRAP }, e1 = { .type =
	    REDIS_REPLY_STRING, .str = (char *)"p:webhooks:{x}" }, e2 = {
	    .type = REDIS_REPLY_INTEGER, .integer = 7 };
	redisReply *el[3] = { &e0, &e1, &e2 };
	redisReply wrap = { .type = REDIS_REPLY_ARRAY, .elements = 3,
	    .element = el };

	(void)state;
	script_append_args(&sa, &(struct script_append){ .prefix = "p:",
	    .room = "r1", .type = "event", .body = ",\"event\":\"x\"" });
	int argc = sa.argc;
	script_add_notices(&sa, "p:", "=chat.*");
	assert_int_equal(sa.argc, argc + 2);
	assert_string_equal(sa.argv[argc], "=chat.*");
	assert_int_equal(strncmp(sa.argv[argc + 1], "p:webhooks:{", 12), 0);
	assert_int_equal(cluster_key_slot(sa.argv[argc + 1],
	    sa.lens[argc + 1]), cluster_key_slot(sa.argv[0], sa.lens[0]));
	script_args_free(&sa);

	/* pool_set has no cluster variant: nothing added. */
	script_pool_set_args(&sa, &(struct script_pool_set){
	    .pool_key = "p:pool:{duel}:x", .room = "duel-1", .count = 1,
	    .max_members = 2, .seq = "1-0" });
	argc = sa.argc;
	script_add_notices(&sa, "p:", "=");
	assert_int_equal(sa.argc, argc);
	script_args_free(&sa);

	inner = script_notices_unwrap(&wrap, &stream);
	assert_ptr_equal(inner, &e2);
	assert_string_equal(stream, "p:webhooks:{x}");
	inner = script_notices_unwrap(&e2, &stream);
	assert_ptr_equal(inner, &e2);
	assert_null(stream);
	e0.str = (char *)"ok";
	assert_ptr_equal(script_notices_unwrap(&wrap, &stream), &wrap);
	assert_null(stream);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_notices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
