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
 *   room's next write);
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

/* The count and visibility read after a leave or restore. */
struct stc_repair {
	int refs;
	long long count;
	int have_count;
	int public;
	char *room;
	char *idx[2];
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
	if (is_ctl(ch, chlen))
		return;
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
	struct cluster_opts o;
	char *cause = NULL;

	events = ev;
	snprintf(ctl_channel, sizeof ctl_channel, "%s", channel);
	script_use_cluster(1);
	memset(&o, 0, sizeof o);
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

/* Fire and forget: ZADD or ZREM on an index, wherever it lives. */
static void
index_write(const char *cmd, const char *key, const char *score,
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
		index_write("ZREM", idx[0], NULL, room);
		index_write("ZREM", idx[1], NULL, room);
		return;
	}
	snprintf(n, sizeof n, "%lld", count);
	index_write("ZADD", idx[0], n, room);
	if (pub)
		index_write("ZADD", idx[1], n, room);
}

static void
repair_unref(struct stc_repair *rp)
{
	if (--rp->refs > 0)
		return;
	if (rp->have_count && !stopping)
		index_set(rp->idx, rp->room, rp->count, rp->public);
	free(rp->room);
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

static void
repair_vis(struct redisReply *r, void *arg)
{
	struct stc_repair *rp = arg;

	rp->public = r != NULL && r->type == REDIS_REPLY_STRING &&
	    strcmp(r->str, "public") == 0;
	repair_unref(rp);
}

/* Read the room's member count and visibility, then set its index
 * entries: after a leave or a restore, whose replies carry neither. */
static void
index_repair(struct stc_call *sc)
{
	struct stc_repair *rp = xcalloc(1, sizeof *rp);
	const char *hlen[2] = { "HLEN", sc->members_key };
	const char *hget[3] = { "HGET", sc->room_key, "visibility" };

	rp->refs = 2;
	rp->room = xstrdup(sc->room);
	rp->idx[0] = xstrdup(sc->idx[0]);
	rp->idx[1] = xstrdup(sc->idx[1]);
	if (cluster_command(cl, NULL, 0, repair_count, rp, 2, hlen,
	    NULL) != 0)
		rp->refs--;
	if (cluster_command(cl, NULL, 0, repair_vis, rp, 3, hget, NULL) != 0)
		rp->refs--;
	if (rp->refs == 0) {
		rp->refs = 1;
		repair_unref(rp);
	}
}

static int
reply_str_is(const redisReply *r, const char *s)
{
	return r->type == REDIS_REPLY_STRING && strcmp(r->str, s) == 0;
}

/* The room's script has run: write the indexes outside the room. */
static void
index_after(struct stc_call *sc, const redisReply *r)
{
	const redisReply *d;

	switch (sc->sid) {
	case SCRIPT_JOIN:
		if (r->type != REDIS_REPLY_ARRAY || r->elements < JOIN_R_COUNT ||
		    !(reply_str_is(r->element[JOIN_R_STATUS], "ok") ||
		    reply_str_is(r->element[JOIN_R_STATUS], "already")))
			return;
		d = r->element[JOIN_R_DETAILS];
		index_set(sc->idx, sc->room,
		    (long long)r->element[JOIN_R_MEMBERS]->elements,
		    d->type == REDIS_REPLY_ARRAY && d->elements == JOIN_D_COUNT &&
		    reply_str_is(d->element[JOIN_D_VISIBILITY], "public"));
		break;
	case SCRIPT_LEAVE:
		if (r->type != REDIS_REPLY_ARRAY || r->elements < LEAVE_R_COUNT ||
		    r->element[LEAVE_R_REMOVED]->integer != 1)
			return;
		if (r->element[LEAVE_R_CLOSED]->integer == 1)
			index_set(sc->idx, sc->room, 0, 0);
		else
			index_repair(sc);
		break;
	case SCRIPT_RESTORE:
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
			index_repair(sc);
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
	}
	if (sc->cb != NULL)
		sc->cb(r, sc->arg);
	stc_call_free(sc);
}

/*
 * rooms.lua reads each listed room's hash, in other slots than the
 * index: here the index is read on its shard, then each room's details
 * on theirs, and the script's reply is put together from those (strings
 * copied: hiredis frees its replies after each callback).
 */
struct rooms_call {
	store_cb cb;
	void *arg;
	char *prefix;
	char *idx;
	char *want;		/* "" for any visibility */
	long long limit;
	size_t n, pending;
	char **ids;
	long long *counts;
	redisReply **rows;	/* NULL: stale or filtered out */
};

struct rooms_one {
	struct rooms_call *rc;
	size_t i;
};

static redisReply *
fake_new(int type)
{
	redisReply *r = xcalloc(1, sizeof *r);

	r->type = type;
	return r;
}

static redisReply *
fake_str(const char *s, size_t len)
{
	redisReply *r = fake_new(REDIS_REPLY_STRING);

	r->str = xstrndup(s, len);
	r->len = len;
	return r;
}

static redisReply *
fake_int(long long v)
{
	redisReply *r = fake_new(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static void
fake_free(redisReply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->elements; i++)
		fake_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static void
rooms_finish(struct rooms_call *rc)
{
	redisReply *top = fake_new(REDIS_REPLY_ARRAY);

	top->element = xcalloc(rc->n + 1, sizeof *top->element);
	for (size_t i = 0; i < rc->n; i++) {
		if (rc->rows[i] == NULL)
			continue;
		if ((long long)top->elements < rc->limit)
			top->element[top->elements++] = rc->rows[i];
		else
			fake_free(rc->rows[i]);
	}
	if (rc->cb != NULL)
		rc->cb(stopping ? NULL : top, rc->arg);
	fake_free(top);
	for (size_t i = 0; i < rc->n; i++)
		free(rc->ids[i]);
	free(rc->ids);
	free(rc->counts);
	free(rc->rows);
	free(rc->prefix);
	free(rc->idx);
	free(rc->want);
	free(rc);
}

static const char *
elem_str(const redisReply *d, size_t i, size_t *len)
{
	if (i < d->elements && d->element[i]->type == REDIS_REPLY_STRING) {
		*len = d->element[i]->len;
		return d->element[i]->str;
	}
	*len = 0;
	return NULL;
}

static void
rooms_detail(struct redisReply *d, void *arg)
{
	struct rooms_one *one = arg;
	struct rooms_call *rc = one->rc;
	size_t i = one->i, len;
	const char *s, *vis;
	redisReply *row;

	free(one);
	if (d != NULL && d->type == REDIS_REPLY_ARRAY && d->elements == 5) {
		if (elem_str(d, 4, &len) == NULL) {
			/* The room's keys are gone: drop the entry. */
			index_write("ZREM", rc->idx, NULL, rc->ids[i]);
		} else {
			vis = elem_str(d, 2, &len);
			if (vis == NULL)
				vis = "public";
			if (rc->want[0] == '\0' || strcmp(rc->want, vis) == 0) {
				row = fake_new(REDIS_REPLY_ARRAY);
				row->element = xcalloc(ROOMS_R_COUNT,
				    sizeof *row->element);
				row->elements = ROOMS_R_COUNT;
				row->element[ROOMS_R_ROOM] = fake_str(
				    rc->ids[i], strlen(rc->ids[i]));
				s = elem_str(d, 0, &len);
				row->element[ROOMS_R_TITLE] = fake_str(
				    s ? s : "", len);
				s = elem_str(d, 1, &len);
				row->element[ROOMS_R_TOPIC] = fake_str(
				    s ? s : "", len);
				row->element[ROOMS_R_VISIBILITY] = fake_str(vis,
				    strlen(vis));
				row->element[ROOMS_R_MEMBERS] = fake_int(
				    rc->counts[i]);
				s = elem_str(d, 3, &len);
				row->element[ROOMS_R_MAX_MEMBERS] = fake_int(
				    s ? strtoll(s, NULL, 10) : 0);
				s = elem_str(d, 4, &len);
				row->element[ROOMS_R_CREATED_AT] = fake_int(
				    s ? strtoll(s, NULL, 10) : 0);
				rc->rows[i] = row;
			}
		}
	}
	if (--rc->pending == 0)
		rooms_finish(rc);
}

static void
rooms_index(struct redisReply *r, void *arg)
{
	struct rooms_call *rc = arg;
	struct buf key;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if (rc->cb != NULL)
			rc->cb(r, rc->arg);
		rc->cb = NULL;
		rooms_finish(rc);
		return;
	}
	rc->n = r->elements / 2;
	rc->ids = xcalloc(rc->n + 1, sizeof *rc->ids);
	rc->counts = xcalloc(rc->n + 1, sizeof *rc->counts);
	rc->rows = xcalloc(rc->n + 1, sizeof *rc->rows);
	for (size_t i = 0; i < rc->n; i++) {
		rc->ids[i] = xstrndup(r->element[2 * i]->str,
		    r->element[2 * i]->len);
		rc->counts[i] = strtoll(r->element[2 * i + 1]->str, NULL, 10);
	}
	rc->pending = rc->n + 1;
	for (size_t i = 0; i < rc->n; i++) {
		struct rooms_one *one = xmalloc(sizeof *one);
		const char *argv[7] = { "HMGET", NULL, "title", "topic",
		    "visibility", "max_members", "created_at" };

		one->rc = rc;
		one->i = i;
		buf_init(&key);
		key_room(&key, rc->prefix, rc->ids[i], "");
		argv[1] = key.p;
		if (cluster_command(cl, NULL, 0, rooms_detail, one, 7, argv,
		    NULL) != 0) {
			free(one);
			rc->pending--;
		}
		buf_free(&key);
	}
	if (--rc->pending == 0)
		rooms_finish(rc);
}

static void
stc_rooms(struct script_args *sa, store_cb cb, void *arg)
{
	struct rooms_call *rc = xcalloc(1, sizeof *rc);
	char stop[24];
	long long fetch;
	const char *argv[5] = { "ZREVRANGE", NULL, "0", stop, "WITHSCORES" };

	rc->cb = cb;
	rc->arg = arg;
	rc->idx = xstrdup(sa->argv[0]);
	rc->prefix = xstrdup(sa->argv[1]);
	rc->limit = strtoll(sa->argv[2], NULL, 10);
	rc->want = xstrdup(sa->argc > 3 ? sa->argv[3] : "");
	/* A filtered listing looks further down the index. */
	fetch = rc->want[0] != '\0' ? rc->limit * 4 + 100 : rc->limit + 20;
	snprintf(stop, sizeof stop, "%lld", fetch - 1);
	argv[1] = rc->idx;
	if (cluster_command(cl, NULL, 0, rooms_index, rc, 5, argv,
	    NULL) != 0) {
		rc->cb = NULL;
		rooms_finish(rc);
		if (cb != NULL)
			cb(NULL, arg);
	}
}

/*
 * gc.lua reads the node set and every room: across the shards it is done
 * here step by step, with the same outcome (members of dead nodes leave
 * through the leave script with node_lost) and a reply of its shape.
 */
struct gc_call {
	store_cb cb;
	void *arg;
	char *prefix;
	uint64_t maxlen, ttl, empty_ttl;
	size_t pending;
	char **ids;		/* node ids to check, then the dead ones */
	size_t nids;
	int *alive;
	char *restarted;	/* or NULL */
	size_t ndead;
	char **dead;
	long long removed, closed;
};

struct gc_check {
	struct gc_call *gc;
	size_t i;
};

static void gc_rooms(struct gc_call *);

static void
gc_finish(struct gc_call *gc)
{
	redisReply *top = fake_new(REDIS_REPLY_ARRAY), *d;
	char *gone;

	xasprintf(&gone, "%snodes:gone", gc->prefix);
	for (size_t i = 0; i < gc->ndead; i++)
		if (gc->restarted == NULL || strcmp(gc->dead[i],
		    gc->restarted) != 0)
			index_write("SADD", gone, NULL, gc->dead[i]);
	free(gone);
	top->element = xcalloc(GC_R_COUNT, sizeof *top->element);
	top->elements = GC_R_COUNT;
	d = top->element[GC_R_DEAD] = fake_new(REDIS_REPLY_ARRAY);
	d->element = xcalloc(gc->ndead + 1, sizeof *d->element);
	for (size_t i = 0; i < gc->ndead; i++)
		if (gc->restarted == NULL || strcmp(gc->dead[i],
		    gc->restarted) != 0)
			d->element[d->elements++] = fake_str(gc->dead[i],
			    strlen(gc->dead[i]));
	top->element[GC_R_REMOVED] = fake_int(gc->removed);
	top->element[GC_R_CLOSED] = fake_int(gc->closed);
	top->element[GC_R_DROPPED] = fake_int(0);
	if (gc->cb != NULL)
		gc->cb(stopping ? NULL : top, gc->arg);
	fake_free(top);
	for (size_t i = 0; i < gc->nids; i++)
		free(gc->ids[i]);
	for (size_t i = 0; i < gc->ndead; i++)
		free(gc->dead[i]);
	free(gc->ids);
	free(gc->dead);
	free(gc->alive);
	free(gc->restarted);
	free(gc->prefix);
	free(gc);
}

static int
gc_is_dead(const struct gc_call *gc, const char *node, size_t len)
{
	for (size_t i = 0; i < gc->ndead; i++)
		if (strlen(gc->dead[i]) == len &&
		    memcmp(gc->dead[i], node, len) == 0)
			return 1;
	return 0;
}

static void
gc_left(struct redisReply *r, void *arg)
{
	struct gc_call *gc = arg;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == LEAVE_R_COUNT) {
		gc->removed += r->element[LEAVE_R_REMOVED]->integer;
		gc->closed += r->element[LEAVE_R_CLOSED]->integer;
	}
	if (--gc->pending == 0)
		gc_finish(gc);
}

struct gc_room {
	struct gc_call *gc;
	char *room;
};

static void
gc_members(struct redisReply *r, void *arg)
{
	struct gc_room *gr = arg;
	struct gc_call *gc = gr->gc;
	const char *p, *q;

	for (size_t k = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    k + 1 < r->elements && !stopping; k += 2) {
		struct script_args sa;

		p = strstr(r->element[k + 1]->str, "\"node\":\"");
		if (p == NULL)
			continue;
		p += 8;
		if ((q = strchr(p, '"')) == NULL ||
		    !gc_is_dead(gc, p, (size_t)(q - p)))
			continue;
		script_leave_args(&sa, &(struct script_leave){
			.prefix = gc->prefix,
			.room = gr->room,
			.conn = r->element[k]->str,
			.maxlen = gc->maxlen,
			.ttl = gc->ttl,
			.empty_ttl = gc->empty_ttl,
			.reason = "node_lost",
		});
		gc->pending++;
		stc_run(&sa, gc_left, gc);
		script_args_free(&sa);
	}
	free(gr->room);
	free(gr);
	if (--gc->pending == 0)
		gc_finish(gc);
}

static void
gc_room_list(struct redisReply *r, void *arg)
{
	struct gc_call *gc = arg;
	struct buf key;

	for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements && !stopping; i++) {
		struct gc_room *gr = xmalloc(sizeof *gr);
		const char *argv[2] = { "HGETALL", NULL };

		gr->gc = gc;
		gr->room = xstrndup(r->element[i]->str, r->element[i]->len);
		buf_init(&key);
		key_room(&key, gc->prefix, gr->room, ":members");
		argv[1] = key.p;
		gc->pending++;
		if (cluster_command(cl, NULL, 0, gc_members, gr, 2, argv,
		    NULL) != 0) {
			gc->pending--;
			free(gr->room);
			free(gr);
		}
		buf_free(&key);
	}
	if (--gc->pending == 0)
		gc_finish(gc);
}

