/*
 * join.c: joining and leaving rooms through the join and leave scripts:
 * joins queued until their room's subscription is live, the join reply
 * that activates a membership, the leaves owed to a Redis that was
 * away when they were sent, and matchmaking (the match script), which
 * joins a room the script picks.
 */
#include <sys/random.h>

#include <string.h>

#include <hiredis/hiredis.h>

#include "roomd.h"

/* A join (or leave) request, queued until the subscription is live, then
 * in flight. Holds a reference to c; freed by room_op_free. */
struct room_op {
	struct conn *c;
	uint64_t ticket;
	char *ref;
	char room[ID_MAX + 1];
	char *member;		/* member JSON without its closing brace */
	char since[48];
	char *title;
	char *topic;
	char visibility[8];
	uint64_t max_members;
	TAILQ_ENTRY(room_op) entry;	/* on the room's waiting list */
};

/*
 * A leave that may not have reached Redis (it was down, or the connection
 * dropped before the reply): the member would linger there, so it is sent
 * again once Redis is back. The leave script is idempotent.
 */
struct leave {
	char room[ID_MAX + 1];
	char conn[24];
	char reason[16];
	store_cb cb;		/* the caller's, or NULL */
	void *arg;
	SLIST_ENTRY(leave) entry;
};

static SLIST_HEAD(, leave) leaves_owed = SLIST_HEAD_INITIALIZER(leaves_owed);

static void join_send(struct room_op *);

/*
 * The member JSON of c with meta (JSON text, or NULL for {}), without its
 * closing brace: the script adds joined_at. The caller frees it.
 */
static char *
join_member_json(struct conn *c, const char *meta)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "{\"conn\":\"%s\",\"user\":", c->id);
	if (c->user != NULL)
		json_add_string(&b, c->user, strlen(c->user));
	else
		buf_adds(&b, "null");
	buf_printf(&b, ",\"meta\":%s,\"node\":\"%s\"", meta ? meta : "{}",
	    node_id);
	return buf_detach(&b);
}

static void
room_op_free(struct room_op *op)
{
	conn_unref(op->c);
	free(op->ref);
	free(op->member);
	free(op->title);
	free(op->topic);
	free(op);
}

static struct room_op *
room_op_new(struct conn *c, uint64_t ticket, const char *ref,
    const char *room)
{
	struct room_op *op = xcalloc(1, sizeof *op);

	op->c = c;
	conn_ref(c);
	op->ticket = ticket;
	op->ref = ref != NULL ? xstrdup(ref) : NULL;
	snprintf(op->room, sizeof op->room, "%s", room);
	return op;
}

static void leave_send(struct leave *);

static void
leave_sent(redisReply *rr, void *arg)
{
	struct leave *l = arg;
	store_cb cb = l->cb;
	void *cbarg = l->arg;

	l->cb = NULL;
	if (rr == NULL) {
		log_debug("conn %s: leave of room %s owed to redis", l->conn,
		    l->room);
		SLIST_INSERT_HEAD(&leaves_owed, l, entry);
	} else
		free(l);
	if (cb != NULL)
		cb(rr, cbarg);
}

static void
leave_send(struct leave *l)
{
	struct script_args sa;

	script_leave_args(&sa, &(struct script_leave){
		.prefix = cfg.prefix,
		.room = l->room,
		.conn = l->conn,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.empty_ttl = cfg.empty_ttl,
		.reason = l->reason,
	});
	store_run(&sa, leave_sent, l);
}

/* Send the leave script; cb (may be NULL) gets the reply. */
static void
leave_start(const char *room, const char *conn, const char *reason,
    store_cb cb, void *arg)
{
	struct leave *l = xcalloc(1, sizeof *l);

	snprintf(l->room, sizeof l->room, "%s", room);
	snprintf(l->conn, sizeof l->conn, "%s", conn);
	snprintf(l->reason, sizeof l->reason, "%s", reason);
	l->cb = cb;
	l->arg = arg;
	leave_send(l);
}

