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

static void node_canary(void);
static void node_gc(const char *);

/* Write (or refresh) the node hash, pipelined without waiting. */
void
node_register(void)
{
	static int first_done;
	struct buf key, set;
	char pid[16], started[24], conns[24], rooms[24], ttl[8], addr[300];
	const char *argv[16];
	size_t lens[16];
	int n = 0;

	buf_init(&key);
	buf_init(&set);
	key_plain(&key, cfg.prefix, "node:");
	buf_adds(&key, node_id);
	key_plain(&set, cfg.prefix, "nodes");
	snprintf(addr, sizeof addr, "%s:%d", cfg.listen_host, cfg.listen_port);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(started, sizeof started, "%llu", (unsigned long long)started_at);
	snprintf(conns, sizeof conns, "%zu", conn_count());
	snprintf(rooms, sizeof rooms, "%zu", room_count());
	snprintf(ttl, sizeof ttl, "%d", NODE_TTL_S);

	argv[n++] = "HSET";
	argv[n++] = key.p;
	argv[n++] = "addr";
	argv[n++] = addr;
	argv[n++] = "pid";
	argv[n++] = pid;
	argv[n++] = "version";
	argv[n++] = ROOMD_VERSION;
	argv[n++] = "started_at";
	argv[n++] = started;
	argv[n++] = "conns";
	argv[n++] = conns;
	argv[n++] = "rooms";
	argv[n++] = rooms;
	for (int i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	store_command(NULL, NULL, n, argv, lens);

	argv[0] = "EXPIRE";
	argv[1] = key.p;
	argv[2] = ttl;
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	store_command(NULL, NULL, 3, argv, lens);

	argv[0] = "SADD";
	argv[1] = set.p;
	argv[2] = node_id;
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	store_command(NULL, NULL, 3, argv, lens);

	/* Alive again (a node restarted under its old id): clean it again
	 * when it next dies. */
	buf_adds(&set, ":gone");
	argv[0] = "SREM";
	argv[1] = set.p;
	lens[0] = 4;
	lens[1] = set.len;
	store_command(NULL, NULL, 3, argv, lens);
	buf_free(&key);
	buf_free(&set);
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
static void
node_canary(void)
{
	struct buf ch, msg;
	const char *argv[3];
	size_t lens[3];

	buf_init(&ch);
	buf_init(&msg);
	key_plain(&ch, cfg.prefix, "ctl");
	buf_printf(&msg, "{\"cmd\":\"canary\",\"node\":\"%s\"}", node_id);
	argv[0] = "PUBLISH";
	argv[1] = ch.p;
	argv[2] = msg.p;
	lens[0] = 7;
	lens[1] = ch.len;
	lens[2] = msg.len;
	store_command(NULL, NULL, 3, argv, lens);
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
	const char *argv[2];
	size_t lens[2];

	uv_timer_stop(&node_timer);
	uv_close((uv_handle_t *)&node_timer, node_timer_closed);
	buf_init(&key);
	key_plain(&key, cfg.prefix, "node:");
	buf_adds(&key, node_id);
	argv[0] = "DEL";
	argv[1] = key.p;
	lens[0] = 3;
	lens[1] = key.len;
	store_command(NULL, NULL, 2, argv, lens);
	buf_free(&key);
}
