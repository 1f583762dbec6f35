/*
 * node.c: this node's entry in Redis: the roomd:node:<id> hash that says it
 * is alive (refreshed every few seconds, expiring when the node dies) and
 * its id in the roomd:nodes set.
 */
#include <string.h>
#include <unistd.h>

#include "roomd.h"

#define NODE_REFRESH_MS 5000
#define NODE_TTL_S 15

static uv_timer_t node_timer;

/* Write (or refresh) the node hash, pipelined without waiting. */
void
node_register(void)
{
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
	buf_free(&key);
	buf_free(&set);
}

static void
node_tick(uv_timer_t *t)
{
	(void)t;
	node_register();
}

void
node_start(void)
{
	uv_timer_init(loop, &node_timer);
	uv_timer_start(&node_timer, node_tick, NODE_REFRESH_MS, NODE_REFRESH_MS);
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
