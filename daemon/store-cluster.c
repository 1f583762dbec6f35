/*
 * store-cluster.c: the store on a Redis Cluster (--redis-cluster), through
 * the shared cluster layer (shared/cluster.h). store.c hands every call
 * here when store_cluster() is set, so the rest of roomd has one code
 * path for both modes.
 *
 * What differs from one Redis (REDIS.md, Redis Cluster):
 * - scripts are the cluster variants (SPUBLISH), routed to the room's
 *   shard; the room indexes, which sit in other slots, are written after
 *   the room's script, from its reply (a lost follow-up is repaired by the
 *   room's next write), and so are the matchmaking pools; a match itself
 *   goes to store-match.c;
 * - room channels and the control channel are sharded channels, which
 *   the layer keeps subscribed on their slot's master by itself: a lost
 *   subscription is reported through store_events.lost (the room catches
 *   up from history once it is confirmed again), never by resubscribe;
 * - "ready" follows the slot map and every master that answers again
 *   (after a failover), so members are written back to a promoted replica.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "roomd.h"

#define READY_DELAY_MS 50	/* coalesce the masters coming up at once */
#define SETTLE_MS 1000		/* a subscription back after a loss must
				 * last this long before the room trusts it */
#define SETTLE_TICK_MS 100
#define PROBE_WAIT_MS 1000	/* a probe not back by then: subscribe anew */
#define PROBE_PREFIX "{\"probe\":"
#define CLUSTER_TIMEOUT_MS 5000	/* above the slowest script */

static struct cluster *cl;
static const struct store_events *events;
static char ctl_channel[128];
static uv_timer_t ready_timer, unsub_timer;
static uint64_t up_since;
static double rtt_ms;
static int stopping;

/* Webhook notices (scripts.c, script_add_notices): the settings the
 * scripts get, as webhook.c last read them, and the key listing the
 * streams they write. */
static char *notices_cfg;
static char notices_list[256];

/* Channels given up, confirmed to the store's user on the next turn of
 * the loop (the layer confirms no SUNSUBSCRIBE of ours). */
static char **unsub_q;
static size_t unsub_n;

/*
 * Channels whose subscription was lost, and when the one that replaced it
 * may be reported (0: not confirmed yet). During a failover the first new
 * subscription may land on a node that is about to lose the slot too (the
 * old master, a replica by now, or a map read from a node that has not
 * heard yet) and miss frames meanwhile; holding the confirmation until
 * the subscription has lasted SETTLE_MS means the room's catch-up from
 * history comes after the last such move and misses nothing. And it is
 * trusted only once a probe published on the channel (to its slot's
 * master, as the scripts publish) has come back on it: a node that
 * confirmed the subscription and then dropped it without a word (as a
 * master demoted while it slept can) is found out, and the channel is
 * subscribed anew where the map says.
 */
struct settle {
	char *ch;
	uint64_t due;		/* 0: no subscription yet */
	uint64_t probe_at;
	char probe[96];		/* the probe's text, "" when none is out */
	int probed;		/* it came back */
};
static unsigned probe_nonce;
static struct settle *settles;
static size_t nsettles;
static uv_timer_t settle_timer;

/* A script call in flight, with what its index follow-up needs. */
struct stc_call {
	store_cb cb;
	void *arg;
	enum script_id sid;
	uint64_t sent_ns;
	int nidx;
	char *room;
	char *room_key;
	char *members_key;
	char *idx[2];		/* rooms, rooms:public */
};

/* What is read of a room after a leave, restore or lock: its member
 * count, visibility and pool (issue 10) settings. */
struct stc_repair {
	int refs;
	long long count;
	int have_count;
	int have_details;
	int public;
	char *pool_key;		/* NULL: in no pool */
	char *seq;		/* of the script's frame, or NULL */
	long long max_members;
	int locked;
	char *room;
	char *idx[2];		/* NULL: the indexes stay as they are */
};

