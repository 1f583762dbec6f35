/*
 * fuzz_request.c: libFuzzer harness for the daemon's request path: the
 * lws callback (server.c), connections and their send queues (conn.c),
 * requests (request.c, req-*.c, defer.c), joins, rooms and fan-out
 * (join.c, room.c, fanout.c, replay.c, recover.c), replies and frames,
 * with lws and Redis stubbed here. The input is a script of events for two
 * clients: frames they send (raw, or requests the harness gives a ref of
 * its own), Redis answering the oldest call (with a reply of the right
 * shape or of any shape, or not at all), subscriptions confirmed, room
 * frames from pub/sub, writable sockets and closes.
 *
 * Checked: every frame roomd writes is a whole WebSocket frame, and every
 * text frame one JSON object; every reply's ref is one a request of that
 * client carried; the harness's refs come back in request order, at most
 * once, and exactly once on a connection that was not closed; once both
 * clients are gone, no connection or room is left.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <libwebsockets.h>

#include "roomd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int server_callback(struct lws *, enum lws_callback_reasons, void *, void *,
    size_t);

/* What daemon/main.c defines. */
struct config cfg;
struct stats stats;
uv_loop_t *loop;
char node_id[ID_MAX + 1] = "fz";
uint64_t started_at;
int shutting_down;

#define NCLIENTS 2
#define MAX_REFS 512

/* One fake client: its wsi is the address of this struct. */
struct client {
	unsigned char user[64];	/* lws's per-session user data */
	int open;		/* established and not closed */
	int closed_by_roomd;	/* a close frame came, or a timeout kill */
	struct buf out;		/* bytes roomd wrote, not yet parsed */
	struct buf raw;		/* every raw frame it sent, for ref lookup */
	unsigned refs_sent;	/* harness refs "#hN" sent: 0..refs_sent-1 */
	unsigned char seen[MAX_REFS];	/* replies per harness ref */
	unsigned char must[MAX_REFS];	/* ... that must come (valid JSON) */
	int next_ref;		/* replies must come in order */
	int partial;		/* a message's first pieces were sent */
};

static struct client clients[NCLIENTS];
static struct client *writing;	/* the client lws_write writes to */
static int frame_binary, frame_final = 1;

/* --- lws, stubbed ------------------------------------------------------ */

static struct client *
client_of(struct lws *wsi)
{
	return (struct client *)(void *)wsi;
}

int
lws_write(struct lws *wsi, unsigned char *buf, size_t len,
    enum lws_write_protocol wp)
{
	(void)wp;
	buf_add(&client_of(wsi)->out, buf, len);
	return (int)len;
}

int
lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	return 1;
}

int
lws_rx_flow_control(struct lws *wsi, int enable)
{
	(void)wsi;
	(void)enable;
	return 0;
}

int
lws_partial_buffered(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

void
lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	(void)reason;
	(void)secs;
	client_of(wsi)->closed_by_roomd = 1;
}

int
lws_frame_is_binary(struct lws *wsi)
{
	(void)wsi;
	return frame_binary;
}

int
lws_is_final_fragment(struct lws *wsi)
{
	(void)wsi;
	return frame_final;
}

