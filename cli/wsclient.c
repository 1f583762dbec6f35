/*
 * wsclient.c owns roomctl's WebSocket client: RFC 6455, client side, over a
 * libuv TCP handle, with no allocation per message once its buffers have
 * grown to the largest frame seen.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "roomctl.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_PROTOCOL "roomd.v1"
#define WS_HEADER_MAX 16384		/* the upgrade reply's headers */
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
ws_client_is_open(const struct ws_client *ws)
{
	return ws->state == WS_CLIENT_OPEN;
}

int
ws_client_http_status(const struct ws_client *ws)
{
	return ws->http_status;
}

/*
 * Resolve host (a literal address without lookup) and port into ss, once,
 * before the loop runs: load mode connects thousands of times to one
 * address. Returns -1 and an allocated cause on failure.
 */
int
ws_client_resolve(uv_loop_t *loop, const char *host, int port,
    struct sockaddr_storage *ss, char **cause)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct addrinfo hints, *ai;
	uv_getaddrinfo_t req;
	char service[16];
	int r;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof service, "%d", port);
	/* Without a callback uv_getaddrinfo runs synchronously. */
	r = uv_getaddrinfo(loop, &req, NULL, host, service, &hints);
	if (r != 0) {
		xasprintf(cause, "%s: %s", host, uv_strerror(r));
		return -1;
	}
	ai = req.addrinfo;
	if (ai == NULL || ai->ai_addrlen > sizeof *ss) {
		uv_freeaddrinfo(ai);
		xasprintf(cause, "%s: no address", host);
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	uv_freeaddrinfo(ai);
	return 0;
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
	const unsigned char *src = data;
	unsigned char *h, mask[4];
	uint32_t m;
	size_t hlen, i;

	ws->wbuf.len = 0;
	ws_bytes_reserve(&ws->wbuf, 14 + len);
	h = (unsigned char *)ws->wbuf.p;
	h[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		h[1] = 0x80 | (unsigned char)len;
		hlen = 2;
	} else if (len <= 0xffff) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		hlen = 4;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
		hlen = 10;
	}
	m = ws_random(ws);
	memcpy(mask, &m, 4);
	memcpy(h + hlen, mask, 4);
	hlen += 4;
	for (i = 0; i < len; i++)
		h[hlen + i] = src[i] ^ mask[i & 3];
	ws->wbuf.len = hlen + len;
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

/* Case-insensitive comparison of a counted string with a C string. */
static int
ws_token_eq(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(p, s, n) == 0;
}

/* Whether a comma-separated header value holds token (Connection). */
static int
ws_has_token(const char *p, size_t n, const char *token)
{
	size_t i = 0, start, end;

	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		start = i;
		while (i < n && p[i] != ',')
			i++;
		end = i;
		while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		if (ws_token_eq(p + start, end - start, token))
			return 1;
	}
	return 0;
}

/* Compute the Sec-WebSocket-Accept value expected for our key. */
static void
ws_expected_accept(const char *key, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[64];
	int n;

	n = snprintf(in, sizeof in, "%s%s", key, WS_GUID);
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/*
 * Check the server's reply to the upgrade once its headers are in rbuf.
 * Returns 1 when the connection is open, 0 to read more, -1 when it ended.
 */
static int
ws_parse_handshake(struct ws_client *ws)
{
	const char *p = ws->rbuf.p, *end, *line, *eol, *colon, *v;
	char accept[64];
	size_t hlen, vlen;
	int status, upgrade = 0, connection = 0, accepted = 0;

	end = memmem(p, ws->rbuf.len, "\r\n\r\n", 4);
	if (end == NULL) {
		if (ws->rbuf.len > WS_HEADER_MAX) {
			ws_terminate(ws, 1006, "upgrade reply too long");
			return -1;
		}
		return 0;
	}
	hlen = (size_t)(end - p) + 4;

	/* "HTTP/1.1 101 Switching Protocols" */
	if (hlen < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11])) {
		ws_terminate(ws, 1006, "bad upgrade reply");
		return -1;
	}
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (status != 101) {
		ws->http_status = status;
		ws_terminate(ws, 1006, "upgrade refused: HTTP %d", status);
		return -1;
	}

	ws_expected_accept(ws->key, accept);
	line = memchr(p, '\n', hlen) + 1;
	while (line < end + 2) {
		eol = memchr(line, '\r', (size_t)(end + 2 - line));
		if (eol == NULL || eol == line)
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL) {
			ws_terminate(ws, 1006, "bad header in upgrade reply");
			return -1;
		}
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(eol - v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
#define HDR(name) ws_token_eq(line, (size_t)(colon - line), name)
		if (HDR("upgrade"))
			upgrade = ws_token_eq(v, vlen, "websocket");
		else if (HDR("connection"))
			connection = ws_has_token(v, vlen, "upgrade");
		else if (HDR("sec-websocket-accept"))
			accepted = vlen == strlen(accept) &&
			    memcmp(v, accept, vlen) == 0;
		else if (HDR("sec-websocket-protocol")) {
			/* Absent is allowed; anything but ours is not. */
			if (!ws_token_eq(v, vlen, WS_PROTOCOL)) {
				ws_terminate(ws, 1006,
				    "server chose another subprotocol");
				return -1;
			}
		} else if (HDR("sec-websocket-extensions")) {
			ws_terminate(ws, 1006,
			    "server chose an extension we did not offer");
			return -1;
		}
#undef HDR
		line = eol + 2;
	}
	if (!upgrade || !connection || !accepted) {
		ws_terminate(ws, 1006, "bad upgrade reply: %s",
		    !upgrade ? "no Upgrade: websocket" :
		    !connection ? "no Connection: upgrade" :
		    "wrong Sec-WebSocket-Accept");
		return -1;
	}

	/* Frames may have come in the same read as the headers. */
	memmove(ws->rbuf.p, ws->rbuf.p + hlen, ws->rbuf.len - hlen);
	ws->rbuf.len -= hlen;
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

