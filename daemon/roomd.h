/*
 * roomd.h: the daemon's shared structures and the prototypes of its modules,
 * grouped by file: the one header every daemon file includes.
 *
 * The data path, top down: server.c (libwebsockets) -> conn.c (a client)
 * -> request.c and req-*.c (a request) -> join.c (join, leave) -> room.c
 * (local rooms, memberships) -> store.c (hiredis) -> shared/lua. Frames
 * come back store.c -> fanout.c -> conn.c; recover.c repairs after an
 * outage. store.c hands its events back through struct store_events,
 * wired in main.c; defer.c runs held-back requests through a function
 * main.c gives it; reply.c builds every reply.
 *
 * Ownership in one paragraph: a struct conn is created when a WebSocket
 * opens and freed when it has closed AND no Redis request of its is in
 * flight (conn->refs). A struct frame is reference counted: one encoded
 * room frame is shared by every local member's send queue. A struct
 * local_room lives while it has local members, queued joins or a
 * subscription in flight.
 */
#ifndef ROOMD_H
#define ROOMD_H

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "config.h"
#include "shared.h"

struct lws;
struct redisReply;
struct cJSON;
struct local_room;
struct room_op;

/* A big reply (a history page, a join's recovered frames, a catch-up
 * read) stops at about this many bytes. */
#define REPLY_BUDGET (1u << 20)

/*
 * One encoded WebSocket text frame, header and payload, shared by every
 * connection it is queued on. The header is built once: server frames are
 * not masked, so every recipient gets the same bytes.
 */
struct frame {
	uint32_t refs;
	uint32_t len;		/* header + payload */
	struct seq seq;		/* of a room frame; {0,0} for replies */
	unsigned char *data;	/* points into buf, after LWS_PRE */
	unsigned char buf[];
};

/* A reply finished out of order, held until earlier ones are sent. */
struct held_reply {
	uint64_t ticket;
	struct frame *f;	/* NULL: the request needed no reply */
	TAILQ_ENTRY(held_reply) entry;
};
TAILQ_HEAD(held_replies, held_reply);

/* A raw request held back while an earlier one waits for a subscription. */
struct deferred {
	char *text;
	size_t len;
	STAILQ_ENTRY(deferred) entry;
};
STAILQ_HEAD(deferred_list, deferred);

enum member_state {
	MEMBER_PENDING,		/* join sent; frames are stashed */
	MEMBER_ACTIVE,		/* frames after `after` are delivered */
};

/* A connection's membership of one room, linked from both sides. */
struct membership {
	struct conn *conn;
	struct local_room *room;
	enum member_state state;
	struct seq after;	/* deliver frames with seq > after ... */
	int after_incl;		/* ... or == after while this is set */
	struct frame **stash;	/* frames seen while PENDING */
	uint32_t nstash;
	uint32_t stash_cap;
	uint32_t index;		/* position in room->members */
	char *member;		/* member JSON, to write back after an outage */
};

struct conn {
	struct lws *wsi;	/* NULL once the socket has closed */
	uint32_t refs;		/* 1 for the socket + 1 per request in flight */
	char id[24];
	char *user;		/* JWT sub, or NULL when anonymous */
	struct jwt_claims *claims;	/* NULL when roomd runs without auth */

	/* Send queue: a ring of frames, grown on demand up to a bound. */
	struct frame **q;
	uint32_t qhead;
	uint32_t qlen;
	uint32_t qcap;
	size_t qbytes;

	/* Replies go out in request order. */
	uint64_t next_ticket;
	uint64_t flush_ticket;
	struct held_replies held;	/* by ticket */

	/* Requests held back behind a join waiting for its subscription, or
	 * while the client does not read (conn_busy). */
	uint32_t blocked;
	struct deferred_list deferred;
	size_t deferred_bytes;
	int rx_paused;		/* not read from meanwhile (defer.c) */

	/* Partial message being received in fragments. */
	char *rx;
	size_t rxlen;
	int rx_discard;		/* this message is over --max-frame */
	int too_large_count;

	struct membership **rooms;
	uint32_t nrooms;

	/* Token buckets: requests allowed now, and patience left before a
	 * client far over --rate is closed. */
	double tokens;
	double patience;
	uint64_t bucket_ms;

	int closing;		/* close frame queued: hang up after it */
	int draining;		/* closing once the owed replies are out */
	int close_sent;		/* our close frame is out: waiting for theirs */
	uint32_t inflight;	/* requests waiting for Redis */
	int flushing;		/* on the flush list (holds a reference) */
	SLIST_ENTRY(conn) flush_entry;
	uint64_t rx_ms;		/* mono_ms() of the last frame received */
	int pinged;		/* a keepalive ping is out */
	char *hook_meta;	/* backend: default member meta from the
				   connect hook, or NULL */
};

