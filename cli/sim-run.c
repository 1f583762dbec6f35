/*
 * sim-run.c owns the execution of `roomctl sim` scripts: every client runs
 * its steps in order, all of them concurrently on one libuv loop, and the
 * first failure stops them all.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "roomctl.h"

#define SIM_CONNECT_MS 5000		/* connect: upgraded or refused */
#define SIM_JOIN_MS 5000		/* join: the reply with our ref */
#define SIM_DISCONNECT_MS 3000		/* over wsclient's own 2s */
#define SIM_SLACK_MS 10000		/* added to the run's global bound */
#define SIM_SHOW_FRAMES 5		/* frames listed in a failure */
#define SIM_SHOW_CHARS 300		/* of each of them */

/* What a client is waiting for before its next step. */
enum sim_wait {
	SIM_WAIT_NONE,
	SIM_WAIT_CONNECT,
	SIM_WAIT_JOIN,
	SIM_WAIT_EXPECT,
	SIM_WAIT_SLEEP,
	SIM_WAIT_BARRIER,
	SIM_WAIT_DISCONNECT
};

/* A frame received and not consumed yet; freed when consumed or at exit. */
struct sim_frame {
	TAILQ_ENTRY(sim_frame) entry;
	cJSON *json;			/* NULL when not JSON */
	size_t len;
	char text[];			/* NUL-terminated */
};
TAILQ_HEAD(sim_frames, sim_frame);

struct sim;

/* One simulated client; the array of them is freed after the loop ends. */
struct sim_client {
	struct ws_client ws;
	struct sim *sim;
	unsigned index;
	const struct sim_url *url;
	struct sim_step *steps;
	size_t nsteps;
	size_t pc;			/* step running or next */
	long long ref;			/* last ref sent */
	enum sim_wait wait;
	long long wait_ref;		/* join: the reply's ref */
	int implicit;			/* this connect is no step */
	int attempted;			/* some connect was made */
	int open;			/* between on_open and on_close */
	int by_us;			/* we started the close */
	int ready;			/* to be run by the kick timer */
	int running;			/* inside sim_client_run */
	int done;			/* ran its last step */
	int stalled;			/* not reading: a stall step */
	uv_timer_t timer;		/* the wait's bound, or sleep */
	struct sim_frames frames;
	size_t nframes;
	char *path;			/* the URL's path and token query */
};

struct sim {
	uv_loop_t loop;
	const struct sim_opts *opts;
	struct sim_url *urls;
	size_t nurls;
	struct sim_client *clients;
	unsigned n;
	unsigned active;		/* clients not done */
	unsigned at_barrier;		/* clients waiting at the barrier */
	int stopping;
	char *failure;			/* first failure, or NULL */
	FILE *transcript;
	uint64_t t0;
	uv_timer_t kick;		/* runs the clients marked ready */
	uv_timer_t guard;		/* bounds the whole run */
	uint64_t guard_ms;
};

static void sim_client_run(struct sim_client *);
static void sim_stop(struct sim *, int);
static void sim_kick(uv_timer_t *);

/* Steps that talk over the connection, so an implicit connect comes first. */
static int
sim_needs_connection(enum sim_op op)
{
	switch (op) {
	case SIM_JOIN:
	case SIM_LEAVE:
	case SIM_PUBLISH:
	case SIM_STATE:
	case SIM_SEND:
	case SIM_SEND_BINARY:
	case SIM_EXPECT:
		return 1;
	default:
		return 0;
	}
}

