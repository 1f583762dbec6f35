/*
 * store-across.c: the two scripts that read keys of every slot, which no
 * one script can on a Redis Cluster: rooms.lua (the index, then each
 * room's details) and gc.lua (the node set, then every room's members),
 * done here command by command across the shards, each answering its
 * caller with a reply of the script's shape (built here, strings copied:
 * hiredis frees its own replies after each callback). store-cluster.c
 * hands them SCRIPT_ROOMS and SCRIPT_GC calls.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "roomd.h"

/* One command on the master of its key's slot (argv[1]). */
static int
across(store_cb cb, void *arg, int argc, const char **argv)
{
	return cluster_command(stc_cluster(), NULL, 0, cb, arg, argc, argv,
	    NULL);
}

/*
 * rooms.lua reads each listed room's hash, in other slots than the
 * index: here the index is read on its shard, then each room's details
 * on theirs, and the script's reply is put together from those (strings
 * copied: hiredis frees its replies after each callback).
 */
struct rooms_call {
	store_cb cb;
	void *arg;
	char *prefix;
	char *idx;
	char *want;		/* "" for any visibility */
	long long limit;
	size_t n, pending;
	char **ids;
	long long *counts;
	redisReply **rows;	/* NULL: stale or filtered out */
};

struct rooms_one {
	struct rooms_call *rc;
	size_t i;
};

static redisReply *
fake_new(int type)
{
	redisReply *r = xcalloc(1, sizeof *r);

	r->type = type;
	return r;
}

static redisReply *
fake_str(const char *s, size_t len)
{
	redisReply *r = fake_new(REDIS_REPLY_STRING);

	r->str = xstrndup(s, len);
	r->len = len;
	return r;
}