int
store_cluster(void)
{
	return cl != NULL || cfg.redis_cluster != NULL;
}

int
stc_ready(void)
{
	return cl != NULL && cluster_ready(cl);
}

uint64_t
stc_up_since(void)
{
	return stc_ready() ? up_since : 0;
}

double
stc_rtt_ms(void)
{
	return rtt_ms;
}

static void
ready_fire(uv_timer_t *t)
{
	(void)t;
	if (stopping || !stc_ready())
		return;
	if (up_since == 0)
		up_since = mono_ms();
	events->ready();
}

static void
ready_soon(void)
{
	if (!stopping)
		uv_timer_start(&ready_timer, ready_fire, READY_DELAY_MS, 0);
}

static void
on_event(enum cluster_event ev, const char *addr, const char *detail,
    void *arg)
{
	static int seeds_warned;

	(void)arg;
	switch (ev) {
	case CLUSTER_EV_MAP:
		log_debug("redis cluster: slot map from %s: %s", addr,
		    detail != NULL ? detail : "");
		if (up_since == 0) {
			log_info("redis cluster %s: connected (%s)", addr,
			    detail != NULL ? detail : "");
			seeds_warned = 0;
			ready_soon();
		}
		break;
	case CLUSTER_EV_NODE_UP:
		log_info("redis cluster: master %s answers", addr);
		ready_soon();
		break;
	case CLUSTER_EV_NODE_DOWN:
		log_warnx("redis cluster: master %s: %s", addr,
		    detail != NULL ? detail : "lost");
		break;
	case CLUSTER_EV_SEEDS_DOWN:
		if (!seeds_warned++)
			log_warnx("redis cluster: no seed node answers: "
			    "retrying");
		break;
	}
}

static int
is_ctl(const char *ch, size_t len)
{
	return len == strlen(ctl_channel) && memcmp(ch, ctl_channel, len) == 0;
}

static struct settle *
settle_find(const char *ch, size_t len)
{
	for (size_t i = 0; i < nsettles; i++)
		if (strlen(settles[i].ch) == len &&
		    memcmp(settles[i].ch, ch, len) == 0)
			return &settles[i];
	return NULL;
}

static void
on_message(const char *ch, size_t chlen, const char *msg, size_t len,
    void *arg)
{
	struct settle *st;

	(void)arg;
	if (len >= sizeof PROBE_PREFIX - 1 &&
	    memcmp(msg, PROBE_PREFIX, sizeof PROBE_PREFIX - 1) == 0) {
		/* Any node's probe: never a room frame. */
		if ((st = settle_find(ch, chlen)) != NULL &&
		    st->probe[0] != '\0' && strlen(st->probe) == len &&
		    memcmp(st->probe, msg, len) == 0)
			st->probed = 1;
		return;
	}
	events->message(ch, chlen, msg, len);
}

static void
probe_send(struct settle *st)
{
	const char *argv[3] = { "SPUBLISH", st->ch, st->probe };

	snprintf(st->probe, sizeof st->probe, PROBE_PREFIX "\"%s:%u\"}",
	    node_id, ++probe_nonce);
	st->probe_at = mono_ms();
	st->probed = 0;
	cluster_command(cl, NULL, 0, NULL, NULL, 3, argv, NULL);
}

static void
settle_fire(uv_timer_t *t)
{
	uint64_t now = mono_ms();
	size_t i = 0;
	char *ch;

	(void)t;
	while (i < nsettles && !stopping) {
		struct settle *st = &settles[i];

		if (st->due != 0 && !st->probed &&
		    now - st->probe_at >= PROBE_WAIT_MS) {
			/* Confirmed, but it does not deliver. */
			log_warnx("redis cluster: %s: subscribed but silent: "
			    "subscribing again", st->ch);
			st->due = 0;
			st->probe[0] = '\0';
			cluster_sunsubscribe(cl, st->ch);
			cluster_ssubscribe(cl, st->ch);
			i++;
			continue;
		}
		if (st->due == 0 || st->due > now || !st->probed) {
			i++;
			continue;
		}
		ch = settles[i].ch;
		settles[i] = settles[--nsettles];
		events->subscribed(ch, strlen(ch));
		free(ch);
	}
	if (nsettles == 0)
		uv_timer_stop(&settle_timer);
}