size_t
lws_remaining_packet_payload(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

/* --- Redis, stubbed ---------------------------------------------------- */

struct call {
	store_cb cb;
	void *arg;
	enum script_id id;
	char what[16];		/* read.lua's first argument */
};

#define MAX_CALLS 256
static struct call calls[MAX_CALLS];
static size_t ncalls;
static char subs[64][128];	/* channels asked for, not yet confirmed */
static size_t nsubs;
static char unsubs[64][128];
static size_t nunsubs;
static char known[16][128];	/* channels ever subscribed */
static size_t nknown;

int
store_ready(void)
{
	return 1;
}

double
store_rtt_ms(void)
{
	return 1;
}

uint64_t
store_up_since(void)
{
	return 1;
}

int
store_start(const struct store_events *ev, const char *ch)
{
	(void)ev;
	(void)ch;
	return 0;
}

void
store_stop(void)
{
}

void
store_reset(const char *why)
{
	(void)why;
}

void
store_run(struct script_args *sa, store_cb cb, void *arg)
{
	struct call *c;

	if (cb == NULL || ncalls == MAX_CALLS) {
		if (cb != NULL)
			cb(NULL, arg);
		script_args_free(sa);
		return;
	}
	c = &calls[ncalls++];
	c->cb = cb;
	c->arg = arg;
	c->id = sa->id;
	snprintf(c->what, sizeof c->what, "%.*s",
	    sa->argc > sa->nkeys ? (int)sa->lens[sa->nkeys] : 0,
	    sa->argc > sa->nkeys ? sa->argv[sa->nkeys] : "");
	script_args_free(sa);
}

void
store_commandl(const char *cmd, ...)
{
	(void)cmd;
}

/* The back end's commands (webhooks, API): none is sent here. */
int
store_command(store_cb cb, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	(void)cb;
	(void)arg;
	(void)argc;
	(void)argv;
	(void)lens;
	return -1;
}

int
store_command_key(const char *key, store_cb cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	(void)key;
	return store_command(cb, arg, argc, argv, lens);
}

void
store_set_notices(const char *cfgval)
{
	(void)cfgval;
}

static int
push_channel(char list[][128], size_t *n, size_t max, const char *ch,
    size_t len)
{
	if (*n == max || len >= 128)
		return -1;
	memcpy(list[*n], ch, len);
	list[(*n)++][len] = '\0';
	return 0;
}

int
store_subscribe(const char *ch, size_t len)
{
	size_t i;

	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "subscribe %.*s\n", (int)len, ch);
	for (i = 0; i < nknown; i++)
		if (strcmp(known[i], ch) == 0)
			break;
	if (i == nknown)
		push_channel(known, &nknown, 16, ch, len);
	return push_channel(subs, &nsubs, 64, ch, len);
}

int
store_unsubscribe(const char *ch, size_t len)
{
	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "unsubscribe %.*s\n", (int)len, ch);
	return push_channel(unsubs, &nunsubs, 64, ch, len);
}

/* --- Redis replies built from fuzz bytes ------------------------------- */

/*
 * Every node and element array of a reply is its own allocation, so that
 * roomd reading past a reply's elements is an ASan report, not a quiet
 * read of the next node; all are freed once the callback has returned.
 */
static void *allocs[8192];
static size_t nallocs;

static void *
alloc(size_t n)
{
	void *p;

	if (nallocs == sizeof allocs / sizeof allocs[0])
		return NULL;
	p = calloc(1, n);
	allocs[nallocs++] = p;
	return p;
}

static void
free_replies(void)
{
	while (nallocs > 0)
		free(allocs[--nallocs]);
}

/* Bytes the input still has for building replies. */
struct src {
	const uint8_t *p;
	size_t n;
};

static unsigned
take(struct src *s)
{
	if (s->n == 0)
		return 0;
	s->n--;
	return *s->p++;
}

/* A reply node; when the arena is full, a nil that needs no memory. */
static redisReply *
node(int type)
{
	static redisReply nil = { .type = REDIS_REPLY_NIL };
	redisReply *r = alloc(sizeof *r);

	if (r == NULL)
		return &nil;
	r->type = type;
	return r;
}

static redisReply *
rs(const char *s)
{
	redisReply *r = node(REDIS_REPLY_STRING);

	r->str = (char *)s;
	r->len = strlen(s);
	return r;
}

