/*
 * sim-client.c owns running a scripted `roomctl sim` client: each client
 * runs its steps in order, all of them concurrently on one libuv loop,
 * driven by wsclient.c's callbacks and the clients' timers; the first
 * failure stops them all.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim.h"

static void sim_stop(struct sim *, int);

/* Steps that talk over the connection, so an implicit connect comes first. */
static int
sim_needs_connection(enum sim_op op)
{
	switch (op) {
	case SIM_JOIN:
	case SIM_MATCH:
	case SIM_LEAVE:
	case SIM_PUBLISH:
	case SIM_STATE:
	case SIM_SEND:
	case SIM_SEND_BINARY:
	case SIM_EXPECT:
	case SIM_POLL:
		return 1;
	default:
		return 0;
	}
}

/*
 * Record the first failure and stop everything. With a client it reads
 * "client I (URL), line L: STEP: what", and with frames the unconsumed ones.
 */
static void printflike(4, 5)
sim_fail(struct sim *sim, struct sim_client *c, int frames,
    const char *fmt, ...)
{
	const struct sim_step *st;
	struct buf b;
	va_list ap;
	char *msg;

	if (sim->stopping)
		return;
	buf_init(&b);
	if (c != NULL) {
		buf_printf(&b, "client %u (%s)", c->index, c->url->text);
		if (c->pc < c->nsteps) {
			st = &c->steps[c->pc];
			buf_printf(&b, ", line %u: %.200s", st->line, st->text);
		}
		buf_adds(&b, ": ");
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	buf_adds(&b, msg);
	free(msg);
	if (c != NULL && frames)
		sim_frames_describe(c, &b);
	sim->failure = buf_detach(&b);
	sim_stop(sim, 0);
}

/* Wait over: go on with this step (advance 0) or the next (advance 1). */
static void
sim_client_resume(struct sim_client *c, int advance)
{
	uv_timer_stop(&c->timer);
	c->wait = SIM_WAIT_NONE;
	if (advance)
		c->pc++;
	sim_client_run(c);
}

static void sim_timer_fired(uv_timer_t *);

/* A send failed: the connection is gone, or the server stopped reading. */
static void
sim_fail_send(struct sim_client *c)
{
	const char *why = ws_client_limit_hit(&c->ws);

	sim_fail(c->sim, c, 0, "%s", why != NULL ? why : "not connected");
}

/* Wait for something, at most ms. */
static void
sim_wait(struct sim_client *c, enum sim_wait wait, uint64_t ms)
{
	c->wait = wait;
	uv_timer_start(&c->timer, sim_timer_fired, ms, 0);
}

/*
 * Send a poll step's frame and wait for the next round: `every`, or what
 * is left of `within`. Returns -1 after failing.
 */
static int
sim_poll_round(struct sim_client *c, const struct sim_step *st)
{
	uint64_t now = mono_ms(), ms = st->every_ms;

	if (sim_send_poll(c, st) != 0) {
		sim_fail_send(c);
		return -1;
	}
	if (c->deadline <= now)
		ms = 0;
	else if (c->deadline - now < ms)
		ms = c->deadline - now;
	sim_wait(c, SIM_WAIT_POLL, ms);
	return 0;
}

/* A wait ran out: a sleep is over, a poll goes again, anything else fails. */
static void
sim_timer_fired(uv_timer_t *t)
{
	struct sim_client *c = t->data;
	const struct sim_step *st = &c->steps[c->pc];
	const char *what;
	uint64_t ms;
	int frames = 1;
	char d[32];

	switch (c->wait) {
	case SIM_WAIT_SLEEP:
		if (c->stalled) {
			c->stalled = 0;
			ws_client_pause(&c->ws, 0);
		}
		sim_client_resume(c, 1);
		return;
	case SIM_WAIT_CONNECT:
		what = "no upgrade within";
		ms = SIM_CONNECT_MS;
		frames = 0;
		break;
	case SIM_WAIT_JOIN:
		what = "no reply within";
		ms = SIM_JOIN_MS;
		break;
	case SIM_WAIT_POLL:
		if (mono_ms() < c->deadline) {
			sim_poll_round(c, st);
			return;
		}
		/* FALLTHROUGH */
	case SIM_WAIT_EXPECT:
		what = "timed out after";
		ms = st->ms;
		break;
	case SIM_WAIT_DISCONNECT:
		what = "not closed within";
		ms = SIM_DISCONNECT_MS;
		frames = 0;
		break;
	default:
		return;
	}
	sim_duration_format(d, sizeof d, ms);
	sim_fail(c->sim, c, frames, "%s %s", what, d);
}

/* Open the WebSocket with token; implicit: as no step of the script. */
static void
sim_client_connect(struct sim_client *c, const char *token, int implicit)
{
	c->implicit = implicit;
	sim_wait(c, SIM_WAIT_CONNECT, SIM_CONNECT_MS);
	sim_send_connect(c, token);
}

/* Send a frame; returns 1 (go on) or -1 after failing. */
static int
sim_client_send(struct sim_client *c, int opcode, const char *text)
{
	if (sim_send(c, opcode, text, strlen(text)) != 0) {
		sim_fail_send(c);
		return -1;
	}
	return 1;
}

/* Free clients at a barrier once every client still running is there. */
static void
sim_barrier_check(struct sim *sim)
{
	struct sim_client *c;
	unsigned i;

	if (sim->at_barrier == 0 || sim->at_barrier < sim->active)
		return;
	for (i = 0; i < sim->n; i++) {
		c = &sim->clients[i];
		if (c->wait != SIM_WAIT_BARRIER)
			continue;
		c->wait = SIM_WAIT_NONE;
		c->pc++;
		c->ready = 1;
	}
	sim->at_barrier = 0;
	/* Run them from the loop: some may be inside sim_client_run now. */
	uv_timer_start(&sim->kick, sim_kick, 0, 0);
}

/*
 * Run one step. Returns 1 when done (go to the next), 0 when the client
 * now waits, -1 after a failure.
 */
static int
sim_client_exec(struct sim_client *c, const struct sim_step *st)
{
	struct sim *sim = c->sim;

	switch (st->op) {
	case SIM_CONNECT:
		if (c->ws.state != WS_CLIENT_IDLE) {
			sim_fail(sim, c, 0, "already connected");
			return -1;
		}
		sim_client_connect(c, st->a != NULL ? st->a : sim->opts->token,
		    0);
		return 0;
	case SIM_JOIN:
	case SIM_MATCH:
		if (sim_send_request(c, st) != 0) {
			sim_fail_send(c);
			return -1;
		}
		c->wait_ref = c->ref;
		sim_wait(c, SIM_WAIT_JOIN, SIM_JOIN_MS);
		return 0;
	case SIM_LEAVE:
	case SIM_PUBLISH:
	case SIM_STATE:
		if (sim_send_request(c, st) != 0) {
			sim_fail_send(c);
			return -1;
		}
		return 1;
	case SIM_SEND:
		return sim_client_send(c, WS_OP_TEXT, st->a);
	case SIM_SEND_BINARY:
		return sim_client_send(c, WS_OP_BINARY, st->a);
	case SIM_EXPECT:
		if (sim_frames_take(c, st))
			return 1;
		if (!c->open) {
			/* Nothing more can come. */
			sim_fail(sim, c, 1, "not connected");
			return -1;
		}
		sim_wait(c, SIM_WAIT_EXPECT, st->ms);
		return 0;
	case SIM_POLL:
		/* Only what comes from now on: replies to these frames. */
		c->wait_ref = c->ref + 1;
		c->deadline = mono_ms() + st->ms;
		return sim_poll_round(c, st);
	case SIM_SLEEP:
		sim_wait(c, SIM_WAIT_SLEEP, st->ms);
		return 0;
	case SIM_STALL:
		/* Read nothing for a while: a slow consumer on demand. */
		ws_client_pause(&c->ws, 1);
		c->stalled = 1;
		sim_wait(c, SIM_WAIT_SLEEP, st->ms);
		return 0;
	case SIM_BARRIER:
		c->wait = SIM_WAIT_BARRIER;
		sim->at_barrier++;
		sim_barrier_check(sim);
		return 0;
	case SIM_DISCONNECT:
		if (c->ws.state == WS_CLIENT_IDLE)
			return 1;
		if (c->ws.state == WS_CLIENT_OPEN)
			c->by_us = 1;
		sim_wait(c, SIM_WAIT_DISCONNECT, SIM_DISCONNECT_MS);
		ws_client_close(&c->ws, 1000, "");
		return 0;
	}
	return -1;
}

/* The client ran its last step; when it is the last one, the run is over. */
static void
sim_client_finish(struct sim_client *c)
{
	struct sim *sim = c->sim;

	c->done = 1;
	sim->active--;
	if (sim->active == 0)
		sim_stop(sim, 1);
	else
		sim_barrier_check(sim);
}

/* Run steps until one waits, the script ends or something fails. */
void
sim_client_run(struct sim_client *c)
{
	struct sim *sim = c->sim;
	const struct sim_step *st;

	if (c->running || c->done)
		return;
	c->running = 1;
	while (!sim->stopping && !c->done && c->wait == SIM_WAIT_NONE) {
		if (c->pc == c->nsteps) {
			sim_client_finish(c);
			break;
		}
		st = &c->steps[c->pc];
		if (sim_needs_connection(st->op) && !c->attempted) {
			sim_client_connect(c, sim->opts->token, 1);
			continue;
		}
		if (sim_client_exec(c, st) == 1)
			c->pc++;
	}
	c->running = 0;
}

/* Run the clients marked ready (freed from a barrier, or just open). */
void
sim_kick(uv_timer_t *t)
{
	struct sim *sim = t->data;
	struct sim_client *c;
	unsigned i;

	for (i = 0; i < sim->n && !sim->stopping; i++) {
		c = &sim->clients[i];
		if (!c->ready)
			continue;
		c->ready = 0;
		sim_client_run(c);
	}
}

/* The run took longer than all its steps may wait. */
void
sim_guard_fired(uv_timer_t *t)
{
	struct sim *sim = t->data;
	char d[32];

	sim_duration_format(d, sizeof d, sim->guard_ms);
	sim_fail(sim, NULL, 0, "gave up after %s", d);
}

/* The upgrade completed: the connect step (or implicit connect) is done. */
static void
sim_on_open(struct ws_client *ws)
{
	struct sim_client *c = ws->data;

	c->open = 1;
	if (c->sim->stopping) {
		ws_client_abort(ws, "stopping");
		return;
	}
	if (c->wait != SIM_WAIT_CONNECT)
		return;
	/*
	 * Go on from the loop, not from here: the welcome often came in the
	 * same read as the upgrade, and should be queued (and written to the
	 * transcript) before the next step sends anything.
	 */
	uv_timer_stop(&c->timer);
	c->wait = SIM_WAIT_NONE;
	if (!c->implicit)
		c->pc++;
	c->ready = 1;
	uv_timer_start(&c->sim->kick, sim_kick, 0, 0);
}

/*
 * A frame came while a poll step waits: 1 when it ends the poll, 0 when it
 * stays queued, -1 when it was a reply to the poll that does not match
 * (dropped). Frames with a ref match only when it is one of the poll's.
 */
static int
sim_poll_check(struct sim_client *c, const struct sim_frame *f)
{
	long long ref;
	int r, ours;

	r = sim_frame_ref(f, &ref);
	ours = r == 1 && ref >= c->wait_ref && ref <= c->ref;
	if (r != 0 && !ours)
		return 0;
	if (sim_step_matches(&c->steps[c->pc], f->json))
		return 1;
	return ours ? -1 : 0;
}

/*
 * A match step's ok reply names the room: it is $room in the client's
 * later lines, which are compiled again with it. Returns -1 after failing.
 */
static int
sim_client_bind_room(struct sim_client *c, const struct sim_frame *f)
{
	const cJSON *room = cJSON_GetObjectItemCaseSensitive(f->json, "room");
	struct sim_vars v;
	char *cause;

	if (!cJSON_IsString(room) || !id_valid(room->valuestring,
	    strlen(room->valuestring))) {
		sim_fail(c->sim, c, 1, "the reply names no room");
		return -1;
	}
	v.i = c->index;
	v.n = c->sim->n;
	v.room = room->valuestring;
	if (sim_script_rebind(c->sim->script, &v, c->steps, c->pc + 1,
	    &cause) != 0) {
		sim_fail(c->sim, c, 0, "with $room %s: %s", v.room, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Queue a frame and see whether it ends the client's wait: the reply to
 * its join, or what its expect or poll looks for. A client that keeps
 * more than SIM_KEEP_FRAMES or SIM_KEEP_BYTES fails: a server flooding
 * it must not take all the memory.
 */
static void
sim_on_message(struct ws_client *ws, int opcode, const char *p, size_t len)
{
	struct sim_client *c = ws->data;
	struct sim_frame *f;
	long long ref;

	if (c->sim->stopping)
		return;
	f = sim_frame_push(c, p, len, NULL, opcode == WS_OP_BINARY);
	if (opcode == WS_OP_BINARY) {
		cJSON *s = cJSON_CreateString(f->text);

		sim_transcript(c, "in", s, NULL, 0);
		cJSON_Delete(s);
	} else
		sim_transcript(c, "in", f->json, p, len);

	switch (c->wait) {
	case SIM_WAIT_JOIN:
		if (sim_frame_ref(f, &ref) != 1 || ref != c->wait_ref)
			break;
		/* An error reply stays queued for a later expect. */
		if (sim_frame_is_ok(f)) {
			if (c->steps[c->pc].op == SIM_MATCH &&
			    sim_client_bind_room(c, f) != 0)
				break;
			sim_frame_drop(c, f);
		}
		sim_client_resume(c, 1);
		break;
	case SIM_WAIT_EXPECT:
		if (!sim_step_matches(&c->steps[c->pc], f->json))
			break;
		sim_frame_drop(c, f);
		sim_client_resume(c, 1);
		break;
	case SIM_WAIT_POLL:
		switch (sim_poll_check(c, f)) {
		case 1:
			sim_frame_drop(c, f);
			sim_client_resume(c, 1);
			break;
		case -1:
			sim_frame_drop(c, f);
			break;
		}
		break;
	default:
		break;
	}
	if (!c->sim->stopping && (c->nframes > SIM_KEEP_FRAMES ||
	    c->frame_bytes > SIM_KEEP_BYTES))
		sim_fail(c->sim, c, 0, "%zu frames (%zu bytes) came that no "
		    "step took; more than %u frames or %u MiB is a flood",
		    c->nframes, c->frame_bytes, SIM_KEEP_FRAMES,
		    SIM_KEEP_BYTES >> 20);
}

/*
 * The connection ended. A refused upgrade queues {"type":"refused",
 * "status":S}; a close we did not start queues {"type":"close","code":N,
 * "reason":R} (1006 for EOF and errors), both for `expect`. A server that
 * stopped reading fails the client.
 */
static void
sim_on_close(struct ws_client *ws, int code, const char *reason)
{
	struct sim_client *c = ws->data;
	struct sim_frame *f = NULL;
	int was_open = c->open, status;
	cJSON *o;

	c->open = 0;
	if (c->sim->stopping)
		return;
	status = ws_client_http_status(ws);
	if (ws_client_limit_hit(ws) != NULL) {
		sim_fail(c->sim, c, 0, "%s", reason);
		return;
	}
	if (status != 0) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "refused");
		cJSON_AddNumberToObject(o, "status", status);
		f = sim_frame_pseudo(c, o);
	} else if (!was_open) {
		sim_fail(c->sim, c, 0, "%s", reason);
		return;
	} else if (!c->by_us) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "close");
		cJSON_AddNumberToObject(o, "code", code);
		cJSON_AddStringToObject(o, "reason", reason);
		f = sim_frame_pseudo(c, o);
	}

	switch (c->wait) {
	case SIM_WAIT_CONNECT:
		sim_client_resume(c, !c->implicit);
		break;
	case SIM_WAIT_DISCONNECT:
		sim_client_resume(c, 1);
		break;
	case SIM_WAIT_JOIN:
		sim_fail(c->sim, c, 1, "connection closed before the reply");
		break;
	case SIM_WAIT_EXPECT:
	case SIM_WAIT_POLL:
		if (f != NULL && sim_step_matches(&c->steps[c->pc], f->json)) {
			sim_frame_drop(c, f);
			sim_client_resume(c, 1);
		} else
			sim_fail(c->sim, c, 1, "connection closed");
		break;
	default:
		break;
	}
}

const struct ws_client_cb sim_ws_cb = {
	.on_open = sim_on_open,
	.on_message = sim_on_message,
	.on_close = sim_on_close,
};

static void
sim_handle_closed(uv_handle_t *h)
{
	(void)h;
}

/*
 * Stop every client: on success close the connections with 1000, on
 * failure drop them. uv_run returns once the last handle is closed.
 */
static void
sim_stop(struct sim *sim, int success)
{
	struct sim_client *c;
	unsigned i;

	if (sim->stopping)
		return;
	sim->stopping = 1;
	for (i = 0; i < sim->n; i++) {
		c = &sim->clients[i];
		uv_close((uv_handle_t *)&c->timer, sim_handle_closed);
		if (success)
			ws_client_close(&c->ws, 1000, "");
		else
			ws_client_abort(&c->ws, "sim stopped");
	}
	uv_close((uv_handle_t *)&sim->kick, sim_handle_closed);
	uv_close((uv_handle_t *)&sim->guard, sim_handle_closed);
}
