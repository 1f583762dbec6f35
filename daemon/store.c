/*
 * store.c: roomd's two Redis connections on the libuv loop: one for
 * commands and scripts, one carrying the pub/sub subscriptions. It loads
 * the scripts and reconnects with backoff. It knows nothing of rooms: what
 * happens when a connection comes back or a message arrives is up to the
 * struct store_events its user (main.c) hands to store_start, the way
 * hiredis hands events out of its async context.
 *
 * All commands go down one connection, so Redis runs them in the order
 * they were sent: that is what keeps one client's requests in order.
 */
#include <stdarg.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "roomd.h"

/* A pub/sub push: kind ("message", "subscribe", ...), channel, payload. */
enum { PUBSUB_KIND, PUBSUB_CHANNEL, PUBSUB_MESSAGE };

#define STORE_ARGS_MAX 32	/* for store_commandl */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static redisAsyncContext *cmd_ac;
static redisAsyncContext *sub_ac;
static int cmd_up;		/* connected and authenticated */
static int sub_up;
static int stopping;
static uv_timer_t retry_timer;
static uint64_t backoff_ms = BACKOFF_MIN_MS;
static double rtt_ms;		/* moving average of script round trips */
static uint64_t up_since;	/* mono_ms() when both last came up */
static char ctl_channel[128];	/* subscribed on every connection */
static const struct store_events *events;

/* A script call in flight; its arguments are kept to retry with EVAL. */
struct script_call {
	store_cb cb;
	void *arg;
	enum script_id sid;
	int retried;
	uint64_t sent_ns;
	int argc;
	const char **argv;
	size_t *lens;
	/* argv, lens and the argument bytes follow */
};

static void store_connect_all(void);
static void sub_message(redisAsyncContext *, void *, void *);

int
store_ready(void)
{
	if (store_cluster())
		return stc_ready();
	return cmd_up && sub_up;
}

double
store_rtt_ms(void)
{
	if (store_cluster())
		return stc_rtt_ms();
	return rtt_ms;
}

static void
retry_cb(uv_timer_t *t)
{
	(void)t;
	store_connect_all();
}

static void
schedule_retry(void)
{
	if (stopping || uv_is_active((uv_handle_t *)&retry_timer))
		return;
	uv_timer_start(&retry_timer, retry_cb, backoff_ms, 0);
	backoff_ms *= 2;
	if (backoff_ms > BACKOFF_MAX_MS)
		backoff_ms = BACKOFF_MAX_MS;
}

/* AUTH and SELECT replies: a refusal is fatal for this connection. */
static void
setup_reply(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *rr = r;

	if (rr != NULL && rr->type == REDIS_REPLY_ERROR) {
		log_warnx("redis %s: %s", (const char *)priv, rr->str);
		redisAsyncDisconnect(ac);
	}
}

static void
script_load_reply(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *rr = r;
	enum script_id sid = (enum script_id)(intptr_t)priv;

	(void)ac;
	if (rr == NULL)
		return;
	if (rr->type != REDIS_REPLY_STRING ||
	    strcmp(rr->str, script_sha(sid)) != 0)
		log_warnx("redis: loading script %s failed%s%s",
		    script_name(sid), rr->type == REDIS_REPLY_ERROR ? ": " : "",
		    rr->type == REDIS_REPLY_ERROR ? rr->str : "");
}

/* Both connections answer: Redis is usable again. */
static void
store_now_up(void)
{
	char where[300];

	if (!cmd_up || !sub_up)
		return;
	up_since = mono_ms();
	backoff_ms = BACKOFF_MIN_MS;
	redis_url_format(&cfg.redis_url, where, sizeof where);
	log_info("redis %s: connected", where);
}

/*
 * The command connection is up only once Redis has answered what was sent
 * first (AUTH, SELECT, the scripts): a TCP connection to a Redis that is
 * stopped or still loading is not one requests can use.
 */