static redisReply *
ri(long long v)
{
	redisReply *r = node(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static redisReply *
ra(size_t n)
{
	redisReply *r = node(REDIS_REPLY_ARRAY);
	redisReply **e;

	if (r->type != REDIS_REPLY_ARRAY ||
	    (e = alloc((n > 0 ? n : 1) * sizeof *e)) == NULL)
		return node(REDIS_REPLY_NIL);
	r->elements = n;
	r->element = e;
	for (size_t i = 0; i < n; i++)
		e[i] = node(REDIS_REPLY_NIL);
	return r;
}

/* JSON texts Redis holds (roomd wrote them): values, members, frames. */
static const char *const values[] = {
	"{}", "null", "1", "\"s\"", "[1,2]", "{\"a\":{\"b\":[]}}",
	"\"\\u00e9\\\"\"",
};
static const char *const members[] = {
	("{\"conn\":\"c1\",\"user\":null,\"meta\":{},\"node\":\"n\","
	    "\"joined_at\":1}"),
	"{\"conn\":\"x-2\",\"user\":\"u\",\"meta\":{\"a\":[1]}}",
};
static const char *const frames[] = {
	("{\"seq\":\"5-0\",\"type\":\"event\",\"room\":\"r\",\"ts\":1,"
	    "\"event\":\"e\",\"data\":1}"),
	"{\"seq\":\"9-3\",\"type\":\"member_left\",\"room\":\"r\",\"ts\":2}",
	"{\"seq\":\"18446744073709551615-0\",\"type\":\"event\"}",
	"{\"type\":\"event\",\"seq\":\"1-1\"}",
};
static const char *const seqs[] = { "1-0", "5-0", "9-3", "0-0",
	"18446744073709551615-18446744073709551615", "x-1", "" };
static const char *const words[] = { "ok", "already", "room_full",
	"not_member", "not_found", "conflict", "too_large", "bogus", "" };

#define PICK(s, a) (a[take(s) % (sizeof a / sizeof a[0])])

/* An array of up to 3 strings from table, or with pairs, of up to 3
 * key and value pairs (a flat HGETALL). */
static redisReply *
strings_of(struct src *s, const char *const *table, size_t ntable, int pairs)
{
	size_t n = take(s) % 4 * (pairs ? 2 : 1);
	redisReply *r = ra(n);

	for (size_t i = 0; i < n; i++)
		r->element[i] = pairs && i % 2 == 0 ? rs(PICK(s, seqs)) :
		    rs(table[take(s) % ntable]);
	return r;
}
#define strings(s, table, pairs) \
	strings_of(s, table, sizeof table / sizeof table[0], pairs)

/* Any reply at all: what a broken or hostile Redis might send. */
static redisReply *
any(struct src *s, int depth)
{
	redisReply *r;
	size_t n;

	switch (take(s) % 6) {
	case 0:
		return rs(PICK(s, words));
	case 1:
		return ri((long long)take(s) - 128);
	case 2:
		return node(REDIS_REPLY_NIL);
	case 3:
		r = rs("ERR fuzz");
		r->type = REDIS_REPLY_ERROR;
		return r;
	default:
		n = depth > 2 ? 0 : take(s) % 12;
		r = ra(n);
		for (size_t i = 0; i < n; i++)
			r->element[i] = any(s, depth + 1);
		return r;
	}
}

/* A reply of the shape the script returns, with fuzzed contents. */
static redisReply *
good(struct src *s, const struct call *c)
{
	redisReply *r, *d;

	switch (c->id) {
	case SCRIPT_JOIN:
		if (take(s) % 8 == 0)
			return (r = ra(1), r->element[0] = rs("room_full"), r);
		r = ra(JOIN_R_COUNT);
		r->element[JOIN_R_STATUS] = rs(take(s) % 2 ? "ok" : "already");
		r->element[JOIN_R_SEQ] = rs(PICK(s, seqs));
		r->element[JOIN_R_MEMBERS] = strings(s, members, 0);
		r->element[JOIN_R_STATE] = strings(s, values, 1);
		r->element[JOIN_R_STATE_VERSION] = ri(take(s));
		r->element[JOIN_R_RECOVERED] = ri((int)(take(s) % 3) - 1);
		r->element[JOIN_R_FRAMES] = strings(s, frames, 0);
		r->element[JOIN_R_MEMBER] = rs(PICK(s, members));
		d = ra(JOIN_D_COUNT);
		for (int i = 0; i < JOIN_D_COUNT; i++)
			d->element[i] = rs("x");
		r->element[JOIN_R_DETAILS] = d;
		r->element[JOIN_R_MORE] = ri(take(s) % 2);
		return r;
	case SCRIPT_LEAVE:
		r = ra(LEAVE_R_COUNT);
		r->element[0] = ri(take(s) % 2);
		r->element[1] = rs(PICK(s, seqs));
		r->element[2] = ri(take(s) % 2);
		return r;
	case SCRIPT_APPEND:
		r = ra(APPEND_R_COUNT);
		r->element[0] = rs(PICK(s, words));
		r->element[1] = rs(PICK(s, seqs));
		return r;
	case SCRIPT_STATE_SET:
		r = ra(STATE_SET_R_COUNT);
		r->element[0] = rs(PICK(s, words));
		r->element[1] = ri(take(s));
		r->element[2] = rs(PICK(s, seqs));
		return r;
	case SCRIPT_READ:
		if (strcmp(c->what, "state") == 0) {
			r = ra(3);
			r->element[1] = strings(s, values, 1);
			r->element[2] = ri(take(s));
		} else if (strcmp(c->what, "presence") == 0) {
			r = ra(2);
			r->element[1] = strings(s, members, 0);
		} else {
			r = ra(READ_R_HISTORY_COUNT);
			r->element[READ_R_FRAMES] = strings(s, frames, 0);
			r->element[READ_R_MORE] = ri(take(s) % 2);
			r->element[READ_R_LAST] = rs(PICK(s, seqs));
		}
		r->element[0] = rs(take(s) % 4 ? "ok" : PICK(s, words));
		return r;
	case SCRIPT_ROOMS:
		r = ra(take(s) % 3);
		for (size_t i = 0; i < r->elements; i++) {
			d = ra(ROOMS_R_COUNT);
			for (int k = 0; k < 4; k++)
				d->element[k] = rs(k == 3 ? "private" : "t\"\x01");
			for (int k = 4; k < ROOMS_R_COUNT; k++)
				d->element[k] = ri(take(s));
			r->element[i] = d;
		}
		return r;
	default:
		return any(s, 0);
	}
}

/* Answer the oldest call: a good reply, any reply, or none (NULL). */
static void
answer(struct src *s, int how)
{
	struct call c;

	if (ncalls == 0)
		return;
	c = calls[0];
	memmove(calls, calls + 1, --ncalls * sizeof calls[0]);
	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "answer %s %s how %d\n", script_name(c.id),
		    c.what, how);
	switch (how) {
	case 0:
		c.cb(good(s, &c), c.arg);
		break;
	case 1:
		c.cb(any(s, 0), c.arg);
		break;
	default:
		c.cb(NULL, c.arg);
		break;
	}
	free_replies();
}

static void
confirm_sub(void)
{
	char ch[128];

	if (nsubs == 0)
		return;
	memcpy(ch, subs[0], sizeof ch);
	memmove(subs, subs + 1, --nsubs * sizeof subs[0]);
	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "confirm subscribe %s\n", ch);
	join_subscribed(ch, strlen(ch));
}