static void
on_subscription(const char *ch, size_t chlen, int subscribed, void *arg)
{
	struct settle *st;

	(void)arg;
	log_debug("redis cluster: %.*s %s", (int)chlen, ch, subscribed ?
	    "subscribed" : "subscription lost");
	if (is_ctl(ch, chlen)) {
		if (subscribed)
			events->listening();
		return;
	}
	st = settle_find(ch, chlen);
	if (subscribed && st == NULL) {
		events->subscribed(ch, chlen);	/* a first subscription */
		return;
	}
	if (subscribed) {
		st->due = mono_ms() + SETTLE_MS;
		probe_send(st);
		return;
	}
	if (st == NULL) {
		settles = xrealloc(settles, (nsettles + 1) * sizeof *settles);
		st = &settles[nsettles++];
		memset(st, 0, sizeof *st);
		st->ch = xstrndup(ch, chlen);
		if (!uv_is_active((uv_handle_t *)&settle_timer))
			uv_timer_start(&settle_timer, settle_fire,
			    SETTLE_TICK_MS, SETTLE_TICK_MS);
	}
	st->due = 0;
	st->probe[0] = '\0';
	if (events->lost != NULL)
		events->lost(ch, chlen);
}

int
stc_start(const struct store_events *ev, const char *channel)
{
	static const char *preload[SCRIPT_COUNT + 1];
	struct cluster_opts o;
	char *cause = NULL;
	struct buf b;

	events = ev;
	snprintf(ctl_channel, sizeof ctl_channel, "%s", channel);
	buf_init(&b);
	key_plain(&b, cfg.prefix, "webhooks:streams");
	snprintf(notices_list, sizeof notices_list, "%s", b.p);
	buf_free(&b);
	script_use_cluster(1);
	for (int i = 0; i < SCRIPT_COUNT; i++)
		preload[i] = script_source((enum script_id)i);
	memset(&o, 0, sizeof o);
	o.preload = preload;
	o.seeds = cfg.redis_cluster;
	o.password = cfg.redis_password;
	o.timeout_ms = CLUSTER_TIMEOUT_MS;
	o.on_message = on_message;
	o.on_subscription = on_subscription;
	o.on_event = on_event;
	uv_timer_init(loop, &ready_timer);
	uv_timer_init(loop, &unsub_timer);
	uv_timer_init(loop, &settle_timer);
	if ((cl = cluster_new(loop, &o, &cause)) == NULL)
		fatalx("redis cluster: %s", cause != NULL ? cause : "failed");
	cluster_ssubscribe(cl, ctl_channel);
	return 0;
}

static void
timer_closed(uv_handle_t *h)
{
	(void)h;
}

void
stc_stop(void)
{
	stopping = 1;
	uv_timer_stop(&ready_timer);
	uv_timer_stop(&unsub_timer);
	uv_close((uv_handle_t *)&ready_timer, timer_closed);
	uv_close((uv_handle_t *)&unsub_timer, timer_closed);
	uv_timer_stop(&settle_timer);
	uv_close((uv_handle_t *)&settle_timer, timer_closed);
	for (size_t i = 0; i < nsettles; i++)
		free(settles[i].ch);
	free(settles);
	settles = NULL;
	nsettles = 0;
	for (size_t i = 0; i < unsub_n; i++)
		free(unsub_q[i]);
	free(unsub_q);
	unsub_q = NULL;
	unsub_n = 0;
	cluster_free(cl);	/* pending callbacks run with NULL */
}

/* The cluster, for store-across.c. */
struct cluster *
stc_cluster(void)
{
	return cl;
}

