/*
 * conn.c: one WebSocket client: its bounded send queue and the list of
 * connections with something to write, the ordering of its replies, and
 * the list of its memberships.
 */
#include <string.h>
#include <sys/random.h>

#include <libwebsockets.h>

#include "roomd.h"

/*
 * A consumer that lets this much pile up is not reading: it is closed with
 * 4008 rather than buffered forever.
 */
#define QUEUE_MAX_FRAMES 8192
#define QUEUE_MAX_BYTES (8u << 20)
/* A big reply's next batch waits until the queue is down to this. */
#define QUEUE_LOW_BYTES (1u << 20)
/* How much a client may have asked for and not read (conn_busy). */
#define REPLY_WINDOW (4u << 20)
/* How long a closed client has to answer our close frame. */
#define CLOSE_ACK_S 5
/* Frames queued for one connection go out in one write, up to this. */
#define COALESCE_MAX 65536

static struct dict conns;
static uint64_t conn_counter;
static char conn_tag[8];
static unsigned char scratch[LWS_PRE + COALESCE_MAX];
static SLIST_HEAD(, conn) flush_list =	/* each holds a reference */
    SLIST_HEAD_INITIALIZER(flush_list);

/*
 * Connection ids are unique across nodes and restarts: a random tag drawn
 * at start and a counter.
 */
static void
conn_tag_init(void)
{
	unsigned char r[3];

	if (getrandom(r, sizeof r, 0) != sizeof r)
		fatal("getrandom");
	snprintf(conn_tag, sizeof conn_tag, "%02x%02x%02x", r[0], r[1], r[2]);
}