/* Write one transcript line for a frame; json may be NULL (then text). */
static void
sim_transcript(struct sim_client *c, const char *dir, const cJSON *json,
    const char *text, size_t len)
{
	struct sim *sim = c->sim;
	cJSON *o, *parsed = NULL;
	char *line, *copy;

	if (sim->transcript == NULL)
		return;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "client", c->index);
	cJSON_AddStringToObject(o, "dir", dir);
	cJSON_AddNumberToObject(o, "t", (double)(mono_ms() - sim->t0));
	if (json == NULL)
		json = parsed = cJSON_ParseWithLength(text, len);
	if (json != NULL)
		cJSON_AddItemReferenceToObject(o, "frame", (cJSON *)json);
	else {
		copy = xstrndup(text, len);
		cJSON_AddStringToObject(o, "frame", copy);
		free(copy);
	}
	line = cJSON_PrintUnformatted(o);
	if (line == NULL)
		fatalx("out of memory");
	fprintf(sim->transcript, "%s\n", line);
	cJSON_free(line);
	cJSON_Delete(o);
	cJSON_Delete(parsed);
}

/* Queue a frame; json (which the queue then owns) is parsed if NULL. */
static struct sim_frame *
sim_frame_push(struct sim_client *c, const char *text, size_t len,
    cJSON *json, int binary)
{
	struct sim_frame *f;

	f = xmalloc(sizeof *f + len + 1);
	memcpy(f->text, text, len);
	f->text[len] = '\0';
	f->len = len;
	if (json == NULL && !binary)
		json = cJSON_ParseWithLength(text, len);
	f->json = json;
	TAILQ_INSERT_TAIL(&c->frames, f, entry);
	c->nframes++;
	return f;
}

/* Unlink and free a frame that was consumed. */
static void
sim_frame_drop(struct sim_client *c, struct sim_frame *f)
{
	TAILQ_REMOVE(&c->frames, f, entry);
	c->nframes--;
	cJSON_Delete(f->json);
	free(f);
}

/* Queue a frame roomd did not send (refused, close) so `expect` sees it. */
static struct sim_frame *
sim_frame_pseudo(struct sim_client *c, cJSON *o)
{
	struct sim_frame *f;
	char *text;

	text = cJSON_PrintUnformatted(o);
	if (text == NULL)
		fatalx("out of memory");
	f = sim_frame_push(c, text, strlen(text), o, 0);
	sim_transcript(c, "in", o, NULL, 0);
	cJSON_free(text);
	return f;
}

/* Append the frames still queued, newest SIM_SHOW_FRAMES, to a message. */
static void
sim_add_frames(struct sim_client *c, struct buf *b)
{
	struct sim_frame *f;
	size_t skip, i = 0, n;

	if (c->nframes == 0) {
		buf_adds(b, "; got nothing");
		return;
	}
	buf_adds(b, "; got instead: ");
	skip = c->nframes > SIM_SHOW_FRAMES ? c->nframes - SIM_SHOW_FRAMES : 0;
	if (skip > 0)
		buf_printf(b, "(%zu earlier) ", skip);
	TAILQ_FOREACH(f, &c->frames, entry) {
		if (i++ < skip)
			continue;
		n = f->len;
		if (n > SIM_SHOW_CHARS) {
			n = SIM_SHOW_CHARS;
			/* Do not cut a UTF-8 sequence in two. */
			while (n > 0 && ((unsigned char)f->text[n] & 0xc0) ==
			    0x80)
				n--;
		}
		buf_add(b, f->text, n);
		if (n < f->len)
			buf_adds(b, "...");
		if (i < c->nframes)
			buf_adds(b, ", ");
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
		sim_add_frames(c, &b);
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

/* A wait ran out: a sleep is over, anything else fails the run. */
static void
sim_timer_fired(uv_timer_t *t)
{
	struct sim_client *c = t->data;
	const struct sim_step *st = &c->steps[c->pc];
	char d[32];

	switch (c->wait) {
	case SIM_WAIT_SLEEP:
		if (c->stalled) {
			c->stalled = 0;
			ws_client_pause(&c->ws, 0);
		}
		sim_client_resume(c, 1);
		break;
	case SIM_WAIT_CONNECT:
		sim_duration_format(d, sizeof d, SIM_CONNECT_MS);
		sim_fail(c->sim, c, 0, "no upgrade within %s", d);
		break;
	case SIM_WAIT_JOIN:
		sim_duration_format(d, sizeof d, SIM_JOIN_MS);
		sim_fail(c->sim, c, 1, "no reply within %s", d);
		break;
	case SIM_WAIT_EXPECT:
		sim_duration_format(d, sizeof d, st->ms);
		sim_fail(c->sim, c, 1, "timed out after %s", d);
		break;
	case SIM_WAIT_DISCONNECT:
		sim_duration_format(d, sizeof d, SIM_DISCONNECT_MS);
		sim_fail(c->sim, c, 0, "not closed within %s", d);
		break;
	default:
		break;
	}
}

/* Wait for something, at most ms. */
static void
sim_wait(struct sim_client *c, enum sim_wait wait, uint64_t ms)
{
	c->wait = wait;
	uv_timer_start(&c->timer, sim_timer_fired, ms, 0);
}

/* Append s to b percent-encoded, for a query value. */
static void
sim_add_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			buf_addc(b, *s);
		else
			buf_printf(b, "%%%02X", (unsigned char)*s);
	}
}