static void
confirm_unsub(void)
{
	char ch[128];

	if (nunsubs == 0)
		return;
	memcpy(ch, unsubs[0], sizeof ch);
	memmove(unsubs, unsubs + 1, --nunsubs * sizeof unsubs[0]);
	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "confirm unsubscribe %s\n", ch);
	room_unsubscribed(ch, strlen(ch));
}

/* --- what roomd wrote -------------------------------------------------- */

/* A harness ref is "#hN": raw frames holding "#h are not sent. */
static int
harness_ref(const char *ref, size_t len, unsigned *n)
{
	char tmp[16];

	if (len < 5 || len > 12 || memcmp(ref, "\"#h", 3) != 0 ||
	    ref[len - 1] != '"')
		return 0;
	snprintf(tmp, sizeof tmp, "%.*s", (int)(len - 4), ref + 3);
	*n = (unsigned)strtoul(tmp, NULL, 10);
	return 1;
}

/* A check failed: say which and on what, for the crash report. */
static void
fail(const char *why, const char *text, size_t len)
{
	fprintf(stderr, "fuzz_request: %s: %.*s\n", why,
	    (int)(len > 400 ? 400 : len), text);
	abort();
}

static void
check_text(struct client *cl, const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	const char *end, *v;
	cJSON *j, *type;
	size_t vlen;
	unsigned n;

	memcpy(copy, text, len);
	copy[len] = '\0';
	j = cJSON_ParseWithOpts(copy, &end, 1);
	if (j == NULL || !cJSON_IsObject(j) || memchr(text, '\0', len) != NULL)
		fail("a frame that is not a JSON object", text, len);
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (!cJSON_IsString(type))
		fail("a frame without a type", text, len);
	if ((strcmp(type->valuestring, "ok") == 0 ||
	    strcmp(type->valuestring, "error") == 0) &&
	    json_member_span(copy, len, "ref", &v, &vlen) == 0) {
		if (harness_ref(v, vlen, &n)) {
			/* Ours: in order, once each. */
			if (n >= cl->refs_sent || (int)n < cl->next_ref ||
			    cl->seen[n % MAX_REFS]++ != 0)
				fail("a reply out of order or twice", text, len);
			cl->next_ref = (int)n + 1;
		} else if (cl->raw.len == 0 ||
		    memmem(cl->raw.p, cl->raw.len, v, vlen) == NULL)
			fail("a ref nobody sent", text, len);
	}
	cJSON_Delete(j);
	free(copy);
}