/* Whether p holds well-formed UTF-8 (RFC 3629: no surrogates, <= U+10FFFF). */
static int
ws_utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, k, more;
	uint32_t c;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			c &= 0x07;
		} else
			return 0;
		if (n - i <= more)
			return 0;
		for (k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if (more == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)))
			return 0;
		if (more == 3 && (c < 0x10000 || c > 0x10ffff))
			return 0;
		i += more + 1;
	}
	return 1;
}

/* Hand a complete message to the caller, failing invalid text with 1007. */
static void
ws_deliver(struct ws_client *ws, int opcode, const char *p, size_t len)
{
	if (opcode == WS_OP_TEXT &&
	    !ws_utf8_valid((const unsigned char *)p, len)) {
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
	int code = 1005;
	size_t rlen;

	if (len == 1) {
		ws_fail(ws, 1002, "close frame with a one-byte payload");
		return;
	}
	if (len >= 2) {
		code = (p[0] << 8) | p[1];
		if (code < 1000 || code >= 5000 || code == 1004 ||
		    code == 1005 || code == 1006 ||
		    (code > 1011 && code < 3000)) {
			ws_fail(ws, 1002, "invalid close code");
			return;
		}
		if (!ws_utf8_valid(p + 2, len - 2)) {
			ws_fail(ws, 1007, "invalid UTF-8 in a close reason");
			return;
		}
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
	unsigned char *p;
	size_t off = 0, avail, hlen;
	uint64_t plen;
	int fin, opcode, i;

	while (ws->state == WS_CLIENT_OPEN || ws->state == WS_CLIENT_CLOSING) {
		p = (unsigned char *)ws->rbuf.p + off;
		avail = ws->rbuf.len - off;
		if (avail < 2)
			break;
		fin = p[0] & 0x80;
		opcode = p[0] & 0x0f;
		plen = p[1] & 0x7f;
		hlen = 2;
		if (p[0] & 0x70) {
			ws_fail(ws, 1002, "reserved bits set");
			return;
		}
		if (p[1] & 0x80) {
			ws_fail(ws, 1002, "masked frame from the server");
			return;
		}
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = ((uint64_t)p[2] << 8) | p[3];
			hlen = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (i = 0; i < 8; i++)
				plen = (plen << 8) | p[2 + i];
			hlen = 10;
		}
		if (opcode & 0x08) {
			if (!fin || plen > 125) {
				ws_fail(ws, 1002, "bad control frame");
				return;
			}
		} else if (plen > ws->max_message ||
		    ws->frag.len + plen > ws->max_message) {
			ws_fail(ws, 1009, "message too big");
			return;
		}
		if (avail - hlen < plen) {
			/* Grow once to hold the whole frame. */
			ws_bytes_reserve(&ws->rbuf, hlen + plen - avail);
			break;
		}
		off += hlen + plen;

		switch (opcode) {
		case WS_OP_TEXT:
		case WS_OP_BINARY:
			if (ws->frag_opcode != 0) {
				ws_fail(ws, 1002, "new message inside "
				    "a fragmented one");
				return;
			}
			if (ws->close_received)
				break;
			if (fin) {
				ws_deliver(ws, opcode, (char *)p + hlen, plen);
				break;
			}
			ws->frag_opcode = (uint8_t)opcode;
			ws->frag.len = 0;
			ws_bytes_add(&ws->frag, p + hlen, plen);
			break;
		case WS_OP_CONT:
			if (ws->frag_opcode == 0) {
				ws_fail(ws, 1002, "continuation without "
				    "a message");
				return;
			}
			ws_bytes_add(&ws->frag, p + hlen, plen);
			if (fin) {
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
				ws_send_frame(ws, WS_OP_PONG, p + hlen, plen);
			break;
		case WS_OP_PONG:
			break;
		case WS_OP_CLOSE:
			ws_on_close_frame(ws, p + hlen, plen);
			break;
		default:
			ws_fail(ws, 1002, "unknown opcode");
			return;
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
	int n, r;

	if (ws->state != WS_CLIENT_CONNECTING)
		return;
	if (status < 0) {
		ws_terminate(ws, 1006, "connect: %s", uv_strerror(status));
		return;
	}
	if (RAND_bytes(nonce, sizeof nonce) != 1 ||
	    RAND_bytes((unsigned char *)&ws->rng, sizeof ws->rng) != 1)
		fatalx("RAND_bytes failed");
	ws->rng |= 1;	/* xorshift must not start at zero */
	EVP_EncodeBlock((unsigned char *)ws->key, nonce, sizeof nonce);

	w->len = 0;
	ws_bytes_reserve(w, 512 + strlen(ws->host) + strlen(ws->path));
	n = snprintf(w->p, w->cap,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s%s%s:%d\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: " WS_PROTOCOL "\r\n"
	    "User-Agent: roomctl/" ROOMD_VERSION "\r\n"
	    "\r\n",
	    ws->path, strchr(ws->host, ':') != NULL ? "[" : "", ws->host,
	    strchr(ws->host, ':') != NULL ? "]" : "", ws->port, ws->key);
	w->len = (size_t)n;
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
