/*
 * store-match.c: matchmaking on a Redis Cluster. match.lua picks a room
 * from its pool and seats the member in one script, which a cluster cannot
 * run: the pool and its rooms sit in different slots. Here the same steps
 * go to each shard in turn, room first (REDIS.md, Redis Cluster):
 *
 *  1. match_pick.lua on the pool's shard: the pool's fullest entries;
 *     or, when it has none, leave to open a room, given to one caller at
 *     a time (the others wait a moment and ask again, and then find the
 *     room that caller opened), so that players who come at once share
 *     one room as they would with one script;
 *  2. match_room.lua on each entry's shard in turn, which seats the member
 *     only if the room is still open to the pool (the room's own shard
 *     decides, atomically, so a full, locked or closed room is never
 *     handed out and max_members holds), else answers "stale" and the
 *     entry is dropped; with the entries used up, back to 1; with leave
 *     to open, the same script makes the new room and seats the member;
 *  3. the pool entry and the room indexes, written from the reply, and
 *     the leave to open given back.
 *
 * The caller gets match.lua's reply. What an interrupted sequence leaves
 * (a pool entry too many or too few) is repaired by the room's next write;
 * leave to open that is never given back runs out after MATCH_OPEN_MS.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "roomd.h"

#define MATCH_CANDIDATES 8	/* entries asked for at a time */
#define MATCH_OPEN_MS 2000	/* leave to open a room lasts this long */
#define MATCH_WAIT_MS 5		/* ask again after another caller's open */
#define MATCH_ROUNDS 400	/* then open regardless: about 2 s of asking */

struct match_call {
	store_cb cb;
	void *arg;
	char *a[MATCH_A_COUNT];	/* copies of the match call's argv */
	char *cand[MATCH_CANDIDATES];
	size_t ncand, next;
	const char *room;	/* being tried: a cand[] or a[NEW_ROOM] */
	int creating;
	int rounds;		/* of match_pick */
	uv_timer_t wait;	/* ask the pool again */
};

static void try_next(struct match_call *);
static void pick(struct match_call *);
static void seat(struct match_call *);
static void open_done(struct match_call *);

static void
drop_candidates(struct match_call *mc)
{
	for (size_t i = 0; i < mc->ncand; i++)
		free(mc->cand[i]);
	mc->ncand = mc->next = 0;
}

static void
match_call_closed(uv_handle_t *h)
{
	struct match_call *mc = h->data;

	for (int i = 0; i < MATCH_A_COUNT; i++)
		free(mc->a[i]);
	drop_candidates(mc);
	free(mc);
}

static void
finish(struct match_call *mc, struct redisReply *r)
{
	if (mc->cb != NULL)
		mc->cb(r, mc->arg);
	uv_close((uv_handle_t *)&mc->wait, match_call_closed);
}

/* The room is open and in the pool (sent before this, on the same
 * shard): others may find it now. */
static void
open_done(struct match_call *mc)
{
	char *key;
	const char *argv[2] = { "DEL", NULL };

	xasprintf(&key, "%s:opening", mc->a[MATCH_K_POOL]);
	argv[1] = key;
	cluster_command(stc_cluster(), NULL, 0, NULL, NULL, 2, argv, NULL);
	free(key);
}

static void
room_done(struct redisReply *r, void *arg)
{
	struct match_call *mc = arg;
	const redisReply *st;

	if (r == NULL || stc_stopping() || r->type != REDIS_REPLY_ARRAY ||
	    r->elements == 0) {
		finish(mc, r);
		return;
	}
	st = r->element[MATCH_R_STATUS];
	if (stc_reply_is(st, "stale")) {
		/* Gone, of another pool, locked, empty or full: out of the
		 * pool as of its last frame (a room that opens again is put
		 * back by its next write). */
		stc_pool_write(mc->a[MATCH_K_POOL], mc->room, -1, 0, 0,
		    r->elements > 1 && r->element[1]->type ==
		    REDIS_REPLY_STRING ? r->element[1]->str : NULL, NULL);
		try_next(mc);
		return;
	}
	/* The member is seated: the pool entry and the indexes. */
	if (r->elements >= MATCH_R_COUNT)
		stc_join_written(mc->room, (char *const[2]){
		    mc->a[MATCH_K_ROOMS], mc->a[MATCH_K_PUBLIC] }, r);
	if (mc->creating)
		open_done(mc);
	finish(mc, r);
}

