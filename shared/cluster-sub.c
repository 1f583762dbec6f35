/*
 * cluster-sub.c owns sharded pub/sub for the cluster router: the set of
 * channels wanted, one subscriber connection per master, SSUBSCRIBE of
 * each channel on its slot's master, smessage delivery, and subscribing
 * again elsewhere when a shard says sunsubscribe (its slot moved) or its
 * connection is lost.
 *
 * Why not a hiredis async context here: hiredis 0.14 knows SUBSCRIBE but
 * not SSUBSCRIBE, and asserts on the smessage pushes it cannot match to a
 * callback. A subscriber connection is therefore a non-blocking hiredis
 * context driven by its own uv_poll: hiredis writes and parses, this file
 * dispatches every reply itself, in order.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-int.h"

#define SUB_RETRY_MS 200

enum pend_kind { PEND_AUTH, PEND_SUB, PEND_UNSUB };

/* A command sent whose direct reply is still due, oldest first. */
struct pend {
	struct pend *next;
	enum pend_kind kind;
	char name[];
};

/*
 * A subscriber connection. Detached from its node when it fails (node is
 * then NULL); the memory goes in the poll handle's close callback.
 */
struct cl_sconn {
	struct cluster *cl;
	struct cl_node *node;
	redisContext *c;
	uv_poll_t poll;
	int connected;
	int closing;
	int wpending;		/* output buffered in hiredis */
	int events;
	struct pend *head, *tail;
};

static void sconn_poll(uv_poll_t *, int, int);

static void
notify(struct cluster *cl, const char *ch, int subscribed)
{
	if (subscribed)
		cl->st.subscribed++;
	else
		cl->st.sub_lost++;
	if (cl->o.on_subscription != NULL && !cl->freeing)
		cl->o.on_subscription(ch, strlen(ch), subscribed, cl->o.arg);
}

static void
sub_timer_fire(uv_timer_t *t)
{
	cl_sub_kick_all(t->data);
}

static void
sub_retry_soon(struct cluster *cl)
{
	if (!cl->freeing && !uv_is_active((uv_handle_t *)&cl->sub_timer))
		uv_timer_start(&cl->sub_timer, sub_timer_fire, SUB_RETRY_MS,
		    0);
}

static void
pend_push(struct cl_sconn *s, enum pend_kind kind, const char *name)
{
	size_t n = strlen(name) + 1;
	struct pend *p = xmalloc(sizeof *p + n);

	p->next = NULL;
	p->kind = kind;
	memcpy(p->name, name, n);
	if (s->tail != NULL)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
}

/* The oldest pending command, taken off the list; the caller frees it. */
static struct pend *
pend_pop(struct cl_sconn *s)
{
	struct pend *p = s->head;

	if (p != NULL) {
		s->head = p->next;
		if (s->head == NULL)
			s->tail = NULL;
	}
	return p;
}

/*
 * The oldest SUNSUBSCRIBE pending for channel ch, taken off the list
 * wherever it is (pushes may come between), or NULL.
 */
static struct pend *
pend_take_unsub(struct cl_sconn *s, const char *ch, size_t len)
{
	struct pend **pp, *p, *prev = NULL;

	for (pp = &s->head; (p = *pp) != NULL; prev = p, pp = &p->next) {
		if (p->kind != PEND_UNSUB || strlen(p->name) != len ||
		    memcmp(p->name, ch, len) != 0)
			continue;
		*pp = p->next;
		if (s->tail == p)
			s->tail = prev;
		return p;
	}
	return NULL;
}

static void
sconn_update(struct cl_sconn *s)
{
	int ev = 0;

	if (s->closing)
		return;
	if (s->connected)
		ev |= UV_READABLE;
	if (!s->connected || s->wpending)
		ev |= UV_WRITABLE;
	if (ev != s->events) {
		s->events = ev;
		uv_poll_start(&s->poll, ev, sconn_poll);
	}
}