static void
ready_reply(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *rr = r;

	(void)priv;
	if (rr == NULL || ac != cmd_ac)
		return;
	if (rr->type == REDIS_REPLY_ERROR) {
		/* LOADING a snapshot, say: what went before failed too, so
		 * start over on a new connection, after the backoff. */
		log_warnx("redis: not ready: %s", rr->str);
		redisAsyncDisconnect(ac);
		return;
	}
	cmd_up = 1;
	events->ready();
	store_now_up();
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	char where[300];

	if (status == REDIS_OK)
		return;	/* up when Redis answers: ready_reply, sub_message */
	redis_url_format(&cfg.redis_url, where, sizeof where);
	log_warnx("redis %s: cannot connect: %s", where, ac->errstr);
	if (ac == cmd_ac)
		cmd_ac = NULL;
	else
		sub_ac = NULL;
	schedule_retry();
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	if (ac == cmd_ac) {
		cmd_ac = NULL;
		cmd_up = 0;
	} else if (ac == sub_ac) {
		sub_ac = NULL;
		sub_up = 0;
	}
	if (stopping)
		return;
	log_warnx("redis: connection lost%s%s", status != REDIS_OK ? ": " : "",
	    status != REDIS_OK ? ac->errstr : "");
	schedule_retry();
}