int
stc_stopping(void)
{
	return stopping;
}

/* Fire and forget: ZADD or ZREM on an index, wherever it lives (also
 * SADD: any command of a key and one or two arguments). */
void
stc_index_write(const char *cmd, const char *key, const char *score,
    const char *room)
{
	const char *argv[4] = { cmd, key, score, room };
	int argc = 4;

	if (score == NULL) {
		argv[2] = room;
		argc = 3;
	}
	cluster_command(cl, NULL, 0, NULL, NULL, argc, argv, NULL);
}

static void
index_set(char *const idx[2], const char *room, long long count, int pub)
{
	char n[24];

	if (count <= 0) {
		stc_index_write("ZREM", idx[0], NULL, room);
		stc_index_write("ZREM", idx[1], NULL, room);
		return;
	}
	snprintf(n, sizeof n, "%lld", count);
	stc_index_write("ZADD", idx[0], n, room);
	if (pub)
		stc_index_write("ZADD", idx[1], n, room);
}

/*
 * A pool room's entry (issue 10): in its pool, scored by member count,
 * while it has members, a free seat and is not locked; else out of it.
 * seq is the room's frame the state is as of (NULL: none): pool_set.lua
 * drops a write older than one it applied, which another node may have
 * sent later and got there first. Fire and forget.
 */
void
stc_pool_write(const char *pool_key, const char *room, long long count,
    long long max_members, int locked, const char *seq,
    const char *created_at)
{
	struct script_args sa;

	if (cl == NULL)
		return;
	script_pool_set_args(&sa, &(struct script_pool_set){
		.pool_key = pool_key, .room = room, .count = count,
		.max_members = max_members, .locked = locked, .seq = seq,
		.created_at = created_at });
	stc_eval(&sa, NULL, NULL);
	script_args_free(&sa);
}

/* The string (a seq, a time) a reply element holds, or NULL. */
static const char *
seq_of(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

static void
repair_unref(struct stc_repair *rp)
{
	if (--rp->refs > 0)
		return;
	if (rp->have_count && rp->have_details && !stopping) {
		if (rp->idx[0] != NULL)
			index_set(rp->idx, rp->room, rp->count, rp->public);
		if (rp->pool_key != NULL)
			stc_pool_write(rp->pool_key, rp->room, rp->count,
			    rp->max_members, rp->locked, rp->seq, NULL);
	}
	free(rp->room);
	free(rp->seq);
	free(rp->pool_key);
	free(rp->idx[0]);
	free(rp->idx[1]);
	free(rp);
}

static void
repair_count(struct redisReply *r, void *arg)
{
	struct stc_repair *rp = arg;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		rp->count = r->integer;
		rp->have_count = 1;
	}
	repair_unref(rp);
}

/* HMGET visibility pool_key max_members locked */
static void
repair_details(struct redisReply *r, void *arg)
{
	struct stc_repair *rp = arg;
	redisReply **e;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
		e = r->element;
		rp->have_details = 1;
		rp->public = e[0]->type == REDIS_REPLY_STRING &&
		    strcmp(e[0]->str, "public") == 0;
		if (e[1]->type == REDIS_REPLY_STRING)
			rp->pool_key = xstrdup(e[1]->str);
		if (e[2]->type == REDIS_REPLY_STRING)
			rp->max_members = strtoll(e[2]->str, NULL, 10);
		rp->locked = e[3]->type == REDIS_REPLY_STRING &&
		    strcmp(e[3]->str, "1") == 0;
	}
	repair_unref(rp);
}

/*
 * Read the room's member count, visibility and pool settings, then set
 * its index entries (unless indexes is 0) and its pool entry: after a
 * leave, a restore or a lock, whose replies carry neither.
 */
