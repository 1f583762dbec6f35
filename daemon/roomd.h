/*
 * roomd.h: the daemon's shared structures and the prototypes of its modules,
 * grouped by file.
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
	struct held_reply *next;
};

/* A raw request held back while an earlier one waits for a subscription. */
struct deferred {
	char *text;
	size_t len;
	struct deferred *next;
};

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
	struct held_reply *held;

	/* Requests held back behind a join waiting for its subscription. */
	uint32_t blocked;
	struct deferred *deferred;
	struct deferred **deferred_tail;

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
	int flushing;		/* on the flush list (holds a reference) */
	struct conn *flush_next;
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

struct room_op;
struct local_room {
	char id[ID_MAX + 1];
	enum sub_state sub;
	struct membership **members;
	uint32_t nmembers;
	uint32_t cap;
	struct room_op *waiting;	/* joins waiting for the subscription */
	struct room_op **waiting_tail;
	/* After a new subscription connection: frames missed meanwhile are
	 * read from history, and live ones are held until they are in. */
	int catchup_needed;	/* when the subscription is confirmed */
	int catching_up;	/* holding live frames */
	int catchup_unsent;	/* the read waits for the command connection */
	struct frame **held;
	uint32_t nheld;
	uint32_t held_cap;
	/* Details from the last join reply, to write back after an outage. */
	char *details[5];	/* title, topic, visibility, max_members,
				   created_at */
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

/* conn.c */
struct conn *conn_new(struct lws *);
void conn_ref(struct conn *);
void conn_unref(struct conn *);
struct conn *conn_find(const char *);
void conn_closed(struct conn *);
void conn_send(struct conn *, struct frame *);
void conn_send_text(struct conn *, const char *, size_t);
uint64_t conn_ticket(struct conn *);
void conn_reply(struct conn *, uint64_t, struct frame *);
void conn_reply_text(struct conn *, uint64_t, const char *, size_t);
void conn_reply_error(struct conn *, uint64_t, const char *ref,
    const char *code, const char *fmt, ...) printflike(5, 6);
void conn_close(struct conn *, uint16_t, const char *);
void conn_close_all(uint16_t, const char *);
int conn_write(struct conn *);
struct membership *conn_membership(struct conn *, const char *);
void conn_add_membership(struct conn *, struct membership *);
void conn_remove_membership(struct conn *, struct membership *);
void conn_defer(struct conn *, const char *, size_t);
void conn_unblock(struct conn *);
size_t conn_count(void);
void conn_each(void (*)(struct conn *, void *), void *);

/* request.c */
void request_handle(struct conn *, const char *, size_t);
void request_run(struct conn *, const char *, size_t);
void request_publish_write(struct conn *, uint64_t ticket, const char *ref,
    const char *room, const char *event, const char *data_json, int echo,
    const char *who);
void reply_ok_begin(struct buf *, const char *ref);
void reply_add_array(struct buf *, const char *, struct redisReply *);
void reply_add_state(struct buf *, struct redisReply *);

/* redis_uv.c */
struct redisAsyncContext;
int redis_uv_attach(struct redisAsyncContext *, uv_loop_t *);

/* room.c */
struct local_room *room_find(const char *);
size_t room_count(void);
void room_join(struct conn *, uint64_t ticket, const char *ref,
    const char *room, const char *meta, const char *since,
    struct cJSON *create);
void room_leave(struct conn *, uint64_t ticket, const char *ref,
    struct membership *);
void room_drop(struct membership *);
void room_restore_all(void);
void room_retry_leaves(void);
void room_catch_up_unsent(void);
void room_conn_closed(struct conn *, const char *reason);
void room_deliver(const char *channel, size_t chlen, const char *,
    size_t);
void room_subscribed(const char *channel, size_t chlen);
void room_unsubscribed(const char *channel, size_t chlen);
void room_resubscribe_all(void);
void room_channel(struct buf *, const char *);
void room_keys(const char *room, struct buf *keys, const char **argv,
    size_t *lens, int nkeys);

/* store.c */
typedef void (*store_cb)(struct redisReply *, void *);
int store_start(void);
void store_stop(void);
int store_ready(void);
int store_script(enum script_id, int nkeys, int nargs, const char **,
    const size_t *, store_cb, void *);
int store_command(store_cb, void *, int, const char **, const size_t *);
void store_subscribe(const char *, size_t);
void store_unsubscribe(const char *, size_t);
double store_rtt_ms(void);
uint64_t store_up_since(void);
void store_reset(const char *);

/* http.c */
int http_serve(struct lws *, const char *);

/* metrics.c */
void metrics_error(const char *);
void metrics_request(const char *);
void metrics_render(struct buf *);

/* node.c */
void node_start(void);
void node_stop(void);
void node_register(void);
int node_healthy(void);

/* server.c */
int server_start(void);
void server_welcome_text(struct conn *, struct buf *);
void server_stop(void);
void server_want_write(struct conn *);
void server_flush(void);

#endif