static void
sconn_send(struct cl_sconn *s, enum pend_kind kind, const char *cmd,
    const char *arg)
{
	const char *argv[2] = { cmd, arg };

	redisAppendCommandArgv(s->c, 2, argv, NULL);
	pend_push(s, kind, kind == PEND_AUTH ? "" : arg);
	s->wpending = 1;
	sconn_update(s);
}

static void
sconn_closed(uv_handle_t *h)
{
	struct cl_sconn *s = h->data;
	struct pend *p;

	while ((p = pend_pop(s)) != NULL)
		free(p);
	redisFree(s->c);	/* closes the socket, after libuv let go */
	free(s);
}

static void
sconn_close(struct cl_sconn *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	if (s->node != NULL && s->node->sub == s)
		s->node->sub = NULL;
	s->node = NULL;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sconn_closed);
}

/*
 * Names of the channels on s (or, s NULL, on none; all: every channel),
 * for a walk that callbacks cannot upset.
 */
struct walk {
	struct cl_sconn *on;
	int all;
	char **names;
	size_t n;
};

static void
walk_one(void *val, void *arg)
{
	struct cl_chan *ch = val;
	struct walk *w = arg;

	if (!w->all && ch->on != w->on)
		return;
	w->names = xrealloc(w->names, (w->n + 1) * sizeof *w->names);
	w->names[w->n++] = xstrdup(ch->name);
}

/*
 * s failed: its channels are lost (say so) and go round again once the
 * map has been read again. Callbacks may change the set meanwhile, so
 * each name is looked up afresh.
 */
static void
sconn_fail(struct cl_sconn *s, const char *why)
{
	struct cluster *cl = s->cl;
	struct walk w = { s, 0, NULL, 0 };

	if (s->closing)
		return;
	if (s->node != NULL)
		cl_event(cl, CLUSTER_EV_NODE_DOWN, s->node->name, why);
	sconn_close(s);
	dict_each(&cl->chans, walk_one, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct cl_chan *ch = dict_get(&cl->chans, w.names[i],
		    strlen(w.names[i]));

		if (ch != NULL && ch->on == s) {
			int was = ch->subscribed;

			ch->on = NULL;
			ch->subscribed = 0;
			if (was)
				notify(cl, w.names[i], 0);
		}
		free(w.names[i]);
	}
	free(w.names);
	cl_refresh_soon(cl);
	sub_retry_soon(cl);
}

/* A direct reply (not a push) to the oldest pending command. */
static void
sconn_direct(struct cl_sconn *s, redisReply *r)
{
	struct cluster *cl = s->cl;
	struct pend *p = pend_pop(s);
	struct cl_chan *ch;
	struct cluster_addr a;
	unsigned slot;

	if (p == NULL)
		return;
	if (p->kind == PEND_AUTH && r->type == REDIS_REPLY_ERROR) {
		free(p);
		sconn_fail(s, r->str);
		return;
	}
	if (p->kind == PEND_SUB && r->type == REDIS_REPLY_ERROR &&
	    (ch = dict_get(&cl->chans, p->name, strlen(p->name))) != NULL &&
	    ch->on == s) {
		ch->on = NULL;
		if (cluster_err_class(r->str, r->len) == CLUSTER_ERR_MOVED &&
		    cluster_redirect_parse(r->str, r->len, &slot, &a) == 0) {
			if (a.host[0] == '\0' && s->node != NULL)
				snprintf(a.host, sizeof a.host, "%s",
				    s->node->addr.host);
			cl->owner[slot] = cl_node_get(cl, a.host, a.port);
		}
		cl_refresh_soon(cl);
		sub_retry_soon(cl);
	}
	free(p);
}

static int
is(const redisReply *e, const char *s)
{
	return e->type == REDIS_REPLY_STRING && strcasecmp(e->str, s) == 0;
}