/* Try the next entry; with none left, ask the pool again. */
static void
try_next(struct match_call *mc)
{
	if (mc->next < mc->ncand) {
		mc->room = mc->cand[mc->next++];
		seat(mc);
	} else
		pick(mc);
}

/* One step's script, on its first key's shard; sa is freed. */
static void
run_script(struct match_call *mc, struct script_args *sa, cluster_cb *cb)
{
	int rc;

	rc = stc_eval(sa, cb, mc);
	script_args_free(sa);
	if (rc != 0)
		finish(mc, NULL);
}

/* match_room.lua on mc->room's shard. */
static void
seat(struct match_call *mc)
{
	struct script_args sa;

	script_match_room_args(&sa, &(struct script_match_room){
		.prefix = mc->a[MATCH_A_PREFIX],
		.room = mc->room,
		.conn = mc->a[MATCH_A_CONN],
		.member = mc->a[MATCH_A_MEMBER],
		.pool = mc->a[MATCH_A_POOL],
		.size = mc->a[MATCH_A_SIZE],
		.filter = mc->a[MATCH_A_FILTER],
		.pool_key = mc->a[MATCH_K_POOL],
		.maxlen = mc->a[MATCH_A_MAXLEN],
		.ttl = mc->a[MATCH_A_TTL],
		.create = mc->creating,
		.title = mc->a[MATCH_A_TITLE],
		.topic = mc->a[MATCH_A_TOPIC],
		.visibility = mc->a[MATCH_A_VISIBILITY],
	});
	run_script(mc, &sa, room_done);
}

static void
wait_fire(uv_timer_t *t)
{
	pick(t->data);
}

static void
pick_done(struct redisReply *r, void *arg)
{
	struct match_call *mc = arg;
	const redisReply *st;

	if (r == NULL || stc_stopping() || r->type != REDIS_REPLY_ARRAY ||
	    r->elements == 0) {
		finish(mc, r != NULL && r->type == REDIS_REPLY_ERROR ? r :
		    NULL);
		return;
	}
	st = r->element[0];
	drop_candidates(mc);
	if (stc_reply_is(st, "try") && mc->rounds < MATCH_ROUNDS) {
		for (size_t i = 1; i < r->elements &&
		    mc->ncand < MATCH_CANDIDATES; i++) {
			if (r->element[i]->type == REDIS_REPLY_STRING &&
			    id_valid(r->element[i]->str, r->element[i]->len))
				mc->cand[mc->ncand++] =
				    xstrdup(r->element[i]->str);
		}
		if (mc->ncand > 0) {
			try_next(mc);
			return;
		}
	}
	if (stc_reply_is(st, "wait") && mc->rounds < MATCH_ROUNDS) {
		uv_timer_start(&mc->wait, wait_fire, MATCH_WAIT_MS, 0);
		return;
	}
	/* Leave to open (or asked long enough, or entries unusable). */
	mc->room = mc->a[MATCH_A_NEW_ROOM];
	mc->creating = 1;
	seat(mc);
}

/* match_pick.lua on the pool's shard. */
static void
pick(struct match_call *mc)
{
	struct script_args sa;

	if (stc_stopping()) {
		finish(mc, NULL);
		return;
	}
	mc->rounds++;
	script_match_pick_args(&sa, &(struct script_match_pick){
		.pool_key = mc->a[MATCH_K_POOL],
		.max = MATCH_CANDIDATES,
		.new_room = mc->a[MATCH_A_NEW_ROOM],
		.open_ms = MATCH_OPEN_MS,
	});
	run_script(mc, &sa, pick_done);
}

/* Run the match.lua call sa (left to the caller to free) across shards. */
void
stc_match(struct script_args *sa, store_cb cb, void *arg)
{
	struct match_call *mc;

	if (sa->argc != MATCH_A_COUNT || stc_cluster() == NULL ||
	    !cluster_ready(stc_cluster())) {
		if (cb != NULL)
			cb(NULL, arg);
		return;
	}
	mc = xcalloc(1, sizeof *mc);
	mc->cb = cb;
	mc->arg = arg;
	for (int i = 0; i < MATCH_A_COUNT; i++)
		mc->a[i] = xstrndup(sa->argv[i], sa->lens[i]);
	uv_timer_init(loop, &mc->wait);
	mc->wait.data = mc;
	pick(mc);
}