/* A room with members on this node, and its subscription's state. */
enum sub_state {
	SUB_NONE,
	SUB_SUBSCRIBING,
	SUB_SUBSCRIBED,
	SUB_UNSUBSCRIBING,
};

TAILQ_HEAD(room_ops, room_op);
struct local_room {
	char id[ID_MAX + 1];
	enum sub_state sub;
	struct membership **members;
	uint32_t nmembers;
	uint32_t cap;
	struct room_ops waiting;	/* joins waiting for the subscription */
	/* After a new subscription connection: frames missed meanwhile are
	 * read from history, and live ones are held until they are in. */
	int catchup_needed;	/* when the subscription is confirmed */
	int catching_up;	/* holding live frames */
	int catchup_unsent;	/* the read waits for the command connection */
	int catchup_quiet;	/* for a match (join.c), not an outage */
	struct frame **held;
	uint32_t nheld;
	uint32_t held_cap;
	/* Details from the last join reply, to write back after an outage,
	 * with locked kept up to date by the room_locked frames seen. */
	char *details[JOIN_D_COUNT];	/* JOIN_D_* order */
	struct seq locked_seq;	/* of the room_locked frame that set it */
};

/* The create fields of a join, validated; NULL or 0 when absent. */
struct room_create {
	const char *title;
	const char *topic;
	const char *visibility;
	uint64_t max_members;
};

/* The fields of a match request, validated; strings are the request's. */
struct match_params {
	const char *pool;
	unsigned size;
	const char *filter;	/* canonical JSON, "{}" for none */
	const char *meta;	/* JSON text, or NULL */
	const char *title;	/* create fields; NULL: default */
	const char *topic;
	const char *visibility;	/* NULL: private */
};

/* What the command connection and the subscription tell their user. */
struct store_events {
	/* The command connection answers again (also the first time). */
	void (*ready)(void);
	/* The subscription connection is new: subscribe to rooms again. */
	void (*resubscribe)(void);
	/* The control channel's subscription is confirmed (again). */
	void (*listening)(void);
	/* A message on channel (the control channel or a room's). */
	void (*message)(const char *channel, size_t, const char *, size_t);
	/* Confirmations of store_subscribe and store_unsubscribe. */
	void (*subscribed)(const char *channel, size_t);
	void (*unsubscribed)(const char *channel, size_t);
	/* Redis Cluster only: a room's subscription was lost (its slot
	 * moved, a failover); the store subscribes again by itself, and
	 * subscribed follows. Frames may have been missed meanwhile. */
	void (*lost)(const char *channel, size_t);
};

/* What a script's reply must look like (shape.c checks it). */
enum shape {
	SHAPE_JOIN,
	SHAPE_LEAVE,
	SHAPE_APPEND,
	SHAPE_STATE_SET,
	SHAPE_STATE,		/* read.lua, what = state */
	SHAPE_PRESENCE,
	SHAPE_HISTORY,
	SHAPE_ROOMS,
	SHAPE_GC,
	SHAPE_MATCH,
	SHAPE_LOCK,
};

/* Counters for logs, the node hash and (later) /metrics. */
struct stats {
	uint64_t conns_total;
	uint64_t frames_in;
	uint64_t frames_out;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t slow_consumers;
	uint64_t refused;
	uint64_t tls_reloads;
};

/* main.c */
extern struct config cfg;
extern struct stats stats;
extern uv_loop_t *loop;
extern char node_id[ID_MAX + 1];
extern uint64_t started_at;
extern int shutting_down;

/* ctl.c */
void ctl_handle(const char *, size_t);
uint64_t ctl_last_canary(void);

/* frame.c */
struct frame *frame_new(const char *, size_t);
struct frame *frame_close(uint16_t, const char *);
struct frame *frame_ping(void);
struct frame *frame_ref(struct frame *);
void frame_unref(struct frame *);
int frame_parse_seq(const char *, size_t, struct seq *, size_t *);
int frame_is_close(const struct frame *);
void frame_close_parts(const struct frame *, uint16_t *,
    const unsigned char **, size_t *);