static redisReply *
fake_int(long long v)
{
	redisReply *r = fake_new(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static void
fake_free(redisReply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->elements; i++)
		fake_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static void
rooms_finish(struct rooms_call *rc)
{
	redisReply *top = fake_new(REDIS_REPLY_ARRAY);

	/* The counts are each room's own (HLEN), which an index score
	 * written after the room's script by another node may trail. */
	if (rc->rows != NULL)
		qsort(rc->rows, rc->n, sizeof *rc->rows, script_rooms_row_cmp);
	top->element = xcalloc(rc->n + 1, sizeof *top->element);
	for (size_t i = 0; i < rc->n; i++) {
		if (rc->rows[i] == NULL)
			continue;
		if ((long long)top->elements < rc->limit)
			top->element[top->elements++] = rc->rows[i];
		else
			fake_free(rc->rows[i]);
	}
	if (rc->cb != NULL)
		rc->cb(stc_stopping() ? NULL : top, rc->arg);
	fake_free(top);
	for (size_t i = 0; i < rc->n; i++)
		free(rc->ids[i]);
	free(rc->ids);
	free(rc->counts);
	free(rc->rows);
	free(rc->prefix);
	free(rc->idx);
	free(rc->want);
	free(rc);
}

/* HLEN of the room's members, sent just before its HMGET on the same
 * shard's connection, so it is in when the details come. */
static void
rooms_count(struct redisReply *r, void *arg)
{
	struct rooms_one *one = arg;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		one->rc->counts[one->i] = r->integer;
	free(one);
}

static void
rooms_detail(struct redisReply *d, void *arg)
{
	struct rooms_one *one = arg;
	struct rooms_call *rc = one->rc;
	size_t i = one->i;
	int stale;

	free(one);
	rc->rows[i] = script_rooms_row(rc->ids[i], rc->counts[i], d, rc->want,
	    &stale);
	if (stale)	/* the room's keys are gone: drop the entry */
		stc_index_write("ZREM", rc->idx, NULL, rc->ids[i]);
	else if (rc->rows[i] != NULL && rc->counts[i] == 0) {
		fake_free(rc->rows[i]);	/* closed meanwhile */
		rc->rows[i] = NULL;
	}
	if (--rc->pending == 0)
		rooms_finish(rc);
}

static void
rooms_index(struct redisReply *r, void *arg)
{
	struct rooms_call *rc = arg;
	struct buf key;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if (rc->cb != NULL)
			rc->cb(r, rc->arg);
		rc->cb = NULL;
		rooms_finish(rc);
		return;
	}
	rc->n = r->elements / 2;
	rc->ids = xcalloc(rc->n + 1, sizeof *rc->ids);
	rc->counts = xcalloc(rc->n + 1, sizeof *rc->counts);
	rc->rows = xcalloc(rc->n + 1, sizeof *rc->rows);
	for (size_t i = 0; i < rc->n; i++) {
		rc->ids[i] = xstrndup(r->element[2 * i]->str,
		    r->element[2 * i]->len);
		rc->counts[i] = strtoll(r->element[2 * i + 1]->str, NULL, 10);
	}
	rc->pending = rc->n + 1;
	for (size_t i = 0; i < rc->n; i++) {
		struct rooms_one *one = xmalloc(sizeof *one);
		const char *argv[2 + SCRIPT_ROOMS_NFIELDS] = { "HMGET" };
		const char *hlen[2] = { "HLEN", NULL };

		buf_init(&key);
		key_room(&key, rc->prefix, rc->ids[i], ":members");
		hlen[1] = key.p;
		one->rc = rc;
		one->i = i;
		if (across(rooms_count, one, 2, hlen) != 0)
			free(one);
		buf_free(&key);
		one = xmalloc(sizeof *one);
		for (int k = 0; k < SCRIPT_ROOMS_NFIELDS; k++)
			argv[2 + k] = script_rooms_fields[k];
		one->rc = rc;
		one->i = i;
		buf_init(&key);
		key_room(&key, rc->prefix, rc->ids[i], "");
		argv[1] = key.p;
		if (across(rooms_detail, one, 2 + SCRIPT_ROOMS_NFIELDS,
		    argv) != 0) {
			free(one);
			rc->pending--;
		}
		buf_free(&key);
	}
	if (--rc->pending == 0)
		rooms_finish(rc);
}

void
stc_rooms(struct script_args *sa, store_cb cb, void *arg)
{
	struct rooms_call *rc;
	char stop[24];
	long long fetch;
	const char *argv[5] = { "ZREVRANGE", NULL, "0", stop, "WITHSCORES" };

	if (!stc_ready()) {
		if (cb != NULL)
			cb(NULL, arg);
		return;
	}
	rc = xcalloc(1, sizeof *rc);
	rc->cb = cb;
	rc->arg = arg;
	rc->idx = xstrdup(sa->argv[0]);
	rc->prefix = xstrdup(sa->argv[1]);
	rc->limit = strtoll(sa->argv[2], NULL, 10);
	rc->want = xstrdup(sa->argc > 3 ? sa->argv[3] : "");
	/* A filtered listing looks further down the index. */
	fetch = rc->want[0] != '\0' ? rc->limit * 4 + 100 : rc->limit + 20;
	snprintf(stop, sizeof stop, "%lld", fetch - 1);
	argv[1] = rc->idx;
	if (across(rooms_index, rc, 5, argv) != 0) {
		rc->cb = NULL;
		rooms_finish(rc);
		if (cb != NULL)
			cb(NULL, arg);
	}
}

/*
 * gc.lua reads the node set and every room: across the shards it is done
 * here step by step, with the same outcome (members of dead nodes leave
 * through the leave script with node_lost) and a reply of its shape.
 */
struct gc_call {
	store_cb cb;
	void *arg;
	char *prefix;
	uint64_t maxlen, ttl, empty_ttl;
	size_t pending;
	char **ids;		/* node ids to check, then the dead ones */
	size_t nids;
	int *alive;
	char *restarted;	/* or NULL */
	size_t ndead;
	char **dead;
	long long removed, closed;
};

struct gc_check {
	struct gc_call *gc;
	size_t i;
};

static void gc_rooms(struct gc_call *);

static void
gc_finish(struct gc_call *gc)
{
	redisReply *top = fake_new(REDIS_REPLY_ARRAY), *d;
	char *gone;

	xasprintf(&gone, "%snodes:gone", gc->prefix);
	for (size_t i = 0; i < gc->ndead; i++)
		if (gc->restarted == NULL || strcmp(gc->dead[i],
		    gc->restarted) != 0)
			stc_index_write("SADD", gone, NULL, gc->dead[i]);
	free(gone);
	top->element = xcalloc(GC_R_COUNT, sizeof *top->element);
	top->elements = GC_R_COUNT;
	d = top->element[GC_R_DEAD] = fake_new(REDIS_REPLY_ARRAY);
	d->element = xcalloc(gc->ndead + 1, sizeof *d->element);
	for (size_t i = 0; i < gc->ndead; i++)
		if (gc->restarted == NULL || strcmp(gc->dead[i],
		    gc->restarted) != 0)
			d->element[d->elements++] = fake_str(gc->dead[i],
			    strlen(gc->dead[i]));
	top->element[GC_R_REMOVED] = fake_int(gc->removed);
	top->element[GC_R_CLOSED] = fake_int(gc->closed);
	top->element[GC_R_DROPPED] = fake_int(0);
	if (gc->cb != NULL)
		gc->cb(stc_stopping() ? NULL : top, gc->arg);
	fake_free(top);
	for (size_t i = 0; i < gc->nids; i++)
		free(gc->ids[i]);
	for (size_t i = 0; i < gc->ndead; i++)
		free(gc->dead[i]);
	free(gc->ids);
	free(gc->dead);
	free(gc->alive);
	free(gc->restarted);
	free(gc->prefix);
	free(gc);
}

static int
gc_is_dead(const struct gc_call *gc, const char *node, size_t len)
{
	for (size_t i = 0; i < gc->ndead; i++)
		if (strlen(gc->dead[i]) == len &&
		    memcmp(gc->dead[i], node, len) == 0)
			return 1;
	return 0;
}

static void
gc_left(struct redisReply *r, void *arg)
{
	struct gc_call *gc = arg;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == LEAVE_R_COUNT) {
		gc->removed += r->element[LEAVE_R_REMOVED]->integer;
		gc->closed += r->element[LEAVE_R_CLOSED]->integer;
	}
	if (--gc->pending == 0)
		gc_finish(gc);
}