/* The dead nodes are known: look for their members in every room. */
static void
gc_rooms(struct gc_call *gc)
{
	char *idx;
	const char *argv[4] = { "ZRANGE", NULL, "0", "-1" };

	for (size_t i = 0; i < gc->nids; i++)
		if (!gc->alive[i]) {
			gc->dead = xrealloc(gc->dead, (gc->ndead + 1) *
			    sizeof *gc->dead);
			gc->dead[gc->ndead++] = xstrdup(gc->ids[i]);
		}
	if (gc->restarted != NULL) {
		gc->dead = xrealloc(gc->dead, (gc->ndead + 1) *
		    sizeof *gc->dead);
		gc->dead[gc->ndead++] = xstrdup(gc->restarted);
	}
	if (gc->ndead == 0 || stopping) {
		gc_finish(gc);
		return;
	}
	xasprintf(&idx, "%srooms", gc->prefix);
	argv[1] = idx;
	gc->pending = 1;
	if (cluster_command(cl, NULL, 0, gc_room_list, gc, 4, argv,
	    NULL) != 0)
		gc_finish(gc);
	free(idx);
}

static void
gc_checked(struct redisReply *r, void *arg)
{
	struct gc_check *ck = arg;
	struct gc_call *gc = ck->gc;

	/* Dead only when both say so: no node:id key (EXISTS 0), and
	 * not in nodes:gone yet (SISMEMBER 0). */
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 0)
		gc->alive[ck->i] = 1;
	free(ck);
	if (--gc->pending == 0)
		gc_rooms(gc);
}

