/*
 * conn.c: one WebSocket client: its bounded send queue, the ordering of its
 * replies, its memberships and the requests it holds back.
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
/* Frames queued for one connection go out in one write, up to this. */
#define COALESCE_MAX 65536

static struct dict conns;
static uint64_t conn_counter;
static char conn_tag[8];
static unsigned char scratch[LWS_PRE + COALESCE_MAX];

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
	c->deferred_tail = &c->deferred;
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
	struct held_reply *h, *next;

	if (--c->refs > 0)
		return;
	for (h = c->held; h != NULL; h = next) {
		next = h->next;
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
 * The socket has closed: leave every room, drop what was queued and held
 * back, and give up the socket's reference.
 */
void
conn_closed(struct conn *c)
{
	struct deferred *d, *next;

	c->wsi = NULL;
	dict_del(&conns, c->id, strlen(c->id));
	room_conn_closed(c, "disconnect");
	conn_queue_clear(c);
	for (d = c->deferred; d != NULL; d = next) {
		next = d->next;
		free(d->text);
		free(d);
	}
	c->deferred = NULL;
	c->deferred_tail = &c->deferred;
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
		server_want_write(c);
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
 * fits), then the socket is hung up.
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
	server_want_write(c);
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

/*
 * Write what is queued, called when the socket is writable. Frames queued
 * together go out in one write. Returns -1 when the connection must now
 * close: its close frame, queued by conn_close, has gone out.
 */
int
conn_write(struct conn *c)
{
	unsigned char *p = scratch + LWS_PRE;
	size_t n = 0;
	struct frame *f;

	if (c->qlen == 0)
		return c->closing ? -1 : 0;	/* our close frame is out */
	f = c->q[c->qhead];
	if (f->len > COALESCE_MAX) {
		/* Too big to gather: it goes out alone, from itself. */
		if (lws_write(c->wsi, f->data, f->len, LWS_WRITE_RAW) <
		    (int)f->len)
			return -1;
		n = f->len;
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		c->qbytes -= f->len;
		frame_unref(f);
		stats.frames_out++;
	} else {
		while (c->qlen > 0) {
			f = c->q[c->qhead];
			if (n + f->len > COALESCE_MAX)
				break;
			memcpy(p + n, f->data, f->len);
			n += f->len;
			c->qhead = (c->qhead + 1) % c->qcap;
			c->qlen--;
			c->qbytes -= f->len;
			frame_unref(f);
			stats.frames_out++;
		}
		if (lws_write(c->wsi, p, n, LWS_WRITE_RAW) < (int)n)
			return -1;
	}
	stats.bytes_out += n;
	if (c->qlen == 0 && c->qcap > 8) {
		/* A burst is over: give its memory back. */
		free(c->q);
		c->q = NULL;
		c->qcap = 0;
		c->qhead = 0;
	}
	if (c->qlen > 0 || c->closing)
		server_want_write(c);
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
	struct held_reply *h, **hp;

	if (ticket != c->flush_ticket) {
		h = xmalloc(sizeof *h);
		h->ticket = ticket;
		h->f = f;
		for (hp = &c->held; *hp != NULL && (*hp)->ticket < ticket;
		    hp = &(*hp)->next)
			;
		h->next = *hp;
		*hp = h;
		return;
	}
	if (f != NULL) {
		conn_send(c, f);
		frame_unref(f);
	}
	c->flush_ticket++;
	while ((h = c->held) != NULL && h->ticket == c->flush_ticket) {
		c->held = h->next;
		if (h->f != NULL) {
			conn_send(c, h->f);
			frame_unref(h->f);
		}
		free(h);
		c->flush_ticket++;
	}
}

void
conn_reply_text(struct conn *c, uint64_t ticket, const char *text, size_t len)
{
	conn_reply(c, ticket, frame_new(text, len));
}

/*
 * Reply with an error frame. ref is the request's ref as JSON text, or
 * NULL for none.
 */
void
conn_reply_error(struct conn *c, uint64_t ticket, const char *ref,
    const char *code, const char *fmt, ...)
{
	struct buf b;
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	buf_init(&b);
	buf_adds(&b, "{\"type\":\"error\"");
	if (ref != NULL) {
		buf_adds(&b, ",\"ref\":");
		buf_adds(&b, ref);
	}
	buf_printf(&b, ",\"code\":\"%s\",\"message\":", code);
	json_add_string(&b, msg, strlen(msg));
	buf_addc(&b, '}');
	free(msg);
	metrics_error(code);
	log_debug("conn %s: error %s", c->id, code);
	conn_reply_text(c, ticket, b.p, b.len);
	buf_free(&b);
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

/* Hold a request back until the one blocking the connection is sent. */
void
conn_defer(struct conn *c, const char *text, size_t len)
{
	struct deferred *d = xmalloc(sizeof *d);

	d->text = xstrndup(text, len);
	d->len = len;
	d->next = NULL;
	*c->deferred_tail = d;
	c->deferred_tail = &d->next;
}

/*
 * The request blocking the connection has been sent to Redis: handle what
 * was held back, in order, until one blocks again.
 */
void
conn_unblock(struct conn *c)
{
	struct deferred *d;

	if (c->blocked > 0)
		c->blocked--;
	while (c->blocked == 0 && (d = c->deferred) != NULL &&
	    c->wsi != NULL) {
		c->deferred = d->next;
		if (c->deferred == NULL)
			c->deferred_tail = &c->deferred;
		request_run(c, d->text, d->len);
		free(d->text);
		free(d);
	}
}
