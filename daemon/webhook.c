/*
 * webhook.c owns webhook delivery (BACKEND.md "Webhooks"): the notices the
 * scripts queue in the Redis stream <prefix>webhooks are sent to
 * --webhook-url in signed batches, retried with backoff, and dropped with
 * a log line after --webhook-retry.
 *
 * Order per room across nodes: one node at a time delivers, the holder of
 * the lease key <prefix>webhooks:lease (taken with SET NX PX, renewed every
 * second, expiring --hook-timeout + 5 s after its holder stops renewing),
 * and it has one request out at a time. A holder starts a request only
 * while its lease has at least --hook-timeout + 1 s to run, as of the
 * last renewal Redis confirmed, so a holder cut off from Redis has given
 * up on its last request before another node can take over: batches never
 * overlap, even when the old holder is alive. The stream holds every room's notices in the
 * order their frames were written (both are written by one script), so
 * delivering the stream in order delivers each room's notices in seq
 * order. Batches are read through the consumer group the nodes share:
 * a node that takes the lease first claims (XAUTOCLAIM) whatever an
 * earlier holder read and never acknowledged, which is the oldest part of
 * the stream, so a node killed mid-batch leaves that batch to the next
 * holder, delivered again with the same delivery id and still in order.
 * Acknowledged notices are removed (XACK, XDEL). One deliverer bounds the
 * rate to one back end round trip per 100 notices, which a back end that
 * must see each room in order could not go past anyway.
 *
 * On a Redis Cluster the scripts cannot reach one stream from every
 * room's slot, so each slot has its own, <prefix>webhooks:{T}, which the
 * script creates with the group in it and the writer lists in
 * <prefix>webhooks:streams (mk/lua2c.sh, store-cluster.c): a room's
 * notices are still queued with its frames, in one stream, in order. The
 * deliverer goes round the listed streams, a batch gathering from as many
 * as it takes to fill. A stream found empty for WH_RETIRE_MS is taken off
 * the list first and then deleted only if still empty (else listed
 * again), so a writer's notice lands in a stream that is listed, or in a
 * new one the writer lists. The scripts get the settings from this file
 * (store_set_notices), read every second on every node.
 */
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "roomd.h"
#include "backend.h"

#define WH_BATCH 100		/* notices per request */
#define WH_POLL_MS 250		/* wait for more notices at most this long */
#define WH_TICK_MS 1000		/* lease, config key and queue stats */
#define WH_LEASE_MS 5000	/* plus --hook-timeout */
#define WH_CFG_TTL_MS 30000
#define WH_BACKOFF_MIN_MS 1000
#define WH_BACKOFF_MAX_MS 60000
#define WH_GROUP "roomd"
#define WH_RETIRE_MS 10000	/* a cluster stream empty this long goes */
#define WH_STREAMS_MAX 16384	/* one per slot */

static const char renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";
/* Delete an empty stream; its entries-added, or -1 while it holds any. */
static const char retire_lua[] =
    "if redis.call('XLEN', KEYS[1]) ~= 0 then return -1 end "
    "local ok, info = pcall(redis.call, 'XINFO', 'STREAM', KEYS[1]) "
    "local added = 0 "
    "if ok then for i = 1, #info, 2 do "
    "if info[i] == 'entries-added' then added = info[i + 1] end end end "
    "redis.call('DEL', KEYS[1]) return added";

/* A stream the deliverer reads: the one, or on a cluster a listed one. */
struct wh_stream {
	char *key;
	uint64_t empty_since;	/* mono_ms(), 0: had notices lately */
};

/* Consecutive ids of the batch from one stream. */
struct wh_run {
	char *stream;
	size_t from, n;
};

/* The batch being delivered. */
struct batch {
	char **ids;
	size_t n, cap;
	struct wh_run *runs;
	size_t nruns;
	struct buf body;
	char delivery[64];
	uint64_t first_try;	/* mono_ms() of the first attempt */
	uint64_t backoff;
	int attempts;
};