/* Redis is back: send the leaves it may have missed. */
void
join_retry_leaves(void)
{
	struct leave *l;
	SLIST_HEAD(, leave) owed = { SLIST_FIRST(&leaves_owed) };

	SLIST_INIT(&leaves_owed);
	while ((l = SLIST_FIRST(&owed)) != NULL) {
		SLIST_REMOVE_HEAD(&owed, entry);
		log_info("conn %s: leaving room %s, which redis missed",
		    l->conn, l->room);
		leave_send(l);
	}
}

static void
join_fail(struct membership *m)
{
	if (m != NULL && m->state == MEMBER_PENDING)
		membership_free(m);
}

/*
 * Keep what restore.lua needs to write the member back after an outage.
 * A room_locked frame seen already that is newer than this reply (its
 * seq) says more about the lock than the reply's details do.
 */
static void
join_remember(struct membership *m, redisReply *rr)
{
	redisReply *member = rr->element[JOIN_R_MEMBER];
	redisReply *e = rr->element[JOIN_R_DETAILS];
	redisReply *seqr = rr->element[JOIN_R_SEQ];
	struct seq seq = { 0, 0 };

	if (member->type == REDIS_REPLY_STRING) {
		free(m->member);
		m->member = xstrndup(member->str, member->len);
	}
	if (e->type != REDIS_REPLY_ARRAY || e->elements != JOIN_D_COUNT)
		return;
	if (seqr->type == REDIS_REPLY_STRING)
		seq_parse(seqr->str, seqr->len, &seq);
	for (int i = 0; i < JOIN_D_COUNT; i++) {
		if (i == JOIN_D_LOCKED && m->room->details[i] != NULL &&
		    seq_cmp(&m->room->locked_seq, &seq) > 0)
			continue;
		free(m->room->details[i]);
		m->room->details[i] = xstrdup(
		    e->element[i]->type == REDIS_REPLY_STRING ?
		    e->element[i]->str : "");
	}
}

static void
join_done(redisReply *rr, void *arg)
{
	struct room_op *op = arg;
	struct conn *c = op->c;
	struct membership *m;
	const char *status;
	redisReply *e, *seqr;
	struct seq seq;

	if (c->wsi == NULL) {
		/* Closed meanwhile: its leave was queued right after. */
		room_op_free(op);
		return;
	}
	m = conn_membership(c, op->room);
	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements < 1 ||
	    rr->element[JOIN_R_STATUS]->type != REDIS_REPLY_STRING) {
		if (rr == NULL)
			reply_error(c, op->ticket, op->ref, ERR_UNAVAILABLE,
			    "redis is unavailable");
		else {
			log_warnx("join %s: bad reply from redis%s%s", op->room,
			    rr->type == REDIS_REPLY_ERROR ? ": " : "",
			    rr->type == REDIS_REPLY_ERROR ? rr->str : "");
			reply_error(c, op->ticket, op->ref, ERR_INTERNAL,
			    "internal error");
		}
		goto fail;
	}
	status = rr->element[JOIN_R_STATUS]->str;
	if (strcmp(status, "room_full") == 0) {
		reply_error(c, op->ticket, op->ref, ERR_ROOM_FULL,
		    "room '%s' is full", op->room);
		goto fail;
	}
	if (rr->elements < JOIN_R_COUNT) {
		reply_error(c, op->ticket, op->ref, ERR_INTERNAL,
		    "internal error");
		goto fail;
	}

	/* Missed frames first, then the reply, as the protocol says. */
	e = rr->element[JOIN_R_FRAMES];
	for (size_t i = 0; i < e->elements; i++)
		conn_send_text(c, e->element[i]->str, e->element[i]->len);
	reply_joined(c, op->ticket, op->ref, op->room, rr);
	if (m != NULL)
		join_remember(m, rr);
	if (m != NULL && m->state == MEMBER_PENDING) {
		seq.ms = seq.n = 0;
		seqr = rr->element[JOIN_R_SEQ];
		if (seqr->type == REDIS_REPLY_STRING)
			seq_parse(seqr->str, seqr->len, &seq);
		/* A new member gets its own member_joined; a known one what
		 * comes after the latest frame. */
		membership_activate(m, &seq, strcmp(status, "ok") == 0);
	}
	room_op_free(op);
	return;
