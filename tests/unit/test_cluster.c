/*
 * test_cluster.c: Redis Cluster key slots, error classes, redirects, seeds
 * and the slot map, and the async router's bounded wait without a cluster.
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
#include <uv.h>

#include "shared.h"
#include "cluster.h"

/* Expected slots as redis-server 7.0 answers CLUSTER KEYSLOT. */
static void
test_key_slot(void **state)
{
	static const struct {
		const char *key;
		unsigned slot;
	} cases[] = {
		{ "foo", 12182 },
		{ "bar", 5061 },
		{ "hello", 866 },
		{ "123456789", 12739 },
		{ "{user1000}.following", 3443 },
		{ "{user1000}.followers", 3443 },
		{ "", 0 },
		{ "{}", 15257 },		/* empty tag: the whole key */
		{ "foo{}{bar}", 8363 },		/* first tag empty: whole key */
		{ "foo{{bar}}zap", 4015 },	/* tag is "{bar" */
		{ "{bar", 4015 },
		{ "foo{bar}{zap}", 5061 },	/* first tag only: "bar" */
		{ "bar}", 6624 },		/* no opening brace */
		{ "lobby", 10294 },
		{ "roomd:room:{lobby}:members", 10294 },
		{ "roomd:ch:{lobby}", 10294 },
	};

	(void)state;
	/* The XMODEM check value. */
	assert_int_equal(cluster_crc16("123456789", 9), 0x31C3);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned got = cluster_key_slot(cases[i].key,
		    strlen(cases[i].key));

		if (got != cases[i].slot)
			print_error("key '%s'\n", cases[i].key);
		assert_int_equal(got, cases[i].slot);
	}
	/* Binary keys: a NUL inside counts. */
	assert_int_not_equal(cluster_key_slot("a\0b", 3),
	    cluster_key_slot("a", 1));
}

static void
test_err_class(void **state)
{
	static const struct {
		const char *err;
		enum cluster_err want;
	} cases[] = {
		{ "MOVED 3999 127.0.0.1:6381", CLUSTER_ERR_MOVED },
		{ "ASK 3999 127.0.0.1:6381", CLUSTER_ERR_ASK },
		{ "TRYAGAIN Multiple keys request during rehashing of slot",
		    CLUSTER_ERR_RETRY },
		{ "CLUSTERDOWN The cluster is down", CLUSTER_ERR_RETRY },
		{ "CLUSTERDOWN Hash slot not served", CLUSTER_ERR_RETRY },
		{ "LOADING Redis is loading the dataset in memory",
		    CLUSTER_ERR_RETRY },
		{ "NOSCRIPT No matching script. Please use EVAL.",
		    CLUSTER_ERR_NOSCRIPT },
		{ "ERR unknown command", CLUSTER_ERR_OTHER },
		{ "MOVED", CLUSTER_ERR_OTHER },
		{ "ASKING", CLUSTER_ERR_OTHER },
		{ "CROSSSLOT Keys in request don't hash to the same slot",
		    CLUSTER_ERR_OTHER },
		{ "", CLUSTER_ERR_OTHER },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum cluster_err got = cluster_err_class(cases[i].err,
		    strlen(cases[i].err));

		if (got != cases[i].want)
			print_error("error '%s'\n", cases[i].err);
		assert_int_equal(got, cases[i].want);
	}
}

static void
test_redirect(void **state)
{
	static const struct {
		const char *err;
		unsigned slot;
		const char *host;
		int port;
	} good[] = {
		{ "MOVED 3999 127.0.0.1:6381", 3999, "127.0.0.1", 6381 },
		{ "ASK 0 10.0.0.7:7000", 0, "10.0.0.7", 7000 },
		{ "MOVED 16383 redis-3.example:6379", 16383, "redis-3.example",
		    6379 },
		{ "MOVED 12 ::1:7001", 12, "::1", 7001 },	/* IPv6 as sent */
		{ "ASK 12 [fe80::1]:7001", 12, "fe80::1", 7001 },
		{ "MOVED 5 :7002", 5, "", 7002 },	/* endpoint unknown */
	};
	static const char *bad[] = {
		"MOVED 16384 127.0.0.1:1", "MOVED x 127.0.0.1:1",
		"MOVED 1 127.0.0.1", "MOVED 1 127.0.0.1:0",
		"MOVED 1 127.0.0.1:65536", "MOVED 1 127.0.0.1:7x",
		"MOVED 1", "MOVED  1 a:1", "ERR 1 a:1", "ASK", "",
	};
	struct cluster_addr a;
	unsigned slot;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		slot = 99999;
		memset(&a, 0, sizeof a);
		if (cluster_redirect_parse(good[i].err, strlen(good[i].err),
		    &slot, &a) != 0)
			print_error("redirect '%s'\n", good[i].err);
		assert_int_equal(cluster_redirect_parse(good[i].err,
		    strlen(good[i].err), &slot, &a), 0);
		assert_int_equal(slot, good[i].slot);
		assert_string_equal(a.host, good[i].host);
		assert_int_equal(a.port, good[i].port);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (cluster_redirect_parse(bad[i], strlen(bad[i]), &slot,
		    &a) != -1)
			print_error("redirect '%s' accepted\n", bad[i]);
		assert_int_equal(cluster_redirect_parse(bad[i], strlen(bad[i]),
		    &slot, &a), -1);
	}
}