static void
gc_nodes(struct redisReply *r, void *arg)
{
	struct gc_call *gc = arg;
	struct buf key;
	char *gone;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || stopping) {
		gc_finish(gc);
		return;
	}
	gc->nids = r->elements;
	gc->ids = xcalloc(gc->nids + 1, sizeof *gc->ids);
	gc->alive = xcalloc(gc->nids + 1, sizeof *gc->alive);
	for (size_t i = 0; i < gc->nids; i++) {
		gc->ids[i] = xstrndup(r->element[i]->str, r->element[i]->len);
		if (gc->restarted != NULL && strcmp(gc->ids[i],
		    gc->restarted) == 0)
			gc->alive[i] = 1;	/* counted once, below */
	}
	xasprintf(&gone, "%snodes:gone", gc->prefix);
	gc->pending = 1;
	for (size_t i = 0; i < gc->nids; i++) {
		struct gc_check *a = xmalloc(sizeof *a), *b = xmalloc(sizeof *b);
		const char *ex[2] = { "EXISTS", NULL };
		const char *sm[3] = { "SISMEMBER", gone, gc->ids[i] };

		a->gc = b->gc = gc;
		a->i = b->i = i;
		buf_init(&key);
		key_plain(&key, gc->prefix, "node:");
		buf_adds(&key, gc->ids[i]);
		ex[1] = key.p;
		gc->pending += 2;
		if (cluster_command(cl, NULL, 0, gc_checked, a, 2, ex,
		    NULL) != 0) {
			gc->alive[i] = 1;
			gc->pending--;
			free(a);
		}
		if (cluster_command(cl, NULL, 0, gc_checked, b, 3, sm,
		    NULL) != 0) {
			gc->alive[i] = 1;
			gc->pending--;
			free(b);
		}
		buf_free(&key);
	}
	free(gone);
	if (--gc->pending == 0)
		gc_rooms(gc);
}

