/*
 * cluster-node.c owns the router's view of the cluster: one hiredis async
 * connection per node (AUTH and a PING answered before use, commands
 * waiting meanwhile, put back to be routed again when the node fails)
 * and the slot -> master table, read with CLUSTER SLOTS from a connected
 * node or the next known one, with backoff once every node has failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-int.h"

#define REFRESH_MIN_GAP_MS 100
#define REFRESH_BACKOFF_MIN_MS 100
#define REFRESH_BACKOFF_MAX_MS 2000
#define REDIAL_GAP_MS 100

static void refresh_fire(uv_timer_t *);

/* n answers: what waited for it goes out, in the order it came. */
static void
node_flush(struct cl_node *n)
{
	struct cl_cmd *c;

	while (n->ready && (c = cl_q_pop(&n->q)) != NULL) {
		cl_node_send(n, c);
	}
}

/*
 * n cannot be used: commands that waited for it were never sent, so they
 * may go round again (after a backoff); the map may have changed.
 */
static void
node_down(struct cl_node *n, const char *why)
{
	struct cluster *cl = n->cl;
	struct cl_queue q = cl_q_take(&n->q);
	struct cl_cmd *c;

	n->ac = NULL;
	n->ready = 0;
	n->inflight = 0;
	n->next_connect = mono_ms() + REDIAL_GAP_MS;
	if (cl->freeing) {
		while ((c = cl_q_pop(&q)) != NULL) {
			cl_cmd_finish(c, NULL);
		}
		return;
	}
	cl_event(cl, CLUSTER_EV_NODE_DOWN, n->name, why);
	while ((c = cl_q_pop(&q)) != NULL) {
		cl_retry_later(c, NULL);
	}
	cl_refresh_soon(cl);
}

/* A refused AUTH ends the connection; the disconnect reports it. */
static void
node_auth_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct cl_node *n = ac->data;
	redisReply *r = rv;

	(void)priv;
	if (r != NULL && n->ac == ac && r->type == REDIS_REPLY_ERROR) {
		snprintf(ac->errstr, sizeof ac->c.errstr, "AUTH: %s", r->str);
		redisAsyncDisconnect(ac);
	}
}

static void
node_ready_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct cl_node *n = ac->data;
	redisReply *r = rv;

	(void)priv;
	if (r == NULL || n->ac != ac)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		/* AUTH refused or LOADING: the disconnect reports it. */
		redisAsyncDisconnect(ac);
		return;
	}
	n->ready = 1;
	n->last_heard = mono_ms();
	cl_event(n->cl, CLUSTER_EV_NODE_UP, n->name, NULL);
	node_flush(n);
}

static void
node_connected(const redisAsyncContext *ac, int status)
{
	struct cl_node *n = ac->data;

	if (status != REDIS_OK && n->ac == ac)
		node_down(n, ac->errstr);
}

static void
node_disconnected(const redisAsyncContext *ac, int status)
{
	struct cl_node *n = ac->data;

	if (n->ac == ac)
		node_down(n, status != REDIS_OK || ac->errstr[0] != '\0' ?
		    ac->errstr : "connection closed");
}

/* Dial n; AUTH and a PING go first, and n is ready when they answer. */
static void
node_connect(struct cl_node *n)
{
	struct cluster *cl = n->cl;
	redisAsyncContext *ac;

	ac = redisAsyncConnect(n->addr.host, n->addr.port);
	if (ac == NULL || ac->err || redis_uv_attach(ac, cl->loop) != 0) {
		char why[200];

		snprintf(why, sizeof why, "%s", ac == NULL ? "out of memory" :
		    ac->err ? ac->errstr : "cannot watch the connection");
		if (ac != NULL)
			redisAsyncFree(ac);
		node_down(n, why);
		return;
	}
	ac->data = n;
	n->ac = ac;
	n->dialled = mono_ms();
	redisAsyncSetConnectCallback(ac, node_connected);
	redisAsyncSetDisconnectCallback(ac, node_disconnected);
	if (cl->password != NULL)
		redisAsyncCommand(ac, node_auth_reply, NULL, "AUTH %s",
		    cl->password);
	for (size_t i = 0; cl->o.preload != NULL && cl->o.preload[i] != NULL;
	    i++)
		redisAsyncCommand(ac, NULL, NULL, "SCRIPT LOAD %s",
		    cl->o.preload[i]);
	redisAsyncCommand(ac, node_ready_reply, NULL, "PING");
}

/*
 * Send c on n's connection, or hold it until n answers (dialling n if
 * need be); a node refused a moment ago is not dialled again at once.
 */
void
cl_node_enqueue(struct cl_node *n, struct cl_cmd *c)
{
	if (n->ready) {
		cl_node_send(n, c);
		return;
	}
	if (n->ac == NULL && mono_ms() < n->next_connect) {
		/* Refused a moment ago: do not dial in a loop. */
		if (c->to != NULL) {
			cl_cmd_finish(c, NULL);
			return;
		}
		cl_delay_until(c, n->next_connect);
		return;
	}
	cl_q_push(&n->q, c);
	if (n->ac == NULL)
		node_connect(n);
}