/* Parse the frames roomd wrote to cl (server frames are never masked). */
static void
check_output(struct client *cl)
{
	const unsigned char *p = (const unsigned char *)cl->out.p;
	size_t n = cl->out.len, off = 0;

	while (off < n) {
		size_t hl = 2, len;

		if (n - off < 2)
			abort();
		if (p[off + 1] & 0x80)
			abort();	/* masked */
		len = p[off + 1] & 0x7f;
		if (len == 126) {
			hl = 4;
			if (n - off < 4)
				abort();
			len = (size_t)p[off + 2] << 8 | p[off + 3];
		} else if (len == 127) {
			hl = 10;
			if (n - off < 10)
				abort();
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[off + 2 + i];
		}
		if (n - off - hl < len)
			abort();	/* a frame cut short */
		if (getenv("FUZZ_TRACE") != NULL)
			fprintf(stderr, "out client %d: %.*s\n",
			    (int)(cl - clients), (int)len,
			    (const char *)p + off + hl);
		if ((p[off] & 0x0f) == 0x1)
			check_text(cl, (const char *)p + off + hl, len);
		else if ((p[off] & 0x0f) == 0x8)
			cl->closed_by_roomd = 1;
		off += hl + len;
	}
	buf_reset(&cl->out);
	cl->out.len = 0;
}

/* --- driving it -------------------------------------------------------- */

static void
cb(struct client *cl, enum lws_callback_reasons reason, void *in,
    size_t len)
{
	if (getenv("FUZZ_TRACE") != NULL)
		fprintf(stderr, "cb %d client %d: %.*s\n", reason,
		    (int)(cl - clients), reason == LWS_CALLBACK_RECEIVE ?
		    (int)len : 0, (const char *)in);
	writing = cl;
	if (server_callback((struct lws *)(void *)cl, reason, cl->user, in,
	    len) != 0 && reason != LWS_CALLBACK_WS_PEER_INITIATED_CLOSE)
		cl->closed_by_roomd = 1;
}

static void
open_client(struct client *cl)
{
	memset(cl->user, 0, sizeof cl->user);
	cl->open = 1;
	cb(cl, LWS_CALLBACK_ESTABLISHED, NULL, 0);
}

static void
close_client(struct client *cl)
{
	if (!cl->open)
		return;
	cb(cl, LWS_CALLBACK_CLOSED, NULL, 0);
	cl->open = 0;
}

static void
flush_all(void)
{
	conn_flush_all();
	for (int i = 0; i < NCLIENTS; i++) {
		if (clients[i].open)
			cb(&clients[i], LWS_CALLBACK_SERVER_WRITEABLE, NULL, 0);
		check_output(&clients[i]);
	}
}

/*
 * Would roomd read text as one JSON object (the harness's own reading:
 * cJSON on a NUL-terminated copy, trailing blanks allowed)?
 */
static int
is_object(const char *text, size_t len)
{
	char *copy;
	const char *end = NULL;
	cJSON *j;
	int ok;

	if (memchr(text, '\0', len) != NULL)
		return 0;
	copy = malloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	j = cJSON_ParseWithOpts(copy, &end, 0);
	ok = j != NULL && cJSON_IsObject(j);
	while (ok && *end != '\0' && strchr(" \t\r\n", *end) != NULL)
		end++;
	ok = ok && *end == '\0';
	cJSON_Delete(j);
	free(copy);
	return ok;
}

/* A client sends a frame: raw bytes, or a request given a harness ref. */
static void
send_frame(struct client *cl, const uint8_t *p, size_t n, int with_ref)
{
	struct buf b;
	unsigned k = 0;

	if (!cl->open || cl->closed_by_roomd)
		return;
	if (memchr(p, '#', n) != NULL)
		return;		/* refs with # are the harness's */
	buf_init(&b);
	if (with_ref && cl->refs_sent < MAX_REFS) {
		/* {"ref":"#hN", then the input's members. */
		k = cl->refs_sent++;
		buf_printf(&b, "{\"ref\":\"#h%u\"%s", k,
		    n > 0 && p[0] != '}' ? "," : "");
		buf_add(&b, p, n);
		/* A whole text message roomd can read must be answered. */
		cl->must[k] = !cl->partial && frame_final && !frame_binary &&
		    is_object(b.p, b.len);
	} else {
		buf_add(&b, p, n);
		buf_add(&cl->raw, p, n);
	}
	cl->partial = !frame_final && !frame_binary;
	cb(cl, LWS_CALLBACK_RECEIVE, b.p, b.len);
	buf_free(&b);
}