static void
sconn_dispatch(struct cl_sconn *s, redisReply *r)
{
	struct cluster *cl = s->cl;
	redisReply *ch;
	struct cl_chan *c;
	struct pend *p;

	if (r->type != REDIS_REPLY_ARRAY) {
		sconn_direct(s, r);
		return;
	}
	if (r->elements < 3 || r->element[1]->type != REDIS_REPLY_STRING)
		return;
	ch = r->element[1];
	if (is(r->element[0], "smessage")) {
		if (r->element[2]->type == REDIS_REPLY_STRING &&
		    cl->o.on_message != NULL)
			cl->o.on_message(ch->str, ch->len, r->element[2]->str,
			    r->element[2]->len, cl->o.arg);
	} else if (is(r->element[0], "ssubscribe")) {
		free(pend_pop(s));
		c = dict_get(&cl->chans, ch->str, ch->len);
		if (c != NULL && c->on == s && !c->subscribed) {
			c->subscribed = 1;
			notify(cl, c->name, 1);
		}
	} else if (is(r->element[0], "sunsubscribe")) {
		if ((p = pend_take_unsub(s, ch->str, ch->len)) != NULL) {
			free(p);	/* the answer to our SUNSUBSCRIBE */
			return;
		}
		/* Unasked: the slot left this shard (resharding, failover). */
		c = dict_get(&cl->chans, ch->str, ch->len);
		if (c != NULL && c->on == s) {
			int was = c->subscribed;

			c->on = NULL;
			c->subscribed = 0;
			if (was)
				notify(cl, c->name, 0);
			cl_refresh_soon(cl);
			sub_retry_soon(cl);
		}
	}
}

static void
sconn_poll(uv_poll_t *h, int status, int events)
{
	struct cl_sconn *s = h->data;
	int err = 0, done = 0;
	socklen_t len = sizeof err;
	void *r;

	if (s->closing)
		return;
	if (status < 0)
		events = UV_READABLE | UV_WRITABLE;	/* see redis_uv.c */
	if (!s->connected) {
		if (!(events & UV_WRITABLE))
			return;
		if (getsockopt(s->c->fd, SOL_SOCKET, SO_ERROR, &err,
		    &len) != 0 || err != 0) {
			sconn_fail(s, strerror(err != 0 ? err : errno));
			return;
		}
		s->connected = 1;
	}
	if (events & UV_READABLE) {
		if (redisBufferRead(s->c) != REDIS_OK) {
			sconn_fail(s, s->c->errstr[0] != '\0' ? s->c->errstr :
			    "connection closed");
			return;
		}
		while (!s->closing && redisGetReply(s->c, &r) == REDIS_OK &&
		    r != NULL) {
			sconn_dispatch(s, r);
			freeReplyObject(r);
		}
		if (s->closing)
			return;
		if (s->c->err) {
			sconn_fail(s, s->c->errstr);
			return;
		}
	}
	if (s->wpending) {
		if (redisBufferWrite(s->c, &done) != REDIS_OK) {
			sconn_fail(s, s->c->errstr);
			return;
		}
		s->wpending = !done;
	}
	sconn_update(s);
}