fail:
	join_fail(m);
	room_op_free(op);
}

static void
join_send(struct room_op *op)
{
	struct script_args sa;

	script_join_args(&sa, &(struct script_join){
		.prefix = cfg.prefix,
		.room = op->room,
		.conn = op->c->id,
		.member = op->member,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.since = op->since,
		.title = op->title,
		.topic = op->topic,
		.visibility = op->visibility,
		.max_members = op->max_members,
	});
	store_run(&sa, join_done, op);
}

/*
 * Join conn to room. meta is the member's meta as JSON text (or NULL),
 * since a seq (or NULL), create the validated create fields (copied).
 * The reply goes out under ticket; ref is copied.
 */
void
join_room(struct conn *c, uint64_t ticket, const char *ref, const char *room,
    const char *meta, const char *since, const struct room_create *create)
{
	struct local_room *lr;
	struct room_op *op;

	if (!store_ready()) {
		reply_error(c, ticket, ref, ERR_UNAVAILABLE,
		    "redis is unavailable");
		return;
	}
	op = room_op_new(c, ticket, ref, room);
	snprintf(op->since, sizeof op->since, "%s", since ? since : "");
	op->member = join_member_json(c, meta);
	if (create->title != NULL)
		op->title = xstrdup(create->title);
	if (create->topic != NULL)
		op->topic = xstrdup(create->topic);
	if (create->visibility != NULL)
		snprintf(op->visibility, sizeof op->visibility, "%s",
		    create->visibility);
	op->max_members = create->max_members;

	lr = room_get(room);
	if (conn_membership(c, room) == NULL)
		membership_new(c, lr);
	if (lr->sub == SUB_SUBSCRIBED) {
		join_send(op);
		return;
	}
	/* Wait for the subscription; the connection's later requests wait
	 * behind this one so they still run in order. */
	TAILQ_INSERT_TAIL(&lr->waiting, op, entry);
	defer_block(c);
	if (lr->sub == SUB_NONE)
		room_subscribe(lr);
}

/*
 * The room's subscription is live: catch up what it missed if it came
 * back after an outage, and send the joins that waited for it.
 */
void
join_subscribed(const char *channel, size_t chlen)
{
	struct local_room *lr = room_of_channel(channel, chlen);
	struct room_op *op;

	if (room_confirmed(lr) != 0)
		return;
	if (lr->catchup_needed) {
		lr->catchup_needed = 0;
		lr->catching_up = 1;	/* hold live frames from now on */
		recover_catch_up(lr);
	}
	while ((op = TAILQ_FIRST(&lr->waiting)) != NULL) {
		struct conn *c = op->c;

		TAILQ_REMOVE(&lr->waiting, op, entry);
		conn_ref(c);
		join_send(op);
		defer_unblock(c);
		conn_unref(c);
	}
	room_maybe_release(lr);
}

static void
leave_done(redisReply *rr, void *arg)
{
	struct room_op *op = arg;

	if (op->c->wsi == NULL)
		;
	else if (rr == NULL)
		reply_error(op->c, op->ticket, op->ref, ERR_UNAVAILABLE,
		    "redis is unavailable");
	else if (rr->type == REDIS_REPLY_ERROR) {
		log_warnx("leave %s: %s", op->room, rr->str);
		reply_error(op->c, op->ticket, op->ref, ERR_INTERNAL,
		    "internal error");
	} else
		reply_left(op->c, op->ticket, op->ref, op->room);
	room_op_free(op);
}

/*
 * Leave a room at the member's request. The member stops receiving the
 * room's frames at once, its own member_left included. Frees m.
 */
