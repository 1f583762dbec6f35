/*
 * cluster-int.h: the structures the cluster router (cluster-async.c,
 * cluster-node.c) and its sharded pub/sub (cluster-sub.c) share. Private
 * to those files.
 */
#ifndef ROOMD_CLUSTER_INT_H
#define ROOMD_CLUSTER_INT_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include "shared.h"
#include "cluster.h"

/* A command the router holds until its final reply; freed by cmd_finish. */
struct cl_cmd {
	struct cl_cmd *next;
	struct cluster *cl;
	cluster_cb *cb;
	void *arg;
	unsigned slot;
	int anyslot;		/* no key: any master */
	struct cl_node *to;	/* internal: this node only, no retries */
	struct cl_node *ask;	/* the next attempt goes there, after ASKING */
	int redirects;
	int retries;
	int reloaded;		/* NOSCRIPT already answered by SCRIPT LOAD */
	const char *source;	/* script source (the caller's, static) */
	uint64_t due;		/* in the delay queue: mono_ms() to go */
	int argc;
	const char **argv;
	size_t *lens;
	/* argv, lens and the argument bytes follow */
};

struct cl_queue {
	struct cl_cmd *head, *tail;
	size_t n;
};

struct cl_sconn;

/* A cluster node seen (seed, master, redirect target); freed with it. */
struct cl_node {
	struct cl_node *next;
	struct cluster *cl;
	struct cluster_addr addr;
	char name[300];		/* host:port, for events */
	redisAsyncContext *ac;	/* NULL while not connected */
	int ready;		/* AUTH and PING answered */
	uint64_t next_connect;	/* mono_ms() before which not to redial */
	uint64_t dialled;	/* mono_ms() of the last dial */
	uint64_t last_heard;	/* mono_ms() of the last reply */
	unsigned inflight;	/* commands sent, not answered yet */
	struct cl_queue q;	/* waiting for ready */
	struct cl_sconn *sub;	/* subscriber connection, or NULL */
};

/* A channel wanted; key of cl->chans (name lives here). */
struct cl_chan {
	struct cl_sconn *on;	/* connection it is sent on, or NULL */
	int subscribed;		/* confirmed there */
	unsigned slot;
	char name[];
};

struct cluster {
	uv_loop_t *loop;
	struct cluster_opts o;
	char *seeds;
	char *password;
	struct cl_node *nodes;
	size_t nnodes;
	struct cl_node *owner[CLUSTER_SLOTS];
	int have_map;
	struct cl_queue wait;	/* for a slot map */
	struct cl_queue delay;	/* for their due time */
	size_t nqueued;		/* callers' commands in the queues */
	uv_timer_t delay_timer;
	uv_timer_t refresh_timer;
	uv_timer_t sub_timer;
	uv_timer_t watch_timer;	/* finds stuck nodes */
	int open_handles;	/* the cluster is freed when this is 0 */
	int refreshing;
	int refresh_failed;	/* nodes tried since the last map */
	uint64_t refresh_backoff;
	uint64_t last_refresh;
	struct cl_node *refresh_next;
	int freeing;
	struct dict chans;
	struct cluster_stats st;
};

/* cluster-async.c */
void cl_event(struct cluster *, enum cluster_event, const char *,
    const char *);
void cl_q_push(struct cl_queue *, struct cl_cmd *);
struct cl_cmd *cl_q_pop(struct cl_queue *);
struct cl_queue cl_q_take(struct cl_queue *);
struct cl_cmd *cl_cmd_new(struct cluster *, cluster_cb *, void *, int,
    const char **, const size_t *);
void cl_cmd_finish(struct cl_cmd *, redisReply *);
void cl_delay_until(struct cl_cmd *, uint64_t);
void cl_retry_later(struct cl_cmd *, redisReply *);
void cl_node_send(struct cl_node *, struct cl_cmd *);
void cl_route(struct cl_cmd *);

/* cluster-node.c */
struct cl_node *cl_node_get(struct cluster *, const char *host, int port);
void cl_node_enqueue(struct cl_node *, struct cl_cmd *);
void cl_refresh_start(struct cluster *);
void cl_refresh_soon(struct cluster *);
void cl_node_watch(struct cluster *);

/* cluster-sub.c */
void cl_sub_kick_all(struct cluster *);
void cl_sub_close_all(struct cluster *);
void cl_sub_drop(struct cl_node *, const char *);

#endif