static int enabled, stopping;
static uv_timer_t tick_timer, poll_timer;
static char k_stream[256], k_cfg[256], k_lease[256], k_status[256];
static char k_streams[256], k_retired[256];
static int clustered;		/* per-slot streams, listed in k_streams */
static uv_timer_t cfg_timer;	/* cluster, no --webhook-url: read cfg */
static char cfgval[1024];	/* what the scripts get on a cluster */
static struct wh_stream *streams;
static size_t nstreams, spos, round_left;
static int leader;
static uint64_t lease_until;	/* mono_ms(): start requests only before */
static uint64_t lease_sent;	/* mono_ms() the last lease command left */
static int busy;		/* a read, request or ack is out */
static struct batch cur;	/* cur.n > 0: a batch is being delivered */
static int group_ok;
static uint64_t failing_since;	/* time_ms() of the first failure, or 0 */

/* What /metrics shows. */
static uint64_t n_delivered, n_retried, n_dropped, n_requests;
static long long q_depth = -1, q_added = -1;
static uint64_t q_oldest_ms;
/* A cluster's stats, summed over the streams' replies as they come. */
static struct {
	int waiting;
	long long depth, added;
	uint64_t oldest;
} agg;

static void fetch(void);
static void try_send(void);

static void
batch_clear(void)
{
	for (size_t i = 0; i < cur.n; i++)
		free(cur.ids[i]);
	free(cur.ids);
	for (size_t i = 0; i < cur.nruns; i++)
		free(cur.runs[i].stream);
	free(cur.runs);
	buf_free(&cur.body);
	memset(&cur, 0, sizeof cur);
}

static void
status_set(const char *field, const char *value)
{
	const char *argv[4] = { "HSET", k_status, field, value };

	store_command(NULL, NULL, 4, argv, NULL);
}

static void
poll_fire(uv_timer_t *t)
{
	(void)t;
	fetch();
}

static void
schedule_poll(uint64_t ms)
{
	if (!stopping)
		uv_timer_start(&poll_timer, poll_fire, ms, 0);
}

/* ----- lease, config key and stats, every second ----- */

static void
lease_reply(redisReply *rr, void *arg)
{
	int renewing = arg != NULL;
	int was = leader;

	if (rr == NULL || rr->type == REDIS_REPLY_ERROR)
		return;
	if ((renewing && rr->type == REDIS_REPLY_INTEGER && rr->integer == 1) ||
	    (!renewing && rr->type == REDIS_REPLY_STATUS)) {
		leader = 1;
		/* The lease runs from when the command was sent, at the
		 * latest; a request started must end before it does. */
		lease_until = lease_sent + WH_LEASE_MS - WH_TICK_MS;
	} else if (renewing)
		leader = 0;
	if (leader && !was) {
		log_info("webhook: this node delivers webhooks now");
		status_set("leader", node_id);
		group_ok = 0;
		schedule_poll(0);
	} else if (!leader && was) {
		log_info("webhook: another node delivers webhooks now");
		if (!busy)
			batch_clear();
	}
}

/* An XINFO STREAM reply's length, entries-added and first entry's time. */
static int
xinfo_parse(const redisReply *rr, long long *len, long long *added,
    uint64_t *oldest)
{
	*len = 0;
	*added = 0;
	*oldest = 0;
	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY)
		return -1;	/* no stream (yet, or any more) */
	for (size_t i = 0; i + 1 < rr->elements; i += 2) {
		const char *f = rr->element[i]->str;
		const redisReply *v = rr->element[i + 1];

		if (f == NULL)
			continue;
		if (strcmp(f, "length") == 0 && v->type == REDIS_REPLY_INTEGER)
			*len = v->integer;
		else if (strcmp(f, "entries-added") == 0 &&
		    v->type == REDIS_REPLY_INTEGER)
			*added = v->integer;
		else if (strcmp(f, "first-entry") == 0 &&
		    v->type == REDIS_REPLY_ARRAY && v->elements > 0 &&
		    v->element[0]->type == REDIS_REPLY_STRING)
			*oldest = strtoull(v->element[0]->str, NULL, 10);
	}
	return 0;
}

static void
xinfo_reply(redisReply *rr, void *arg)
{
	long long len, added;
	uint64_t oldest;

	(void)arg;
	if (rr == NULL)
		return;
	xinfo_parse(rr, &len, &added, &oldest);
	q_depth = len;
	if (added > 0 || rr->type == REDIS_REPLY_ARRAY)
		q_added = added;
	q_oldest_ms = oldest;
}

