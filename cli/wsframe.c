/*
 * wsframe.c owns the pure side of roomctl's WebSocket client (RFC 6455):
 * encoding masked frames, parsing frame headers and close payloads from
 * the server, and checking the server's reply to the upgrade. Nothing here
 * does I/O or keeps state, so it is unit tested on byte strings.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "roomctl.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/*
 * Encode one masked frame (FIN set) of len payload bytes into out, which
 * must hold len + WS_FRAME_HEADER_MAX bytes. Returns the frame's length.
 */
size_t
ws_frame_encode(unsigned char *out, int opcode, const void *data, size_t len,
    const unsigned char mask[4])
{
	const unsigned char *src = data;
	size_t hlen, i;

	out[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		out[1] = 0x80 | (unsigned char)len;
		hlen = 2;
	} else if (len <= 0xffff) {
		out[1] = 0x80 | 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		hlen = 4;
	} else {
		out[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
		hlen = 10;
	}
	memcpy(out + hlen, mask, 4);
	hlen += 4;
	for (i = 0; i < len; i++)
		out[hlen + i] = src[i] ^ mask[i & 3];
	return hlen + len;
}

/* Fill f with an error: the close code to fail with and why. */
static int
ws_frame_error(struct ws_frame *f, int code, const char *why)
{
	f->code = code;
	f->why = why;
	return -1;
}

/*
 * Parse the header of the frame at p (avail bytes) that a server sent.
 * Returns 1 with f filled (the payload is at p + f->hlen, and complete when
 * avail >= f->hlen + f->plen), 0 when more bytes are needed to know the
 * header, or -1 with f->code (1002) and f->why for a frame no server may
 * send: reserved bits, a mask, a bad control frame, an unknown opcode.
 */
int
ws_frame_parse(const void *data, size_t avail, struct ws_frame *f)
{
	const unsigned char *p = data;
	int i;

	memset(f, 0, sizeof *f);
	if (avail < 2)
		return 0;
	f->fin = (p[0] & 0x80) != 0;
	f->opcode = p[0] & 0x0f;
	f->plen = p[1] & 0x7f;
	f->hlen = 2;
	if (p[0] & 0x70)
		return ws_frame_error(f, 1002, "reserved bits set");
	if (p[1] & 0x80)
		return ws_frame_error(f, 1002, "masked frame from the server");
	switch (f->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return ws_frame_error(f, 1002, "unknown opcode");
	}
	if (f->plen == 126) {
		if (avail < 4)
			return 0;
		f->plen = ((uint64_t)p[2] << 8) | p[3];
		f->hlen = 4;
	} else if (f->plen == 127) {
		if (avail < 10)
			return 0;
		f->plen = 0;
		for (i = 0; i < 8; i++)
			f->plen = (f->plen << 8) | p[2 + i];
		f->hlen = 10;
	}
	if ((f->opcode & 0x08) && (!f->fin || f->plen > 125))
		return ws_frame_error(f, 1002, "bad control frame");
	return 1;
}

/*
 * Check a close frame's payload (len bytes at p): *code is its close code
 * (1005 when it has none). Returns 0, or the code to fail the connection
 * with (1002, 1007) and *why.
 */
int
ws_close_parse(const unsigned char *p, size_t len, int *code,
    const char **why)
{
	*code = 1005;
	if (len == 0)
		return 0;
	if (len == 1) {
		*why = "close frame with a one-byte payload";
		return 1002;
	}
	*code = (p[0] << 8) | p[1];
	if (*code < 1000 || *code >= 5000 || *code == 1004 || *code == 1005 ||
	    *code == 1006 || (*code > 1011 && *code < 3000)) {
		*why = "invalid close code";
		return 1002;
	}
	if (!utf8_valid(p + 2, len - 2)) {
		*why = "invalid UTF-8 in a close reason";
		return 1007;
	}
	return 0;
}

/*
 * Format the upgrade request for path (with its query) on host:port with
 * key into out, which holds cap >= WS_REQUEST_MAX(host, path) bytes.
 * Returns its length.
 */
size_t
ws_handshake_request(char *out, size_t cap, const char *host, int port,
    const char *path, const char *key)
{
	int v6 = strchr(host, ':') != NULL, n;

	n = snprintf(out, cap,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s%s%s:%d\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: " WS_PROTOCOL "\r\n"
	    "User-Agent: roomctl/" ROOMD_VERSION "\r\n"
	    "\r\n",
	    path, v6 ? "[" : "", host, v6 ? "]" : "", port, key);
	if (n < 0 || (size_t)n >= cap)
		fatalx("%s: request too long", __func__);
	return (size_t)n;
}

/* The Sec-WebSocket-Key for 16 random bytes: base64, in out[25]. */
void
ws_key_make(const unsigned char nonce[16], char out[WS_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, nonce, 16);
}

/* The Sec-WebSocket-Accept a server must answer key with, in out[29]. */
void
ws_accept_make(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[128];
	int n;

	n = snprintf(in, sizeof in, "%s%s", key, WS_GUID);
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
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

/* Fill h with why the reply is not an upgrade; returns -1. */
static int printflike(2, 3)
ws_handshake_error(struct ws_handshake *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->why, sizeof h->why, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Check the server's reply (len bytes at p) to an upgrade sent with key.
 * Returns 0 while the headers are incomplete (-1 when they are already
 * longer than WS_HEADER_MAX), 1 when the connection is upgraded (h->hlen
 * bytes of headers, frames may follow), or -1 with h->why, and h->status
 * set when the server refused with another HTTP status.
 */
int
ws_handshake_parse(const char *p, size_t len, const char *key,
    struct ws_handshake *h)
{
	const char *end, *line, *eol, *colon, *v;
	char accept[WS_ACCEPT_LEN + 1];
	size_t hlen, vlen;
	int upgrade = 0, connection = 0, accepted = 0;

	memset(h, 0, sizeof *h);
	end = memmem(p, len, "\r\n\r\n", 4);
	if (end == NULL) {
		if (len > WS_HEADER_MAX)
			return ws_handshake_error(h, "upgrade reply too long");
		return 0;
	}
	hlen = (size_t)(end - p) + 4;

	/* "HTTP/1.1 101 Switching Protocols" */
	if (hlen < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]))
		return ws_handshake_error(h, "bad upgrade reply");
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status != 101)
		return ws_handshake_error(h, "upgrade refused: HTTP %d",
		    h->status);
	h->status = 0;

	ws_accept_make(key, accept);
	line = (const char *)memchr(p, '\n', hlen) + 1;
	while (line < end + 2) {
		eol = memchr(line, '\r', (size_t)(end + 2 - line));
		if (eol == NULL || eol == line)
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL)
			return ws_handshake_error(h,
			    "bad header in upgrade reply");
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
			if (!ws_token_eq(v, vlen, WS_PROTOCOL))
				return ws_handshake_error(h,
				    "server chose another subprotocol");
		} else if (HDR("sec-websocket-extensions"))
			return ws_handshake_error(h,
			    "server chose an extension we did not offer");
#undef HDR
		line = eol + 2;
	}
	if (!upgrade || !connection || !accepted)
		return ws_handshake_error(h, "bad upgrade reply: %s",
		    !upgrade ? "no Upgrade: websocket" :
		    !connection ? "no Connection: upgrade" :
		    "wrong Sec-WebSocket-Accept");
	h->hlen = hlen;
	return 1;
}
