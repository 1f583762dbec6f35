/*
 * cluster.h: the Redis Cluster layer roomd and roomctl share: key slots,
 * the slot map, redirect parsing (cluster.c), an async router on a libuv
 * loop with sharded pub/sub (cluster-async.c, cluster-node.c,
 * cluster-sub.c) and a
 * synchronous client for roomctl (cluster-sync.c).
 *
 * Async use (what daemon/store.c does with --redis-cluster):
 *
 *	struct cluster_opts o = { .seeds = "127.0.0.1:7000,127.0.0.1:7001",
 *	    .password = pw, .on_message = deliver, .on_subscription = subbed,
 *	    .on_event = log_it, .arg = NULL };
 *	struct cluster *cl = cluster_new(loop, &o, &cause);
 *	cluster_script(cl, script_sha(sid), script_source(sid), nkeys, nargs,
 *	    argv, lens, cb, arg);	// like store_script
 *	cluster_command(cl, key, keylen, cb, arg, argc, argv, lens);
 *	cluster_ssubscribe(cl, "roomd:ch:{R}");	// like store_subscribe
 *	cluster_free(cl);		// pending callbacks run with NULL
 *
 * Callbacks have the store's shape, void (*)(struct redisReply *, void *):
 * the final reply (possibly an error reply, after redirects and retries
 * are used up), or NULL when the command may or may not have run (its
 * connection was lost) or the cluster is being freed. The reply belongs to
 * hiredis (do not free it). Commands are routed by the slot of a key (a
 * script's first key; none: any master). MOVED updates the map and
 * retries, ASK retries once on the named node after ASKING, TRYAGAIN,
 * CLUSTERDOWN and LOADING retry with a bounded backoff, NOSCRIPT loads the
 * script on that shard and retries once. A node that leaves commands
 * unanswered for timeout_ms (DEBUG SLEEP, a stopped host) is dropped:
 * those commands get NULL and the node is dialled again. Commands waiting
 * for a slot map
 * or a connection are bounded (queue_max): past it the call returns -1
 * without calling cb.
 *
 * Sharded pub/sub: the layer remembers the channels wanted and keeps each
 * SSUBSCRIBEd on its slot's master, on a subscriber connection per shard.
 * on_subscription(ch, 1) follows each confirmation; (ch, 0) says the
 * subscription was lost (slot moved, failover, connection lost): messages
 * may have been missed, and the layer subscribes again on the new owner
 * by itself (another (ch, 1) follows).
 *
 * Nothing here logs or exits: on_event reports what a daemon would log.
 */
#ifndef ROOMD_CLUSTER_H
#define ROOMD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

struct redisReply;
struct redisContext;
struct redisAsyncContext;
struct uv_loop_s;

#define CLUSTER_SLOTS 16384

/* cluster.c: pure parts, no I/O. */
struct cluster_addr {
	char host[256];
	int port;
};
/* A slot map: slot -> index into masters, -1 when no one serves it. */
struct cluster_map {
	int16_t slot[CLUSTER_SLOTS];
	struct cluster_addr *masters;
	size_t nmasters;
};
enum cluster_err {
	CLUSTER_ERR_OTHER,	/* anything else: the caller's answer */
	CLUSTER_ERR_MOVED,
	CLUSTER_ERR_ASK,
	CLUSTER_ERR_RETRY,	/* TRYAGAIN, CLUSTERDOWN, LOADING */
	CLUSTER_ERR_NOSCRIPT
};
unsigned cluster_key_slot(const char *key, size_t len);
const char *cluster_slot_tag(unsigned slot);
uint16_t cluster_crc16(const char *, size_t);
enum cluster_err cluster_err_class(const char *err, size_t len);
int cluster_redirect_parse(const char *err, size_t len, unsigned *slot,
    struct cluster_addr *);
int cluster_addr_parse(const char *, struct cluster_addr *, char **cause);
int cluster_seeds_parse(const char *, struct cluster_addr **, size_t *,
    char **cause);
