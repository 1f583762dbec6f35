/*
 * cluster-async.c owns the async Redis Cluster router's public face and
 * each command's journey: routed by slot, following MOVED and ASK,
 * retrying TRYAGAIN/CLUSTERDOWN/LOADING with bounded backoff, reloading a
 * script on NOSCRIPT, until one final reply goes to the caller's
 * callback. Connections and the slot map are cluster-node.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-int.h"

#define QUEUE_MAX_DEFAULT 4096
#define REDIRECTS_DEFAULT 8
#define RETRIES_DEFAULT 12
#define TIMEOUT_DEFAULT_MS 5000
#define WATCH_EVERY_MS 250
#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 1000

void
cl_event(struct cluster *cl, enum cluster_event ev, const char *addr,
    const char *detail)
{
	if (cl->o.on_event != NULL && !cl->freeing)
		cl->o.on_event(ev, addr, detail, cl->o.arg);
}

void
cl_q_push(struct cl_queue *q, struct cl_cmd *c)
{
	c->next = NULL;
	if (c->to == NULL)
		c->cl->nqueued++;	/* internal commands do not count */
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->n++;
}

struct cl_cmd *
cl_q_pop(struct cl_queue *q)
{
	struct cl_cmd *c = q->head;

	if (c != NULL) {
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		c->next = NULL;
		if (c->to == NULL)
			c->cl->nqueued--;
	}
	return c;
}

/* Take a whole queue out, so callbacks may add to the emptied one. */
struct cl_queue
cl_q_take(struct cl_queue *q)
{
	struct cl_queue t = *q;

	q->head = q->tail = NULL;
	q->n = 0;
	return t;
}

/* Hand the final reply (or NULL) to the caller and free the command. */
void
cl_cmd_finish(struct cl_cmd *c, redisReply *r)
{
	if (c->cb != NULL)
		c->cb(r, c->arg);
	free(c);
}

/* A command with its arguments copied into one allocation (lens NULL:
 * NUL-terminated arguments). Freed by cmd_finish. */
struct cl_cmd *
cl_cmd_new(struct cluster *cl, cluster_cb *cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	struct cl_cmd *c;
	size_t bytes = 0;
	int total = argc;
	char *p;

	for (int i = 0; i < argc; i++)
		bytes += lens != NULL ? lens[i] : strlen(argv[i]);
	c = xcalloc(1, sizeof *c + (size_t)total * (sizeof *c->argv +
	    sizeof *c->lens) + bytes + 1);
	c->cl = cl;
	c->cb = cb;
	c->arg = arg;
	c->argc = total;
	c->argv = (const char **)(c + 1);
	c->lens = (size_t *)(c->argv + total);
	p = (char *)(c->lens + total);
	for (int i = 0; i < argc; i++) {
		size_t n = lens != NULL ? lens[i] : strlen(argv[i]);

		memcpy(p, argv[i], n);
		c->argv[i] = p;
		c->lens[i] = n;
		p += n;
	}
	return c;
}

static uint64_t
retry_delay(int retries)
{
	uint64_t ms = RETRY_MIN_MS;

	for (int i = 1; i < retries && ms < RETRY_MAX_MS; i++)
		ms *= 2;
	return ms > RETRY_MAX_MS ? RETRY_MAX_MS : ms;
}

static void delay_fire(uv_timer_t *);

/* Wake at the earliest due time of the delay queue. */
static void
delay_arm(struct cluster *cl)
{
	uint64_t now = mono_ms(), min = UINT64_MAX;

	for (struct cl_cmd *c = cl->delay.head; c != NULL; c = c->next)
		if (c->due < min)
			min = c->due;
	if (min == UINT64_MAX)
		uv_timer_stop(&cl->delay_timer);
	else
		uv_timer_start(&cl->delay_timer, delay_fire,
		    min > now ? min - now : 0, 0);
}

static void
delay_fire(uv_timer_t *t)
{
	struct cluster *cl = t->data;
	struct cl_queue all = cl_q_take(&cl->delay);
	uint64_t now = mono_ms();
	struct cl_cmd *c;

	while ((c = cl_q_pop(&all)) != NULL) {
		if (c->due <= now)
			cl_route(c);
		else
			cl_q_push(&cl->delay, c);
	}
	delay_arm(cl);
}