/* The node at host:port, made (not dialled) when first seen. */
struct cl_node *
cl_node_get(struct cluster *cl, const char *host, int port)
{
	struct cl_node *n, **tail = &cl->nodes;

	for (n = cl->nodes; n != NULL; n = n->next) {
		if (n->addr.port == port && strcmp(n->addr.host, host) == 0)
			return n;
		tail = &n->next;
	}
	n = xcalloc(1, sizeof *n);
	n->cl = cl;
	snprintf(n->addr.host, sizeof n->addr.host, "%s", host);
	n->addr.port = port;
	snprintf(n->name, sizeof n->name, "%s:%d", host, port);
	*tail = n;
	cl->nnodes++;
	return n;
}

/* A CLUSTER SLOTS answer: the new map, or the next node to ask. */
static void
refresh_reply(redisReply *r, void *arg)
{
	struct cl_node *from = arg;
	struct cluster *cl = from->cl;
	struct cluster_map m;
	struct cl_queue q;
	struct cl_cmd *c;
	char detail[64];

	cl->refreshing = 0;
	if (cl->freeing)
		return;
	cluster_map_init(&m);
	if (r == NULL || cluster_map_parse_slots(r, from->addr.host, &m,
	    NULL) != 0 || m.nmasters == 0) {
		cluster_map_free(&m);
		cl->refresh_next = from->next != NULL ? from->next : cl->nodes;
		if ((size_t)++cl->refresh_failed < cl->nnodes) {
			cl_refresh_start(cl);
			return;
		}
		cl->refresh_failed = 0;
		cl_event(cl, CLUSTER_EV_SEEDS_DOWN, NULL,
		    "no node answered CLUSTER SLOTS");
		if (cl->refresh_backoff < REFRESH_BACKOFF_MIN_MS)
			cl->refresh_backoff = REFRESH_BACKOFF_MIN_MS;
		uv_timer_start(&cl->refresh_timer, refresh_fire,
		    cl->refresh_backoff, 0);
		cl->refresh_backoff *= 2;
		if (cl->refresh_backoff > REFRESH_BACKOFF_MAX_MS)
			cl->refresh_backoff = REFRESH_BACKOFF_MAX_MS;
		return;
	}
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
		cl->owner[s] = m.slot[s] < 0 ? NULL : cl_node_get(cl,
		    m.masters[m.slot[s]].host, m.masters[m.slot[s]].port);
	snprintf(detail, sizeof detail, "%zu masters", m.nmasters);
	cluster_map_free(&m);
	cl->have_map = 1;
	cl->refresh_failed = 0;
	cl->refresh_backoff = REFRESH_BACKOFF_MIN_MS;
	cl->st.refreshes++;
	cl_event(cl, CLUSTER_EV_MAP, from->name, detail);
	q = cl_q_take(&cl->wait);
	while ((c = cl_q_pop(&q)) != NULL) {
		cl_route(c);
	}
	cl_sub_kick_all(cl);
}

/* Ask one node for the map: a connected one if any, else the next. */
void
cl_refresh_start(struct cluster *cl)
{
	static const char *argv[] = { "CLUSTER", "SLOTS" };
	struct cl_node *n;
	struct cl_cmd *c;

	if (cl->freeing || cl->refreshing)
		return;
	for (n = cl->nodes; n != NULL; n = n->next)
		if (n->ready && cl->refresh_failed == 0)
			break;
	if (n == NULL)
		n = cl->refresh_next != NULL ? cl->refresh_next : cl->nodes;
	cl->refreshing = 1;
	cl->last_refresh = mono_ms();
	c = cl_cmd_new(cl, refresh_reply, n, 2, argv, NULL);
	c->to = n;
	cl_node_enqueue(n, c);
}

static void
refresh_fire(uv_timer_t *t)
{
	cl_refresh_start(t->data);
}

/* Read the map again soon: at once, or REFRESH_MIN_GAP_MS after the last. */
void
cl_refresh_soon(struct cluster *cl)
{
	uint64_t now = mono_ms(), at;

	if (cl->freeing || cl->refreshing ||
	    uv_is_active((uv_handle_t *)&cl->refresh_timer))
		return;
	at = cl->last_refresh + REFRESH_MIN_GAP_MS;
	uv_timer_start(&cl->refresh_timer, refresh_fire,
	    at > now ? at - now : 0, 0);
}

/*
 * Drop the connection of every node that has kept commands waiting, or
 * not finished its handshake, for timeout_ms: they get NULL (they may
 * have run), and what waited to be sent goes round again. From a timer,
 * never from a hiredis callback.
 */
void
cl_node_watch(struct cluster *cl)
{
	uint64_t now = mono_ms(), limit = cl->o.timeout_ms;

	for (struct cl_node *n = cl->nodes; n != NULL && !cl->freeing;
	    n = n->next) {
		redisAsyncContext *ac = n->ac;

		if (ac == NULL)
			continue;
		if ((n->ready && n->inflight > 0 && now - n->last_heard > limit) ||
		    (!n->ready && now - n->dialled > limit)) {
			snprintf(ac->c.errstr, sizeof ac->c.errstr,
			    "no answer for %u ms", cl->o.timeout_ms);
			cl_sub_drop(n, ac->c.errstr);
			node_down(n, ac->c.errstr);
			redisAsyncFree(ac);	/* callbacks see n->ac != ac */
		}
	}
}
