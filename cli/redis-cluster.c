/*
 * redis-cluster.c: roomctl on a Redis Cluster (--redis-cluster), through
 * the shared synchronous client (cluster_sync_*). redis.c hands every
 * command and script here when rcl_active(), so the commands keep one
 * code path for both modes:
 * - a command goes to the master of its key's slot (argv[1], or the key
 *   after STREAMS of an XREAD); PUBLISH becomes SPUBLISH;
 * - room scripts are the cluster variants; the indexes outside the room
 *   are written after the script, and an evict's control message is
 *   published (sharded) before it, as the script would have;
 * - rooms and gc, whose scripts read keys of every slot, are done here
 *   command by command across the shards, answering with replies of the
 *   scripts' shapes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "roomctl.h"

#define RCL_COMMAND_SEC 30

static struct cluster_sync *cs;
static redisContext rcl_handle;	/* what redis_open returns: never used */
static char *rcl_prefix;

int
rcl_active(void)
{
	return cs != NULL;
}

redisContext *
rcl_open(const struct cmd_ctx *ctx)
{
	struct timeval tv = { RCL_COMMAND_SEC, 0 };
	char *cause = NULL;

	script_use_cluster(1);
	cs = cluster_sync_open(ctx->redis_cluster, ctx->redis_password, tv,
	    &cause);
	if (cs == NULL) {
		cmd_error("cannot connect to redis cluster %s: %s",
		    ctx->redis_cluster, cause != NULL ? cause : "failed");
		free(cause);
		exit(EXIT_FAIL);
	}
	free(rcl_prefix);
	rcl_prefix = xstrdup(ctx->prefix);
	return &rcl_handle;
}

void
rcl_close(void)
{
	cluster_sync_close(cs);
	cs = NULL;
}

