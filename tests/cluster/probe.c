/*
 * probe.c: the test program of tests/cluster-layer.bats, driving the
 * cluster layer (shared/cluster*.c) against a real Redis Cluster.
 *
 *   cluster-probe SEEDS basic       keys in every slot, scripts with
 *                                   NOSCRIPT on every shard, SSUBSCRIBE
 *                                   and SPUBLISH round trips
 *   cluster-probe SEEDS watch KEY S INCR KEY and SPUBLISH on its channel
 *                                   (probe:ch:KEY: give KEY a hash tag;
 *                                   PROBE_NOSUB=1: no pub/sub at all)
 *                                   every 10 ms for S seconds, then print
 *                                   counters as name=value lines; prints
 *                                   "ready" once both work; SIGUSR1 marks
 *                                   a moment to count from (ok_after_mark)
 *   cluster-probe SEEDS sync        the synchronous client
 *
 * PROBE_PASSWORD is the cluster's password, PROBE_TIMEOUT_MS the router's
 * timeout_ms. Exits 0 when all went well,
 * 1 with a line on stderr otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <uv.h>

#include "shared.h"
#include "cluster.h"

#define WINDOW 400
#define NTAGS 30

static uv_loop_t *loop;
static struct cluster *cl;
static const char *password;
static int failed;

static const char script_src[] =
    "return redis.call('INCRBY', KEYS[1], ARGV[1])";
static char script_hex[41];

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "probe: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void
sha1_hex(const char *s, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Run the loop until *flag is set or ms pass; returns *flag. */
static void
stop_cb(uv_timer_t *t)
{
	*(int *)t->data = 1;
	uv_stop(loop);
}

static int
run_until(int *flag, uint64_t ms)
{
	uv_timer_t t;
	int expired = 0;
	uint64_t end = mono_ms() + ms;

	uv_timer_init(loop, &t);
	t.data = &expired;
	uv_timer_start(&t, stop_cb, 10, 10);
	while (!*flag && !expired && mono_ms() < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *flag;
}

static int sub_count, msg_count, sub_lost;
static int want_subs, want_msgs;
static int subs_done, msgs_done;

static void
on_message(const char *ch, size_t chlen, const char *msg, size_t len,
    void *arg)
{
	(void)arg;
	if (len != chlen || memcmp(ch, msg, len) != 0) {
		/* watch mode publishes counters, not the channel name */
		if (want_msgs > 0)
			failed = 1;
	}
	if (++msg_count >= want_msgs && want_msgs > 0)
		msgs_done = 1;
}

static void
on_sub(const char *ch, size_t chlen, int subscribed, void *arg)
{
	(void)ch;
	(void)chlen;
	(void)arg;
	if (!subscribed) {
		sub_lost++;
		return;
	}
	if (++sub_count >= want_subs)
		subs_done = 1;
}

static void
on_event(enum cluster_event ev, const char *addr, const char *detail,
    void *arg)
{
	static const char *names[] = { "map", "node up", "node down",
	    "seeds down" };

	(void)arg;
	if (getenv("PROBE_VERBOSE") != NULL)
		fprintf(stderr, "probe: event %s %s %s\n", names[ev],
		    addr != NULL ? addr : "-", detail != NULL ? detail : "");
}

static void
open_cluster(const char *seeds)
{
	struct cluster_opts o = { 0 };
	char *cause = NULL;
	int one = 0;

	o.seeds = seeds;
	o.password = password;
	o.on_message = on_message;
	o.on_subscription = on_sub;
	o.on_event = on_event;
	if (getenv("PROBE_TIMEOUT_MS") != NULL)
		o.timeout_ms = (unsigned)atoi(getenv("PROBE_TIMEOUT_MS"));
	cl = cluster_new(loop, &o, &cause);
	if (cl == NULL)
		die("%s", cause);
	/* Ready is a map read; poll for it. */
	for (int i = 0; i < 200 && !cluster_ready(cl); i++)
		run_until(&one, 50);
	if (!cluster_ready(cl))
		die("no slot map after 10 s");
}

/* ---- basic ---- */

static int inflight, done_ok, done_bad;
static char keys[CLUSTER_SLOTS][24];

static void
set_cb(redisReply *r, void *arg)
{
	(void)arg;
	inflight--;
	if (r != NULL && r->type == REDIS_REPLY_STATUS)
		done_ok++;
	else {
		done_bad++;
		if (done_bad < 5)
			fprintf(stderr, "probe: SET: %s\n", r == NULL ?
			    "(lost)" : r->str != NULL ? r->str : "?");
	}
}

static void
get_cb(redisReply *r, void *arg)
{
	unsigned slot = (unsigned)(uintptr_t)arg;

	inflight--;
	if (r != NULL && r->type == REDIS_REPLY_STRING &&
	    strcmp(r->str, keys[slot]) == 0)
		done_ok++;
	else
		done_bad++;
}

static void
wait_inflight(int max)
{
	while (inflight > max)
		uv_run(loop, UV_RUN_ONCE);
}

/* One key per slot, SET to its own name, then read back. */
static void
basic_kv(void)
{
	int found = 0;
	char k[24];

	for (unsigned long i = 0; found < CLUSTER_SLOTS; i++) {
		unsigned s;

		snprintf(k, sizeof k, "probe:%lu", i);
		s = cluster_key_slot(k, strlen(k));
		if (keys[s][0] == '\0') {
			memcpy(keys[s], k, sizeof k);
			found++;
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		done_ok = done_bad = 0;
		for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
			const char *set[] = { "SET", keys[s], keys[s] };
			const char *get[] = { "GET", keys[s] };

			wait_inflight(WINDOW);
			inflight++;
			if ((pass == 0 ? cluster_command(cl, keys[s],
			    strlen(keys[s]), set_cb, NULL, 3, set, NULL) :
			    cluster_command(cl, keys[s], strlen(keys[s]), get_cb,
			    (void *)(uintptr_t)s, 2, get, NULL)) != 0)
				die("command refused");
		}
		wait_inflight(0);
		if (done_ok != CLUSTER_SLOTS)
			die("%s: %d ok, %d bad", pass == 0 ? "SET" : "GET",
			    done_ok, done_bad);
	}
	printf("kv ok %d slots\n", CLUSTER_SLOTS);
}

static void
script_cb(redisReply *r, void *arg)
{
	(void)arg;
	inflight--;
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 7)
		done_ok++;
	else {
		done_bad++;
		fprintf(stderr, "probe: script: %s\n", r == NULL ? "(lost)" :
		    r->str != NULL ? r->str : "?");
	}
}

