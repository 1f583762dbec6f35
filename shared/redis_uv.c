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
struct redis_uv {
	redisAsyncContext *ac;	/* NULL once hiredis has cleaned up */
	uv_poll_t poll;
	int events;
};

static void
redis_uv_closed(uv_handle_t *h)
{
	free(h->data);
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
redis_uv_add_write(void *arg)
{
	struct redis_uv *p = arg;

	redis_uv_update(p, p->events | UV_WRITABLE);
}

static void
redis_uv_del_write(void *arg)
{
	struct redis_uv *p = arg;

	redis_uv_update(p, p->events & ~UV_WRITABLE);
}

/* hiredis is done with the context: close the handle, free in its cb. */
static void
redis_uv_cleanup(void *arg)
{
	struct redis_uv *p = arg;

	p->ac = NULL;
	uv_close((uv_handle_t *)&p->poll, redis_uv_closed);
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
	p->ac = ac;
	p->poll.data = p;
	ac->ev.addRead = redis_uv_add_read;
	ac->ev.delRead = redis_uv_del_read;
	ac->ev.addWrite = redis_uv_add_write;
	ac->ev.delWrite = redis_uv_del_write;
	ac->ev.cleanup = redis_uv_cleanup;
	ac->ev.data = p;
	return 0;
}