/* conn.c */
struct conn *conn_new(struct lws *);
void conn_ref(struct conn *);
void conn_unref(struct conn *);
struct conn *conn_find(const char *);
void conn_closed(struct conn *);
void conn_send(struct conn *, struct frame *);
void conn_send_text(struct conn *, const char *, size_t);
void conn_send_reply(struct conn *, struct frame *);
void conn_close_after_replies(struct conn *, uint16_t, const char *);
int conn_busy(const struct conn *);
int conn_drained(const struct conn *);
uint64_t conn_ticket(struct conn *);
void conn_reply(struct conn *, uint64_t, struct frame *);
void conn_reply_text(struct conn *, uint64_t, const char *, size_t);
void conn_close(struct conn *, uint16_t, const char *);
void conn_close_all(uint16_t, const char *);
int conn_write(struct conn *);
void conn_want_write(struct conn *);
void conn_flush_all(void);
struct membership *conn_membership(struct conn *, const char *);
void conn_add_membership(struct conn *, struct membership *);
void conn_remove_membership(struct conn *, struct membership *);
size_t conn_count(void);
void conn_each(void (*)(struct conn *, void *), void *);

/* defer.c */
void defer_init(void (*)(struct conn *, const char *, size_t));
int defer_hold(struct conn *, const char *, size_t);
void defer_block(struct conn *);
void defer_block_first(struct conn *, const char *, size_t);
void defer_unblock(struct conn *);
void defer_clear(struct conn *);

/* reply.c */
typedef void (*reply_fields_fn)(struct buf *, struct redisReply *);
void reply_error(struct conn *, uint64_t, const char *ref, enum err_code,
    const char *fmt, ...) printflike(5, 6);
void reply_ok(struct conn *, uint64_t, const char *ref);
void reply_ok_fields(struct conn *, uint64_t, const char *ref,
    reply_fields_fn, struct redisReply *);
void reply_pong(struct conn *, uint64_t, const char *ref);
void reply_joined(struct conn *, uint64_t, const char *ref, const char *room,
    struct redisReply *);
void reply_joined_begin(struct buf *, const char *ref, const char *room,
    struct redisReply *);
void reply_joined_finish(struct conn *, uint64_t, struct buf *, int);
void reply_left(struct conn *, uint64_t, const char *ref, const char *room);
void reply_matched(struct conn *, uint64_t, const char *ref,
    const char *room, struct redisReply *, int created);
void reply_fields_locked(struct buf *, struct redisReply *);
void reply_fields_published(struct buf *, struct redisReply *);
void reply_fields_state_set(struct buf *, struct redisReply *);
void reply_fields_state(struct buf *, struct redisReply *);
void reply_fields_presence(struct buf *, struct redisReply *);
void reply_fields_history(struct buf *, struct redisReply *);
void reply_fields_rooms(struct buf *, struct redisReply *);

/* request.c: one request, and the helpers each req-*.c family uses. */
struct req {
	struct conn *c;
	uint64_t ticket;
	char *ref;		/* the ref as JSON text, or NULL */
	struct cJSON *root;
	const char *text;	/* root's JSON text, len bytes */
	size_t len;
	const char *room;	/* validated room id, when the type has one */
};
struct req_entry {
	enum req_type type;	/* its name is req_type_name(type) */
	void (*fn)(struct req *);
	int needs_room;
	int needs_token;	/* refused once the token has expired */
};
/* A ref is echoed as the JSON text it was sent as, up to this. */
#define REF_MAX 256
#define REF_MAX_S "256"
void request_handle(struct conn *, const char *, size_t);
const char *req_ref_text(struct cJSON *, const char *, size_t, char **);
void request_run(struct conn *, const char *, size_t);
void req_error(struct req *, enum err_code, const char *, ...)
    printflike(3, 4);
const char *req_shorten(const char *, char *, size_t);
int req_field_string(struct req *, const char *, int, const char **);
int req_field_id(struct req *, const char *, const char **);
int req_field_int(struct req *, struct cJSON *, const char *, long long,
    long long, long long *);
int req_field_bool(struct req *, const char *, int *);
int req_field_seq(struct req *, const char *, const char **);
int req_need_member(struct req *, const char **);
void req_script(struct req *, struct script_args *, enum shape,
    reply_fields_fn);
void req_actor(struct buf *, struct conn *);

/* req-join.c, req-write.c, req-read.c */
extern const struct req_entry req_join_entry;
extern const struct req_entry req_leave_entry;
extern const struct req_entry req_match_entry;
extern const struct req_entry req_lock_entry;
extern const struct req_entry req_unlock_entry;
extern const struct req_entry req_publish_entry;
extern const struct req_entry req_state_set_entry;
extern const struct req_entry req_state_get_entry;
extern const struct req_entry req_presence_entry;
extern const struct req_entry req_history_entry;
extern const struct req_entry req_rooms_entry;
extern const struct req_entry req_ping_entry;

/* pace.c */
void pace_wait(int (*)(void *), void (*)(void *), void *);
void pace_flush(void);
void pace_stop(void);

/* replay.c */
void replay_start(struct conn *, uint64_t, const char *ref, const char *room,
    struct redisReply *, int incl);