/* Route c again at `due`; it stays counted as queued meanwhile. */
void
cl_delay_until(struct cl_cmd *c, uint64_t due)
{
	struct cluster *cl = c->cl;

	c->due = due;
	cl_q_push(&cl->delay, c);
	delay_arm(cl);
}

/*
 * One more retry for c after a backoff, or its end (NULL reply, or r when
 * there is one) once the retries are spent.
 */
void
cl_retry_later(struct cl_cmd *c, redisReply *r)
{
	struct cluster *cl = c->cl;

	if (cl->freeing || c->to != NULL || ++c->retries > cl->o.max_retries) {
		cl_cmd_finish(c, r);
		return;
	}
	cl->st.retries++;
	c->ask = NULL;
	cl_delay_until(c, mono_ms() + retry_delay(c->retries));
}

/*
 * Every reply of a routed command lands here: redirects and retries go
 * round again, anything else is final.
 */
static void
cmd_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct cl_cmd *c = priv;
	struct cluster *cl = c->cl;
	struct cl_node *n = ac->data;
	redisReply *r = rv;
	struct cluster_addr a;
	unsigned slot;

	if (n->inflight > 0)
		n->inflight--;
	if (r != NULL)
		n->last_heard = mono_ms();
	if (r == NULL) {
		if (!cl->freeing)
			cl->st.lost++;
		cl_cmd_finish(c, NULL);
		return;
	}
	if (r->type != REDIS_REPLY_ERROR || cl->freeing || c->to != NULL) {
		cl_cmd_finish(c, r);
		return;
	}
	switch (cluster_err_class(r->str, r->len)) {
	case CLUSTER_ERR_MOVED:
	case CLUSTER_ERR_ASK:
		if (cluster_redirect_parse(r->str, r->len, &slot, &a) != 0 ||
		    ++c->redirects > cl->o.max_redirects)
			break;
		if (a.host[0] == '\0')
			snprintf(a.host, sizeof a.host, "%s", n->addr.host);
		if (r->str[0] == 'M') {
			cl->st.moved++;
			cl->owner[slot] = cl_node_get(cl, a.host, a.port);
			c->ask = NULL;
			cl_refresh_soon(cl);
		} else {
			cl->st.ask++;
			c->ask = cl_node_get(cl, a.host, a.port);
		}
		cl_route(c);
		return;
	case CLUSTER_ERR_RETRY:
		if (strncmp(r->str, "CLUSTERDOWN", 11) == 0)
			cl_refresh_soon(cl);
		cl_retry_later(c, r);
		return;
	case CLUSTER_ERR_NOSCRIPT:
		if (c->source == NULL || c->reloaded)
			break;
		/* This shard lacks the script: load it, then run it again
		 * on the same connection, so the order holds. */
		cl->st.noscript++;
		c->reloaded = 1;
		redisAsyncCommand(ac, NULL, NULL, "SCRIPT LOAD %s", c->source);
		cl_node_send(n, c);
		return;
	case CLUSTER_ERR_OTHER:
		break;
	}
	cl_cmd_finish(c, r);
}

/* Put c on n's connection (ASKING first when c was redirected there). */
void
cl_node_send(struct cl_node *n, struct cl_cmd *c)
{
	if (c->ask == n)
		redisAsyncCommand(n->ac, NULL, NULL, "ASKING");
	if (redisAsyncCommandArgv(n->ac, cmd_reply, c, c->argc, c->argv,
	    c->lens) != REDIS_OK) {
		cl_retry_later(c, NULL);	/* disconnecting: never sent */
		return;
	}
	if (n->inflight++ == 0)
		n->last_heard = mono_ms();	/* the silence starts now */
}

static struct cl_node *
any_master(struct cluster *cl)
{
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
		if (cl->owner[s] != NULL)
			return cl->owner[s];
	return NULL;
}