struct gc_room {
	struct gc_call *gc;
	char *room;
};

static void
gc_members(struct redisReply *r, void *arg)
{
	struct gc_room *gr = arg;
	struct gc_call *gc = gr->gc;
	const char *p, *q;

	for (size_t k = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    k + 1 < r->elements && !stc_stopping(); k += 2) {
		struct script_args sa;

		p = strstr(r->element[k + 1]->str, "\"node\":\"");
		if (p == NULL)
			continue;
		p += 8;
		if ((q = strchr(p, '"')) == NULL ||
		    !gc_is_dead(gc, p, (size_t)(q - p)))
			continue;
		script_leave_args(&sa, &(struct script_leave){
			.prefix = gc->prefix,
			.room = gr->room,
			.conn = r->element[k]->str,
			.maxlen = gc->maxlen,
			.ttl = gc->ttl,
			.empty_ttl = gc->empty_ttl,
			.reason = "node_lost",
		});
		gc->pending++;
		stc_run(&sa, gc_left, gc);
		script_args_free(&sa);
	}
	free(gr->room);
	free(gr);
	if (--gc->pending == 0)
		gc_finish(gc);
}

static void
gc_room_list(struct redisReply *r, void *arg)
{
	struct gc_call *gc = arg;
	struct buf key;

	for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements && !stc_stopping(); i++) {
		struct gc_room *gr = xmalloc(sizeof *gr);
		const char *argv[2] = { "HGETALL", NULL };

		gr->gc = gc;
		gr->room = xstrndup(r->element[i]->str, r->element[i]->len);
		buf_init(&key);
		key_room(&key, gc->prefix, gr->room, ":members");
		argv[1] = key.p;
		gc->pending++;
		if (across(gc_members, gr, 2, argv) != 0) {
			gc->pending--;
			free(gr->room);
			free(gr);
		}
		buf_free(&key);
	}
	if (--gc->pending == 0)
		gc_finish(gc);
}

