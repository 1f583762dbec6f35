/*
 * pace.c: waiting until clients have read enough to be sent more. A job
 * that sends a lot in batches (a join's recovered frames, a catch-up, a
 * client's requests held while it does not read) registers a test and a
 * continuation; one timer polls the tests, so no connection needs to know
 * who waits for it.
 */
#include "roomd.h"

#define PACE_POLL_MS 5

/* A job waiting for ready(arg); go(arg) runs once it is. */
struct pace_job {
	int (*ready)(void *);
	void (*go)(void *);
	void *arg;
	TAILQ_ENTRY(pace_job) entry;
};

static TAILQ_HEAD(, pace_job) jobs = TAILQ_HEAD_INITIALIZER(jobs);
static uv_timer_t pace_timer;
static enum { PACE_NEW, PACE_RUNNING, PACE_CLOSED } pace_state;

static void
pace_tick(uv_timer_t *t)
{
	TAILQ_HEAD(, pace_job) now = TAILQ_HEAD_INITIALIZER(now);
	struct pace_job *j, *next;

	/* go() may wait again: take the list first. */
	TAILQ_CONCAT(&now, &jobs, entry);
	for (j = TAILQ_FIRST(&now); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		TAILQ_REMOVE(&now, j, entry);
		if (!j->ready(j->arg)) {
			TAILQ_INSERT_TAIL(&jobs, j, entry);
			continue;
		}
		j->go(j->arg);
		free(j);
	}
	if (TAILQ_EMPTY(&jobs))
		uv_timer_stop(t);
}

/*
 * Run go(arg) once ready(arg) is true, polled every few milliseconds
 * (never from within this call). arg must stay valid until go runs; ready
 * must also say yes when what it waits for is gone, and go cope with that.
 */
void
pace_wait(int (*ready)(void *), void (*go)(void *), void *arg)
{
	struct pace_job *j;

	if (pace_state == PACE_CLOSED) {
		go(arg);	/* shutting down: nobody waits any more */
		return;
	}
	if (pace_state == PACE_NEW) {
		uv_timer_init(loop, &pace_timer);
		pace_state = PACE_RUNNING;
	}
	j = xmalloc(sizeof *j);
	j->ready = ready;
	j->go = go;
	j->arg = arg;
	TAILQ_INSERT_TAIL(&jobs, j, entry);
	if (!uv_is_active((uv_handle_t *)&pace_timer))
		uv_timer_start(&pace_timer, pace_tick, PACE_POLL_MS,
		    PACE_POLL_MS);
}

static void
pace_closed(uv_handle_t *h)
{
	(void)h;
}

/*
 * Run every job that waits now, ready or not (each copes: its client is
 * gone, or it sends a little early); jobs they start wait as usual.
 */
void
pace_flush(void)
{
	TAILQ_HEAD(, pace_job) now = TAILQ_HEAD_INITIALIZER(now);
	struct pace_job *j;

	TAILQ_CONCAT(&now, &jobs, entry);
	while ((j = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, j, entry);
		j->go(j->arg);
		free(j);
	}
}

/* Shutting down: run what still waits, and from now on whatever would
 * wait at once; close the timer. */
void
pace_stop(void)
{
	int was = pace_state;

	pace_state = PACE_CLOSED;
	pace_flush();
	if (was == PACE_RUNNING) {
		uv_timer_stop(&pace_timer);
		uv_close((uv_handle_t *)&pace_timer, pace_closed);
	}
}