static redisAsyncContext *
store_connect(int subscriber)
{
	const struct redis_url *u = &cfg.redis_url;
	redisAsyncContext *ac;
	char db[16];

	if (u->is_unix)
		ac = redisAsyncConnectUnix(u->path);
	else
		ac = redisAsyncConnect(u->host, u->port);
	if (ac == NULL)
		fatalx("out of memory");
	if (ac->err) {
		log_warnx("redis: %s", ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	if (redis_uv_attach(ac, loop) != 0) {
		log_warnx("redis: cannot watch the connection");
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	/* Sent now, run first: Redis answers in order. */
	if (u->password[0] != '\0')
		redisAsyncCommand(ac, setup_reply, "auth", "AUTH %s",
		    u->password);
	if (subscriber) {
		redisAsyncCommand(ac, sub_message, NULL, "SUBSCRIBE %s",
		    ctl_channel);
		return ac;
	}
	snprintf(db, sizeof db, "%d", u->db);
	redisAsyncCommand(ac, setup_reply, "select", "SELECT %s", db);
	for (int i = 0; i < SCRIPT_COUNT; i++)
		redisAsyncCommand(ac, script_load_reply, (void *)(intptr_t)i,
		    "SCRIPT LOAD %s", script_source(i));
	redisAsyncCommand(ac, ready_reply, NULL, "PING");
	return ac;
}

static void
store_connect_all(void)
{
	if (cmd_ac == NULL)
		cmd_ac = store_connect(0);
	if (sub_ac == NULL)
		sub_ac = store_connect(1);
	if (cmd_ac == NULL || sub_ac == NULL)
		schedule_retry();
}

/*
 * Connect, and keep connecting. ev (kept, not copied) hears what happens;
 * channel is subscribed first on every subscription connection, and its
 * confirmation is what makes that connection up.
 */
int
store_start(const struct store_events *ev, const char *channel)
{
	if (store_cluster())
		return stc_start(ev, channel);
	events = ev;
	snprintf(ctl_channel, sizeof ctl_channel, "%s", channel);
	uv_timer_init(loop, &retry_timer);
	store_connect_all();
	return 0;
}

static void
retry_timer_closed(uv_handle_t *h)
{
	(void)h;
}

/* Close both connections; pending callbacks run with a NULL reply. */
void
store_stop(void)
{
	if (store_cluster()) {
		stc_stop();
		return;
	}
	stopping = 1;
	uv_timer_stop(&retry_timer);
	uv_close((uv_handle_t *)&retry_timer, retry_timer_closed);
	if (cmd_ac != NULL)
		redisAsyncDisconnect(cmd_ac);
	if (sub_ac != NULL)
		redisAsyncDisconnect(sub_ac);
}

static void
script_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct script_call *sc = priv;
	redisReply *rr = r;
	double ms;

	if (rr != NULL && rr->type == REDIS_REPLY_ERROR && !sc->retried &&
	    strncmp(rr->str, "NOSCRIPT", 8) == 0) {
		/* The script cache was flushed: send the source this once. */
		sc->retried = 1;
		sc->argv[0] = "EVAL";
		sc->lens[0] = 4;
		sc->argv[1] = script_source(sc->sid);
		sc->lens[1] = strlen(sc->argv[1]);
		if (redisAsyncCommandArgv(ac, script_reply, sc, sc->argc,
		    sc->argv, sc->lens) == REDIS_OK)
			return;
		rr = NULL;
	}
	if (rr != NULL) {
		ms = (double)(uv_hrtime() - sc->sent_ns) / 1e6;
		rtt_ms = rtt_ms == 0 ? ms : rtt_ms * 0.9 + ms * 0.1;
	}
	if (sc->cb != NULL)
		sc->cb(rr, sc->arg);
	free(sc);
}

/*
 * Run a script call built by a script_*_args builder (scripts.h); its
 * arguments are copied. cb runs with the reply, or NULL if the connection
 * is lost before it comes. Returns -1, without calling cb, when Redis is
 * not connected.
 */
static int
store_script(const struct script_args *sa, store_cb cb, void *arg)
{
	struct script_call *sc;
	int argc = 3 + sa->argc;
	size_t bytes = 0;
	char nk[16], *p;

	if (!cmd_up || cmd_ac == NULL)
		return -1;
	for (int i = 0; i < sa->argc; i++)
		bytes += sa->lens[i];
	sc = xmalloc(sizeof *sc + argc * (sizeof *sc->argv + sizeof *sc->lens) +
	    bytes + sizeof nk);
	sc->cb = cb;
	sc->arg = arg;
	sc->sid = sa->id;
	sc->retried = 0;
	sc->argc = argc;
	sc->argv = (const char **)(sc + 1);
	sc->lens = (size_t *)(sc->argv + argc);
	p = (char *)(sc->lens + argc);
	snprintf(nk, sizeof nk, "%d", sa->nkeys);
	sc->argv[0] = "EVALSHA";
	sc->lens[0] = 7;
	sc->argv[1] = script_sha(sa->id);
	sc->lens[1] = 40;
	memcpy(p, nk, strlen(nk));
	sc->argv[2] = p;
	sc->lens[2] = strlen(nk);
	p += sc->lens[2];
	for (int i = 0; i < sa->argc; i++) {
		memcpy(p, sa->argv[i], sa->lens[i]);
		sc->argv[3 + i] = p;
		sc->lens[3 + i] = sa->lens[i];
		p += sa->lens[i];
	}
	sc->sent_ns = uv_hrtime();
	if (redisAsyncCommandArgv(cmd_ac, script_reply, sc, argc, sc->argv,
	    sc->lens) != REDIS_OK) {
		free(sc);
		return -1;
	}
	return 0;
}

/*
 * Send the script call sa and free it. cb (may be NULL) gets the reply;
 * NULL when the connection is lost before it comes, or at once, from
 * within this call, when Redis is not connected.
 */
void
store_run(struct script_args *sa, store_cb cb, void *arg)
{
	if (store_cluster() && sa->id == SCRIPT_ROOMS)
		stc_rooms(sa, cb, arg);
	else if (store_cluster() && sa->id == SCRIPT_GC)
		stc_gc(sa, cb, arg);
	else if (store_cluster() && sa->id == SCRIPT_MATCH)
		stc_match(sa, cb, arg);
	else if (store_cluster())
		stc_run(sa, cb, arg);
	else if (store_script(sa, cb, arg) != 0 && cb != NULL)
		cb(NULL, arg);
	script_args_free(sa);
}

struct command_call {
	store_cb cb;
	void *arg;
};

static void
command_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct command_call *cc = priv;

	(void)ac;
	if (cc->cb != NULL)
		cc->cb(r, cc->arg);
	free(cc);
}

/*
 * Send any command; cb may be NULL (lens too: strlen). Returns -1 when
 * not connected, and then cb is not called. (backend: webhook.c and
 * api.c read replies of plain commands.)
 */
int
store_command(store_cb cb, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	struct command_call *cc;

	if (store_cluster())
		return stc_command(cb, arg, argc, argv, lens);
	if (!cmd_up || cmd_ac == NULL)
		return -1;
	cc = xmalloc(sizeof *cc);
	cc->cb = cb;
	cc->arg = arg;
	if (redisAsyncCommandArgv(cmd_ac, command_reply, cc, argc, argv,
	    lens) != REDIS_OK) {
		free(cc);
		return -1;
	}
	return 0;
}

/* store_command for a command whose key is not argv[1] (EVAL, XINFO,
 * XREADGROUP): on a cluster it goes to key's shard. */
int
store_command_key(const char *key, store_cb cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (store_cluster())
		return stc_command_key(key, cb, arg, argc, argv, lens);
	return store_command(cb, arg, argc, argv, lens);
}

/* On a cluster the scripts get the webhook settings from roomd
 * (webhook.c reads them every second); on one Redis they read the key. */
void
store_set_notices(const char *cfgval)
{
	if (store_cluster())
		stc_set_notices(cfgval);
}

/*
 * Send a command given as NUL-terminated strings, the list ending with
 * NULL, without waiting for its reply; dropped when not connected.
 */
void
store_commandl(const char *cmd, ...)
{
	const char *argv[STORE_ARGS_MAX];
	size_t lens[STORE_ARGS_MAX];
	const char *s;
	va_list ap;
	int argc = 0;

	va_start(ap, cmd);
	for (s = cmd; s != NULL; s = va_arg(ap, const char *)) {
		if (argc == STORE_ARGS_MAX)
			fatalx("store_commandl: too many arguments");
		argv[argc] = s;
		lens[argc++] = strlen(s);
	}
	va_end(ap);
	store_command(NULL, NULL, argc, argv, lens);
}

/*
 * Everything on the subscription connection lands here: confirmations
 * and messages for the room channels and the control channel.
 */
static void
sub_message(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *rr = r, *kind, *ch, *msg;

	(void)ac;
	(void)priv;
	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements < 3)
		return;
	kind = rr->element[PUBSUB_KIND];
	ch = rr->element[PUBSUB_CHANNEL];
	msg = rr->element[PUBSUB_MESSAGE];
	if (kind->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "message") == 0) {
		if (msg->type != REDIS_REPLY_STRING)
			return;
		events->message(ch->str, ch->len, msg->str, msg->len);
	} else if (strcmp(kind->str, "subscribe") == 0) {
		if (strcmp(ch->str, ctl_channel) == 0 && ac == sub_ac) {
			/* The subscription connection answers. */
			sub_up = 1;
			events->resubscribe();
			events->listening();
			store_now_up();
		} else
			events->subscribed(ch->str, ch->len);
	}
	else if (strcmp(kind->str, "unsubscribe") == 0)
		events->unsubscribed(ch->str, ch->len);
}

