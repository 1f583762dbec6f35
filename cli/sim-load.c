/*
 * sim-load.c owns `roomctl sim` load mode: --clients clients spread over
 * --rooms rooms and every node, each publishing --rate events a second into
 * its room for --duration, and the report of what was delivered and how late.
 *
 * One loop, one global schedule: publish number s (counting over all
 * clients) is due at t0 + s / (clients * rate) and goes out on client
 * s % clients, so the total rate is smooth and each client's sends are
 * evenly spaced. Every event carries its send time from uv_hrtime, which
 * every recipient (the sender too: echo is on) subtracts from the time it
 * arrives; the difference goes into a fixed log-linear histogram. Nothing
 * is allocated per message (wsclient.c copies a frame only when the socket
 * will not take it whole).
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roomctl.h"

#define LOAD_INFLIGHT 200		/* connects and joins under way */
#define LOAD_SETUP_MS 10000		/* bound on connecting everyone ... */
#define LOAD_SETUP_MS_PER 4		/* ... plus this per client */
#define LOAD_DRAIN_MS 3000		/* wait for stragglers after the run */
#define LOAD_POLL_MS 10			/* how often the drain looks */
#define LOAD_TICK_MAX_MS 50		/* slowest publish tick */
#define LOAD_FDS_SPARE 64		/* descriptors beyond one per client */
#define LOAD_FRAME_MAX 256

/*
 * Latency histogram in nanoseconds: values below 2 * HIST_SUB exactly, then
 * HIST_SUB buckets for every power of two (about 3% wide), up to 2^HIST_EXP
 * ns (far beyond any run); larger values land in the last bucket.
 */
#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_EXP 44
#define HIST_N (2 * HIST_SUB + (HIST_EXP - HIST_SUB_BITS - 1) * HIST_SUB)

struct load_hist {
	uint64_t n[HIST_N];
	uint64_t count;
	uint64_t max;
};

enum load_state {
	LOAD_IDLE,			/* not connected yet */
	LOAD_CONNECTING,		/* connect or upgrade under way */
	LOAD_JOINING,			/* join sent, waiting for ok */
	LOAD_JOINED,
	LOAD_CLOSED			/* on_close came */
};

enum load_phase {
	LOAD_SETUP,			/* connecting and joining */
	LOAD_RUN,			/* publishing */
	LOAD_DRAIN,			/* waiting for stragglers */
	LOAD_CLOSE,			/* closing the connections */
};

struct load;

/* One simulated client; the array of them is freed after the loop ends. */
struct load_client {
	struct ws_client ws;
	struct load *load;
	const struct sim_url *url;
	unsigned index;
	unsigned room;
	enum load_state state;
};

struct load {
	struct sim_loop sl;		/* the loop and the URLs */
	const struct sim_opts *o;
	struct load_client *clients;
	unsigned n;
	unsigned *members;		/* joined clients per room */

	enum load_phase phase;
	unsigned next;			/* next client to connect */
	unsigned inflight;		/* connecting or joining */
	unsigned joined;
	unsigned live;			/* connected, on_close not yet come */
	uint64_t setup_ms;		/* bound on the setup phase */
	uv_timer_t phase_timer;		/* bounds setup, ends run and drain */
	uv_timer_t tick;		/* publish schedule; drain polls */

	uint64_t t0;			/* run start, uv_hrtime ns */
	double per_ns;			/* publishes due per ns, all clients */
	uint64_t due_total;		/* publishes in the whole run */
	uint64_t scheduled;		/* publishes the schedule reached */

	uint64_t sent;
	uint64_t expected;
	uint64_t delivered;
	uint64_t errors;
	int failed;			/* exit 1: a connection or join failed */
	char failure[256];		/* the first failure */
	struct load_hist hist;
};

static void load_connect_more(struct load *);
static void load_start_run(struct load *);
static void load_finish(struct load *);

/* Bucket of a latency of v ns. */
static unsigned
hist_index(uint64_t v)
{
	unsigned e;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	if (e >= HIST_EXP)
		return HIST_N - 1;
	return 2 * HIST_SUB + (e - HIST_SUB_BITS - 1) * HIST_SUB +
	    (unsigned)((v >> (e - HIST_SUB_BITS)) - HIST_SUB);
}

/* The middle of bucket i, in ns. */
static double
hist_value(unsigned i)
{
	unsigned e, sub;
	double lo, width;

	if (i < 2 * HIST_SUB)
		return i;
	e = (i - 2 * HIST_SUB) / HIST_SUB + HIST_SUB_BITS + 1;
	sub = (i - 2 * HIST_SUB) % HIST_SUB;
	width = ldexp(1.0, (int)(e - HIST_SUB_BITS));
	lo = (HIST_SUB + sub) * width;
	return lo + width / 2;
}