/* Open the WebSocket with token (NULL: none) in the query string. */
static void
sim_client_connect(struct sim_client *c, const char *token, int implicit)
{
	const struct ws_url *u = &c->url->url;
	struct buf b;

	buf_init(&b);
	buf_adds(&b, u->path);
	if (token != NULL && *token != '\0') {
		buf_adds(&b, strchr(u->path, '?') != NULL ? "&token=" :
		    "?token=");
		sim_add_escaped(&b, token);
	}
	free(c->path);
	c->path = buf_detach(&b);
	c->attempted = 1;
	c->implicit = implicit;
	c->by_us = 0;
	sim_wait(c, SIM_WAIT_CONNECT, SIM_CONNECT_MS);
	ws_client_connect(&c->ws, (const struct sockaddr *)&c->url->addr,
	    u->host, u->port, c->path);
}

/* Send a frame, writing it to the transcript. Returns -1 after failing. */
static int
sim_client_send(struct sim_client *c, int opcode, const char *text,
    size_t len)
{
	if (!c->open || ws_client_send(&c->ws, opcode, text, len) != 0) {
		sim_fail(c->sim, c, 0, "not connected");
		return -1;
	}
	if (opcode == WS_OP_BINARY) {
		char *copy = xstrndup(text, len);
		cJSON *s = cJSON_CreateString(copy);

		sim_transcript(c, "out", s, NULL, 0);
		cJSON_Delete(s);
		free(copy);
	} else
		sim_transcript(c, "out", NULL, text, len);
	return 0;
}