void
join_leave(struct conn *c, uint64_t ticket, const char *ref,
    struct membership *m)
{
	struct room_op *op = room_op_new(c, ticket, ref, m->room->id);

	membership_free(m);
	leave_start(op->room, c->id, "leave", leave_done, op);
}

/* Drop c's queued (unsent) joins from a room; returns how many. */
static int
join_cancel_waiting(struct local_room *lr, struct conn *c)
{
	struct room_op *op, *next;
	int n = 0;

	for (op = TAILQ_FIRST(&lr->waiting); op != NULL; op = next) {
		next = TAILQ_NEXT(op, entry);
		if (op->c != c)
			continue;
		TAILQ_REMOVE(&lr->waiting, op, entry);
		room_op_free(op);
		n++;
	}
	return n;
}

/*
 * The connection is gone: it leaves every room with reason. A join that
 * was never sent is simply dropped; one in flight is followed by the leave
 * on the same Redis connection, so it runs after it.
 */
void
join_conn_closed(struct conn *c, const char *reason)
{
	while (c->nrooms > 0) {
		struct membership *m = c->rooms[c->nrooms - 1];
		struct local_room *lr = m->room;
		char room[ID_MAX + 1];
		int sent = 1;

		snprintf(room, sizeof room, "%s", lr->id);
		if (m->state == MEMBER_PENDING &&
		    join_cancel_waiting(lr, c) > 0)
			sent = 0;
		membership_free(m);
		if (sent)
			leave_start(room, c->id, reason, NULL, NULL);
	}
}

/*
 * Matchmaking (issue 10). The room is not known before the match script
 * picks it, so the node cannot subscribe first as join_room does. Instead
 * the reply goes out as soon as the script answers, and the new member
 * starts active just before its own member_joined; what was written from
 * there on reaches it the way a room catches up after an outage
 * (recover_catch_up): live frames are held while the history since then
 * is read, and each membership's seq filter drops what it already has.
 */
struct match_op {
	struct conn *c;		/* referenced */
	uint64_t ticket;
	char *ref;
	char *member;		/* member JSON without its closing brace */
};

static void
match_op_free(struct match_op *op)
{
	conn_unref(op->c);
	free(op->ref);
	free(op->member);
	free(op);
}

/* The seq just before s, so that a filter of "after it" starts at s. */
static struct seq
seq_before(struct seq s)
{
	if (s.n > 0)
		s.n--;
	else if (s.ms > 0) {
		s.ms--;
		s.n = UINT64_MAX;
	}
	return s;
}

/*
 * Have lr deliver its history from its members' oldest seq on: at once if
 * subscribed, else when the subscription is confirmed (join_subscribed).
 * A catch-up already running covers it: it holds live frames until its
 * read is in, and fans both out to every member there is by then.
 */
static void
match_catch_up(struct local_room *lr)
{
	if (!lr->catching_up && !lr->catchup_needed)
		lr->catchup_quiet = 1;	/* no outage to log */
	switch (lr->sub) {
	case SUB_NONE:
		lr->catchup_needed = 1;
		room_subscribe(lr);
		break;
	case SUB_SUBSCRIBING:
	case SUB_UNSUBSCRIBING:
		lr->catchup_needed = 1;
		break;
	case SUB_SUBSCRIBED:
		if (!lr->catching_up) {
			lr->catching_up = 1;
			recover_catch_up(lr);
		}
		break;
	}
}