static void
hist_add(struct load_hist *h, uint64_t v)
{
	h->n[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/* The q quantile (0 < q <= 1) in ms, never above the maximum seen. */
static double
hist_quantile_ms(const struct load_hist *h, double q)
{
	uint64_t rank, seen = 0;
	unsigned i;
	double v;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->n[i];
		if (seen >= rank)
			break;
	}
	v = hist_value(i);
	if (v > (double)h->max)
		v = (double)h->max;
	return v / 1e6;
}

/* Record the first failure; the run ends with exit status 1. */
static void printflike(3, 4)
load_fail(struct load *L, struct load_client *c, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	L->errors++;
	if (L->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(L->failure, sizeof L->failure, "client %u (%s): %s",
	    c->index, c->url->text, what);
}

/* Parse the decimal number after "t": in an event frame; 0 if none. */
static uint64_t
load_parse_t(const char *p, size_t len)
{
	const char *t, *end = p + len;
	uint64_t v = 0;

	t = memmem(p, len, "\"t\":", 4);
	if (t == NULL)
		return 0;
	for (t += 4; t < end && *t >= '0' && *t <= '9'; t++)
		v = v * 10 + (uint64_t)(*t - '0');
	return v;
}

static void
load_send_join(struct load_client *c)
{
	char buf[LOAD_FRAME_MAX];
	int n;

	n = snprintf(buf, sizeof buf,
	    "{\"type\":\"join\",\"ref\":1,\"room\":\"load-%u\"}", c->room);
	c->state = LOAD_JOINING;
	ws_client_send(&c->ws, WS_OP_TEXT, buf, (size_t)n);
}

/*
 * Publish one event stamped with the time now. No ref: success needs no
 * reply, so the server sends only the room frames; a refusal comes back as
 * an error without ref, which load_on_message charges to this client's room.
 */
static void
load_publish(struct load *L, struct load_client *c, uint64_t now)
{
	char buf[LOAD_FRAME_MAX];
	int n;

	n = snprintf(buf, sizeof buf,
	    "{\"type\":\"publish\",\"room\":\"load-%u\",\"event\":\"load\","
	    "\"data\":{\"t\":%" PRIu64 ",\"c\":%u}}", c->room, now, c->index);
	if (ws_client_send(&c->ws, WS_OP_TEXT, buf, (size_t)n) != 0)
		return;
	L->sent++;
	L->expected += L->members[c->room];
}

static void
load_on_open(struct ws_client *ws)
{
	struct load_client *c = ws->data;

	load_send_join(c);
}

static void
load_on_message(struct ws_client *ws, int opcode, const char *p, size_t len)
{
	struct load_client *c = ws->data;
	struct load *L = c->load;
	uint64_t t, now;

	if (opcode != WS_OP_TEXT)
		return;
	/* The hot path: an event of this run, found by its "t". */
	if (L->phase != LOAD_SETUP && (t = load_parse_t(p, len)) != 0) {
		now = uv_hrtime();
		L->delivered++;
		hist_add(&L->hist, now > t ? now - t : 0);
		return;
	}
	if (memmem(p, len, "\"type\":\"error\"", 14) != NULL) {
		if (c->state == LOAD_JOINING) {
			/* No barrier without every client: give up. */
			load_fail(L, c, "join refused: %.*s",
			    (int)(len > 160 ? 160 : len), p);
			load_finish(L);
			return;
		}
		/* A refused publish: it will not be delivered. */
		L->errors++;
		if (L->sent > 0) {
			L->sent--;
			L->expected -= L->members[c->room];
		}
		return;
	}
	if (c->state == LOAD_JOINING &&
	    memmem(p, len, "\"type\":\"ok\"", 11) != NULL) {
		c->state = LOAD_JOINED;
		L->members[c->room]++;
		L->joined++;
		L->inflight--;
		if (L->phase != LOAD_SETUP)
			return;
		if (L->joined == L->n)
			load_start_run(L);
		else
			load_connect_more(L);
	}
}

static void
load_on_close(struct ws_client *ws, int code, const char *reason)
{
	struct load_client *c = ws->data;
	struct load *L = c->load;
	enum load_state was = c->state;

	c->state = LOAD_CLOSED;
	L->live--;
	if (L->phase == LOAD_CLOSE) {
		if (L->live == 0)
			load_finish(L);
		return;
	}
	if (was == LOAD_JOINED)
		L->members[c->room]--;
	else
		L->inflight--;
	if (ws_client_http_status(ws) != 0)
		load_fail(L, c, "upgrade refused: HTTP %d",
		    ws_client_http_status(ws));
	else
		load_fail(L, c, "%s %s (%d)", was == LOAD_JOINED ?
		    "closed:" : "could not join:", *reason != '\0' ? reason :
		    "no reason", code);
	/* Without every client the barrier never comes: give up. */
	if (L->phase == LOAD_SETUP)
		load_finish(L);
}

static const struct ws_client_cb load_ws_cb = {
	.on_open = load_on_open,
	.on_message = load_on_message,
	.on_close = load_on_close,
};

/* Start connects until LOAD_INFLIGHT are under way or all have started. */
static void
load_connect_more(struct load *L)
{
	struct load_client *c;
	const struct ws_url *u;

	while (L->inflight < LOAD_INFLIGHT && L->next < L->n &&
	    L->phase == LOAD_SETUP) {
		c = &L->clients[L->next++];
		u = &c->url->url;
		c->state = LOAD_CONNECTING;
		L->inflight++;
		L->live++;
		ws_client_connect(&c->ws, (const struct sockaddr *)&c->url->addr,
		    u->host, u->port, u->path);
	}
}

/* Send every publish due by now (all of them when flush is set). */
static void
load_publish_due(struct load *L, int flush)
{
	struct load_client *c;
	uint64_t now = uv_hrtime(), due;

	if (flush)
		due = L->due_total;
	else {
		due = (uint64_t)((double)(now - L->t0) * L->per_ns) + 1;
		if (due > L->due_total)
			due = L->due_total;
	}
	while (L->scheduled < due) {
		c = &L->clients[L->scheduled++ % L->n];
		if (c->state == LOAD_JOINED)
			load_publish(L, c, now);
	}
}

static void
load_tick(uv_timer_t *t)
{
	struct load *L = t->data;

	if (L->phase == LOAD_RUN)
		load_publish_due(L, 0);
	else if (L->phase == LOAD_DRAIN && L->delivered >= L->expected)
		load_finish(L);
}

/* The setup bound passed, the run is over, or the drain gave up. */
static void
load_phase_timer(uv_timer_t *t)
{
	struct load *L = t->data;
	unsigned i;

	switch (L->phase) {
	case LOAD_SETUP:
		for (i = 0; i < L->n; i++)
			if (L->clients[i].state == LOAD_CONNECTING ||
			    L->clients[i].state == LOAD_JOINING)
				break;
		L->failed++;
		L->errors++;
		snprintf(L->failure, sizeof L->failure, "%u of %u clients "
		    "joined within %u s%s", L->joined, L->n,
		    (unsigned)(L->setup_ms / 1000), i < L->n ?
		    " (still connecting or joining)" : "");
		load_finish(L);
		break;
	case LOAD_RUN:
		load_publish_due(L, 1);
		L->phase = LOAD_DRAIN;
		uv_timer_stop(&L->tick);
		uv_timer_start(&L->tick, load_tick, 0, LOAD_POLL_MS);
		uv_timer_start(&L->phase_timer, load_phase_timer,
		    LOAD_DRAIN_MS, 0);
		break;
	case LOAD_DRAIN:
		load_finish(L);
		break;
	default:
		break;
	}
}

/* Everyone joined: the barrier is passed, start the schedule. */
static void
load_start_run(struct load *L)
{
	const struct sim_opts *o = L->o;
	double total, ms;

	L->phase = LOAD_RUN;
	uv_timer_stop(&L->phase_timer);
	uv_update_time(&L->sl.loop);
	L->t0 = uv_hrtime();
	L->per_ns = (double)L->n * o->rate / 1e9;
	total = (double)L->n * o->rate * (double)o->duration_ms / 1000;
	L->due_total = total > 0 ? (uint64_t)ceil(total - 1e-9) : 0;
	uv_timer_start(&L->phase_timer, load_phase_timer, o->duration_ms, 0);
	if (L->due_total == 0)
		return;
	/* About one publish a tick, at least one tick a millisecond. */
	ms = 1000 / ((double)L->n * o->rate);
	if (ms < 1)
		ms = 1;
	if (ms > LOAD_TICK_MAX_MS)
		ms = LOAD_TICK_MAX_MS;
	load_publish_due(L, 0);
	uv_timer_start(&L->tick, load_tick, (uint64_t)ms, (uint64_t)ms);
}

/* Stop the timers and close every connection; the loop then ends. */
static void
load_finish(struct load *L)
{
	unsigned i;

	if (L->phase != LOAD_CLOSE) {
		L->phase = LOAD_CLOSE;
		uv_timer_stop(&L->tick);
		uv_timer_stop(&L->phase_timer);
		for (i = 0; i < L->n; i++)
			ws_client_close(&L->clients[i].ws, 1000, "done");
	}
	if (L->live == 0) {
		uv_close((uv_handle_t *)&L->tick, NULL);
		uv_close((uv_handle_t *)&L->phase_timer, NULL);
	}
}

/* Allow one descriptor a client and some spare, raising the soft limit. */
static int
load_fds(unsigned n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + LOAD_FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		cmd_error("sim: %u clients need %llu open files; the limit "
		    "is %llu (ulimit -n)", n, (unsigned long long)want,
		    (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* Print what the run measured, as text or one JSON object. */
static void
load_report(const struct load *L)
{
	const struct sim_opts *o = L->o;
	const struct load_hist *h = &L->hist;
	double secs = (double)o->duration_ms / 1000, pct, p50, p90, p99, max;
	uint64_t lost;

	lost = L->expected > L->delivered ? L->expected - L->delivered : 0;
	pct = L->expected > 0 ? 100.0 * (double)lost / (double)L->expected : 0;
	p50 = hist_quantile_ms(h, 0.50);
	p90 = hist_quantile_ms(h, 0.90);
	p99 = hist_quantile_ms(h, 0.99);
	max = (double)h->max / 1e6;

	if (o->json) {
		printf("{\"clients\":%u,\"rooms\":%u,\"rate\":%g,"
		    "\"duration\":%g,\"sent\":%" PRIu64 ",\"expected\":%" PRIu64
		    ",\"delivered\":%" PRIu64 ",\"lost\":%" PRIu64
		    ",\"loss_pct\":%.3f,\"delivered_per_s\":%.1f,"
		    "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
		    "\"max_ms\":%.3f,\"errors\":%" PRIu64 "}\n",
		    L->n, o->rooms, o->rate, secs, L->sent, L->expected,
		    L->delivered, lost, pct, (double)L->delivered / secs,
		    p50, p90, p99, max, L->errors);
		return;
	}
	printf("clients      %u over %zu node%s\n", L->n, L->sl.nurls,
	    L->sl.nurls == 1 ? "" : "s");
	printf("rooms        %u\n", o->rooms);
	printf("rate         %g events/s per client\n", o->rate);
	printf("duration     %g s\n", secs);
	printf("sent         %" PRIu64 "\n", L->sent);
	printf("expected     %" PRIu64 "\n", L->expected);
	printf("delivered    %" PRIu64 "\n", L->delivered);
	printf("lost         %" PRIu64 " (%.3f%%)\n", lost, pct);
	printf("delivered/s  %.0f\n", (double)L->delivered / secs);
	printf("latency ms   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
	    p50, p90, p99, max);
	printf("errors       %" PRIu64 "\n", L->errors);
}

/*
 * Run load mode with o (script NULL; rooms, rate and duration_ms set, as
 * cmd-sim.c checks). Returns EXIT_OK when the run happened, loss or not;
 * EXIT_FAIL when a client could not connect or join, or lost its
 * connection; EXIT_USAGE for a bad URL.
 */
int
sim_load(const struct sim_opts *o)
{
	struct load *L;
	struct load_client *c;
	unsigned i;
	int rc;

	if (load_fds(o->clients) != 0)
		return EXIT_FAIL;

	/* The histogram is 12 KB: keep it off the stack. */
	L = xcalloc(1, sizeof *L);
	L->o = o;
	L->n = o->clients;
	if ((rc = sim_loop_open(&L->sl, o)) != 0) {
		free(L);
		return rc;
	}

	L->members = xcalloc(o->rooms, sizeof *L->members);
	L->clients = xcalloc(L->n, sizeof *L->clients);
	for (i = 0; i < L->n; i++) {
		c = &L->clients[i];
		c->load = L;
		c->index = i;
		c->url = &L->sl.urls[i % L->sl.nurls];
		/* Consecutive clients on one node go to different rooms. */
		c->room = (unsigned)((i / L->sl.nurls) % o->rooms);
		ws_client_init(&c->ws, &L->sl.loop, &load_ws_cb, c);
	}
	uv_timer_init(&L->sl.loop, &L->tick);
	L->tick.data = L;
	uv_timer_init(&L->sl.loop, &L->phase_timer);
	L->phase_timer.data = L;

	L->setup_ms = LOAD_SETUP_MS + (uint64_t)L->n * LOAD_SETUP_MS_PER;
	L->phase = LOAD_SETUP;
	uv_timer_start(&L->phase_timer, load_phase_timer, L->setup_ms, 0);
	load_connect_more(L);
	uv_run(&L->sl.loop, UV_RUN_DEFAULT);

	if (L->t0 != 0)
		load_report(L);
	if (L->failed) {
		cmd_error("sim: %s%s", L->failure, L->failed > 1 ?
		    " (and more failures)" : "");
		rc = EXIT_FAIL;
	} else
		rc = stdout_flush() == 0 ? EXIT_OK : EXIT_FAIL;
	sim_loop_close(&L->sl);
	for (i = 0; i < L->n; i++)
		ws_client_free(&L->clients[i].ws);
	free(L->clients);
	free(L->members);
	free(L);
	return rc;
}