/* Send c where it belongs now, or park it until the map says. */
void
cl_route(struct cl_cmd *c)
{
	struct cluster *cl = c->cl;
	struct cl_node *n;

	if (cl->freeing) {
		cl_cmd_finish(c, NULL);
		return;
	}
	if (c->to != NULL)
		n = c->to;
	else if (c->ask != NULL)
		n = c->ask;
	else if (!cl->have_map)
		n = NULL;
	else
		n = c->anyslot ? any_master(cl) : cl->owner[c->slot];
	if (n == NULL) {
		cl_q_push(&cl->wait, c);
		cl_refresh_soon(cl);
		return;
	}
	cl_node_enqueue(n, c);
}

static void
watch_fire(uv_timer_t *t)
{
	cl_node_watch(t->data);
}

/*
 * A router for the cluster given by o->seeds; it starts reading the slot
 * map at once and keeps trying (with backoff) while no node answers.
 * Returns NULL with *cause set when the seeds do not parse.
 */
struct cluster *
cluster_new(uv_loop_t *loop, const struct cluster_opts *o, char **cause)
{
	struct cluster *cl;
	struct cluster_addr *seeds;
	size_t nseeds;

	if (o->seeds == NULL) {
		if (cause != NULL)
			*cause = xstrdup("no cluster nodes given");
		return NULL;
	}
	if (cluster_seeds_parse(o->seeds, &seeds, &nseeds, cause) != 0)
		return NULL;
	cl = xcalloc(1, sizeof *cl);
	cl->loop = loop;
	cl->o = *o;
	cl->seeds = xstrdup(o->seeds);
	cl->o.seeds = cl->seeds;
	if (o->password != NULL && o->password[0] != '\0')
		cl->password = xstrdup(o->password);
	cl->o.password = cl->password;
	if (cl->o.queue_max == 0)
		cl->o.queue_max = QUEUE_MAX_DEFAULT;
	if (cl->o.max_redirects <= 0)
		cl->o.max_redirects = REDIRECTS_DEFAULT;
	if (cl->o.max_retries <= 0)
		cl->o.max_retries = RETRIES_DEFAULT;
	if (cl->o.timeout_ms == 0)
		cl->o.timeout_ms = TIMEOUT_DEFAULT_MS;
	dict_init(&cl->chans);
	for (size_t i = 0; i < nseeds; i++)
		cl_node_get(cl, seeds[i].host, seeds[i].port);
	free(seeds);
	uv_timer_init(loop, &cl->delay_timer);
	uv_timer_init(loop, &cl->refresh_timer);
	uv_timer_init(loop, &cl->sub_timer);
	uv_timer_init(loop, &cl->watch_timer);
	cl->delay_timer.data = cl->refresh_timer.data = cl->sub_timer.data =
	    cl->watch_timer.data = cl;
	cl->open_handles = 4;
	uv_timer_start(&cl->watch_timer, watch_fire, WATCH_EVERY_MS,
	    WATCH_EVERY_MS);
	cl_refresh_start(cl);
	return cl;
}

static void
chan_free(void *val, void *arg)
{
	(void)arg;
	free(val);
}