/* The dead nodes are known: look for their members in every room. */
static void
gc_rooms(struct gc_call *gc)
{
	char *idx;
	const char *argv[4] = { "ZRANGE", NULL, "0", "-1" };

	for (size_t i = 0; i < gc->nids; i++)
		if (!gc->alive[i]) {
			gc->dead = xrealloc(gc->dead, (gc->ndead + 1) *
			    sizeof *gc->dead);
			gc->dead[gc->ndead++] = xstrdup(gc->ids[i]);
		}
	if (gc->restarted != NULL) {
		gc->dead = xrealloc(gc->dead, (gc->ndead + 1) *
		    sizeof *gc->dead);
		gc->dead[gc->ndead++] = xstrdup(gc->restarted);
	}
	if (gc->ndead == 0 || stc_stopping()) {
		gc_finish(gc);
		return;
	}
	xasprintf(&idx, "%srooms", gc->prefix);
	argv[1] = idx;
	gc->pending = 1;
	if (across(gc_room_list, gc, 4, argv) != 0)
		gc_finish(gc);
	free(idx);
}

static void
gc_checked(struct redisReply *r, void *arg)
{
	struct gc_check *ck = arg;
	struct gc_call *gc = ck->gc;

	/* Dead only when both say so: no node:id key (EXISTS 0), and
	 * not in nodes:gone yet (SISMEMBER 0). */
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 0)
		gc->alive[ck->i] = 1;
	free(ck);
	if (--gc->pending == 0)
		gc_rooms(gc);
}

static void
gc_nodes(struct redisReply *r, void *arg)
{
	struct gc_call *gc = arg;
	struct buf key;
	char *gone;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || stc_stopping()) {
		gc_finish(gc);
		return;
	}
	gc->nids = r->elements;
	gc->ids = xcalloc(gc->nids + 1, sizeof *gc->ids);
	gc->alive = xcalloc(gc->nids + 1, sizeof *gc->alive);
	for (size_t i = 0; i < gc->nids; i++) {
		gc->ids[i] = xstrndup(r->element[i]->str, r->element[i]->len);
		if (gc->restarted != NULL && strcmp(gc->ids[i],
		    gc->restarted) == 0)
			gc->alive[i] = 1;	/* counted once, below */
	}
	xasprintf(&gone, "%snodes:gone", gc->prefix);
	gc->pending = 1;
	for (size_t i = 0; i < gc->nids; i++) {
		struct gc_check *a = xmalloc(sizeof *a);
		struct gc_check *b = xmalloc(sizeof *b);
		const char *ex[2] = { "EXISTS", NULL };
		const char *sm[3] = { "SISMEMBER", gone, gc->ids[i] };

		a->gc = b->gc = gc;
		a->i = b->i = i;
		buf_init(&key);
		key_plain(&key, gc->prefix, "node:");
		buf_adds(&key, gc->ids[i]);
		ex[1] = key.p;
		gc->pending += 2;
		if (across(gc_checked, a, 2, ex) != 0) {
			gc->alive[i] = 1;
			gc->pending--;
			free(a);
		}
		if (across(gc_checked, b, 3, sm) != 0) {
			gc->alive[i] = 1;
			gc->pending--;
			free(b);
		}
		buf_free(&key);
	}
	free(gone);
	if (--gc->pending == 0)
		gc_rooms(gc);
}

void
stc_gc(struct script_args *sa, store_cb cb, void *arg)
{
	struct gc_call *gc;
	const char *argv[2] = { "SMEMBERS", NULL };
	char *set;

	if (!stc_ready()) {
		if (cb != NULL)
			cb(NULL, arg);
		return;
	}
	gc = xcalloc(1, sizeof *gc);
	gc->cb = cb;
	gc->arg = arg;
	gc->prefix = xstrdup(sa->argv[0]);
	gc->maxlen = strtoull(sa->argv[1], NULL, 10);
	gc->ttl = strtoull(sa->argv[2], NULL, 10);
	gc->empty_ttl = strtoull(sa->argv[3], NULL, 10);
	if (sa->argc > 5 && sa->argv[5][0] != '\0')
		gc->restarted = xstrdup(sa->argv[5]);
	xasprintf(&set, "%snodes", gc->prefix);
	argv[1] = set;
	if (across(gc_nodes, gc, 2, argv) != 0)
		gc_finish(gc);
	free(set);
}