static void
flush_cb(redisReply *r, void *arg)
{
	(void)arg;
	(void)r;
	inflight--;
}

/* Scripts on tags spread over every shard, after a SCRIPT FLUSH there. */
static void
basic_script(void)
{
	char k[32];
	struct cluster_stats st;

	sha1_hex(script_src, script_hex);
	for (int i = 0; i < NTAGS; i++) {
		const char *argv[] = { "SCRIPT", "FLUSH" };

		snprintf(k, sizeof k, "{t%d}:n", i);
		inflight++;
		cluster_command(cl, k, strlen(k), flush_cb, NULL, 2, argv,
		    NULL);
	}
	wait_inflight(0);
	done_ok = done_bad = 0;
	for (int i = 0; i < NTAGS; i++) {
		const char *argv[] = { k, "7" };

		snprintf(k, sizeof k, "{t%d}:s", i);
		inflight++;
		if (cluster_script(cl, script_hex, script_src, 1, 1, argv, NULL,
		    script_cb, NULL) != 0)
			die("script refused");
	}
	wait_inflight(0);
	cluster_get_stats(cl, &st);
	if (done_ok != NTAGS)
		die("scripts: %d ok, %d bad", done_ok, done_bad);
	printf("script ok noscript=%llu\n", (unsigned long long)st.noscript);
}

static void
pub_cb(redisReply *r, void *arg)
{
	(void)arg;
	inflight--;
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 1)
		done_bad++;
}

static void
basic_pubsub(void)
{
	char ch[32];

	want_subs = NTAGS;
	for (int i = 0; i < NTAGS; i++) {
		snprintf(ch, sizeof ch, "probe:ch:{t%d}", i);
		cluster_ssubscribe(cl, ch);
	}
	if (!run_until(&subs_done, 10000))
		die("%d of %d channels subscribed", sub_count, NTAGS);
	want_msgs = NTAGS;
	done_bad = 0;
	for (int i = 0; i < NTAGS; i++) {
		const char *argv[] = { "SPUBLISH", ch, ch };

		snprintf(ch, sizeof ch, "probe:ch:{t%d}", i);
		inflight++;
		cluster_command(cl, ch, strlen(ch), pub_cb, NULL, 3, argv,
		    NULL);
	}
	if (!run_until(&msgs_done, 10000) || done_bad > 0 || failed)
		die("%d of %d messages, %d publishes bad", msg_count, NTAGS,
		    done_bad);
	wait_inflight(0);
	/* Unsubscribed channels get nothing more. */
	for (int i = 0; i < NTAGS; i++) {
		snprintf(ch, sizeof ch, "probe:ch:{t%d}", i);
		cluster_sunsubscribe(cl, ch);
	}
	printf("pubsub ok %d channels\n", NTAGS);
}