static void
timer_closed(uv_handle_t *h)
{
	struct cluster *cl = h->data;
	struct cl_node *n, *next;

	if (--cl->open_handles > 0)
		return;
	for (n = cl->nodes; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
	dict_each(&cl->chans, chan_free, NULL);
	dict_free(&cl->chans);
	free(cl->seeds);
	free(cl->password);
	free(cl);
}

/*
 * Close every connection; each pending callback runs with NULL, now or
 * from hiredis as it frees the connection. The memory goes once libuv has
 * closed the timers. Safe from inside a callback of this cluster.
 */
void
cluster_free(struct cluster *cl)
{
	struct cl_queue q;
	struct cl_cmd *c;

	if (cl == NULL || cl->freeing)
		return;
	cl->freeing = 1;
	uv_timer_stop(&cl->delay_timer);
	uv_timer_stop(&cl->refresh_timer);
	uv_timer_stop(&cl->sub_timer);
	uv_timer_stop(&cl->watch_timer);
	q = cl_q_take(&cl->wait);
	while ((c = cl_q_pop(&q)) != NULL)
		cl_cmd_finish(c, NULL);
	q = cl_q_take(&cl->delay);
	while ((c = cl_q_pop(&q)) != NULL)
		cl_cmd_finish(c, NULL);
	cl_sub_close_all(cl);
	for (struct cl_node *n = cl->nodes; n != NULL; n = n->next) {
		q = cl_q_take(&n->q);
		while ((c = cl_q_pop(&q)) != NULL)
			cl_cmd_finish(c, NULL);
		if (n->ac != NULL)
			redisAsyncFree(n->ac);	/* calls node_down */
	}
	uv_close((uv_handle_t *)&cl->delay_timer, timer_closed);
	uv_close((uv_handle_t *)&cl->refresh_timer, timer_closed);
	uv_close((uv_handle_t *)&cl->sub_timer, timer_closed);
	uv_close((uv_handle_t *)&cl->watch_timer, timer_closed);
}

/* A slot map is known (commands may still wait for a connection). */
int
cluster_ready(const struct cluster *cl)
{
	return cl->have_map && !cl->freeing;
}

static int
submit(struct cluster *cl, struct cl_cmd *c)
{
	if (cl->freeing || cl->nqueued >= cl->o.queue_max) {
		free(c);
		return -1;
	}
	cl_route(c);
	return 0;
}

/*
 * Run one command on the master of key's slot. key NULL: argv[1] is the
 * key (GET, SET, HSET, XADD, EXPIRE, SPUBLISH...: every command store.c
 * sends today), or with argc 1 (PING) any master. cb (may be NULL) gets
 * the final reply or NULL; see cluster.h. Returns -1 without calling cb
 * when too many commands wait already.
 */
int
cluster_command(struct cluster *cl, const char *key, size_t keylen,
    cluster_cb *cb, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	struct cl_cmd *c;

	c = cl_cmd_new(cl, cb, arg, argc, argv, lens);
	if (key != NULL)
		c->slot = cluster_key_slot(key, keylen);
	else if (argc > 1)
		c->slot = cluster_key_slot(c->argv[1], c->lens[1]);
	else
		c->anyslot = 1;
	return submit(cl, c);
}

/* A command with no key (SCRIPT FLUSH, INFO...) on any one master. */
int
cluster_command_any(struct cluster *cl, cluster_cb *cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	struct cl_cmd *c;

	c = cl_cmd_new(cl, cb, arg, argc, argv, lens);
	c->anyslot = 1;
	return submit(cl, c);
}

/*
 * EVALSHA sha with nkeys keys then nargs arguments (argv holds both) on
 * the shard of the first key; on NOSCRIPT, source (which must outlive the
 * call: a static string) is loaded there and the script run again.
 */
int
cluster_script(struct cluster *cl, const char *sha, const char *source,
    int nkeys, int nargs, const char **argv, const size_t *lens,
    cluster_cb *cb, void *arg)
{
	struct cl_cmd *c;
	const char **av;
	size_t *ln;
	char nk[16];
	int argc;

	argc = cluster_evalsha_args(sha, nkeys, nargs, argv, lens, nk, &av,
	    &ln);
	c = cl_cmd_new(cl, cb, arg, argc, av, ln);
	free(av);
	free(ln);
	c->source = source;
	if (nkeys > 0)
		c->slot = cluster_key_slot(c->argv[3], c->lens[3]);
	else
		c->anyslot = 1;
	return submit(cl, c);
}

void
cluster_get_stats(const struct cluster *cl, struct cluster_stats *st)
{
	*st = cl->st;
}

/*
 * The shards of the current map, for /healthz: up to max of them into
 * out (each master's address, how many slots it serves, whether its
 * command connection answers). Returns how many shards there are, which
 * may exceed max.
 */
size_t
cluster_shards(const struct cluster *cl, struct cluster_shard *out,
    size_t max)
{
	size_t n = 0;

	for (struct cl_node *m = cl->nodes; m != NULL; m = m->next) {
		unsigned slots = 0;

		for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
			if (cl->owner[s] == m)
				slots++;
		if (slots == 0)
			continue;
		if (n < max) {
			snprintf(out[n].addr, sizeof out[n].addr, "%s",
			    m->name);
			out[n].slots = slots;
			out[n].up = m->ready;
		}
		n++;
	}
	return n;
}