static void
index_repair(struct stc_call *sc, int indexes, const char *seq)
{
	struct stc_repair *rp = xcalloc(1, sizeof *rp);
	const char *hlen[2] = { "HLEN", sc->members_key };
	const char *hmget[6] = { "HMGET", sc->room_key, "visibility",
	    "pool_key", "max_members", "locked" };

	rp->refs = 2;
	rp->room = xstrdup(sc->room);
	rp->seq = seq != NULL ? xstrdup(seq) : NULL;
	if (indexes) {
		rp->idx[0] = xstrdup(sc->idx[0]);
		rp->idx[1] = xstrdup(sc->idx[1]);
	}
	if (cluster_command(cl, NULL, 0, repair_count, rp, 2, hlen,
	    NULL) != 0)
		rp->refs--;
	if (cluster_command(cl, NULL, 0, repair_details, rp, 6, hmget,
	    NULL) != 0)
		rp->refs--;
	if (rp->refs == 0) {
		rp->refs = 1;
		repair_unref(rp);
	}
}

int
stc_reply_is(const redisReply *r, const char *s)
{
	return r != NULL && r->type == REDIS_REPLY_STRING &&
	    strcmp(r->str, s) == 0;
}

/*
 * A join's reply (join.lua's, or match.lua's, which has its shape) for
 * room: the room indexes idx and, for a pool room, its pool entry, as
 * the reply says.
 */
void
stc_join_written(const char *room, char *const idx[2], const redisReply *r)
{
	const redisReply *d, *st;
	long long count;
	int pub;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < JOIN_R_COUNT)
		return;
	st = r->element[JOIN_R_STATUS];
	if (!stc_reply_is(st, "ok") && !stc_reply_is(st, "already"))
		return;
	d = r->element[JOIN_R_DETAILS];
	count = (long long)r->element[JOIN_R_MEMBERS]->elements;
	pub = d->type == REDIS_REPLY_ARRAY && d->elements == JOIN_D_COUNT &&
	    stc_reply_is(d->element[JOIN_D_VISIBILITY], "public");
	index_set(idx, room, count, pub);
	if (d->type == REDIS_REPLY_ARRAY && d->elements == JOIN_D_COUNT &&
	    d->element[JOIN_D_POOL_KEY]->type == REDIS_REPLY_STRING &&
	    d->element[JOIN_D_MAX_MEMBERS]->type == REDIS_REPLY_STRING)
		stc_pool_write(d->element[JOIN_D_POOL_KEY]->str, room, count,
		    strtoll(d->element[JOIN_D_MAX_MEMBERS]->str, NULL, 10),
		    stc_reply_is(d->element[JOIN_D_LOCKED], "1"),
		    seq_of(r->element[JOIN_R_SEQ]),
		    seq_of(d->element[JOIN_D_CREATED_AT]));
}

/* The room's script has run: write the indexes outside the room. */
static void
index_after(struct stc_call *sc, const redisReply *r)
{
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 0)
		return;
	switch (sc->sid) {
	case SCRIPT_JOIN:
		stc_join_written(sc->room, sc->idx, r);
		break;
	case SCRIPT_LEAVE:
		if (r->type != REDIS_REPLY_ARRAY ||
		    r->elements < LEAVE_R_COUNT ||
		    r->element[LEAVE_R_REMOVED]->integer != 1)
			return;
		if (r->element[LEAVE_R_CLOSED]->integer == 1)
			index_set(sc->idx, sc->room, 0, 0);
		/* Closed too: the room's hash outlives it for the empty
		 * TTL, and says which pool to leave. */
		index_repair(sc, 1, seq_of(r->element[LEAVE_R_SEQ]));
		break;
	case SCRIPT_RESTORE:
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
			index_repair(sc, 1, NULL);
		break;
	default:
		break;
	}
}

static void
stc_call_free(struct stc_call *sc)
{
	free(sc->room);
	free(sc->room_key);
	free(sc->members_key);
	free(sc->idx[0]);
	free(sc->idx[1]);
	free(sc);
}

