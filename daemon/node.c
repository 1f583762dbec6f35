/*
 * node.c: this node's life in Redis: the roomd:node:<id> hash that says it
 * is alive (refreshed every few seconds, expiring when the node dies), its
 * id in the roomd:nodes set, the canary that proves its subscription
 * delivers, and the sweep that cleans up after nodes that died.
 */
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "roomd.h"

#define NODE_TICK_MS 1000
#define NODE_REFRESH_TICKS 3	/* heartbeat every 3 s ... */
#define NODE_TTL_S 10		/* ... expiring 10 s after the last one */
#define NODE_GC_TICKS 2		/* look for dead nodes every 2 s */
#define CANARY_MAX_AGE_MS 5000	/* /healthz fails past this */
#define CANARY_RESET_MS 10000	/* and the connections are reset past this */

static uv_timer_t node_timer;
static uint64_t ticks;

static void node_gc(const char *);

/* This node's heartbeat key, <prefix>node:<id>, into b. */
static void
node_key(struct buf *b)
{
	buf_init(b);
	key_plain(b, cfg.prefix, "node:");
	buf_adds(b, node_id);
}

/* Write (or refresh) the node hash, pipelined without waiting. */
void
node_register(void)
{
	static int first_done;
	struct buf key, set, gone;
	char pid[16], started[24], conns[24], rooms[24], ttl[8], addr[300];

	node_key(&key);
	buf_init(&set);
	key_plain(&set, cfg.prefix, "nodes");
	buf_init(&gone);
	key_plain(&gone, cfg.prefix, "nodes:gone");
	snprintf(addr, sizeof addr, "%s:%d", cfg.listen_host, cfg.listen_port);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(started, sizeof started, "%llu", (unsigned long long)started_at);
	snprintf(conns, sizeof conns, "%zu", conn_count());
	snprintf(rooms, sizeof rooms, "%zu", room_count());
	snprintf(ttl, sizeof ttl, "%d", NODE_TTL_S);

	store_commandl("HSET", key.p, "addr", addr, "pid", pid, "version",
	    ROOMD_VERSION, "started_at", started, "conns", conns, "rooms",
	    rooms, NULL);
	store_commandl("EXPIRE", key.p, ttl, NULL);
	store_commandl("SADD", set.p, node_id, NULL);
	/* Alive again (a node restarted under its old id): clean it again
	 * when it next dies. */
	store_commandl("SREM", gone.p, node_id, NULL);
	buf_free(&key);
	buf_free(&set);
	buf_free(&gone);
	/* First contact since this process started: it has no members yet,
	 * so any under its id are an earlier process's. Sent before any
	 * client request can be. */
	if (!first_done) {
		first_done = 1;
		node_gc(node_id);
	}
	node_canary();
}

/* Publish a canary to this node's own subscription, via the ctl channel. */
void
node_canary(void)
{
	struct buf ch, msg;

	buf_init(&ch);
	buf_init(&msg);
	key_plain(&ch, cfg.prefix, "ctl");
	buf_printf(&msg, "{\"cmd\":\"canary\",\"node\":\"%s\"}", node_id);
	store_commandl("PUBLISH", ch.p, msg.p, NULL);
	buf_free(&ch);
	buf_free(&msg);
}

/* Healthy: Redis answers and our own subscription delivered lately. */
int
node_healthy(void)
{
	uint64_t seen = ctl_last_canary();

	return store_ready() && seen != 0 &&
	    mono_ms() - seen < CANARY_MAX_AGE_MS;
}

static void
gc_reply(struct redisReply *rr, void *arg)
{
	redisReply *r = (redisReply *)rr;

	(void)arg;
	if (r == NULL || r->type == REDIS_REPLY_ERROR ||
	    shape_check(SHAPE_GC, r) != 0)
		return;
	for (size_t i = 0; i < r->element[GC_R_DEAD]->elements; i++)
		log_info("node %s is gone: removed %lld of its members",
		    r->element[GC_R_DEAD]->element[i]->str,
		    r->element[GC_R_REMOVED]->integer);
}

/*
 * Members of nodes whose heartbeat expired leave with node_lost; so do, at
 * start, the members an earlier process left under this node's id.
 */
static void
node_gc(const char *restarted)
{
	struct script_args sa;

	script_gc_args(&sa, &(struct script_gc){
		.prefix = cfg.prefix,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.empty_ttl = cfg.empty_ttl,
		.sweep = 0,
		.restarted = restarted,
	});
	store_run(&sa, gc_reply, NULL);
}

/*
 * A Redis that stops answering (stopped, wedged) keeps its connections
 * open, and requests would wait for it forever: when this node's own
 * canary has not come back for a while, drop both connections so that
 * requests get `unavailable` and the reconnect starts.
 */
static void
node_watchdog(void)
{
	uint64_t since = store_up_since(), seen = ctl_last_canary();

	if (since == 0)
		return;
	if (seen < since)
		seen = since;
	if (mono_ms() - seen > CANARY_RESET_MS)
		store_reset("no answer for 10 s");
}

static void
node_tick(uv_timer_t *t)
{
	(void)t;
	ticks++;
	node_watchdog();
	node_canary();
	if (ticks % NODE_REFRESH_TICKS == 0)
		node_register();
	if (ticks % NODE_GC_TICKS == 0)
		node_gc("");
}

void
node_start(void)
{
	uv_timer_init(loop, &node_timer);
	uv_timer_start(&node_timer, node_tick, NODE_TICK_MS, NODE_TICK_MS);
}

static void
node_timer_closed(uv_handle_t *h)
{
	(void)h;
}

/* Stop refreshing and remove the node hash: this node is leaving. */
void
node_stop(void)
{
	struct buf key;

	uv_timer_stop(&node_timer);
	uv_close((uv_handle_t *)&node_timer, node_timer_closed);
	node_key(&key);
	store_commandl("DEL", key.p, NULL);
	buf_free(&key);
}