/* One part of a cluster's stats: a stream's XINFO, or the retired count. */
static void
agg_reply(redisReply *rr, void *arg)
{
	long long len, added;
	uint64_t oldest;

	if (rr != NULL && arg != NULL) {
		if (rr->type == REDIS_REPLY_STRING)
			agg.added += strtoll(rr->str, NULL, 10);
	} else if (rr != NULL && xinfo_parse(rr, &len, &added, &oldest) == 0) {
		agg.depth += len;
		agg.added += added;
		if (oldest != 0 && (agg.oldest == 0 || oldest < agg.oldest))
			agg.oldest = oldest;
	}
	if (--agg.waiting == 0) {
		q_depth = agg.depth;
		q_added = agg.added;
		q_oldest_ms = agg.oldest;
	}
}

/* The listed streams, as SMEMBERS gives them; what is known of each kept. */
static void
streams_reply(redisReply *rr, void *arg)
{
	struct wh_stream *ns;
	size_t n = 0, i, j;
	const char *argv[3];

	(void)arg;
	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || stopping)
		return;
	ns = xcalloc(rr->elements + 1, sizeof *ns);
	for (i = 0; i < rr->elements && n < WH_STREAMS_MAX; i++) {
		if (rr->element[i]->type != REDIS_REPLY_STRING)
			continue;
		ns[n].key = xstrdup(rr->element[i]->str);
		for (j = 0; j < nstreams; j++)
			if (strcmp(streams[j].key, ns[n].key) == 0)
				ns[n].empty_since = streams[j].empty_since;
		n++;
	}
	for (j = 0; j < nstreams; j++)
		free(streams[j].key);
	free(streams);
	streams = ns;
	nstreams = n;
	if (spos >= nstreams)
		spos = 0;
	if (round_left > nstreams)
		round_left = nstreams;
	/* The stats, summed as the replies come (the last one sets them). */
	if (agg.waiting > 0)
		return;		/* the last tick's are still out */
	memset(&agg, 0, sizeof agg);
	agg.waiting = 1;
	argv[0] = "GET";
	argv[1] = k_retired;
	if (store_command(agg_reply, (void *)1, 2, argv, NULL) != 0)
		agg.waiting--;
	for (i = 0; i < nstreams; i++) {
		argv[0] = "XINFO";
		argv[1] = "STREAM";
		argv[2] = streams[i].key;
		agg.waiting++;
		if (store_command_key(streams[i].key, agg_reply, NULL, 3, argv,
		    NULL) != 0)
			agg.waiting--;
	}
	if (agg.waiting == 0) {
		q_depth = 0;
		q_oldest_ms = 0;
	}
}

/* The scripts queue notices while this key lives. */
static void
cfg_write(void)
{
	char px[24];
	const char *argv[5];

	snprintf(cfgval, sizeof cfgval, "=%s",
	    cfg.webhook_events != NULL ? cfg.webhook_events : "");
	store_set_notices(cfgval);
	snprintf(px, sizeof px, "%d", WH_CFG_TTL_MS);
	argv[0] = "SET";
	argv[1] = k_cfg;
	argv[2] = cfgval;
	argv[3] = "PX";
	argv[4] = px;
	store_command(NULL, NULL, 5, argv, NULL);
}

/* A cluster node without --webhook-url: the settings another node wrote. */
static void
cfg_read_reply(redisReply *rr, void *arg)
{
	(void)arg;
	if (rr == NULL || stopping)
		return;
	if (rr->type == REDIS_REPLY_STRING) {
		snprintf(cfgval, sizeof cfgval, "%s", rr->str);
		store_set_notices(cfgval);
	} else if (rr->type == REDIS_REPLY_NIL)
		store_set_notices(NULL);
}

static void
cfg_read(uv_timer_t *t)
{
	const char *argv[2] = { "GET", k_cfg };

	(void)t;
	if (store_ready())
		store_command(cfg_read_reply, NULL, 2, argv, NULL);
}