void cluster_map_init(struct cluster_map *);
void cluster_map_free(struct cluster_map *);
int cluster_map_add(struct cluster_map *, const char *host, int port);
int cluster_map_parse_slots(const struct redisReply *, const char *from_host,
    struct cluster_map *, char **cause);
int cluster_evalsha_args(const char *sha, int nkeys, int nargs,
    const char **argv, const size_t *lens, char nk[16], const char ***avp,
    size_t **lnp);

/* cluster-async.c, cluster-node.c, cluster-sub.c */
typedef void cluster_cb(struct redisReply *, void *);
enum cluster_event {
	CLUSTER_EV_MAP,		/* slot map read: detail = "N masters" */
	CLUSTER_EV_NODE_UP,	/* a master connection answers */
	CLUSTER_EV_NODE_DOWN,	/* lost or refused: detail = why */
	CLUSTER_EV_SEEDS_DOWN	/* no node gave a slot map; retrying */
};
struct cluster_opts {
	const char *seeds;	/* HOST:PORT[,HOST:PORT...] */
	const char *password;	/* NULL or "": no AUTH */
	size_t queue_max;	/* commands waiting: 0 means 4096 */
	int max_redirects;	/* per command: 0 means 8 */
	int max_retries;	/* TRYAGAIN etc. per command: 0 means 12 */
	unsigned timeout_ms;	/* a node silent this long with commands
				 * waiting is dropped: 0 means 5000 */
	/* Scripts loaded on every connection to a master before any command
	 * goes on it (NULL-ended; the strings must outlive the cluster), so
	 * that NOSCRIPT, whose retry can put a command behind one sent after
	 * it, is left for a script cache flushed meanwhile. */
	const char *const *preload;
	void (*on_message)(const char *ch, size_t chlen, const char *msg,
	    size_t len, void *arg);
	void (*on_subscription)(const char *ch, size_t chlen, int subscribed,
	    void *arg);
	void (*on_event)(enum cluster_event, const char *addr,
	    const char *detail, void *arg);
	void *arg;		/* passed to the three above */
};
/* Counters for tests and /metrics. */
struct cluster_stats {
	uint64_t moved, ask, retries, noscript, refreshes, lost;
	uint64_t subscribed, sub_lost;
};
struct cluster;
struct cluster *cluster_new(struct uv_loop_s *, const struct cluster_opts *,
    char **cause);
void cluster_free(struct cluster *);
int cluster_ready(const struct cluster *);
int cluster_command(struct cluster *, const char *key, size_t keylen,
    cluster_cb *, void *, int argc, const char **argv, const size_t *lens);
int cluster_command_any(struct cluster *, cluster_cb *, void *, int argc,
    const char **argv, const size_t *lens);
int cluster_script(struct cluster *, const char *sha, const char *source,
    int nkeys, int nargs, const char **argv, const size_t *lens,
    cluster_cb *, void *);
int cluster_ssubscribe(struct cluster *, const char *ch);
int cluster_sunsubscribe(struct cluster *, const char *ch);
void cluster_get_stats(const struct cluster *, struct cluster_stats *);
struct cluster_shard {
	char addr[300];		/* its master, host:port */
	unsigned slots;		/* how many it serves */
	int up;			/* the command connection answers */
};
size_t cluster_shards(const struct cluster *, struct cluster_shard *,
    size_t max);
int cluster_key_up(const struct cluster *, const char *key, size_t len);

/* cluster-sync.c: blocking, for roomctl. */
struct cluster_sync;
struct cluster_sync *cluster_sync_open(const char *seeds,
    const char *password, struct timeval timeout, char **cause);
void cluster_sync_close(struct cluster_sync *);
struct redisReply *cluster_sync_command(struct cluster_sync *,
    const char *key, size_t keylen, int argc, const char **argv,
    const size_t *lens, char **cause);
struct redisReply *cluster_sync_script(struct cluster_sync *,
    const char *sha, const char *source, int nkeys, int nargs,
    const char **argv, const size_t *lens, char **cause);
size_t cluster_sync_nmasters(const struct cluster_sync *);
struct redisReply *cluster_sync_command_on(struct cluster_sync *, size_t,
    int argc, const char **argv, const size_t *lens, char **cause);

#endif