/* room.c */
struct local_room *room_find(const char *);
struct local_room *room_of_channel(const char *, size_t);
struct local_room *room_get(const char *);
size_t room_count(void);
void room_each(void (*)(struct local_room *, void *), void *);
void room_subscribe(struct local_room *);
int room_confirmed(struct local_room *);
void room_unsubscribed(const char *channel, size_t chlen);
void room_resubscribe_all(void);
void room_sub_lost(const char *channel, size_t chlen);
void room_maybe_release(struct local_room *);
struct membership *membership_new(struct conn *, struct local_room *);
void membership_free(struct membership *);
void membership_deliver(struct membership *, struct frame *);
void membership_activate(struct membership *, const struct seq *, int);
void room_drop(struct membership *);

/* join.c */
void join_room(struct conn *, uint64_t ticket, const char *ref,
    const char *room, const char *meta, const char *since,
    const struct room_create *);
void join_leave(struct conn *, uint64_t ticket, const char *ref,
    struct membership *);
void join_subscribed(const char *channel, size_t chlen);
void join_retry_leaves(void);
void join_conn_closed(struct conn *, const char *reason);
void join_match(struct conn *, uint64_t ticket, const char *ref,
    const struct match_params *);

/* fanout.c */
void fanout_deliver(const char *channel, size_t chlen, const char *,
    size_t);
void fanout_note(struct local_room *, const char *, size_t, size_t,
    const struct seq *);
void fanout_frame(struct local_room *, struct frame *, const char *,
    size_t);

/* recover.c */
void recover_restore_all(void);
void recover_catch_up(struct local_room *);
void recover_catch_up_unsent(void);

/* shape.c */
int shape_check(enum shape, const struct redisReply *);

/* store.c */
typedef void (*store_cb)(struct redisReply *, void *);
int store_start(const struct store_events *, const char *ctl_channel);
void store_stop(void);
int store_ready(void);
void store_run(struct script_args *, store_cb, void *);
void store_commandl(const char *, ...) __attribute__((sentinel));
int store_command(store_cb, void *, int, const char **, const size_t *);
int store_command_key(const char *, store_cb, void *, int, const char **,
    const size_t *);
void store_set_notices(const char *);
int store_subscribe(const char *, size_t);
int store_unsubscribe(const char *, size_t);
double store_rtt_ms(void);
uint64_t store_up_since(void);
void store_reset(const char *);

/* store-cluster.c: what store.c hands on with --redis-cluster */
struct cluster_shard;
int store_cluster(void);
size_t store_shards(struct cluster_shard *, size_t);
int store_room_up(const char *);
void stc_reset_ctl(const char *);
int stc_start(const struct store_events *, const char *ctl_channel);
void stc_stop(void);
int stc_ready(void);
uint64_t stc_up_since(void);
double stc_rtt_ms(void);
void stc_run(struct script_args *, store_cb, void *);
int stc_command(store_cb, void *, int, const char **, const size_t *);
int stc_command_key(const char *, store_cb, void *, int, const char **,
    const size_t *);
int stc_eval(struct script_args *, store_cb, void *);
void stc_set_notices(const char *);
void stc_subscribe(const char *, size_t);
void stc_unsubscribe(const char *, size_t);
struct cluster *stc_cluster(void);
int stc_stopping(void);
void stc_index_write(const char *, const char *, const char *,
    const char *);
void stc_pool_write(const char *, const char *, long long, long long, int,
    const char *, const char *);
void stc_join_written(const char *, char *const[2], const struct redisReply *);
int stc_reply_is(const struct redisReply *, const char *);

/* store-match.c: match across a cluster's shards */
void stc_match(struct script_args *, store_cb, void *);

/* store-across.c: rooms and gc across a cluster's shards */
void stc_rooms(struct script_args *, store_cb, void *);
void stc_gc(struct script_args *, store_cb, void *);

/* http.c */
int http_serve(struct lws *, const char *);

/* metrics.c */
void metrics_error(enum err_code);
void metrics_request(const struct req_entry *);
void metrics_render(struct buf *);

/* node.c */
void node_start(void);
void node_stop(void);
void node_register(void);
void node_canary(void);
int node_healthy(void);

/* server.c */
int server_start(void);
void server_stop(void);

/* reuseport.c: SO_REUSEPORT on the listener lws binds while armed */
void reuse_port_arm(int);

/* supervise.c: --workers N; returns the exit status of roomd */
int supervise_run(int argc, char **argv);

/* tls.c; the SSL_CTX is passed as void * to keep OpenSSL out of here */
int tls_check(char **);
void tls_start_log(void);
void tls_attach(void *);
int tls_attached(void);
void tls_reload(void);
void tls_free(void);

#endif