struct conn *
conn_new(struct lws *wsi)
{
	struct conn *c;

	if (conn_tag[0] == '\0')
		conn_tag_init();
	c = xcalloc(1, sizeof *c);
	c->wsi = wsi;
	c->refs = 1;
	snprintf(c->id, sizeof c->id, "%s-%llx", conn_tag,
	    (unsigned long long)++conn_counter);
	TAILQ_INIT(&c->held);
	STAILQ_INIT(&c->deferred);
	c->tokens = 2.0 * (double)cfg.rate;
	c->patience = 10.0 * (double)cfg.rate;
	c->bucket_ms = c->rx_ms = mono_ms();
	dict_put(&conns, c->id, c);
	stats.conns_total++;
	return c;
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

/* Drop a reference; the last one frees the connection. */
void
conn_unref(struct conn *c)
{
	struct held_reply *h;

	if (--c->refs > 0)
		return;
	while ((h = TAILQ_FIRST(&c->held)) != NULL) {
		TAILQ_REMOVE(&c->held, h, entry);
		if (h->f != NULL)
			frame_unref(h->f);
		free(h);
	}
	free(c->rooms);
	free(c->user);
	free(c->hook_meta);	/* backend */
	if (c->claims != NULL) {
		jwt_claims_free(c->claims);
		free(c->claims);
	}
	free(c->rx);
	free(c->q);
	free(c);
}

struct conn *
conn_find(const char *id)
{
	return dict_get(&conns, id, strlen(id));
}

size_t
conn_count(void)
{
	return conns.n;
}

/* Call fn on every open connection; fn must not close any. */
void
conn_each(void (*fn)(struct conn *, void *), void *arg)
{
	dict_each(&conns, (void (*)(void *, void *))fn, arg);
}

static void
conn_queue_clear(struct conn *c)
{
	for (uint32_t i = 0; i < c->qlen; i++)
		frame_unref(c->q[(c->qhead + i) % c->qcap]);
	c->qhead = c->qlen = 0;
	c->qbytes = 0;
}

/*
 * The socket has closed (its rooms are left already: join_conn_closed):
 * drop what was queued and held back, and give up the socket's reference,
 * which may free c.
 */
void
conn_closed(struct conn *c)
{
	c->wsi = NULL;
	dict_del(&conns, c->id, strlen(c->id));
	conn_queue_clear(c);
	defer_clear(c);
	conn_unref(c);
}

/* Append to the send queue, growing the ring; no bound checked here. */
static void
conn_enqueue(struct conn *c, struct frame *f)
{
	if (c->qlen == c->qcap) {
		uint32_t ncap = c->qcap ? c->qcap * 2 : 4;
		struct frame **nq = xmalloc(ncap * sizeof *nq);

		for (uint32_t i = 0; i < c->qlen; i++)
			nq[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = nq;
		c->qcap = ncap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = frame_ref(f);
	c->qlen++;
	c->qbytes += f->len;
	if (c->qlen == 1)
		conn_want_write(c);
}

/*
 * Queue a frame for the client, taking a reference of its own. A client
 * whose queue is over the bound is a slow consumer: its queue is dropped
 * and it is closed with 4008, so nobody else waits for it.
 */
void
conn_send(struct conn *c, struct frame *f)
{
	if (c->wsi == NULL || c->closing)
		return;
	if (c->qlen >= QUEUE_MAX_FRAMES || c->qbytes + f->len > QUEUE_MAX_BYTES) {
		stats.slow_consumers++;
		log_info("conn %s: slow consumer (%u frames, %zu bytes queued)",
		    c->id, c->qlen, c->qbytes);
		conn_queue_clear(c);
		conn_close(c, 4008, "slow consumer");
		return;
	}
	conn_enqueue(c, f);
}

/*
 * Queue a reply, or a frame that is part of one (a join's recovered
 * frames): what the client asked for is never why it is called slow, so
 * no bound is checked here; how much a client may have asked for and not
 * read is bounded instead (conn_busy). A close frame closes.
 */
void
conn_send_reply(struct conn *c, struct frame *f)
{
	if (c->wsi == NULL || c->closing)
		return;
	conn_enqueue(c, f);
	if (frame_is_close(f)) {
		c->closing = 1;
		conn_want_write(c);
	}
}

/*
 * Has the client asked for more than it has read? Its queue and the
 * replies of its requests in flight (each counted at the page budget) are
 * over REPLY_WINDOW: its next requests wait (request.c) until it reads.
 */
int
conn_busy(const struct conn *c)
{
	return c->qbytes + (size_t)c->inflight * REPLY_BUDGET > REPLY_WINDOW;
}

/* Its queue is low enough for the next batch of a big reply. */
int
conn_drained(const struct conn *c)
{
	return c->wsi == NULL || c->qbytes <= QUEUE_LOW_BYTES;
}

void
conn_send_text(struct conn *c, const char *text, size_t len)
{
	struct frame *f = frame_new(text, len);

	conn_send(c, f);
	frame_unref(f);
}

/*
 * Close the connection with code and reason once what is queued has gone:
 * the close frame is queued like any other (past the bound, so it always
 * fits); once it is written the client has CLOSE_ACK_S to answer it.
 */
void
conn_close(struct conn *c, uint16_t code, const char *reason)
{
	struct frame *f;

	if (c->wsi == NULL || c->closing)
		return;
	f = frame_close(code, reason);
	conn_enqueue(c, f);
	frame_unref(f);
	c->closing = 1;
	conn_want_write(c);
}

static void
conn_close_one(void *val, void *arg)
{
	const struct { uint16_t code; const char *reason; } *how = arg;

	conn_close(val, how->code, how->reason);
}

/* Close every client, as on shutdown. */
void
conn_close_all(uint16_t code, const char *reason)
{
	struct { uint16_t code; const char *reason; } how = { code, reason };

	dict_each(&conns, conn_close_one, &how);
}

/* Drop the frame at the head of the queue: it has been written. */
static void
conn_pop(struct conn *c)
{
	struct frame *f = c->q[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	c->qbytes -= f->len;
	frame_unref(f);
	stats.frames_out++;
}

/*
 * Our close frame has been written: wait (a few seconds at most) for the
 * client's close, lws reading and dropping what it still sends meanwhile.
 * Hanging up at once, with unread bytes, would be a TCP reset that can
 * overtake the close frame.
 */
static void
conn_close_sent(struct conn *c)
{
	c->close_sent = 1;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, CLOSE_ACK_S);
}

/*
 * Write what is queued, called when the socket is writable. Frames queued
 * together go out in one write. Returns -1 when the write failed. Once a
 * close frame is out, the connection waits for the client's close.
 */
int
conn_write(struct conn *c)
{
	unsigned char *p = scratch + LWS_PRE;
	size_t n = 0;
	struct frame *f;
	int close_out = 0;

	if (c->qlen == 0)
		return 0;
	f = c->q[c->qhead];
	if (f->len > COALESCE_MAX) {
		/* Too big to gather: it goes out alone, from itself. */
		if (lws_write(c->wsi, f->data, f->len, LWS_WRITE_RAW) <
		    (int)f->len)
			return -1;
		n = f->len;
		conn_pop(c);
	} else {
		while (c->qlen > 0) {
			f = c->q[c->qhead];
			if (n + f->len > COALESCE_MAX)
				break;
			memcpy(p + n, f->data, f->len);
			n += f->len;
			if (frame_is_close(f))
				close_out = 1;
			conn_pop(c);
		}
		if (lws_write(c->wsi, p, n, LWS_WRITE_RAW) < (int)n)
			return -1;
		if (close_out)
			conn_close_sent(c);
	}
	stats.bytes_out += n;
	if (c->qlen == 0 && c->qcap > 8) {
		/* A burst is over: give its memory back. */
		free(c->q);
		c->q = NULL;
		c->qcap = 0;
		c->qhead = 0;
	}
	if (c->qlen > 0)
		conn_want_write(c);
	return 0;
}

/* Take the next reply ticket: replies go out in ticket order. */
uint64_t
conn_ticket(struct conn *c)
{
	return c->next_ticket++;
}

/*
 * Finish the request holding ticket with frame f (NULL when it needs no
 * reply). Consumes the caller's reference to f.
 */
void
conn_reply(struct conn *c, uint64_t ticket, struct frame *f)
{
	struct held_reply *h, *at;

	if (ticket != c->flush_ticket) {
		h = xmalloc(sizeof *h);
		h->ticket = ticket;
		h->f = f;
		TAILQ_FOREACH(at, &c->held, entry) {
			if (at->ticket >= ticket)
				break;
		}
		if (at != NULL)
			TAILQ_INSERT_BEFORE(at, h, entry);
		else
			TAILQ_INSERT_TAIL(&c->held, h, entry);
		return;
	}
	if (f != NULL) {
		conn_send_reply(c, f);
		frame_unref(f);
	}
	c->flush_ticket++;
	while ((h = TAILQ_FIRST(&c->held)) != NULL &&
	    h->ticket == c->flush_ticket) {
		TAILQ_REMOVE(&c->held, h, entry);
		if (h->f != NULL) {
			conn_send_reply(c, h->f);
			frame_unref(h->f);
		}
		free(h);
		c->flush_ticket++;
	}
}

/*
 * Close the connection once the replies of every request it has begun are
 * out (they were carried out: the client is owed them), as for a client
 * closed for flooding. Requests held back and not begun are dropped, and
 * frames that arrive from now on are not read as requests.
 */
void
conn_close_after_replies(struct conn *c, uint16_t code, const char *reason)
{
	if (c->wsi == NULL || c->closing || c->draining)
		return;
	c->draining = 1;
	defer_clear(c);
	conn_reply(c, conn_ticket(c), frame_close(code, reason));
}

void
conn_reply_text(struct conn *c, uint64_t ticket, const char *text, size_t len)
{
	conn_reply(c, ticket, frame_new(text, len));
}

struct membership *
conn_membership(struct conn *c, const char *room)
{
	for (uint32_t i = 0; i < c->nrooms; i++) {
		if (strcmp(c->rooms[i]->room->id, room) == 0)
			return c->rooms[i];
	}
	return NULL;
}

void
conn_add_membership(struct conn *c, struct membership *m)
{
	c->rooms = xrealloc(c->rooms, (c->nrooms + 1) * sizeof *c->rooms);
	c->rooms[c->nrooms++] = m;
}

void
conn_remove_membership(struct conn *c, struct membership *m)
{
	for (uint32_t i = 0; i < c->nrooms; i++) {
		if (c->rooms[i] == m) {
			c->rooms[i] = c->rooms[--c->nrooms];
			break;
		}
	}
	if (c->nrooms == 0) {
		free(c->rooms);
		c->rooms = NULL;
	}
}

/*
 * A connection has something to write. Rather than ask lws for a writable
 * callback per frame (each one is two epoll_ctl calls in libuv), it goes
 * on a list written once per loop iteration, so a burst of frames for one
 * client is one write and a fan-out is one write per member.
 */
void
conn_want_write(struct conn *c)
{
	if (c->wsi == NULL || c->flushing)
		return;
	c->flushing = 1;
	conn_ref(c);
	SLIST_INSERT_HEAD(&flush_list, c, flush_entry);
}

/*
 * Write what is queued for every connection on the flush list. A socket
 * lws is still draining, and a connection that closes, wait for lws's
 * writable callback instead (closing needs one: only there can lws hang
 * up).
 */
void
conn_flush_all(void)
{
	SLIST_HEAD(, conn) list = { SLIST_FIRST(&flush_list) };
	struct conn *c;

	SLIST_INIT(&flush_list);
	while ((c = SLIST_FIRST(&list)) != NULL) {
		SLIST_REMOVE_HEAD(&list, flush_entry);
		c->flushing = 0;
		if (c->wsi != NULL) {
			if (c->closing || lws_partial_buffered(c->wsi) ||
			    conn_write(c) != 0)
				lws_callback_on_writable(c->wsi);
		}
		conn_unref(c);
	}
}