/* When both connections last came up (mono_ms), or 0 while down. */
uint64_t
store_up_since(void)
{
	if (store_cluster())
		return stc_up_since();
	return store_ready() ? up_since : 0;
}

/*
 * Drop both connections at once, as when Redis stops answering without
 * closing them: every request in flight is answered `unavailable`, and
 * the usual reconnect with backoff follows. Not from a hiredis callback.
 */
void
store_reset(const char *why)
{
	if (store_cluster()) {
		/* The cluster layer drops silent nodes itself; what is
		 * left is a control channel that no longer delivers. */
		stc_reset_ctl(why);
		return;
	}
	log_warnx("redis: %s: reconnecting", why);
	if (cmd_ac != NULL)
		redisAsyncFree(cmd_ac);
	if (sub_ac != NULL)
		redisAsyncFree(sub_ac);
	cmd_ac = sub_ac = NULL;
	cmd_up = sub_up = 0;
	schedule_retry();
}

/*
 * Subscribe to or give up a channel; the confirmation comes as an event.
 * Returns -1 when the subscription connection is down and nothing was
 * sent: the caller must not wait for a confirmation.
 */
int
store_subscribe(const char *ch, size_t len)
{
	if (store_cluster()) {
		/* The cluster layer keeps the subscription wanted and
		 * confirms it when it can. */
		stc_subscribe(ch, len);
		return 0;
	}
	if (sub_ac == NULL || !sub_up)
		return -1;
	return redisAsyncCommand(sub_ac, sub_message, NULL, "SUBSCRIBE %b",
	    ch, len) == REDIS_OK ? 0 : -1;
}

int
store_unsubscribe(const char *ch, size_t len)
{
	if (store_cluster()) {
		/* The cluster layer keeps the subscription wanted and
		 * confirms it when it can. */
		stc_unsubscribe(ch, len);
		return 0;
	}
	if (sub_ac == NULL || !sub_up)
		return -1;
	return redisAsyncCommand(sub_ac, sub_message, NULL, "UNSUBSCRIBE %b",
	    ch, len) == REDIS_OK ? 0 : -1;
}