static void
script_done(struct redisReply *r, void *arg)
{
	struct stc_call *sc = arg;
	double ms;

	if (r != NULL) {
		ms = (double)(uv_hrtime() - sc->sent_ns) / 1e6;
		rtt_ms = rtt_ms == 0 ? ms : rtt_ms * 0.9 + ms * 0.1;
		if (sc->nidx == 2 && r->type != REDIS_REPLY_ERROR && !stopping)
			index_after(sc, r);
		else if (sc->sid == SCRIPT_LOCK && !stopping &&
		    r->type == REDIS_REPLY_ARRAY &&
		    r->elements == LOCK_R_COUNT &&
		    stc_reply_is(r->element[LOCK_R_STATUS], "ok") &&
		    r->element[LOCK_R_SEQ]->type == REDIS_REPLY_STRING)
			index_repair(sc, 0, r->element[LOCK_R_SEQ]->str);
	}
	if (sc->cb != NULL)
		sc->cb(r, sc->arg);
	stc_call_free(sc);
}

/* What the scripts get for webhook notices from now on (NULL: none). */
void
stc_set_notices(const char *cfgval)
{
	if (notices_cfg != NULL && cfgval != NULL &&
	    strcmp(notices_cfg, cfgval) == 0)
		return;
	free(notices_cfg);
	notices_cfg = cfgval != NULL ? xstrdup(cfgval) : NULL;
}

struct stc_eval {
	store_cb cb;
	void *arg;
};

/* A script's reply: list the notice stream it made, then pass its own
 * reply on. */
static void
eval_done(struct redisReply *r, void *arg)
{
	struct stc_eval ev = *(struct stc_eval *)arg;
	const char *stream;
	const redisReply *own;
	const char *argv[3] = { "SADD", notices_list, NULL };

	free(arg);
	own = script_notices_unwrap(r, &stream);
	if (stream != NULL && !stopping) {
		argv[2] = stream;
		cluster_command(cl, NULL, 0, NULL, NULL, 3, argv, NULL);
	}
	if (ev.cb != NULL)
		ev.cb((redisReply *)own, ev.arg);
}

/*
 * Every script roomd runs on a cluster goes here: on its first key's
 * shard, with the webhook settings and the slot's notice stream added
 * (a stream it creates is listed after). Returns -1 without calling cb
 * when the layer refuses it.
 */
int
stc_eval(struct script_args *sa, store_cb cb, void *arg)
{
	struct stc_eval *ev;

	script_add_notices(sa, cfg.prefix, notices_cfg);
	ev = xmalloc(sizeof *ev);
	ev->cb = cb;
	ev->arg = arg;
	if (cluster_script(cl, script_sha(sa->id), script_source(sa->id),
	    sa->nkeys, sa->argc - sa->nkeys, sa->argv, sa->lens, eval_done,
	    ev) != 0) {
		free(ev);
		return -1;
	}
	return 0;
}

/*
 * Run the script call sa on its room's shard (sa is left for the caller
 * to free). Not gc, rooms and match, which read keys of many slots, which
 * no one script can in a cluster: store.c hands those to store-across.c
 * and store-match.c.
 */
void
stc_run(struct script_args *sa, store_cb cb, void *arg)
{
	struct stc_call *sc;
	const char *outside[2];

	if (cl == NULL || !cluster_ready(cl)) {
		if (cb != NULL)
			cb(NULL, arg);
		return;
	}
	if (sa->id == SCRIPT_GC || sa->id == SCRIPT_ROOMS ||
	    sa->id == SCRIPT_MATCH)
		fatalx("stc_run: script %s reads keys of many slots "
		    "(store-across.c, store-match.c)", script_name(sa->id));
	sc = xcalloc(1, sizeof *sc);
	sc->cb = cb;
	sc->arg = arg;
	sc->sid = sa->id;
	sc->nidx = script_take_outside(sa, outside, 2);
	if (sc->nidx == 2) {
		sc->idx[0] = xstrdup(outside[0]);
		sc->idx[1] = xstrdup(outside[1]);
	}
	if (sc->nidx == 2 || sa->id == SCRIPT_LOCK) {
		sc->room_key = xstrdup(sa->argv[0]);
		sc->members_key = xstrdup(sa->argv[1]);
		/* Room scripts take the room id as their first argument. */
		sc->room = xstrdup(sa->argv[sa->nkeys]);
	}
	sc->sent_ns = uv_hrtime();
	if (stc_eval(sa, script_done, sc) != 0) {
		stc_call_free(sc);
		if (cb != NULL)
			cb(NULL, arg);
	}
}

