/*
 * redis_uv.c owns attaching a hiredis async context to a libuv loop, for
 * roomd's store and the cluster layer alike.
 *
 * Why not hiredis's own adapters/libuv.h: in the hiredis 0.14 that Debian
 * ships, its poll callback returns early when libuv reports an error, so a
 * refused (re)connect is never seen by hiredis and the loop spins on
 * EPOLLERR forever. Here an error is handed to hiredis as readiness, which
 * makes it read the socket error and fail the connection properly.
 */
#include <stdlib.h>

#include <hiredis/async.h>
#include <uv.h>

#include "shared.h"
#include "cluster.h"

/*
 * Writes. hiredis asks for a writable event whenever a command is queued
 * and drops it once the buffer is out; with a uv_poll that is two
 * uv_poll_start calls per command batch, and libuv turns each into an
 * epoll_ctl DEL now and an ADD at the next poll: four system calls and an
 * extra loop iteration per batch, more than the write itself. So once the
 * connection is up, a queued command only starts a prepare handle, and
 * the buffer is written right before the loop sleeps, every command of
 * the iteration in one write. Only a write that leaves bytes behind (the
 * socket is full), and a command queued after that flush in the same
 * iteration (by another prepare callback: the window lasts until the
 * loop's check phase), wait for the socket to be writable.
 */
struct redis_uv {
	redisAsyncContext *ac;	/* NULL once hiredis has cleaned up */
	uv_poll_t poll;
	uv_prepare_t flush;	/* started while a write is pending */
	uv_check_t window;	/* started from the flush to the check phase */
	int events;
	int pending;		/* a write waits for the flush */
	int flushing;		/* inside the flush's redisAsyncHandleWrite */
	int in_window;		/* the flush has run this iteration */
	int open_handles;	/* freed when the last one has closed */
};

static void
redis_uv_closed(uv_handle_t *h)
{
	struct redis_uv *p = h->data;

	if (--p->open_handles == 0)
		free(p);
}

static void
redis_uv_poll(uv_poll_t *h, int status, int events)
{
	struct redis_uv *p = h->data;

	if (status < 0)
		events = UV_READABLE | UV_WRITABLE;
	/* Each call may free the context: check before the next. */
	if (p->ac != NULL && (events & UV_READABLE))
		redisAsyncHandleRead(p->ac);
	if (p->ac != NULL && (events & UV_WRITABLE))
		redisAsyncHandleWrite(p->ac);
}

static void
redis_uv_update(struct redis_uv *p, int events)
{
	if (events == p->events)
		return;
	p->events = events;
	if (events != 0)
		uv_poll_start(&p->poll, events, redis_uv_poll);
	else
		uv_poll_stop(&p->poll);
}

static void
redis_uv_add_read(void *arg)
{
	struct redis_uv *p = arg;

	redis_uv_update(p, p->events | UV_READABLE);
}

static void
redis_uv_del_read(void *arg)
{
	struct redis_uv *p = arg;

	redis_uv_update(p, p->events & ~UV_READABLE);
}

static void
redis_uv_window_end(uv_check_t *h)
{
	struct redis_uv *p = h->data;

	p->in_window = 0;
	uv_check_stop(h);
}

static void
redis_uv_flush(uv_prepare_t *h)
{
	struct redis_uv *p = h->data;

	uv_prepare_stop(h);
	if (!p->pending || p->ac == NULL)
		return;
	p->pending = 0;
	p->in_window = 1;
	uv_check_start(&p->window, redis_uv_window_end);
	p->flushing = 1;
	redisAsyncHandleWrite(p->ac);	/* may clean up: p stays till closed */
	p->flushing = 0;
}

static void
redis_uv_add_write(void *arg)
{
	struct redis_uv *p = arg;

	if ((p->ac->c.flags & REDIS_CONNECTED) && !p->flushing &&
	    !p->in_window) {
		if (!p->pending) {
			p->pending = 1;
			uv_prepare_start(&p->flush, redis_uv_flush);
		}
		return;
	}
	/* Connecting (hiredis learns the outcome from writability), the
	 * socket is full, or too late for this iteration's flush. */
	redis_uv_update(p, p->events | UV_WRITABLE);
}

static void
redis_uv_del_write(void *arg)
{
	struct redis_uv *p = arg;

	p->pending = 0;
	redis_uv_update(p, p->events & ~UV_WRITABLE);
}

/* hiredis is done with the context: close the handle, free in its cb. */
static void
redis_uv_cleanup(void *arg)
{
	struct redis_uv *p = arg;

	p->ac = NULL;
	p->pending = 0;
	uv_close((uv_handle_t *)&p->poll, redis_uv_closed);
	uv_close((uv_handle_t *)&p->flush, redis_uv_closed);
	uv_close((uv_handle_t *)&p->window, redis_uv_closed);
}

int
redis_uv_attach(redisAsyncContext *ac, uv_loop_t *l)
{
	struct redis_uv *p;

	if (ac->ev.data != NULL)
		return -1;
	p = xcalloc(1, sizeof *p);
	if (uv_poll_init(l, &p->poll, ac->c.fd) != 0) {
		free(p);
		return -1;
	}
	uv_prepare_init(l, &p->flush);
	uv_check_init(l, &p->window);
	p->open_handles = 3;
	p->ac = ac;
	p->poll.data = p;
	p->flush.data = p;
	p->window.data = p;
	ac->ev.addRead = redis_uv_add_read;
	ac->ev.delRead = redis_uv_del_read;
	ac->ev.addWrite = redis_uv_add_write;
	ac->ev.delWrite = redis_uv_del_write;
	ac->ev.cleanup = redis_uv_cleanup;
	ac->ev.data = p;
	return 0;
}