/* A room frame on one of the channels roomd subscribed to. */
static void
pubsub(struct src *s)
{
	const char *ch;
	char frame[512];

	if (nknown == 0)
		return;
	ch = known[take(s) % nknown];
	snprintf(frame, sizeof frame, "{\"seq\":\"%u-%u\"%s\"type\":\"event\","
	    "\"from\":{\"conn\":\"%s\"},\"data\":%s}", take(s), take(s),
	    take(s) % 4 == 0 ? ", " : ",", take(s) % 2 ? "x" : "y",
	    PICK(s, values));
	fanout_deliver(ch, strlen(ch), frame, strlen(frame));
}

static void
setup(void)
{
	static int done;
	char *cause = NULL;
	char *argv[] = { "roomd", "--rate", "1000", "--max-frame", "4096",
	    "--history", "50", NULL };

	if (done)
		return;
	done = 1;
	loop = uv_default_loop();
	log_init("fuzz", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	if (config_load(&cfg, 7, argv, &cause) != CONFIG_OK)
		abort();
	defer_init(request_run);
}

/* Run everything still waiting to its end: calls answered (with the
 * plainest good reply), subscriptions confirmed, paced jobs released,
 * leaves owed to Redis sent again. */
static void
drain(void)
{
	/* Each round may start what the next finishes (a paced job sends
	 * a call, its answer ends a join): go on until a round found
	 * nothing waiting and started nothing. */
	for (int round = 0; round < 1000; round++) {
		size_t waiting = ncalls + nsubs + nunsubs;

		/* Redis is back: the leaves it missed are sent again. */
		join_retry_leaves();
		while (nsubs > 0)
			confirm_sub();
		while (nunsubs > 0)
			confirm_unsub();
		while (ncalls > 0)
			answer(&(struct src){ NULL, 0 }, 0);
		pace_flush();
		flush_all();
		if (waiting == 0 && ncalls + nsubs + nunsubs == 0)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size };

	setup();
	memset(clients, 0, sizeof clients);
	for (int i = 0; i < NCLIENTS; i++) {
		buf_init(&clients[i].out);
		buf_init(&clients[i].raw);
		open_client(&clients[i]);
	}
	flush_all();
	while (s.n > 0) {
		unsigned op = take(&s), who = op >> 7;
		struct client *cl = &clients[who % NCLIENTS];
		size_t n;

		switch (op & 0x0f) {
		case 0:
		case 1:
		case 2:
			/* A frame: a length, then its bytes. */
			n = take(&s) % 200;
			if (n > s.n)
				n = s.n;
			frame_binary = (op & 0x70) == 0x70;
			frame_final = (op & 0x70) != 0x60;
			send_frame(cl, s.p, n, (op & 0x0f) != 0);
			frame_binary = 0;
			frame_final = 1;
			s.p += n;
			s.n -= n;
			break;
		case 3:
		case 4:
			answer(&s, 0);
			break;
		case 5:
			answer(&s, 1);
			break;
		case 6:
			answer(&s, 2);
			break;
		case 7:
			confirm_sub();
			break;
		case 8:
			confirm_unsub();
			break;
		case 9:
			pubsub(&s);
			break;
		case 10:
			close_client(cl);
			break;
		case 11:
			pace_flush();
			break;
		default:
			flush_all();
			break;
		}
	}
	drain();
	for (int i = 0; i < NCLIENTS; i++) {
		struct client *cl = &clients[i];

		/* Nothing was lost on a connection roomd left open. */
		if (cl->open && !cl->closed_by_roomd) {
			for (unsigned k = 0; k < cl->refs_sent; k++)
				if (cl->must[k] && cl->seen[k] != 1) {
					fprintf(stderr, "fuzz_request: client %d: "
					    "no reply to #h%u\n", i, k);
					abort();
				}
		}
		close_client(cl);
	}
	drain();
	/* Everything a client held is gone with it: no room left behind. */
	if (conn_count() != 0 || room_count() != 0) {
		fprintf(stderr, "fuzz_request: %zu conns, %zu rooms left\n",
		    conn_count(), room_count());
		abort();
	}
	for (int i = 0; i < NCLIENTS; i++) {
		buf_free(&clients[i].out);
		buf_free(&clients[i].raw);
	}
	ncalls = nsubs = nunsubs = nknown = 0;
	uv_run(loop, UV_RUN_NOWAIT);
	return 0;
}