/* The shards as /healthz would show them: each serving, each up. */
static void
basic_shards(void)
{
	struct cluster_shard sh[8];
	size_t n = cluster_shards(cl, sh, 8);
	unsigned slots = 0;
	int up = 0;

	for (size_t i = 0; i < n && i < 8; i++) {
		slots += sh[i].slots;
		up += sh[i].up;
	}
	printf("shards=%zu up=%d slots=%u\n", n, up, slots);
}

/* ---- watch ---- */

static const char *wkey;
static char wchan[128];
static long long last_val, ok_n, fail_n, ok_after_fail, msgs_since_ready;
static volatile sig_atomic_t marked;
static long long ok_at_mark = -1, msgs_at_mark;
static int in_order = 1, ready_said, ended, nosub;

static void
incr_cb(redisReply *r, void *arg)
{
	(void)arg;
	inflight--;
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		if (fail_n++ < 5)
			fprintf(stderr, "probe: INCR: %s\n", r == NULL ?
			    "(lost)" : r->str != NULL ? r->str : "?");
		return;
	}
	/* With no failure, every acknowledged INCR is the next value. */
	if (fail_n == 0 && r->integer != last_val + 1)
		in_order = 0;
	last_val = r->integer;
	ok_n++;
	if (fail_n > 0)
		ok_after_fail++;
}

static void
tick(uv_timer_t *t)
{
	const char *incr[] = { "INCR", wkey };
	char n[32];
	const char *pub[] = { "SPUBLISH", wchan, n };

	(void)t;
	if (inflight > 50)
		return;		/* a shard is stuck: do not pile up */
	snprintf(n, sizeof n, "%lld", ok_n);
	inflight += 2;
	if (cluster_command(cl, wkey, strlen(wkey), incr_cb, NULL, 2, incr,
	    NULL) != 0)
		inflight--;
	if (nosub)
		inflight--;
	else if (cluster_command(cl, wchan, strlen(wchan), flush_cb, NULL, 3,
	    pub, NULL) != 0)
		inflight--;
	if (marked && ok_at_mark < 0) {
		ok_at_mark = ok_n;
		msgs_at_mark = msg_count;
	}
	if (!ready_said && ok_n > 0 &&
	    (nosub || (sub_count > 0 && msg_count > 0))) {
		ready_said = 1;
		msgs_since_ready = msg_count;
		printf("ready\n");
		fflush(stdout);
	}
}

static void
end_cb(uv_timer_t *t)
{
	(void)t;
	ended = 1;
}

static long long final_val = -1;

static void
final_cb(redisReply *r, void *arg)
{
	(void)arg;
	inflight--;
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		final_val = atoll(r->str);
}

static void
on_usr1(int sig)
{
	(void)sig;
	marked = 1;
}

static void
watch(const char *key, int seconds)
{
	static uv_timer_t t, end;
	struct cluster_stats st;
	const char *get[] = { "GET", key };

	wkey = key;
	signal(SIGUSR1, on_usr1);
	snprintf(wchan, sizeof wchan, "probe:ch:%s", key);
	want_subs = 1 << 30;
	nosub = getenv("PROBE_NOSUB") != NULL;
	if (!nosub)
		cluster_ssubscribe(cl, wchan);
	uv_timer_init(loop, &t);
	uv_timer_init(loop, &end);
	uv_timer_start(&t, tick, 10, 10);
	uv_timer_start(&end, end_cb, (uint64_t)seconds * 1000, 0);
	while (!ended)
		uv_run(loop, UV_RUN_ONCE);
	uv_timer_stop(&t);
	wait_inflight(0);
	inflight++;
	cluster_command(cl, key, strlen(key), final_cb, NULL, 2, get, NULL);
	wait_inflight(0);
	cluster_get_stats(cl, &st);
	printf("ok=%lld\nfailed=%lld\nok_after_fail=%lld\nin_order=%d\n"
	    "final=%lld\nlast=%lld\nmsgs=%d\nmsgs_after_ready=%lld\n"
	    "subscribed=%d\nsub_lost=%d\nmoved=%llu\nask=%llu\nretries=%llu\n"
	    "refreshes=%llu\nok_after_mark=%lld\nmsgs_after_mark=%lld\n", ok_n, fail_n, ok_after_fail, in_order,
	    final_val, last_val, msg_count, msg_count - msgs_since_ready,
	    sub_count, sub_lost, (unsigned long long)st.moved,
	    (unsigned long long)st.ask, (unsigned long long)st.retries,
	    (unsigned long long)st.refreshes,
	    ok_at_mark < 0 ? -1 : ok_n - ok_at_mark,
	    ok_at_mark < 0 ? -1 : msg_count - msgs_at_mark);
	uv_close((uv_handle_t *)&t, NULL);
	uv_close((uv_handle_t *)&end, NULL);
}

