/*
 * defer.c: the requests a connection holds back while an earlier one (a
 * join waiting for its room's subscription) blocks it, or while the client
 * does not read its replies, so that one client's requests still run in
 * the order it sent them; bounded by not reading the client meanwhile.
 */
#include <string.h>

#include <libwebsockets.h>

#include "roomd.h"

/*
 * Past this many bytes held back the connection is not read from (lws
 * leaves the rest in the socket, and TCP makes the client wait) until
 * what is held has run down to half of it.
 */
#define DEFER_MAX_BYTES (1u << 20)

/* Runs a request held back; main.c wires request_run. */
static void (*defer_run)(struct conn *, const char *, size_t);

void
defer_init(void (*run)(struct conn *, const char *, size_t))
{
	defer_run = run;
}

/*
 * Stop (pause = 1) or start again reading the client's socket: lws keeps
 * what it has read and leaves the rest to TCP, so a client that sends
 * faster than its requests can run is made to wait.
 */
static void
defer_rx_pause(struct conn *c, int pause)
{
	if (c->wsi == NULL || c->rx_paused == pause)
		return;
	c->rx_paused = pause;
	lws_rx_flow_control(c->wsi, pause ? 0 : 1);
}

/* Count bytes held back; past the bound, stop reading the client. */
static void
defer_count(struct conn *c, size_t len)
{
	c->deferred_bytes += len;
	if (c->deferred_bytes > DEFER_MAX_BYTES)
		defer_rx_pause(c, 1);
}

/* A copy of a request: bytes, not a string (the frame may hold a NUL,
 * refused when it runs, and it runs with its full len). */
static struct deferred *
defer_copy(const char *text, size_t len)
{
	struct deferred *d = xmalloc(sizeof *d);

	d->text = xmalloc(len + 1);
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	d->len = len;
	return d;
}

/*
 * Hold a request back when the connection is blocked. Returns 1 when it
 * was held (a copy is kept), 0 when it may run now.
 */
int
defer_hold(struct conn *c, const char *text, size_t len)
{
	struct deferred *d;

	if (c->blocked == 0)
		return 0;
	d = defer_copy(text, len);	/* the macro names its element twice */
	STAILQ_INSERT_TAIL(&c->deferred, d, entry);
	defer_count(c, len);
	return 1;
}

/*
 * Block the connection and hold back a request that was about to run,
 * ahead of those held after it (it may have just left this queue's head).
 */
void
defer_block_first(struct conn *c, const char *text, size_t len)
{
	struct deferred *d = defer_copy(text, len);

	c->blocked++;
	STAILQ_INSERT_HEAD(&c->deferred, d, entry);
	defer_count(c, len);
}

/* A request of c waits (for a subscription): hold back those after it. */
void
defer_block(struct conn *c)
{
	c->blocked++;
}

/*
 * The request blocking the connection has been sent to Redis: run what
 * was held back, in order, until one blocks again.
 */
void
defer_unblock(struct conn *c)
{
	struct deferred *d;

	if (c->blocked > 0)
		c->blocked--;
	while (c->blocked == 0 && (d = STAILQ_FIRST(&c->deferred)) != NULL &&
	    c->wsi != NULL) {
		STAILQ_REMOVE_HEAD(&c->deferred, entry);
		c->deferred_bytes -= d->len;
		defer_run(c, d->text, d->len);
		free(d->text);
		free(d);
	}
	if (c->deferred_bytes <= DEFER_MAX_BYTES / 2)
		defer_rx_pause(c, 0);
}

/* The connection has closed: drop what it held back. */
void
defer_clear(struct conn *c)
{
	struct deferred *d;

	while ((d = STAILQ_FIRST(&c->deferred)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->deferred, entry);
		free(d->text);
		free(d);
	}
	c->deferred_bytes = 0;
	defer_rx_pause(c, 0);
}