/* A command on key's shard. */
int
stc_command_key(const char *key, store_cb cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (cl == NULL || !cluster_ready(cl))
		return -1;
	return cluster_command(cl, key, strlen(key), cb, arg, argc, argv,
	    lens);
}

/* A command whose argv[1] is its key; PUBLISH becomes SPUBLISH. */
int
stc_command(store_cb cb, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	if (cl == NULL || !cluster_ready(cl) || argc < 2)
		return -1;
	if (strcmp(argv[0], "PUBLISH") == 0) {
		const char *av[3] = { "SPUBLISH", argv[1], argv[2] };
		size_t ln[3] = { 8, lens[1], lens[2] };

		if (argc != 3)
			return -1;
		return cluster_command(cl, NULL, 0, cb, arg, 3, av, ln);
	}
	return cluster_command(cl, NULL, 0, cb, arg, argc, argv, lens);
}

void
stc_subscribe(const char *ch, size_t len)
{
	char *name;

	if (cl == NULL)
		return;
	name = xstrndup(ch, len);
	cluster_ssubscribe(cl, name);
	free(name);
}

static void
unsub_fire(uv_timer_t *t)
{
	char **q = unsub_q;
	size_t n = unsub_n;

	(void)t;
	unsub_q = NULL;
	unsub_n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!stopping)
			events->unsubscribed(q[i], strlen(q[i]));
		free(q[i]);
	}
	free(q);
}

void
stc_unsubscribe(const char *ch, size_t len)
{
	struct settle *st;
	char *name;

	if (cl == NULL)
		return;
	name = xstrndup(ch, len);
	cluster_sunsubscribe(cl, name);
	if ((st = settle_find(ch, len)) != NULL) {
		free(st->ch);
		*st = settles[--nsettles];
	}
	unsub_q = xrealloc(unsub_q, (unsub_n + 1) * sizeof *unsub_q);
	unsub_q[unsub_n++] = name;
	if (!uv_is_active((uv_handle_t *)&unsub_timer))
		uv_timer_start(&unsub_timer, unsub_fire, 0, 0);
}

/*
 * The node's own canary stopped coming back on the control channel: its
 * subscription may have been dropped without a word; subscribe anew
 * where the map says (a silent shard is the layer's to drop).
 */
void
stc_reset_ctl(const char *why)
{
	static uint64_t last;
	uint64_t now = mono_ms();

	if (cl == NULL || stopping || (last != 0 && now - last < 10000))
		return;
	last = now;
	log_warnx("redis cluster: %s: subscribing to %s again", why,
	    ctl_channel);
	cluster_sunsubscribe(cl, ctl_channel);
	cluster_ssubscribe(cl, ctl_channel);
}

/* Whether room's shard answers (always, on one Redis: store_ready
 * says). */
int
store_room_up(const char *room)
{
	struct buf key;
	int up;

	if (cl == NULL)
		return 1;
	buf_init(&key);
	key_room(&key, cfg.prefix, room, "");
	up = cluster_key_up(cl, key.p, key.len);
	buf_free(&key);
	return up;
}

/* Per-shard health for /healthz; 0 on one Redis. */
size_t
store_shards(struct cluster_shard *out, size_t max)
{
	if (cl == NULL)
		return 0;
	return cluster_shards(cl, out, max);
}