static void
match_done(redisReply *rr, void *arg)
{
	struct match_op *op = arg;
	struct conn *c = op->c;
	struct local_room *lr;
	struct membership *m;
	redisReply *roomr = NULL, *seqr;
	const char *status = NULL;
	char room[ID_MAX + 1];
	struct seq seq = { 0, 0 };

	if (rr != NULL && rr->type == REDIS_REPLY_ARRAY && rr->elements >= 1 &&
	    rr->element[MATCH_R_STATUS]->type == REDIS_REPLY_STRING)
		status = rr->element[MATCH_R_STATUS]->str;
	if (status != NULL && strcmp(status, "conflict") != 0 &&
	    rr->elements >= MATCH_R_COUNT &&
	    rr->element[MATCH_R_ROOM]->type == REDIS_REPLY_STRING &&
	    id_valid(rr->element[MATCH_R_ROOM]->str,
	    rr->element[MATCH_R_ROOM]->len))
		roomr = rr->element[MATCH_R_ROOM];
	if (roomr != NULL)
		snprintf(room, sizeof room, "%s", roomr->str);
	if (c->wsi == NULL) {
		/* Closed meanwhile, with no membership here to leave by:
		 * give the seat back. */
		if (roomr != NULL)
			leave_start(room, c->id, "disconnect", NULL, NULL);
		match_op_free(op);
		return;
	}
	if (roomr == NULL) {
		if (rr == NULL)
			reply_error(c, op->ticket, op->ref, ERR_UNAVAILABLE,
			    "redis is unavailable");
		else if (status != NULL && strcmp(status, "conflict") == 0)
			reply_error(c, op->ticket, op->ref, ERR_INTERNAL,
			    "the new room's id was taken; try again");
		else {
			log_warnx("match: bad reply from redis%s%s",
			    rr->type == REDIS_REPLY_ERROR ? ": " : "",
			    rr->type == REDIS_REPLY_ERROR ? rr->str : "");
			reply_error(c, op->ticket, op->ref, ERR_INTERNAL,
			    "internal error");
		}
		match_op_free(op);
		return;
	}
	reply_matched(c, op->ticket, op->ref, room, rr,
	    rr->element[MATCH_R_CREATED]->integer == 1);
	lr = room_get(room);
	if ((m = conn_membership(c, room)) == NULL) {
		m = membership_new(c, lr);
		seqr = rr->element[JOIN_R_SEQ];
		if (seqr->type == REDIS_REPLY_STRING)
			seq_parse(seqr->str, seqr->len, &seq);
		/* A new member from its own member_joined on; one that was
		 * there already (not known here) from what comes next. */
		if (strcmp(status, "ok") == 0)
			seq = seq_before(seq);
		membership_activate(m, &seq, 0);
		join_remember(m, rr);
		match_catch_up(lr);
	} else
		join_remember(m, rr);
	match_op_free(op);
}

/*
 * Find conn a seat through the match script (PROTOCOL.md "Matchmaking"):
 * mp holds the validated fields, the filter canonical already. The reply
 * goes out under ticket; ref and the strings of mp are copied or used
 * before this returns.
 */
void
join_match(struct conn *c, uint64_t ticket, const char *ref,
    const struct match_params *mp)
{
	struct match_op *op;
	struct script_args sa;
	unsigned char r[6];
	char new_room[ID_MAX + 1];

	if (!store_ready()) {
		reply_error(c, ticket, ref, ERR_UNAVAILABLE,
		    "redis is unavailable");
		return;
	}
	if (getrandom(r, sizeof r, 0) != sizeof r)
		fatal("getrandom");
	snprintf(new_room, sizeof new_room, "%s-%02x%02x%02x%02x%02x%02x",
	    mp->pool, r[0], r[1], r[2], r[3], r[4], r[5]);
	op = xcalloc(1, sizeof *op);
	op->c = c;
	conn_ref(c);
	op->ticket = ticket;
	op->ref = ref != NULL ? xstrdup(ref) : NULL;
	op->member = join_member_json(c, mp->meta);
	if (script_match_args(&sa, &(struct script_match){
		.prefix = cfg.prefix,
		.pool = mp->pool,
		.size = mp->size,
		.filter = mp->filter,
		.new_room = new_room,
		.conn = c->id,
		.member = op->member,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.title = mp->title,
		.topic = mp->topic,
		.visibility = mp->visibility,
	}) != 0) {
		reply_error(c, ticket, ref, ERR_INTERNAL, "internal error");
		match_op_free(op);
		return;
	}
	store_run(&sa, match_done, op);
}