static void
stc_gc(struct script_args *sa, store_cb cb, void *arg)
{
	struct gc_call *gc = xcalloc(1, sizeof *gc);
	const char *argv[2] = { "SMEMBERS", NULL };
	char *set;

	gc->cb = cb;
	gc->arg = arg;
	gc->prefix = xstrdup(sa->argv[0]);
	gc->maxlen = strtoull(sa->argv[1], NULL, 10);
	gc->ttl = strtoull(sa->argv[2], NULL, 10);
	gc->empty_ttl = strtoull(sa->argv[3], NULL, 10);
	if (sa->argc > 5 && sa->argv[5][0] != '\0')
		gc->restarted = xstrdup(sa->argv[5]);
	xasprintf(&set, "%snodes", gc->prefix);
	argv[1] = set;
	if (cluster_command(cl, NULL, 0, gc_nodes, gc, 2, argv, NULL) != 0)
		gc_finish(gc);
	free(set);
}

/*
 * Run the script call sa on its room's shard (sa is left for the caller
 * to free). gc and rooms read keys of many slots, which no one script
 * can in a cluster: stc_gc and stc_rooms do their work command by command.
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
	if (sa->id == SCRIPT_GC) {
		stc_gc(sa, cb, arg);
		return;
	}
	if (sa->id == SCRIPT_ROOMS) {
		stc_rooms(sa, cb, arg);
		return;
	}
	sc = xcalloc(1, sizeof *sc);
	sc->cb = cb;
	sc->arg = arg;
	sc->sid = sa->id;
	sc->nidx = script_take_outside(sa, outside, 2);
	if (sc->nidx == 2) {
		sc->idx[0] = xstrdup(outside[0]);
		sc->idx[1] = xstrdup(outside[1]);
		sc->room_key = xstrdup(sa->argv[0]);
		sc->members_key = xstrdup(sa->argv[1]);
		/* Room scripts take the room id as their first argument. */
		sc->room = xstrdup(sa->argv[sa->nkeys]);
	}
	sc->sent_ns = uv_hrtime();
	if (cluster_script(cl, script_sha(sa->id), script_source(sa->id),
	    sa->nkeys, sa->argc - sa->nkeys, sa->argv, sa->lens, script_done,
	    sc) != 0) {
		stc_call_free(sc);
		if (cb != NULL)
			cb(NULL, arg);
	}
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