static void
tick(uv_timer_t *t)
{
	char px[24];
	const char *argv[8];

	(void)t;
	if (!store_ready())
		return;
	cfg_write();
	snprintf(px, sizeof px, "%llu", (unsigned long long)(WH_LEASE_MS +
	    cfg.hook_timeout * 1000));
	lease_sent = mono_ms();
	if (leader) {
		argv[0] = "EVAL";
		argv[1] = renew_lua;
		argv[2] = "1";
		argv[3] = k_lease;
		argv[4] = node_id;
		argv[5] = px;
		store_command_key(k_lease, lease_reply, (void *)1, 6, argv,
		    NULL);
	} else {
		argv[0] = "SET";
		argv[1] = k_lease;
		argv[2] = node_id;
		argv[3] = "NX";
		argv[4] = "PX";
		argv[5] = px;
		store_command(lease_reply, NULL, 6, argv, NULL);
	}
	if (clustered) {
		argv[0] = "SMEMBERS";
		argv[1] = k_streams;
		store_command(streams_reply, NULL, 2, argv, NULL);
		return;
	}
	argv[0] = "XINFO";
	argv[1] = "STREAM";
	argv[2] = k_stream;
	store_command_key(k_stream, xinfo_reply, NULL, 3, argv, NULL);
}

/* ----- reading a batch ----- */

/* Take entries [[id, [field, value, ...]], ...] of stream into cur. */
static size_t
take_entries(const char *stream, redisReply *arr)
{
	size_t i, had = cur.n;

	if (arr == NULL || arr->type != REDIS_REPLY_ARRAY || arr->elements == 0)
		return 0;
	if (cur.n + arr->elements > cur.cap) {
		cur.cap = cur.n + arr->elements;
		cur.ids = xrealloc(cur.ids, cur.cap * sizeof *cur.ids);
	}
	if (cur.n == 0)
		buf_init(&cur.body);
	for (i = 0; i < arr->elements; i++) {
		redisReply *e = arr->element[i], *fv;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		cur.ids[cur.n++] = xstrdup(e->element[0]->str);
		fv = e->element[1];
		if (fv->type != REDIS_REPLY_ARRAY || fv->elements < 2 ||
		    fv->element[1]->type != REDIS_REPLY_STRING)
			continue;	/* trimmed meanwhile: acked, not sent */
		if (cur.body.len > 0)
			buf_addc(&cur.body, ',');
		buf_add(&cur.body, fv->element[1]->str, fv->element[1]->len);
	}
	if (cur.n > had) {
		cur.runs = xrealloc(cur.runs, (cur.nruns + 1) *
		    sizeof *cur.runs);
		cur.runs[cur.nruns].stream = xstrdup(stream);
		cur.runs[cur.nruns].from = had;
		cur.runs[cur.nruns].n = cur.n - had;
		cur.nruns++;
	}
	return cur.n - had;
}

static void
start_batch(void)
{
	struct buf b;
	const char *tag = "";

	/* On a cluster ids repeat across streams: the slot's tag tells. */
	if (clustered && cur.nruns > 0 &&
	    (tag = strrchr(cur.runs[0].stream, '{')) == NULL)
		tag = "";
	snprintf(cur.delivery, sizeof cur.delivery, "%s%s%s.%zu",
	    *tag != '\0' ? tag : "", *tag != '\0' ? "-" : "", cur.ids[0],
	    cur.n);
	buf_init(&b);
	buf_printf(&b, "{\"delivery\":\"%s\",\"notices\":[",
	    cur.delivery);
	buf_add(&b, cur.body.p != NULL ? cur.body.p : "", cur.body.len);
	buf_adds(&b, "]}");
	buf_free(&cur.body);
	cur.body = b;
	cur.first_try = mono_ms();
	cur.backoff = WH_BACKOFF_MIN_MS;
	try_send();
}

/* The stream a step reads, by key: the list may change meanwhile. */
static struct wh_stream *
stream_find(const char *key)
{
	for (size_t i = 0; i < nstreams; i++)
		if (strcmp(streams[i].key, key) == 0)
			return &streams[i];
	return NULL;
}