static void
test_seeds(void **state)
{
	struct cluster_addr *v = NULL;
	size_t n = 0;
	char *cause = NULL;
	static const char *bad[] = { "", "host", "host:", ":7000", "h:0",
	    "h:70000", "a:1,b", "," };

	(void)state;
	assert_int_equal(cluster_seeds_parse("127.0.0.1:7000,localhost:7001,"
	    "[::1]:7002", &v, &n, &cause), 0);
	assert_null(cause);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].host, "127.0.0.1");
	assert_int_equal(v[0].port, 7000);
	assert_string_equal(v[1].host, "localhost");
	assert_int_equal(v[1].port, 7001);
	assert_string_equal(v[2].host, "::1");
	assert_int_equal(v[2].port, 7002);
	free(v);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc;

		cause = NULL;
		v = NULL;
		rc = cluster_seeds_parse(bad[i], &v, &n, &cause);
		if (rc != -1)
			print_error("seeds '%s' accepted\n", bad[i]);
		assert_int_equal(rc, -1);
		assert_non_null(cause);
		free(cause);
		assert_null(v);
	}
}

/* Hand-built replies: hiredis would allocate them the same way. */
static redisReply *
r_int(long long v)
{
	redisReply *r = xcalloc(1, sizeof *r);

	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *
r_str(const char *s)
{
	redisReply *r = xcalloc(1, sizeof *r);

	r->type = REDIS_REPLY_STRING;
	r->str = xstrdup(s);
	r->len = strlen(s);
	return r;
}

static redisReply *
r_arr(size_t n, ...)
{
	redisReply *r = xcalloc(1, sizeof *r);
	va_list ap;

	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = xcalloc(n, sizeof *r->element);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static redisReply *
node(const char *host, int port, const char *id)
{
	return r_arr(3, r_str(host), r_int(port), r_str(id));
}

static void
test_map_slots(void **state)
{
	struct cluster_map m;
	redisReply *r, *bad;
	char *cause = NULL;

	(void)state;
	/* Three masters with a replica each; the third range's master does
	 * not know its address (""), and 5461 is served by two ranges of
	 * the first master. Slots 16000.. are not served at all. */
	r = r_arr(4,
	    r_arr(4, r_int(0), r_int(5460), node("127.0.0.1", 7000, "a"),
		node("127.0.0.1", 7003, "d")),
	    r_arr(4, r_int(5462), r_int(10922), node("127.0.0.1", 7001, "b"),
		node("127.0.0.1", 7004, "e")),
	    r_arr(3, r_int(10923), r_int(15999), node("", 7002, "c")),
	    r_arr(3, r_int(5461), r_int(5461), node("127.0.0.1", 7000, "a")));
	cluster_map_init(&m);
	assert_int_equal(cluster_map_parse_slots(r, "10.1.1.1", &m, &cause),
	    0);
	assert_null(cause);
	assert_int_equal(m.nmasters, 3);
	assert_string_equal(m.masters[m.slot[0]].host, "127.0.0.1");
	assert_int_equal(m.masters[m.slot[0]].port, 7000);
	assert_int_equal(m.slot[5460], m.slot[0]);
	assert_int_equal(m.slot[5461], m.slot[0]);
	assert_int_equal(m.masters[m.slot[5462]].port, 7001);
	assert_int_equal(m.masters[m.slot[10922]].port, 7001);
	assert_string_equal(m.masters[m.slot[10923]].host, "10.1.1.1");
	assert_int_equal(m.masters[m.slot[15999]].port, 7002);
	assert_int_equal(m.slot[16000], -1);
	assert_int_equal(m.slot[16383], -1);
	/* The slot of a room's keys follows its hash tag. */
	assert_int_equal(m.masters[m.slot[cluster_key_slot("roomd:ch:{lobby}",
	    16)]].port, 7001);
	cluster_map_free(&m);
	assert_int_equal(m.nmasters, 0);
	freeReplyObject(r);

	/* Shapes that are not CLUSTER SLOTS. */
	bad = r_arr(1, r_arr(3, r_int(0), r_int(16384), node("h", 1, "x")));
	cluster_map_init(&m);
	assert_int_equal(cluster_map_parse_slots(bad, "h", &m, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	cluster_map_free(&m);
	freeReplyObject(bad);
	bad = r_arr(1, r_arr(3, r_int(9), r_int(3), node("h", 1, "x")));
	assert_int_equal(cluster_map_parse_slots(bad, "h", &m, NULL), -1);
	cluster_map_free(&m);
	freeReplyObject(bad);
	bad = r_arr(1, r_arr(3, r_int(0), r_int(3), r_str("h")));
	assert_int_equal(cluster_map_parse_slots(bad, "h", &m, NULL), -1);
	cluster_map_free(&m);
	freeReplyObject(bad);
	bad = r_arr(1, r_arr(3, r_int(0), r_int(3), node("h", 0, "x")));
	assert_int_equal(cluster_map_parse_slots(bad, "h", &m, NULL), -1);
	cluster_map_free(&m);
	freeReplyObject(bad);
	bad = r_str("ERR This instance has cluster support disabled");
	bad->type = REDIS_REPLY_ERROR;
	assert_int_equal(cluster_map_parse_slots(bad, "h", &m, &cause), -1);
	free(cause);
	cluster_map_free(&m);
	freeReplyObject(bad);
	/* An empty map (a fresh node): parsed, no masters. */
	bad = r_arr(0);
	assert_int_equal(cluster_map_parse_slots(bad, "h", &m, NULL), 0);
	assert_int_equal(m.nmasters, 0);
	assert_int_equal(m.slot[0], -1);
	cluster_map_free(&m);
	freeReplyObject(bad);
}

static int nulls, events;

static void
count_null(redisReply *r, void *arg)
{
	(void)arg;
	if (r == NULL)
		nulls++;
}

static void
count_event(enum cluster_event ev, const char *addr, const char *detail,
    void *arg)
{
	(void)ev;
	(void)addr;
	(void)detail;
	(void)arg;
	events++;
}

/*
 * With no node answering, commands wait for a slot map, at most queue_max
 * of them; freeing the router answers each with NULL and leaves nothing
 * on the loop.
 */
static void
test_router_offline(void **state)
{
	struct cluster_opts o = { 0 };
	struct cluster *cl;
	uv_loop_t loop;
	char *cause = NULL;
	const char *argv[] = { "GET", "k" };

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	o.seeds = "nonsense";
	assert_null(cluster_new(&loop, &o, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	o.seeds = "127.0.0.1:1";	/* nothing listens on port 1 */
	o.queue_max = 3;
	o.on_event = count_event;
	cl = cluster_new(&loop, &o, &cause);
	assert_non_null(cl);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cluster_command(cl, NULL, 0, count_null, NULL,
		    2, argv, NULL), 0);
	assert_int_equal(cluster_command(cl, "k", 1, count_null, NULL, 2, argv,
	    NULL), -1);
	assert_int_equal(cluster_ssubscribe(cl, "ch:{k}"), 0);
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(cluster_ready(cl), 0);
	assert_int_equal(nulls, 0);
	assert_true(events > 0);	/* the seed was tried and refused */
	cluster_free(cl);
	assert_int_equal(nulls, 3);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* EVALSHA's arguments: sha, key count, keys then arguments, with lengths. */
static void
test_evalsha_args(void **state)
{
	const char *argv[] = { "k1", "a\0b", "arg" };
	const size_t lens[] = { 2, 3, 3 };
	const char **av;
	size_t *ln;
	char nk[16];
	int argc;

	(void)state;
	argc = cluster_evalsha_args("abc", 1, 2, argv, lens, nk, &av, &ln);
	assert_int_equal(argc, 6);
	assert_string_equal(av[0], "EVALSHA");
	assert_string_equal(av[1], "abc");
	assert_string_equal(av[2], "1");
	assert_ptr_equal(av[2], nk);
	assert_ptr_equal(av[3], argv[0]);
	assert_ptr_equal(av[5], argv[2]);
	assert_int_equal(ln[0], 7);
	assert_int_equal(ln[1], 3);
	assert_int_equal(ln[2], 1);
	assert_int_equal(ln[4], 3);	/* the NUL counts: lens are used */
	free(av);
	free(ln);

	/* Without lens, by strlen; no keys at all. */
	argc = cluster_evalsha_args("s", 0, 1, argv + 2, NULL, nk, &av, &ln);
	assert_int_equal(argc, 4);
	assert_string_equal(av[2], "0");
	assert_int_equal(ln[3], 3);
	free(av);
	free(ln);
}

/* Every slot has a tag of at most four characters that lands in it. */
static void
test_slot_tag(void **state)
{
	char key[32];

	(void)state;
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		const char *t = cluster_slot_tag(s);

		assert_true(t[0] != '\0' && strlen(t) <= 4);
		snprintf(key, sizeof key, "roomd:webhooks:{%s}", t);
		assert_int_equal(cluster_key_slot(key, strlen(key)), s);
	}
	assert_string_equal(cluster_slot_tag(cluster_key_slot("0", 1)), "0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_slot),
		cmocka_unit_test(test_slot_tag),
		cmocka_unit_test(test_err_class),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_map_slots),
		cmocka_unit_test(test_evalsha_args),
		cmocka_unit_test(test_router_offline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