/* Send join, leave, publish or state.set with the next ref. */
static int
sim_client_request(struct sim_client *c, const struct sim_step *st)
{
	static const char *types[] = {
		[SIM_JOIN] = "join",
		[SIM_LEAVE] = "leave",
		[SIM_PUBLISH] = "publish",
		[SIM_STATE] = "state.set",
	};
	cJSON *o, *arg = NULL;
	char *text;
	int r;

	if (st->arg != NULL && (arg = cJSON_Parse(st->arg)) == NULL)
		fatalx("%s: unparsable argument", __func__);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", types[st->op]);
	cJSON_AddNumberToObject(o, "ref", (double)++c->ref);
	cJSON_AddStringToObject(o, "room", st->a);
	switch (st->op) {
	case SIM_JOIN:
		if (arg != NULL)
			cJSON_AddItemToObject(o, "meta", arg);
		break;
	case SIM_PUBLISH:
		cJSON_AddStringToObject(o, "event", st->b);
		if (arg != NULL)
			cJSON_AddItemToObject(o, "data", arg);
		break;
	case SIM_STATE:
		cJSON_AddStringToObject(o, "key", st->b);
		cJSON_AddItemToObject(o, "value", arg);
		break;
	default:
		cJSON_Delete(arg);
		break;
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		fatalx("out of memory");
	r = sim_client_send(c, WS_OP_TEXT, text, strlen(text));
	cJSON_free(text);
	return r;
}

/* Whether frame is the reply to the join this client waits for. */
static int
sim_is_reply(const struct sim_client *c, const struct sim_frame *f)
{
	const cJSON *ref;

	ref = cJSON_GetObjectItemCaseSensitive(f->json, "ref");
	return cJSON_IsNumber(ref) && ref->valuedouble == (double)c->wait_ref;
}

/* Whether frame is an ok (not an error) reply. */
static int
sim_is_ok(const struct sim_frame *f)
{
	const cJSON *type;

	type = cJSON_GetObjectItemCaseSensitive(f->json, "type");
	return cJSON_IsString(type) && strcmp(type->valuestring, "ok") == 0;
}

/* Consume the first queued frame matching an expect step, if any. */
static int
sim_take_match(struct sim_client *c, const struct sim_step *st)
{
	struct sim_frame *f;

	TAILQ_FOREACH(f, &c->frames, entry) {
		if (sim_step_matches(st, f->json)) {
			sim_frame_drop(c, f);
			return 1;
		}
	}
	return 0;
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
		if (sim_client_request(c, st) != 0)
			return -1;
		c->wait_ref = c->ref;
		sim_wait(c, SIM_WAIT_JOIN, SIM_JOIN_MS);
		return 0;
	case SIM_LEAVE:
	case SIM_PUBLISH:
	case SIM_STATE:
		return sim_client_request(c, st) == 0 ? 1 : -1;
	case SIM_SEND:
		return sim_client_send(c, WS_OP_TEXT, st->a, strlen(st->a)) ==
		    0 ? 1 : -1;
	case SIM_SEND_BINARY:
		return sim_client_send(c, WS_OP_BINARY, st->a,
		    strlen(st->a)) == 0 ? 1 : -1;
	case SIM_EXPECT:
		if (sim_take_match(c, st))
			return 1;
		if (!c->open) {
			/* Nothing more can come. */
			sim_fail(sim, c, 1, "not connected");
			return -1;
		}
		sim_wait(c, SIM_WAIT_EXPECT, st->ms);
		return 0;
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
static void
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
static void
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

static void
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
 * Queue a frame and see whether it ends the client's wait: the reply to
 * its join, or what its expect looks for.
 */
static void
sim_on_message(struct ws_client *ws, int opcode, const char *p, size_t len)
{
	struct sim_client *c = ws->data;
	struct sim_frame *f;

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
		if (!sim_is_reply(c, f))
			break;
		/* An error reply stays queued for a later expect. */
		if (sim_is_ok(f))
			sim_frame_drop(c, f);
		sim_client_resume(c, 1);
		break;
	case SIM_WAIT_EXPECT:
		if (!sim_step_matches(&c->steps[c->pc], f->json))
			break;
		sim_frame_drop(c, f);
		sim_client_resume(c, 1);
		break;
	default:
		break;
	}
}

/*
 * The connection ended. A refused upgrade queues {"type":"refused",
 * "status":S}; a close we did not start queues {"type":"close","code":N,
 * "reason":R} (1006 for EOF and errors), both for `expect`.
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

static const struct ws_client_cb sim_ws_cb = {
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

/* The longest a client's steps may wait, to bound the whole run. */
static uint64_t
sim_bound_ms(const struct sim_client *c)
{
	const struct sim_step *st;
	uint64_t ms = SIM_CONNECT_MS;	/* the implicit connect */
	size_t i;

	for (i = 0; i < c->nsteps; i++) {
		st = &c->steps[i];
		switch (st->op) {
		case SIM_CONNECT:
			ms += SIM_CONNECT_MS;
			break;
		case SIM_JOIN:
			ms += SIM_JOIN_MS;
			break;
		case SIM_EXPECT:
		case SIM_SLEEP:
		case SIM_STALL:
			ms += st->ms;
			break;
		case SIM_DISCONNECT:
			ms += SIM_DISCONNECT_MS;
			break;
		default:
			break;
		}
	}
	return ms;
}

/* Compile the script for every client, before anything connects. */
static int
sim_compile(struct sim *sim, const struct sim_script *script)
{
	struct sim_client *c;
	struct sim_vars v;
	char *cause;
	unsigned i;
	uint64_t ms;

	for (i = 0; i < sim->n; i++) {
		c = &sim->clients[i];
		v.i = i;
		v.n = sim->n;
		v.room = sim->opts->room;
		if (sim_script_compile(script, &v, &c->steps, &c->nsteps,
		    &cause) != 0) {
			if (i == 0)
				cmd_error("%s", cause);
			else
				cmd_error("%s (client %u)", cause, i);
			free(cause);
			return -1;
		}
		ms = sim_bound_ms(c);
		if (ms > sim->guard_ms)
			sim->guard_ms = ms;
	}
	sim->guard_ms += SIM_SLACK_MS;
	return 0;
}

static void
sim_free(struct sim *sim)
{
	struct sim_client *c;
	struct sim_frame *f;
	unsigned i;

	for (i = 0; i < sim->n; i++) {
		c = &sim->clients[i];
		while ((f = TAILQ_FIRST(&c->frames)) != NULL)
			sim_frame_drop(c, f);
		sim_steps_free(c->steps, c->nsteps);
		free(c->path);
		ws_client_free(&c->ws);
	}
	free(sim->clients);
	free(sim->urls);
	free(sim->failure);
}

/*
 * Run the script on opts->clients clients. Returns EXIT_OK when every
 * client finished it, EXIT_FAIL on the first failure (reported on stderr),
 * EXIT_USAGE for a bad script or URL, before anything connects.
 */
int
sim_run(const struct sim_opts *opts, const struct sim_script *script)
{
	struct sim sim;
	struct sim_client *c;
	unsigned i;
	int rc = EXIT_OK, r;

	memset(&sim, 0, sizeof sim);
	sim.opts = opts;
	sim.n = opts->clients;
	sim.active = sim.n;
	sim.clients = xcalloc(sim.n, sizeof *sim.clients);
	for (i = 0; i < sim.n; i++) {
		c = &sim.clients[i];
		c->sim = &sim;
		c->index = i;
		TAILQ_INIT(&c->frames);
	}
	if (sim_compile(&sim, script) != 0) {
		sim_free(&sim);
		return EXIT_USAGE;
	}

	if ((r = uv_loop_init(&sim.loop)) != 0)
		fatalx("uv_loop_init: %s", uv_strerror(r));
	sim.nurls = opts->nurls;
	if ((rc = sim_urls_resolve(&sim.loop, sim.opts, &sim.urls)) != 0)
		goto out;
	if (opts->transcript != NULL &&
	    (sim.transcript = fopen(opts->transcript, "w")) == NULL) {
		cmd_error("sim: %s: %s", opts->transcript, strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}

	uv_timer_init(&sim.loop, &sim.kick);
	sim.kick.data = &sim;
	uv_timer_init(&sim.loop, &sim.guard);
	sim.guard.data = &sim;
	uv_timer_start(&sim.guard, sim_guard_fired, sim.guard_ms, 0);
	for (i = 0; i < sim.n; i++) {
		c = &sim.clients[i];
		c->url = &sim.urls[i % sim.nurls];
		ws_client_init(&c->ws, &sim.loop, &sim_ws_cb, c);
		uv_timer_init(&sim.loop, &c->timer);
		c->timer.data = c;
	}

	sim.t0 = mono_ms();
	for (i = 0; i < sim.n && !sim.stopping; i++)
		sim_client_run(&sim.clients[i]);
	uv_run(&sim.loop, UV_RUN_DEFAULT);

	if (sim.failure != NULL) {
		cmd_error("sim: %s", sim.failure);
		rc = EXIT_FAIL;
	}
	if (sim.transcript != NULL && fclose(sim.transcript) != 0) {
		cmd_error("sim: %s: %s", opts->transcript, strerror(errno));
		rc = EXIT_FAIL;
	}
out:
	if (uv_loop_close(&sim.loop) != 0)
		fatalx("sim: handles left open");
	sim_free(&sim);
	return rc;
}