/* Print why a command got no reply or an error reply; NULL then. */
static redisReply *
rcl_check(redisReply *r, char *cause, const char *what)
{
	if (r == NULL) {
		cmd_error("redis: %s%s", what != NULL ? what : "",
		    cause != NULL ? cause : "no reply");
		free(cause);
		return NULL;
	}
	free(cause);
	if (r->type == REDIS_REPLY_ERROR) {
		cmd_error("redis: %s%s", what != NULL ? what : "", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/*
 * Send one command to the master of its key's slot: argv[1], the key
 * after an XINFO's subcommand (STREAM, GROUPS, CONSUMERS), or the key
 * after STREAMS of an XREAD; PUBLISH goes out as SPUBLISH.
 */
static redisReply *
rcl_send(int argc, const char **argv, const size_t *lens, char **cause)
{
	const char *key = NULL, *av[3];
	size_t keylen = 0, ln[3];

	if (strcasecmp(argv[0], "PUBLISH") == 0 && argc == 3) {
		av[0] = "SPUBLISH";
		av[1] = argv[1];
		av[2] = argv[2];
		ln[0] = 8;
		ln[1] = lens != NULL ? lens[1] : strlen(argv[1]);
		ln[2] = lens != NULL ? lens[2] : strlen(argv[2]);
		argv = av;
		lens = ln;
	}
	/* An XINFO's argv[1] is its subcommand, no key: sent by it, the
	 * command would reach its key only by a MOVED, a round trip more. */
	if (strcasecmp(argv[0], "XINFO") == 0 && argc >= 3) {
		key = argv[2];
		keylen = lens != NULL ? lens[2] : strlen(key);
	}
	if (strcasecmp(argv[0], "XREAD") == 0) {
		for (int i = 1; i + 1 < argc; i++)
			if (strcasecmp(argv[i], "STREAMS") == 0) {
				key = argv[i + 1];
				keylen = lens != NULL ? lens[i + 1] :
				    strlen(key);
				break;
			}
	}
	return cluster_sync_command(cs, key, keylen, argc, argv, lens, cause);
}

/* The reply, error replies included, or NULL; nothing printed. */
static redisReply *
rcl_raw(int argc, const char **argv, const size_t *lens)
{
	char *cause = NULL;
	redisReply *r = rcl_send(argc, argv, lens, &cause);

	free(cause);
	return r;
}

/* As redis_command: NULL after printing why. */
redisReply *
rcl_command(int argc, const char **argv, const size_t *lens)
{
	char *cause = NULL;
	redisReply *r = rcl_send(argc, argv, lens, &cause);

	return rcl_check(r, cause, NULL);
}

/* A command given as strings ending with NULL; the reply is freed. */
static void
rcl_fire(const char *cmd, ...)
{
	const char *argv[8];
	const char *s;
	va_list ap;
	int argc = 0;
	redisReply *r;

	va_start(ap, cmd);
	for (s = cmd; s != NULL && argc < 8; s = va_arg(ap, const char *))
		argv[argc++] = s;
	va_end(ap);
	if ((r = rcl_raw(argc, argv, NULL)) != NULL)
		freeReplyObject(r);
}

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
fake_push(redisReply *a, redisReply *e)
{
	a->element = xrealloc(a->element, (a->elements + 1) *
	    sizeof *a->element);
	a->element[a->elements++] = e;
}

/* One pool entry through pool_set.lua, as roomd writes it; 1 when the
 * script applied it. */
static int
rcl_pool_set(const struct script_pool_set *ps)
{
	struct script_args sa;
	redisReply *r;
	char *cause = NULL;
	int applied;

	script_pool_set_args(&sa, ps);
	r = cluster_sync_script(cs, script_sha(SCRIPT_POOL_SET),
	    script_source(SCRIPT_POOL_SET), sa.nkeys, sa.argc - sa.nkeys,
	    sa.argv, sa.lens, &cause);
	applied = r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 1;
	if (r != NULL)
		freeReplyObject(r);
	free(cause);
	script_args_free(&sa);
	return applied;
}

/* A room made by match (issue 10): its pool entry, from its hash's
 * details d (seq: of the frame the script wrote, or NULL). */
static void
rcl_pool(const char *room, long long count, const redisReply *d,
    const char *seq)
{
	if (d == NULL || d->type != REDIS_REPLY_ARRAY || d->elements != 4 ||
	    d->element[1]->type != REDIS_REPLY_STRING)
		return;
	rcl_pool_set(&(struct script_pool_set){
		.pool_key = d->element[1]->str, .room = room, .count = count,
		.max_members = d->element[2]->type == REDIS_REPLY_STRING ?
		    strtoll(d->element[2]->str, NULL, 10) : 0,
		.locked = d->element[3]->type == REDIS_REPLY_STRING &&
		    strcmp(d->element[3]->str, "1") == 0,
		.seq = seq });
}

/* Set a room's index entries and pool entry from its hash and members,
 * as the room scripts do on one Redis. */
static void
rcl_index(const char *room, const char *idx, const char *pub,
    const char *seq)
{
	char *hash, *members, n[24];
	redisReply *cnt, *d;
	struct buf b;

	buf_init(&b);
	key_room(&b, rcl_prefix, room, "");
	hash = buf_detach(&b);
	buf_init(&b);
	key_room(&b, rcl_prefix, room, ":members");
	members = buf_detach(&b);
	cnt = rcl_raw(2, (const char *[]){ "HLEN", members }, NULL);
	/* visibility, pool_key, max_members, locked */
	d = rcl_raw(6, (const char *[]){ "HMGET", hash, "visibility",
	    "pool_key", "max_members", "locked" }, NULL);
	if (cnt != NULL && cnt->type == REDIS_REPLY_INTEGER) {
		if (cnt->integer == 0) {
			rcl_fire("ZREM", idx, room, NULL);
			rcl_fire("ZREM", pub, room, NULL);
		} else {
			snprintf(n, sizeof n, "%lld", cnt->integer);
			rcl_fire("ZADD", idx, n, room, NULL);
			if (d != NULL && d->type == REDIS_REPLY_ARRAY &&
			    d->elements == 4 &&
			    d->element[0]->type == REDIS_REPLY_STRING &&
			    strcmp(d->element[0]->str, "public") == 0)
				rcl_fire("ZADD", pub, n, room, NULL);
		}
		rcl_pool(room, cnt->integer, d, seq);
	}
	if (cnt != NULL)
		freeReplyObject(cnt);
	if (d != NULL)
		freeReplyObject(d);
	free(hash);
	free(members);
}

static redisReply *
rcl_rooms(const struct script_args *sa)
{
	const char *idx = sa->argv[0];
	long long limit = strtoll(sa->argv[2], NULL, 10);
	const char *want = sa->argc > 3 ? sa->argv[3] : "";
	redisReply *ids, *d, *row, *top, *n;
	long long count;
	char stop[24];
	struct buf b;

	snprintf(stop, sizeof stop, "%lld", want[0] != '\0' ? limit * 4 + 99 :
	    limit + 19);
	ids = rcl_command(5, (const char *[]){ "ZREVRANGE", idx, "0", stop,
	    "WITHSCORES" }, NULL);
	if (ids == NULL)
		return NULL;
	top = fake_new(REDIS_REPLY_ARRAY);
	for (size_t i = 0; i + 1 < ids->elements; i += 2) {
		const char *room = ids->element[i]->str;
		const char *argv[2 + SCRIPT_ROOMS_NFIELDS] = { "HMGET" };
		int stale;

		buf_init(&b);
		key_room(&b, rcl_prefix, room, "");
		argv[1] = b.p;
		for (int k = 0; k < SCRIPT_ROOMS_NFIELDS; k++)
			argv[2 + k] = script_rooms_fields[k];
		d = rcl_command(2 + SCRIPT_ROOMS_NFIELDS, argv, NULL);
		buf_free(&b);
		/* The room's own count: an index score written after the
		 * room's script by another node may trail it. */
		count = strtoll(ids->element[i + 1]->str, NULL, 10);
		buf_init(&b);
		key_room(&b, rcl_prefix, room, ":members");
		n = rcl_raw(2, (const char *[]){ "HLEN", b.p }, NULL);
		buf_free(&b);
		if (n != NULL && n->type == REDIS_REPLY_INTEGER)
			count = n->integer;
		if (n != NULL)
			freeReplyObject(n);
		row = script_rooms_row(room, count, d, want, &stale);
		if (stale)
			rcl_fire("ZREM", idx, room, NULL);
		else if (row != NULL && count == 0) {
			freeReplyObject(row);	/* closed meanwhile */
			row = NULL;
		}
		if (row != NULL)
			fake_push(top, row);
		if (d != NULL)
			freeReplyObject(d);
	}
	freeReplyObject(ids);
	if (top->elements > 0)
		qsort(top->element, top->elements, sizeof *top->element,
		    script_rooms_row_cmp);
	while ((long long)top->elements > limit)
		freeReplyObject(top->element[--top->elements]);
	return top;
}

/* A member JSON's "node", into out (empty when none). */
static void
member_node(const char *json, char *out, size_t outlen)
{
	const char *p = strstr(json, "\"node\":\"");
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 8;
	while (p[n] != '\0' && p[n] != '"' && n + 1 < outlen)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

static int
in_list(const redisReply *list, const char *s)
{
	for (size_t i = 0; i < list->elements; i++)
		if (strcmp(list->element[i]->str, s) == 0)
			return 1;
	return 0;
}

/* One pool of the sweep below: its entries whose rooms are gone. */
static long long
rcl_sweep_pool(const char *prefix, const char *pk)
{
	redisReply *rooms, *owner;
	long long dropped = 0;
	struct buf b;

	rooms = rcl_raw(4, (const char *[]){ "ZRANGE", pk, "0", "-1" }, NULL);
	for (size_t i = 0; rooms != NULL && rooms->type == REDIS_REPLY_ARRAY &&
	    i < rooms->elements; i++) {
		const char *room = rooms->element[i]->str;
		int gone;

		buf_init(&b);
		key_room(&b, prefix, room, "");
		owner = rcl_raw(3, (const char *[]){ "HGET", b.p, "pool_key" },
		    NULL);
		buf_free(&b);
		/* Gone: no hash, or one of another pool. An error or no
		 * answer says nothing: the entry stays. */
		gone = owner != NULL && (owner->type == REDIS_REPLY_NIL ||
		    (owner->type == REDIS_REPLY_STRING &&
		    strcmp(owner->str, pk) != 0));
		if (owner != NULL)
			freeReplyObject(owner);
		if (gone && rcl_pool_set(&(struct script_pool_set){
		    .pool_key = pk, .room = room, .count = 0 }))
			dropped++;
	}
	if (rooms != NULL)
		freeReplyObject(rooms);
	return dropped;
}

/* Is key a pool's sorted set (<prefix>pool:{P}:<16 hex>), not one of the
 * hashes and the opener key a cluster keeps beside it? */
static int
pool_set_key(const char *key, size_t len)
{
	if (len < 17 || key[len - 17] != ':')
		return 0;
	for (size_t i = len - 16; i < len; i++)
		if (!((key[i] >= '0' && key[i] <= '9') ||
		    (key[i] >= 'a' && key[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Every key matching match on every master, SCAN by SCAN, each given to
 * fn with arg; type, when not NULL, is SCAN's TYPE filter. A master that
 * does not answer is left for the next run.
 */
static void
rcl_scan(const char *match, const char *type,
    void (*fn)(const char *, size_t, void *), void *arg)
{
	for (size_t m = 0; m < cluster_sync_nmasters(cs); m++) {
		char cursor[32] = "0";

		do {
			const char *argv[8] = { "SCAN", cursor, "MATCH", match,
			    "COUNT", "100", "TYPE", type };
			redisReply *r, *keys;
			char *cause = NULL;

			r = cluster_sync_command_on(cs, m, type != NULL ? 8 : 6,
			    argv, NULL, &cause);
			free(cause);
			if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
			    r->elements != 2 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    r->element[1]->type != REDIS_REPLY_ARRAY) {
				if (r != NULL)
					freeReplyObject(r);
				break;
			}
			snprintf(cursor, sizeof cursor, "%s",
			    r->element[0]->str);
			keys = r->element[1];
			for (size_t k = 0; k < keys->elements; k++)
				fn(keys->element[k]->str, keys->element[k]->len,
				    arg);
			freeReplyObject(r);
		} while (strcmp(cursor, "0") != 0);
	}
}

struct sweep {
	const char *prefix;
	long long dropped;
};

static void
sweep_key(const char *key, size_t len, void *arg)
{
	struct sweep *sw = arg;

	if (pool_set_key(key, len))
		sw->dropped += rcl_sweep_pool(sw->prefix, key);
}

/*
 * gc.lua's pool sweep across the shards: every master is scanned for pool
 * keys, and an entry whose room is gone (its hash expired, or it names
 * another pool) leaves the pool through pool_set.lua with no members, as
 * a closed room does: its seq and creation time go too. Entries of rooms
 * that live are left to the rooms' own writes, which carry a seq: a count
 * read here could be older than one of them. Returns the entries dropped.
 */
static long long
rcl_sweep_pools(const char *prefix)
{
	struct sweep sw = { prefix, 0 };
	char *match;

	xasprintf(&match, "%spool:*", prefix);
	rcl_scan(match, NULL, sweep_key, &sw);
	free(match);
	return sw.dropped;
}

static void
list_stream(const char *key, size_t len, void *arg)
{
	(void)len;
	rcl_fire("SADD", (const char *)arg, key, NULL);
}

/*
 * A slot's notice stream is listed in <prefix>webhooks:streams by the
 * writer whose script made it, just after the script (scripts.c,
 * script_add_notices). A writer killed between the two leaves a stream
 * the deliverers do not know: list every one there is again. SADD of a
 * listed stream does nothing; one listed again as it is being retired
 * is found gone by the deliverer, which counts it as empty and retires
 * it again (webhook.c, read_failed).
 */
static void
rcl_list_streams(const char *prefix)
{
	char *match, *list;

	xasprintf(&match, "%swebhooks:{*", prefix);
	xasprintf(&list, "%swebhooks:streams", prefix);
	rcl_scan(match, "stream", list_stream, list);
	free(match);
	free(list);
}

/*
 * gc.lua across the shards: the dead nodes from the node set, then each
 * listed room's members of dead nodes leave through the leave script
 * (reason node_lost), index entries of rooms whose keys are gone are
 * dropped, and with sweep so are pool entries of rooms that are gone;
 * notice streams nobody listed are listed. The reply has the gc script's
 * shape.
 */
static redisReply *
rcl_gc(const struct script_args *sa)
{
	const char *prefix = sa->argv[0];
	redisReply *ids, *rooms, *top, *dead, *r, *m;
	long long removed = 0, closed = 0, dropped = 0;
	char *set, *gone, *idx, *pub, node[ID_MAX + 1];
	struct buf b;

	xasprintf(&set, "%snodes", prefix);
	xasprintf(&gone, "%snodes:gone", prefix);
	xasprintf(&idx, "%srooms", prefix);
	xasprintf(&pub, "%srooms:public", prefix);
	top = fake_new(REDIS_REPLY_ARRAY);
	dead = fake_new(REDIS_REPLY_ARRAY);
	fake_push(top, dead);
	if ((ids = rcl_command(2, (const char *[]){ "SMEMBERS", set },
	    NULL)) == NULL)
		goto fail;
	for (size_t i = 0; i < ids->elements; i++) {
		const char *id = ids->element[i]->str;
		redisReply *e, *g;

		buf_init(&b);
		key_plain(&b, prefix, "node:");
		buf_adds(&b, id);
		e = rcl_raw(2, (const char *[]){ "EXISTS", b.p }, NULL);
		g = rcl_raw(3, (const char *[]){ "SISMEMBER", gone, id }, NULL);
		if (e != NULL && e->type == REDIS_REPLY_INTEGER &&
		    e->integer == 0 && g != NULL &&
		    g->type == REDIS_REPLY_INTEGER && g->integer == 0)
			fake_push(dead, fake_str(id, strlen(id)));
		if (e != NULL)
			freeReplyObject(e);
		if (g != NULL)
			freeReplyObject(g);
		buf_free(&b);
	}
	freeReplyObject(ids);
	if ((rooms = rcl_command(4, (const char *[]){ "ZRANGE", idx, "0",
	    "-1" }, NULL)) == NULL)
		goto fail;
	for (size_t i = 0; i < rooms->elements; i++) {
		const char *room = rooms->element[i]->str;

		buf_init(&b);
		key_room(&b, prefix, room, "");
		r = rcl_raw(2, (const char *[]){ "EXISTS", b.p }, NULL);
		buf_free(&b);
		if (r != NULL && r->type == REDIS_REPLY_INTEGER &&
		    r->integer == 0) {
			rcl_fire("ZREM", idx, room, NULL);
			rcl_fire("ZREM", pub, room, NULL);
			dropped++;
		}
		if (r != NULL)
			freeReplyObject(r);
		if (dead->elements == 0)
			continue;
		buf_init(&b);
		key_room(&b, prefix, room, ":members");
		m = rcl_raw(2, (const char *[]){ "HGETALL", b.p }, NULL);
		buf_free(&b);
		for (size_t k = 0; m != NULL && m->type == REDIS_REPLY_ARRAY &&
		    k + 1 < m->elements; k += 2) {
			struct script_args la;
			redisReply *lr;

			member_node(m->element[k + 1]->str, node, sizeof node);
			if (!in_list(dead, node))
				continue;
			script_leave_args(&la, &(struct script_leave){
				.prefix = prefix,
				.room = room,
				.conn = m->element[k]->str,
				.maxlen = strtoull(sa->argv[1], NULL, 10),
				.ttl = strtoull(sa->argv[2], NULL, 10),
				.empty_ttl = strtoull(sa->argv[3], NULL, 10),
				.reason = "node_lost",
			});
			lr = rcl_script(&la);
			script_args_free(&la);
			if (lr != NULL && lr->type == REDIS_REPLY_ARRAY &&
			    lr->elements == LEAVE_R_COUNT) {
				redisReply **e = lr->element;

				removed += e[LEAVE_R_REMOVED]->integer;
				closed += e[LEAVE_R_CLOSED]->integer;
			}
			if (lr != NULL)
				freeReplyObject(lr);
		}
		if (m != NULL)
			freeReplyObject(m);
	}
	freeReplyObject(rooms);
	if (sa->argc > 4 && strcmp(sa->argv[4], "1") == 0)
		dropped += rcl_sweep_pools(prefix);
	rcl_list_streams(prefix);
	for (size_t i = 0; i < dead->elements; i++)
		rcl_fire("SADD", gone, dead->element[i]->str, NULL);
	fake_push(top, fake_int(removed));
	fake_push(top, fake_int(closed));
	fake_push(top, fake_int(dropped));
	free(set);
	free(gone);
	free(idx);
	free(pub);
	return top;
fail:
	freeReplyObject(top);
	free(set);
	free(gone);
	free(idx);
	free(pub);
	return NULL;
}

/*
 * The webhook settings the scripts get (scripts.c, script_add_notices):
 * the settings key, read once per run of roomctl ("" when absent).
 */
static const char *
rcl_notices_cfg(void)
{
	static char *val;
	struct buf b;
	redisReply *r;

	if (val != NULL)
		return val;
	buf_init(&b);
	key_plain(&b, rcl_prefix, "webhooks:cfg");
	r = rcl_raw(2, (const char *[]){ "GET", b.p }, NULL);
	val = xstrdup(r != NULL && r->type == REDIS_REPLY_STRING ? r->str : "");
	if (r != NULL)
		freeReplyObject(r);
	buf_free(&b);
	return val;
}

/* A script's own reply; a notice stream it made is listed first. */
static redisReply *
rcl_notices_unwrap(redisReply *r)
{
	const char *stream;
	redisReply *own;
	struct buf b;

	if (r == NULL || script_notices_unwrap(r, &stream) == r)
		return r;
	buf_init(&b);
	key_plain(&b, rcl_prefix, "webhooks:streams");
	rcl_fire("SADD", b.p, stream, NULL);
	buf_free(&b);
	own = r->element[2];
	r->element[2] = NULL;	/* freeReplyObject skips it */
	freeReplyObject(r);
	return own;
}

/* A script call (scripts.h) on its room's shard; see the top. */
redisReply *
rcl_script(const struct script_args *sa0)
{
	struct script_args sa = *sa0;	/* argv point into sa0's buffer */
	const char *outside[2];
	char *room = NULL, *what, *cause = NULL;
	int nout;
	redisReply *r;

	if (sa.id == SCRIPT_ROOMS)
		return rcl_rooms(&sa);
	if (sa.id == SCRIPT_GC)
		return rcl_gc(&sa);
	nout = script_take_outside(&sa, outside, 2);
	if (nout == 2)
		room = xstrdup(sa.argv[sa.nkeys]);
	/* leave.lua's control message: a sharded channel of its own slot,
	 * published first, as the script does before member_left. */
	if (sa.id == SCRIPT_LEAVE && sa.argc - sa.nkeys == 9) {
		rcl_fire("PUBLISH", sa.argv[sa.nkeys + 7],
		    sa.argv[sa.nkeys + 8], NULL);
		sa.argc -= 2;
	}
	script_add_notices(&sa, rcl_prefix, rcl_notices_cfg());
	r = cluster_sync_script(cs, script_sha(sa.id), script_source(sa.id),
	    sa.nkeys, sa.argc - sa.nkeys, sa.argv, sa.lens, &cause);
	r = rcl_notices_unwrap(r);
	xasprintf(&what, "script %s: ", script_name(sa.id));
	r = rcl_check(r, cause, what);
	free(what);
	if (r != NULL && room != NULL)
		rcl_index(room, outside[0], outside[1],
		    sa.id == SCRIPT_LEAVE && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == LEAVE_R_COUNT &&
		    r->element[LEAVE_R_SEQ]->type == REDIS_REPLY_STRING ?
		    r->element[LEAVE_R_SEQ]->str : NULL);
	free(room);
	return r;
}