static void
retire_reply(redisReply *rr, void *arg)
{
	char *key = arg, n[32];
	const char *argv[3];

	if (rr != NULL && rr->type == REDIS_REPLY_INTEGER && rr->integer >= 0) {
		snprintf(n, sizeof n, "%lld", rr->integer);
		argv[0] = "INCRBY";
		argv[1] = k_retired;
		argv[2] = n;
		store_command(NULL, NULL, 3, argv, NULL);
	} else {
		/* Not empty after all, or not known: listed again. */
		argv[0] = "SADD";
		argv[1] = k_streams;
		argv[2] = key;
		store_command(NULL, NULL, 3, argv, NULL);
	}
	free(key);
}

/* Off the list first, then deleted only if still empty (see the top). */
static void
retire(const char *key)
{
	const char *argv[4];

	argv[0] = "SREM";
	argv[1] = k_streams;
	argv[2] = key;
	store_command(NULL, NULL, 3, argv, NULL);
	argv[0] = "EVAL";
	argv[1] = retire_lua;
	argv[2] = "1";
	argv[3] = key;
	store_command_key(key, retire_reply, xstrdup(key), 4, argv, NULL);
}

static void step(void);

/* A cluster stream read got notices, or none: retired once empty long. */
static void
track_empty(const char *key, size_t got)
{
	struct wh_stream *st = stream_find(key);
	uint64_t now = mono_ms();

	if (st == NULL || !clustered)
		return;
	if (got > 0)
		st->empty_since = 0;
	else if (st->empty_since == 0)
		st->empty_since = now;
	else if (now - st->empty_since >= WH_RETIRE_MS && leader) {
		retire(key);
		st->empty_since = now;	/* once per WH_RETIRE_MS */
	}
}

/* A stream has been read: go on round the streams, or send. */
static void
stepped(const char *key, size_t got)
{
	track_empty(key, got);
	if (round_left > 0)
		round_left--;
	if (nstreams > 0)
		spos = (spos + 1) % nstreams;
	if (cur.n >= WH_BATCH || round_left == 0 || stopping) {
		if (cur.n > 0 && !stopping)
			start_batch();
		else
			schedule_poll(cur.n >= WH_BATCH ? 0 : WH_POLL_MS);
		return;
	}
	step();
}

/*
 * A read of stream key failed (rr NULL: not sent, or no answer): send
 * what was read so far, or wait a tick; the next round goes on with the
 * next stream, so one bad stream holds none of the others up. On one
 * Redis a stream without the group (deleted and made again by a script's
 * XADD) gets it back. A cluster's writers make each stream with the group
 * in it, so there NOGROUP is a stream that is gone (retired while this
 * node still had it listed): made again here it would be a stream no
 * writer lists, whose notices nobody would read; it counts as empty and
 * is retired again instead.
 */
static int
read_failed(redisReply *rr, const char *key)
{
	const char *argv[6] = { "XGROUP", "CREATE", key, WH_GROUP, "0",
	    "MKSTREAM" };

	if (rr != NULL && rr->type != REDIS_REPLY_ERROR)
		return 0;
	if (rr != NULL && strncmp(rr->str, "NOGROUP", 7) == 0) {
		if (clustered)
			track_empty(key, 0);
		else
			store_command_key(key, NULL, NULL, 6, argv, NULL);
	}
	if (nstreams > 0)
		spos = (spos + 1) % nstreams;
	if (cur.n > 0)
		start_batch();	/* what was read so far */
	else
		schedule_poll(WH_TICK_MS);
	return 1;
}

static void
readgroup_reply(redisReply *rr, void *arg)
{
	char *key = arg;
	size_t got = 0;

	busy = 0;
	if (stopping || read_failed(rr, key)) {
		free(key);
		return;
	}
	/* [[stream, [entries]]] or nil */
	if (rr->type == REDIS_REPLY_ARRAY && rr->elements > 0 &&
	    rr->element[0]->type == REDIS_REPLY_ARRAY &&
	    rr->element[0]->elements == 2)
		got = take_entries(key, rr->element[0]->element[1]);
	stepped(key, got);
	free(key);
}

