/*
 * wsclient.c owns roomctl's WebSocket client I/O: RFC 6455, client side,
 * over a libuv TCP handle, with no allocation per message once its buffers
 * have grown to the largest frame seen. The framing itself is wsframe.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "roomctl.h"

#define WS_READ_MIN 4096		/* free space offered to every read */
#define WS_MESSAGE_MAX (16u << 20)
#define WS_HANDSHAKE_MS 10000
#define WS_CLOSE_MS 2000

/* A write libuv could not take at once: the request and a copy of the rest. */
struct ws_write {
	uv_write_t req;
	struct ws_client *ws;
	size_t len;
	char data[];
};

static void ws_terminate(struct ws_client *, int, const char *, ...)
    printflike(3, 4);
static void ws_fail(struct ws_client *, int, const char *);
static void ws_parse(struct ws_client *);

/* Make room for n more bytes after len; the contents are kept. */
static void
ws_bytes_reserve(struct ws_bytes *b, size_t n)
{
	size_t cap;

	if (b->cap - b->len >= n)
		return;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void
ws_bytes_add(struct ws_bytes *b, const void *p, size_t n)
{
	ws_bytes_reserve(b, n);
	if (n != 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
ws_bytes_free(struct ws_bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* xorshift64*: masks need not be secret from us, only unpredictable to
 * proxies, and RAND_bytes per frame would cost a lock on the hot path. */
static uint32_t
ws_random(struct ws_client *ws)
{
	uint64_t x = ws->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ws->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Set the struct up for ws_client_connect; nothing is allocated yet. */
void
ws_client_init(struct ws_client *ws, uv_loop_t *loop,
    const struct ws_client_cb *cb, void *data)
{
	memset(ws, 0, sizeof *ws);
	ws->loop = loop;
	ws->cb = cb;
	ws->data = data;
	ws->state = WS_CLIENT_IDLE;
	ws->max_message = WS_MESSAGE_MAX;
}

/* Release the buffers; only while idle (before connect or after on_close). */
void
ws_client_free(struct ws_client *ws)
{
	if (ws->state != WS_CLIENT_IDLE)
		fatalx("%s: client not idle", __func__);
	ws_bytes_free(&ws->rbuf);
	ws_bytes_free(&ws->wbuf);
	ws_bytes_free(&ws->frag);
}

static void ws_alloc(uv_handle_t *, size_t, uv_buf_t *);
static void ws_read(uv_stream_t *, ssize_t, const uv_buf_t *);

/*
 * Stop or restart reading from the server: a stalled client lets the
 * server's send queue for it fill up, as a slow consumer does.
 */
void
ws_client_pause(struct ws_client *ws, int paused)
{
	if (ws->state != WS_CLIENT_OPEN)
		return;
	if (paused)
		uv_read_stop((uv_stream_t *)&ws->tcp);
	else
		uv_read_start((uv_stream_t *)&ws->tcp, ws_alloc, ws_read);
}

int
ws_client_http_status(const struct ws_client *ws)
{
	return ws->http_status;
}

/* Why the connection ended when the server stopped reading, or NULL. */
const char *
ws_client_limit_hit(const struct ws_client *ws)
{
	return ws->limit_hit ? ws->reason : NULL;
}

/* Both handles are closed: the client is idle again, tell the caller. */
static void
ws_handle_closed(uv_handle_t *h)
{
	struct ws_client *ws = h->data;

	if (--ws->handles > 0)
		return;
	ws->state = WS_CLIENT_IDLE;
	ws->rbuf.len = ws->wbuf.len = ws->frag.len = 0;
	ws->frag_opcode = 0;
	ws->close_received = 0;
	ws->wqueued = 0;
	ws->cb->on_close(ws, ws->end_code, ws->reason);
}

/*
 * End the connection now: close the handles; on_close follows from the loop
 * with the first code and reason recorded (a peer's close frame wins over
 * the EOF that follows it).
 */
static void
ws_terminate(struct ws_client *ws, int code, const char *fmt, ...)
{
	va_list ap;

	if (ws->state == WS_CLIENT_IDLE || ws->state == WS_CLIENT_ENDING)
		return;
	if (ws->end_code == 0) {
		ws->end_code = code;
		va_start(ap, fmt);
		vsnprintf(ws->reason, sizeof ws->reason, fmt, ap);
		va_end(ap);
	}
	ws->state = WS_CLIENT_ENDING;
	uv_read_stop((uv_stream_t *)&ws->tcp);
	uv_timer_stop(&ws->timer);
	ws->handles = 2;
	uv_close((uv_handle_t *)&ws->tcp, ws_handle_closed);
	uv_close((uv_handle_t *)&ws->timer, ws_handle_closed);
}

/* A queued write finished: free its copy; errors end the connection. */
static void
ws_write_done(uv_write_t *req, int status)
{
	struct ws_write *w = (struct ws_write *)req;
	struct ws_client *ws = w->ws;

	ws->wqueued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED)
		ws_terminate(ws, 1006, "write: %s", uv_strerror(status));
}

/*
 * Write bytes in order: straight to the socket when nothing is queued, the
 * rest copied into one request. Returns -1 (and ends the connection) on a
 * write error.
 */
static int
ws_write(struct ws_client *ws, const char *p, size_t len)
{
	struct ws_write *w;
	uv_buf_t b;
	int r = 0;

	if (ws->wqueued == 0) {
		b = uv_buf_init((char *)p, (unsigned)len);
		r = uv_try_write((uv_stream_t *)&ws->tcp, &b, 1);
		if (r < 0 && r != UV_EAGAIN) {
			ws_terminate(ws, 1006, "write: %s", uv_strerror(r));
			return -1;
		}
		if (r < 0)
			r = 0;
		if ((size_t)r == len)
			return 0;
	}
	if (ws->wqueued + len - (size_t)r > WS_WQUEUE_MAX) {
		/* A pong a ping, a frame a step: the server reads none. */
		ws->limit_hit = 1;
		ws_terminate(ws, 1008, "the server is not reading: more "
		    "than %u MiB waiting to be sent", WS_WQUEUE_MAX >> 20);
		return -1;
	}
	w = xmalloc(sizeof *w + len - (size_t)r);
	w->ws = ws;
	w->len = len - (size_t)r;
	memcpy(w->data, p + r, w->len);
	b = uv_buf_init(w->data, (unsigned)w->len);
	r = uv_write(&w->req, (uv_stream_t *)&ws->tcp, &b, 1, ws_write_done);
	if (r != 0) {
		free(w);
		ws_terminate(ws, 1006, "write: %s", uv_strerror(r));
		return -1;
	}
	ws->wqueued += w->len;
	return 0;
}

/* Build one masked frame in wbuf and write it. */
static int
ws_send_frame(struct ws_client *ws, int opcode, const void *data, size_t len)
{
	unsigned char mask[4];
	uint32_t m;

	ws->wbuf.len = 0;
	ws_bytes_reserve(&ws->wbuf, WS_FRAME_HEADER_MAX + len);
	m = ws_random(ws);
	memcpy(mask, &m, 4);
	ws->wbuf.len = ws_frame_encode((unsigned char *)ws->wbuf.p, opcode,
	    data, len, mask);
	return ws_write(ws, ws->wbuf.p, ws->wbuf.len);
}

/*
 * Send one unfragmented text or binary message. Returns -1 when the
 * connection is not open or the write failed (on_close then follows).
 */
int
ws_client_send(struct ws_client *ws, int opcode, const void *data, size_t len)
{
	if (ws->state != WS_CLIENT_OPEN)
		return -1;
	return ws_send_frame(ws, opcode, data, len);
}

/* Send a close frame carrying code (none for 1005) and reason. */
static void
ws_send_close(struct ws_client *ws, int code, const char *reason)
{
	unsigned char p[125];
	size_t n = 0, rlen;

	if (code != 1005 && code != 0) {
		p[0] = (unsigned char)(code >> 8);
		p[1] = (unsigned char)code;
		rlen = reason != NULL ? strlen(reason) : 0;
		if (rlen > sizeof p - 2)
			rlen = sizeof p - 2;
		if (rlen > 0)
			memcpy(p + 2, reason, rlen);
		n = 2 + rlen;
	}
	ws_send_frame(ws, WS_OP_CLOSE, p, n);
}

/* A handshake or a closing handshake took too long. */
static void
ws_timer_fired(uv_timer_t *t)
{
	struct ws_client *ws = t->data;

	switch (ws->state) {
	case WS_CLIENT_CONNECTING:
	case WS_CLIENT_HANDSHAKE:
		ws_terminate(ws, 1006, "no upgrade within %ds",
		    WS_HANDSHAKE_MS / 1000);
		break;
	case WS_CLIENT_CLOSING:
		/* The peer did not answer our close or keeps the socket. */
		ws_terminate(ws, 1006, "no close from the server within %ds",
		    WS_CLOSE_MS / 1000);
		break;
	default:
		break;
	}
}

/*
 * Start the closing handshake; on_close follows once the server answers
 * and hangs up, or after WS_CLOSE_MS. Before the upgrade completes it is
 * an abort.
 */
void
ws_client_close(struct ws_client *ws, int code, const char *reason)
{
	switch (ws->state) {
	case WS_CLIENT_CONNECTING:
	case WS_CLIENT_HANDSHAKE:
		ws_terminate(ws, 1006, "closed before the upgrade");
		return;
	case WS_CLIENT_OPEN:
		break;
	default:
		return;
	}
	ws->state = WS_CLIENT_CLOSING;
	uv_timer_start(&ws->timer, ws_timer_fired, WS_CLOSE_MS, 0);
	ws_send_close(ws, code, reason);
}

/* Drop the connection without a closing handshake; on_close follows. */
void
ws_client_abort(struct ws_client *ws, const char *reason)
{
	ws_terminate(ws, 1006, "%s", reason);
}

/* Offer the free end of rbuf, grown so every read can make progress. */
static void
ws_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct ws_client *ws = h->data;

	(void)suggested;
	ws_bytes_reserve(&ws->rbuf, WS_READ_MIN);
	*b = uv_buf_init(ws->rbuf.p + ws->rbuf.len,
	    (unsigned)(ws->rbuf.cap - ws->rbuf.len));
}

/*
 * Check the server's reply to the upgrade once its headers are in rbuf.
 * Returns 1 when the connection is open, 0 to read more, -1 when it ended.
 */
static int
ws_parse_handshake(struct ws_client *ws)
{
	struct ws_handshake h;
	int r;

	r = ws_handshake_parse(ws->rbuf.p, ws->rbuf.len, ws->key, &h);
	if (r == 0)
		return 0;
	if (r < 0) {
		ws->http_status = h.status;
		ws_terminate(ws, 1006, "%s", h.why);
		return -1;
	}
	/* Frames may have come in the same read as the headers. */
	memmove(ws->rbuf.p, ws->rbuf.p + h.hlen, ws->rbuf.len - h.hlen);
	ws->rbuf.len -= h.hlen;
	ws->state = WS_CLIENT_OPEN;
	uv_timer_stop(&ws->timer);
	ws->cb->on_open(ws);
	return ws->state == WS_CLIENT_OPEN ? 1 : -1;
}

/* Bytes arrived in rbuf: the upgrade reply first, frames after it. */
static void
ws_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct ws_client *ws = s->data;

	(void)b;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (ws->state == WS_CLIENT_HANDSHAKE)
			ws_terminate(ws, 1006, "connection closed during "
			    "the upgrade: %s", uv_strerror((int)nread));
		else if (nread == UV_EOF)
			ws_terminate(ws, 1006, "connection closed without "
			    "a close frame");
		else
			ws_terminate(ws, 1006, "read: %s",
			    uv_strerror((int)nread));
		return;
	}
	ws->rbuf.len += (size_t)nread;
	if (ws->state == WS_CLIENT_HANDSHAKE &&
	    ws_parse_handshake(ws) != 1)
		return;
	ws_parse(ws);
}

/* Hand a complete message to the caller, failing invalid text with 1007. */
static void
ws_deliver(struct ws_client *ws, int opcode, const char *p, size_t len)
{
	if (opcode == WS_OP_TEXT && !utf8_valid(p, len)) {
		ws_fail(ws, 1007, "invalid UTF-8 in a text message");
		return;
	}
	ws->cb->on_message(ws, opcode, p, len);
}

/* Fail the connection (RFC 6455 7.1.7): say why in a close, then hang up. */
static void
ws_fail(struct ws_client *ws, int code, const char *why)
{
	if (ws->state == WS_CLIENT_OPEN || ws->state == WS_CLIENT_CLOSING)
		ws_send_close(ws, code, why);
	ws_terminate(ws, code, "%s", why);
}

/* A close frame came: record why, answer it unless we started, wait for EOF. */
static void
ws_on_close_frame(struct ws_client *ws, const unsigned char *p, size_t len)
{
	const char *why;
	int code, fail;
	size_t rlen;

	if ((fail = ws_close_parse(p, len, &code, &why)) != 0) {
		ws_fail(ws, fail, why);
		return;
	}
	if (ws->close_received)
		return;
	ws->close_received = 1;
	ws->end_code = code;
	rlen = len > 2 ? len - 2 : 0;
	if (rlen >= sizeof ws->reason)
		rlen = sizeof ws->reason - 1;
	memcpy(ws->reason, p + 2 * (len >= 2), rlen);
	ws->reason[rlen] = '\0';
	if (ws->state == WS_CLIENT_OPEN) {
		/* Echo the code, as RFC 6455 5.5.1 asks. */
		ws->state = WS_CLIENT_CLOSING;
		uv_timer_start(&ws->timer, ws_timer_fired, WS_CLOSE_MS, 0);
		ws_send_close(ws, code, NULL);
	}
	/* The server closes the TCP connection first (RFC 6455 7.1.1). */
}

/*
 * Parse and act on every complete frame in rbuf, then keep the partial one
 * at the front. Callbacks may close or abort the client meanwhile.
 */
static void
ws_parse(struct ws_client *ws)
{
	struct ws_frame f;
	unsigned char *p;
	size_t off = 0, avail;
	int opcode, r;

	while (ws->state == WS_CLIENT_OPEN || ws->state == WS_CLIENT_CLOSING) {
		p = (unsigned char *)ws->rbuf.p + off;
		avail = ws->rbuf.len - off;
		if ((r = ws_frame_parse(p, avail, &f)) == 0)
			break;
		if (r < 0) {
			ws_fail(ws, f.code, f.why);
			return;
		}
		if (!(f.opcode & 0x08) && (f.plen > ws->max_message ||
		    ws->frag.len + f.plen > ws->max_message)) {
			ws_fail(ws, 1009, "message too big");
			return;
		}
		if (avail - f.hlen < f.plen) {
			/* Grow once to hold the whole frame. */
			ws_bytes_reserve(&ws->rbuf, f.hlen + f.plen - avail);
			break;
		}
		off += f.hlen + f.plen;
		p += f.hlen;

		switch (opcode = f.opcode) {
		case WS_OP_TEXT:
		case WS_OP_BINARY:
			if (ws->frag_opcode != 0) {
				ws_fail(ws, 1002, "new message inside "
				    "a fragmented one");
				return;
			}
			if (ws->close_received)
				break;
			if (f.fin) {
				ws_deliver(ws, opcode, (char *)p, f.plen);
				break;
			}
			ws->frag_opcode = (uint8_t)opcode;
			ws->frag.len = 0;
			ws_bytes_add(&ws->frag, p, f.plen);
			break;
		case WS_OP_CONT:
			if (ws->frag_opcode == 0) {
				ws_fail(ws, 1002, "continuation without "
				    "a message");
				return;
			}
			ws_bytes_add(&ws->frag, p, f.plen);
			if (f.fin) {
				opcode = ws->frag_opcode;
				ws->frag_opcode = 0;
				if (!ws->close_received)
					ws_deliver(ws, opcode, ws->frag.p,
					    ws->frag.len);
				ws->frag.len = 0;
			}
			break;
		case WS_OP_PING:
			if (ws->state == WS_CLIENT_OPEN)
				ws_send_frame(ws, WS_OP_PONG, p, f.plen);
			break;
		case WS_OP_PONG:
			break;
		case WS_OP_CLOSE:
			ws_on_close_frame(ws, p, f.plen);
			break;
		}
	}
	if (ws->state == WS_CLIENT_ENDING || ws->state == WS_CLIENT_IDLE)
		return;
	if (off > 0) {
		memmove(ws->rbuf.p, ws->rbuf.p + off, ws->rbuf.len - off);
		ws->rbuf.len -= off;
	}
}

/* TCP is up: send the upgrade request with a fresh key. */
static void
ws_connected(uv_connect_t *req, int status)
{
	struct ws_client *ws = req->data;
	struct ws_bytes *w = &ws->wbuf;
	unsigned char nonce[16];
	int r;

	if (ws->state != WS_CLIENT_CONNECTING)
		return;
	if (status < 0) {
		ws_terminate(ws, 1006, "connect: %s", uv_strerror(status));
		return;
	}
	if (RAND_bytes(nonce, sizeof nonce) != 1 ||
	    RAND_bytes((unsigned char *)&ws->rng, sizeof ws->rng) != 1)
		fatalx("cannot get random bytes from OpenSSL");
	ws->rng |= 1;	/* xorshift must not start at zero */
	ws_key_make(nonce, ws->key);

	w->len = 0;
	ws_bytes_reserve(w, WS_REQUEST_MAX(ws->host, ws->path));
	w->len = ws_handshake_request(w->p, w->cap, ws->host, ws->port,
	    ws->path, ws->key);
	ws->state = WS_CLIENT_HANDSHAKE;
	r = uv_read_start((uv_stream_t *)&ws->tcp, ws_alloc, ws_read);
	if (r != 0) {
		ws_terminate(ws, 1006, "read: %s", uv_strerror(r));
		return;
	}
	ws_write(ws, w->p, w->len);
}

/*
 * Connect to addr and upgrade to a WebSocket at path (with its query),
 * sending host and port in the Host header. Every outcome is reported by a
 * callback: on_open, or on_close (connect errors included). Returns -1 only
 * when the client is not idle.
 */
int
ws_client_connect(struct ws_client *ws, const struct sockaddr *addr,
    const char *host, int port, const char *path)
{
	int r;

	if (ws->state != WS_CLIENT_IDLE)
		return -1;
	ws->host = host;
	ws->port = port;
	ws->path = path;
	ws->http_status = 0;
	ws->end_code = 0;
	ws->reason[0] = '\0';
	ws->close_received = 0;
	ws->limit_hit = 0;
	ws->frag_opcode = 0;
	ws->rbuf.len = ws->wbuf.len = ws->frag.len = 0;

	uv_tcp_init(ws->loop, &ws->tcp);
	uv_timer_init(ws->loop, &ws->timer);
	ws->tcp.data = ws;
	ws->timer.data = ws;
	ws->connect.data = ws;
	ws->state = WS_CLIENT_CONNECTING;
	uv_timer_start(&ws->timer, ws_timer_fired, WS_HANDSHAKE_MS, 0);
	uv_tcp_nodelay(&ws->tcp, 1);
	r = uv_tcp_connect(&ws->connect, &ws->tcp, addr, ws_connected);
	if (r != 0)
		ws_terminate(ws, 1006, "connect: %s", uv_strerror(r));
	return 0;
}
