/*
 * frame.c: outgoing WebSocket frames, encoded once and shared by reference
 * between every connection they are queued on.
 */
#include <string.h>

#include <libwebsockets.h>

#include "roomd.h"

#define FRAME_HDR_MAX 10

/*
 * Build a text frame holding a copy of the JSON text. The WebSocket header
 * is written right before the payload, so data..data+len is exactly what
 * goes on the wire. Returns a frame with one reference.
 */
static struct frame *
frame_build(unsigned char opcode, const char *text, size_t len)
{
	struct frame *f;
	unsigned char hdr[FRAME_HDR_MAX];
	size_t hlen;

	hdr[0] = 0x80 | opcode;	/* FIN */
	if (len < 126) {
		hdr[1] = (unsigned char)len;
		hlen = 2;
	} else if (len < 65536) {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		hlen = 4;
	} else {
		hdr[1] = 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
		hlen = 10;
	}
	f = xmalloc(sizeof *f + LWS_PRE + FRAME_HDR_MAX + len);
	f->refs = 1;
	f->len = (uint32_t)(hlen + len);
	f->seq.ms = f->seq.n = 0;
	f->data = f->buf + LWS_PRE + FRAME_HDR_MAX - hlen;
	memcpy(f->data, hdr, hlen);
	memcpy(f->data + hlen, text, len);
	return f;
}

struct frame *
frame_new(const char *text, size_t len)
{
	return frame_build(0x1, text, len);
}

/*
 * A close frame with a code and a reason (cut to fit the 125 bytes a
 * control frame may carry).
 */
struct frame *
frame_close(uint16_t code, const char *reason)
{
	char payload[125];
	size_t n = strlen(reason);

	if (n > sizeof payload - 2)
		n = sizeof payload - 2;
	payload[0] = (char)(code >> 8);
	payload[1] = (char)(code & 0xff);
	memcpy(payload + 2, reason, n);
	return frame_build(0x8, payload, n + 2);
}

/*
 * The keepalive ping: one frame, shared by every connection forever. It
 * carries a payload because clients echo it in their pong, and lws only
 * reports pongs that are not empty.
 */
struct frame *
frame_ping(void)
{
	static struct frame *ping;

	if (ping == NULL)
		ping = frame_build(0x9, "roomd", 5);
	return ping;
}

struct frame *
frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void
frame_unref(struct frame *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}

/*
 * Read the seq of a room frame as published by the scripts, which always
 * put it first: {"seq":"<ms>-<n>",... . Sets *end to the offset just past
 * the seq's closing quote. Returns -1 if the text is not of that form.
 */
int
frame_parse_seq(const char *text, size_t len, struct seq *seq, size_t *end)
{
	static const char head[] = "{\"seq\":\"";
	const size_t hl = sizeof head - 1;
	const char *q;

	if (len < hl + 4 || memcmp(text, head, hl) != 0)
		return -1;
	q = memchr(text + hl, '"', len - hl);
	if (q == NULL)
		return -1;
	if (seq_parse(text + hl, (size_t)(q - text - hl), seq) != 0)
		return -1;
	*end = (size_t)(q - text) + 1;
	return 0;
}

/* Is f a close frame (from frame_close)? */
int
frame_is_close(const struct frame *f)
{
	return (f->data[0] & 0x0f) == 0x8;
}

/* The code and reason of a close frame made by frame_close. */
void
frame_close_parts(const struct frame *f, uint16_t *code,
    const unsigned char **reason, size_t *rlen)
{
	/* Its payload is at most 125 bytes: a 2-byte header. */
	*code = (uint16_t)(f->data[2] << 8 | f->data[3]);
	*reason = f->data + 4;
	*rlen = f->len - 4;
}