static void
autoclaim_reply(redisReply *rr, void *arg)
{
	const char *argv[10];
	char count[16];
	char *key = arg;
	size_t got = 0;

	busy = 0;
	if (stopping || read_failed(rr, key)) {
		free(key);
		return;
	}
	/* [next, [entries], [deleted]]: what an earlier holder left. */
	if (rr->type == REDIS_REPLY_ARRAY && rr->elements >= 2)
		got = take_entries(key, rr->element[1]);
	if (got > 0) {
		/* Sent again as it was, as soon as it is found. */
		log_info("webhook: delivering %zu notices another node read "
		    "and did not acknowledge", got);
		free(key);
		start_batch();
		return;
	}
	snprintf(count, sizeof count, "%zu", WH_BATCH - cur.n);
	argv[0] = "XREADGROUP";
	argv[1] = "GROUP";
	argv[2] = WH_GROUP;
	argv[3] = node_id;
	argv[4] = "COUNT";
	argv[5] = count;
	argv[6] = "STREAMS";
	argv[7] = key;
	argv[8] = ">";
	if (store_command_key(key, readgroup_reply, key, 9, argv, NULL) == 0)
		busy = 1;
	else {
		read_failed(NULL, key);
		free(key);
	}
}

static void
group_reply(redisReply *rr, void *arg)
{
	(void)arg;
	if (rr != NULL && (rr->type != REDIS_REPLY_ERROR ||
	    strncmp(rr->str, "BUSYGROUP", 9) == 0))
		group_ok = 1;
}

/* Read the next stream of the round: what nobody acknowledged, then new
 * notices. */
static void
step(void)
{
	const char *argv[10];
	char count[16], *key;

	if (nstreams == 0) {
		schedule_poll(WH_POLL_MS);
		return;
	}
	key = xstrdup(streams[spos].key);
	if (!group_ok && !clustered) {
		/* A cluster's streams are made with the group in them. */
		argv[0] = "XGROUP";
		argv[1] = "CREATE";
		argv[2] = key;
		argv[3] = WH_GROUP;
		argv[4] = "0";
		argv[5] = "MKSTREAM";
		store_command_key(key, group_reply, NULL, 6, argv, NULL);
	}
	snprintf(count, sizeof count, "%d", WH_BATCH);
	argv[0] = "XAUTOCLAIM";
	argv[1] = key;
	argv[2] = WH_GROUP;
	argv[3] = node_id;
	argv[4] = "0";
	argv[5] = "0-0";
	argv[6] = "COUNT";
	argv[7] = count;
	if (store_command(autoclaim_reply, key, 8, argv, NULL) == 0)
		busy = 1;
	else {
		read_failed(NULL, key);
		free(key);
	}
}

/* Read the next batch, going round the streams once at most. */
static void
fetch(void)
{
	if (stopping || !leader || busy || cur.n > 0)
		return;
	if (mono_ms() >= lease_until || !store_ready()) {
		schedule_poll(WH_TICK_MS);
		return;
	}
	round_left = nstreams;
	step();
}

/* ----- sending ----- */

/* Acknowledge and remove the batch's notices, then read the next one. */
static void
ack_batch(void)
{
	const char **argv = xcalloc(cur.n + 3, sizeof *argv);
	int full = cur.n >= WH_BATCH;

	for (size_t r = 0; r < cur.nruns; r++) {
		const struct wh_run *run = &cur.runs[r];

		argv[0] = "XACK";
		argv[1] = run->stream;
		argv[2] = WH_GROUP;
		for (size_t i = 0; i < run->n; i++)
			argv[3 + i] = cur.ids[run->from + i];
		store_command(NULL, NULL, (int)run->n + 3, argv, NULL);
		argv[0] = "XDEL";
		argv[1] = run->stream;
		for (size_t i = 0; i < run->n; i++)
			argv[2 + i] = cur.ids[run->from + i];
		store_command(NULL, NULL, (int)run->n + 2, argv, NULL);
	}
	free(argv);
	batch_clear();
	schedule_poll(full ? 0 : WH_POLL_MS);
}

static void
retry_fire(uv_timer_t *t)
{
	(void)t;
	try_send();
}