/* ---- sync ---- */

static void
sync_test(const char *seeds)
{
	struct timeval tv = { 2, 0 };
	struct cluster_sync *cs;
	char *cause = NULL, k[32];
	redisReply *r;
	long long total = 0;

	cs = cluster_sync_open(seeds, password, tv, &cause);
	if (cs == NULL)
		die("sync: %s", cause);
	for (int i = 0; i < 300; i++) {
		const char *set[] = { "SET", k, k };
		const char *get[] = { "GET", k };

		snprintf(k, sizeof k, "sync:%d", i);
		r = cluster_sync_command(cs, k, strlen(k), 3, set, NULL,
		    &cause);
		if (r == NULL || r->type != REDIS_REPLY_STATUS)
			die("sync SET %s: %s", k, r != NULL ? r->str : cause);
		freeReplyObject(r);
		r = cluster_sync_command(cs, k, strlen(k), 2, get, NULL,
		    &cause);
		if (r == NULL || r->type != REDIS_REPLY_STRING ||
		    strcmp(r->str, k) != 0)
			die("sync GET %s: %s", k, r != NULL ? "wrong" : cause);
		freeReplyObject(r);
	}
	sha1_hex(script_src, script_hex);
	for (size_t m = 0; m < cluster_sync_nmasters(cs); m++) {
		const char *flush[] = { "SCRIPT", "FLUSH" };
		const char *dbsize[] = { "DBSIZE" };

		r = cluster_sync_command_on(cs, m, 2, flush, NULL, &cause);
		if (r == NULL)
			die("sync SCRIPT FLUSH: %s", cause);
		freeReplyObject(r);
		r = cluster_sync_command_on(cs, m, 1, dbsize, NULL, &cause);
		if (r == NULL || r->type != REDIS_REPLY_INTEGER)
			die("sync DBSIZE: %s", r != NULL ? "wrong" : cause);
		total += r->integer;
		freeReplyObject(r);
	}
	for (int i = 0; i < NTAGS; i++) {
		const char *argv[] = { k, "7" };

		snprintf(k, sizeof k, "{sync%d}:s", i);
		r = cluster_sync_script(cs, script_hex, script_src, 1, 1, argv,
		    NULL, &cause);
		if (r == NULL || r->type != REDIS_REPLY_INTEGER ||
		    r->integer != 7)
			die("sync script: %s", r != NULL && r->str != NULL ?
			    r->str : cause != NULL ? cause : "wrong");
		freeReplyObject(r);
	}
	printf("sync ok masters=%zu keys=%lld\n", cluster_sync_nmasters(cs),
	    total);
	cluster_sync_close(cs);
}

int
main(int argc, char **argv)
{
	int one = 0;

	if (argc < 3)
		die("usage: cluster-probe SEEDS basic|watch KEY SECS|sync");
	signal(SIGPIPE, SIG_IGN);
	alarm(90);
	setvbuf(stdout, NULL, _IOLBF, 0);
	password = getenv("PROBE_PASSWORD");
	loop = uv_default_loop();
	if (strcmp(argv[2], "sync") == 0) {
		sync_test(argv[1]);
		return 0;
	}
	open_cluster(argv[1]);
	if (strcmp(argv[2], "basic") == 0) {
		basic_kv();
		basic_script();
		basic_pubsub();
		basic_shards();
	} else if (strcmp(argv[2], "watch") == 0 && argc == 5)
		watch(argv[3], atoi(argv[4]));
	else
		die("unknown mode %s", argv[2]);
	cluster_free(cl);
	run_until(&one, 200);
	uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop) != 0)
		die("handles left open on the loop");
	return failed;
}