/* A subscriber connection to n (AUTH queued first), or NULL. */
static struct cl_sconn *
sconn_open(struct cl_node *n)
{
	struct cluster *cl = n->cl;
	struct cl_sconn *s;
	redisContext *c;

	c = redisConnectNonBlock(n->addr.host, n->addr.port);
	if (c == NULL)
		return NULL;
	if (c->err) {
		cl_event(cl, CLUSTER_EV_NODE_DOWN, n->name, c->errstr);
		redisFree(c);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->cl = cl;
	s->node = n;
	s->c = c;
	if (uv_poll_init(cl->loop, &s->poll, c->fd) != 0) {
		redisFree(c);
		free(s);
		return NULL;
	}
	s->poll.data = s;
	n->sub = s;
	if (cl->password != NULL)
		sconn_send(s, PEND_AUTH, "AUTH", cl->password);
	sconn_update(s);
	return s;
}

/* Subscribe ch where its slot lives now, if it is not on its way. */
static void
chan_kick(struct cluster *cl, struct cl_chan *ch)
{
	struct cl_node *n;
	struct cl_sconn *s;

	if (ch->on != NULL || !cl->have_map || cl->freeing)
		return;
	if ((n = cl->owner[ch->slot]) == NULL) {
		cl_refresh_soon(cl);
		sub_retry_soon(cl);
		return;
	}
	if ((s = n->sub) == NULL && (s = sconn_open(n)) == NULL) {
		cl_refresh_soon(cl);
		sub_retry_soon(cl);
		return;
	}
	ch->on = s;
	sconn_send(s, PEND_SUB, "SSUBSCRIBE", ch->name);
}

/*
 * Every channel wanted and not on a connection goes out again, and one
 * on a node that the map says no longer serves its slot moves (without
 * waiting for a sunsubscribe that a stopped node would never send).
 */
void
cl_sub_kick_all(struct cluster *cl)
{
	struct walk w = { NULL, 1, NULL, 0 };

	dict_each(&cl->chans, walk_one, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct cl_chan *ch = dict_get(&cl->chans, w.names[i],
		    strlen(w.names[i]));
		struct cl_node *owner;

		if (ch != NULL && ch->on != NULL && cl->have_map &&
		    (owner = cl->owner[ch->slot]) != NULL &&
		    ch->on->node != owner) {
			int was = ch->subscribed;

			if (!ch->on->closing)
				sconn_send(ch->on, PEND_UNSUB, "SUNSUBSCRIBE",
				    ch->name);
			ch->on = NULL;
			ch->subscribed = 0;
			if (was)
				notify(cl, ch->name, 0);
			ch = dict_get(&cl->chans, w.names[i],
			    strlen(w.names[i]));
		}
		if (ch != NULL && ch->on == NULL)
			chan_kick(cl, ch);
		free(w.names[i]);
	}
	free(w.names);
}

/* n stopped answering: its subscriber connection goes too. */
void
cl_sub_drop(struct cl_node *n, const char *why)
{
	if (n->sub != NULL)
		sconn_fail(n->sub, why);
}

/* Close every subscriber connection, telling no one (cluster_free). */
void
cl_sub_close_all(struct cluster *cl)
{
	for (struct cl_node *n = cl->nodes; n != NULL; n = n->next)
		if (n->sub != NULL)
			sconn_close(n->sub);
}

/*
 * Want ch (a NUL-terminated channel name): it is SSUBSCRIBEd on the
 * master of its slot and kept there; on_subscription says when it is.
 * Returns 0, or -1 while the cluster is being freed.
 */
int
cluster_ssubscribe(struct cluster *cl, const char *name)
{
	struct cl_chan *ch;
	size_t n = strlen(name);

	if (cl->freeing)
		return -1;
	if (dict_get(&cl->chans, name, n) != NULL)
		return 0;
	ch = xcalloc(1, sizeof *ch + n + 1);
	memcpy(ch->name, name, n + 1);
	ch->slot = cluster_key_slot(name, n);
	dict_put(&cl->chans, ch->name, ch);
	chan_kick(cl, ch);
	return 0;
}

/* Stop wanting ch; no on_subscription follows. Returns 0 or -1. */
int
cluster_sunsubscribe(struct cluster *cl, const char *name)
{
	struct cl_chan *ch;

	if (cl->freeing)
		return -1;
	ch = dict_del(&cl->chans, name, strlen(name));
	if (ch == NULL)
		return 0;
	if (ch->on != NULL && !ch->on->closing)
		sconn_send(ch->on, PEND_UNSUB, "SUNSUBSCRIBE", ch->name);
	free(ch);
	return 0;
}