static void
send_done(const struct http_reply *rep, void *arg)
{
	char why[160], ts[24];

	(void)arg;
	busy = 0;
	if (stopping)
		return;
	if (rep->outcome == HTTP_ANSWERED && rep->status >= 200 &&
	    rep->status < 300) {
		n_delivered += cur.n;
		if (failing_since != 0) {
			log_info("webhook: %s answers again", cfg.webhook_url);
			failing_since = 0;
			status_set("failing_since", "0");
		}
		ack_batch();
		return;
	}
	if (rep->outcome == HTTP_ANSWERED)
		snprintf(why, sizeof why, "status %ld", rep->status);
	else
		snprintf(why, sizeof why, "%s", rep->error);
	if (failing_since == 0) {
		failing_since = time_ms();
		snprintf(ts, sizeof ts, "%llu",
		    (unsigned long long)failing_since);
		status_set("failing_since", ts);
		log_warnx("webhook: delivery %s failed: %s; retrying",
		    cur.delivery, why);
	}
	status_set("last_error", why);
	if (mono_ms() - cur.first_try >= cfg.webhook_retry * 1000) {
		log_warnx("webhook: dropped delivery %s of %zu notices after "
		    "%llu s of failures: %s", cur.delivery, cur.n,
		    (unsigned long long)cfg.webhook_retry, why);
		n_dropped += cur.n;
		ack_batch();
		return;
	}
	n_retried += cur.n;
	uv_timer_start(&poll_timer, retry_fire, cur.backoff, 0);
	cur.backoff *= 2;
	if (cur.backoff > WH_BACKOFF_MAX_MS)
		cur.backoff = WH_BACKOFF_MAX_MS;
}

/* HMAC-SHA256 of body with the webhook secret, as "sha256=<hex>". */
static void
sign(const char *body, size_t len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t o;

	HMAC(EVP_sha256(), cfg.webhook_secret, (int)strlen(cfg.webhook_secret),
	    (const unsigned char *)body, len, mac, &maclen);
	o = (size_t)snprintf(out, outlen, "X-Roomd-Signature: sha256=");
	for (unsigned int i = 0; i < maclen && o + 3 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", mac[i]);
}

static void
try_send(void)
{
	char sig[128], del[128];
	const char *headers[3] = { sig, del, NULL };

	if (stopping || cur.n == 0)
		return;
	if (!leader) {
		/* Another node holds the lease: it claims this batch. */
		batch_clear();
		return;
	}
	if (mono_ms() >= lease_until) {
		/* Not confirmed lately: wait for the lease, or lose it. */
		uv_timer_start(&poll_timer, retry_fire, WH_TICK_MS, 0);
		return;
	}
	sign(cur.body.p, cur.body.len, sig, sizeof sig);
	snprintf(del, sizeof del, "X-Roomd-Delivery: %s", cur.delivery);
	cur.attempts++;
	n_requests++;
	if (http_post(cfg.webhook_url, headers, cur.body.p, cur.body.len,
	    cfg.hook_timeout * 1000, send_done, NULL) == 0)
		busy = 1;
	else
		uv_timer_start(&poll_timer, retry_fire, WH_BACKOFF_MIN_MS, 0);
}

/* ----- start, stop, metrics ----- */

void
webhook_start(void)
{
	struct buf b;

	clustered = cfg.redis_cluster != NULL;
	if (cfg.webhook_url == NULL && !clustered)
		return;		/* the scripts read the settings key */
#define KEY(dst, name) do {						\
	buf_init(&b);							\
	key_plain(&b, cfg.prefix, name);				\
	snprintf(dst, sizeof dst, "%s", b.p);				\
	buf_free(&b);							\
} while (0)
	KEY(k_stream, "webhooks");
	KEY(k_cfg, "webhooks:cfg");
	KEY(k_lease, "webhooks:lease");
	KEY(k_status, "webhooks:status");
	KEY(k_streams, "webhooks:streams");
	KEY(k_retired, "webhooks:retired");
#undef KEY
	if (cfg.webhook_url == NULL) {
		/* A cluster node that delivers nothing still queues. */
		uv_timer_init(loop, &cfg_timer);
		uv_timer_start(&cfg_timer, cfg_read, 0, WH_TICK_MS);
		return;
	}
	enabled = 1;
	if (!clustered) {
		streams = xcalloc(1, sizeof *streams);
		streams[0].key = xstrdup(k_stream);
		nstreams = 1;
	}
	uv_timer_init(loop, &tick_timer);
	uv_timer_init(loop, &poll_timer);
	uv_timer_start(&tick_timer, tick, 50, WH_TICK_MS);
}

