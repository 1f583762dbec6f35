/*
 * fuzz_wsframe.c: libFuzzer harness for the pure side of roomctl's
 * WebSocket client (cli/wsframe.c): the input is what a server sends, read
 * as wsclient.c reads it: the reply to the upgrade (checked against a fixed
 * key), then the frames after it, each header parsed, a close frame's
 * payload checked. The same bytes are also read as frames alone, and sent
 * through ws_frame_encode and back. Every verdict must be consistent: a
 * header within the bytes, a refusal with a reason and a close code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "roomctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The key of the seeds' upgrades: its accept is in the corpus. */
#define FUZZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* Read frames from p (len bytes) until one is incomplete or refused. */
static void
read_frames(const unsigned char *p, size_t len)
{
	struct ws_frame f;
	const char *why;
	size_t off = 0;
	int rc, code, fail;

	while (off < len) {
		rc = ws_frame_parse(p + off, len - off, &f);
		if (rc == 0) {
			if (len - off >= WS_FRAME_HEADER_MAX - 4)
				abort();	/* ten bytes always tell */
			return;
		}
		if (rc < 0) {
			if (f.code != 1002 || f.why == NULL)
				abort();
			return;
		}
		if (rc != 1 || f.hlen < 2 || f.hlen > 10 ||
		    f.hlen > len - off || (f.opcode & 0x08 && f.plen > 125))
			abort();
		if (f.plen > len - off - f.hlen)
			return;		/* the payload is still to come */
		if (f.opcode == WS_OP_CLOSE) {
			why = NULL;
			fail = ws_close_parse(p + off + f.hlen, (size_t)f.plen,
			    &code, &why);
			if (fail != 0 && ((fail != 1002 && fail != 1007) ||
			    why == NULL))
				abort();
			if (fail == 0 && (code < 1000 || code >= 5000))
				abort();
		}
		off += f.hlen + (size_t)f.plen;
	}
}

/* Encode the input as one frame, make it a server's, and parse it back. */
static void
round_trip(const unsigned char *p, size_t len)
{
	static const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	struct ws_frame f;
	unsigned char *out;
	size_t n, i, hlen;
	int opcode;

	if (len == 0)
		return;
	opcode = (p[0] & 1) ? WS_OP_TEXT : WS_OP_BINARY;
	out = malloc(len + WS_FRAME_HEADER_MAX);
	n = ws_frame_encode(out, opcode, p, len, mask);
	if (n < len + 6 || n > len + WS_FRAME_HEADER_MAX || !(out[1] & 0x80))
		abort();
	hlen = n - len - 4;
	if (memcmp(out + hlen, mask, 4) != 0)
		abort();
	/* Unmask in place: drop the mask bit and the key. */
	out[1] &= 0x7f;
	for (i = 0; i < len; i++)
		out[hlen + i] = out[hlen + 4 + i] ^ mask[i & 3];
	if (ws_frame_parse(out, hlen + len, &f) != 1 || !f.fin ||
	    f.opcode != opcode || f.plen != len || f.hlen != hlen ||
	    memcmp(out + hlen, p, len) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_handshake h;
	char *copy;
	int rc;

	/* Exactly size bytes, so ASan sees any read past them. */
	copy = malloc(size != 0 ? size : 1);
	memcpy(copy, data, size);
	rc = ws_handshake_parse(copy, size, FUZZ_KEY, &h);
	if (rc == 1) {
		if (h.hlen < 16 || h.hlen > size || h.status != 0 ||
		    memcmp(copy + h.hlen - 4, "\r\n\r\n", 4) != 0)
			abort();
		read_frames((const unsigned char *)copy + h.hlen,
		    size - h.hlen);
	} else if (rc == -1) {
		if (h.why[0] == '\0' || (h.status != 0 &&
		    (h.status < 0 || h.status > 999 || h.status == 101)))
			abort();
	} else if (rc != 0 || size > WS_HEADER_MAX)
		abort();
	read_frames((const unsigned char *)copy, size);
	round_trip((const unsigned char *)copy, size);
	free(copy);
	return 0;
}
