/*
 * defer.c: the requests a connection holds back while an earlier one (a
 * join waiting for its room's subscription) blocks it, so that one
 * client's requests still run in the order it sent them.
 */
#include <string.h>

#include "roomd.h"

/* Runs a request held back; main.c wires request_run. */
static void (*defer_run)(struct conn *, const char *, size_t);

void
defer_init(void (*run)(struct conn *, const char *, size_t))
{
	defer_run = run;
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
	d = xmalloc(sizeof *d);
	d->text = xstrndup(text, len);
	d->len = len;
	STAILQ_INSERT_TAIL(&c->deferred, d, entry);
	return 1;
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
		defer_run(c, d->text, d->len);
		free(d->text);
		free(d);
	}
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
}