/*
 * The command connection answers (again, or for the first time): write the
 * config key at once, ahead of every script this node sends from now on,
 * so no notice of a client that came in before the first tick is lost,
 * and none after a Redis that restarted empty.
 */
void
webhook_store_ready(void)
{
	if (enabled && !stopping)
		cfg_write();	/* the subscriptions may not be up yet */
}

static void
timer_closed(uv_handle_t *h)
{
	(void)h;
}

/* Stop delivering; hand the lease over at once when this node holds it. */
void
webhook_stop(void)
{
	const char *argv[5];

	if (clustered && !enabled && !stopping) {
		stopping = 1;
		uv_timer_stop(&cfg_timer);
		uv_close((uv_handle_t *)&cfg_timer, timer_closed);
		return;
	}
	if (!enabled || stopping)
		return;
	stopping = 1;
	if (leader) {
		argv[0] = "EVAL";
		argv[1] = release_lua;
		argv[2] = "1";
		argv[3] = k_lease;
		argv[4] = node_id;
		store_command_key(k_lease, NULL, NULL, 5, argv, NULL);
	}
	uv_timer_stop(&tick_timer);
	uv_timer_stop(&poll_timer);
	uv_close((uv_handle_t *)&tick_timer, timer_closed);
	uv_close((uv_handle_t *)&poll_timer, timer_closed);
	batch_clear();
	for (size_t i = 0; i < nstreams; i++)
		free(streams[i].key);
	free(streams);
	streams = NULL;
	nstreams = 0;
}

void
webhook_metrics(struct buf *b)
{
	uint64_t age = 0;

	if (q_oldest_ms != 0 && time_ms() > q_oldest_ms)
		age = time_ms() - q_oldest_ms;
	buf_printf(b, "# HELP roomd_webhook_notices_queued_total Notices ever "
	    "queued in Redis (all nodes).\n"
	    "# TYPE roomd_webhook_notices_queued_total counter\n"
	    "roomd_webhook_notices_queued_total %lld\n",
	    q_added < 0 ? 0 : q_added);
	buf_printf(b, "# HELP roomd_webhook_notices_delivered_total Notices "
	    "this node delivered.\n"
	    "# TYPE roomd_webhook_notices_delivered_total counter\n"
	    "roomd_webhook_notices_delivered_total %llu\n",
	    (unsigned long long)n_delivered);
	buf_printf(b, "# HELP roomd_webhook_notices_retried_total Notices in "
	    "requests that failed and were tried again.\n"
	    "# TYPE roomd_webhook_notices_retried_total counter\n"
	    "roomd_webhook_notices_retried_total %llu\n",
	    (unsigned long long)n_retried);
	buf_printf(b, "# HELP roomd_webhook_notices_dropped_total Notices "
	    "dropped after --webhook-retry.\n"
	    "# TYPE roomd_webhook_notices_dropped_total counter\n"
	    "roomd_webhook_notices_dropped_total %llu\n",
	    (unsigned long long)n_dropped);
	buf_printf(b, "# HELP roomd_webhook_requests_total Webhook requests "
	    "this node sent.\n# TYPE roomd_webhook_requests_total counter\n"
	    "roomd_webhook_requests_total %llu\n",
	    (unsigned long long)n_requests);
	buf_printf(b, "# HELP roomd_webhook_queue_depth Notices waiting in "
	    "Redis.\n# TYPE roomd_webhook_queue_depth gauge\n"
	    "roomd_webhook_queue_depth %lld\n", q_depth < 0 ? 0 : q_depth);
	buf_printf(b, "# HELP roomd_webhook_queue_oldest_seconds Age of the "
	    "oldest waiting notice.\n"
	    "# TYPE roomd_webhook_queue_oldest_seconds gauge\n"
	    "roomd_webhook_queue_oldest_seconds %.3f\n", (double)age / 1000.0);
	buf_printf(b, "# HELP roomd_webhook_leader Whether this node delivers "
	    "webhooks.\n# TYPE roomd_webhook_leader gauge\n"
	    "roomd_webhook_leader %d\n", leader);
}
