/*
 * room.c: the rooms that have members on this node: their pub/sub
 * subscriptions, joining and leaving through the Redis scripts, and fan-out
 * of each room frame, encoded once, to every local member.
 *
 * Why joins wait: a joiner must see every frame from its own member_joined
 * on. So the node is subscribed to the room's channel before the join
 * script runs; frames that arrive before the join's reply are stashed, and
 * the reply's seq says which of them the joiner gets.
 */
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomd.h"

/* A join request, queued until the subscription is live, then in flight. */
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
	char max_members[16];
	struct room_op *next;
};

static struct dict rooms;

static void room_op_send(struct room_op *);
static void room_fanout(struct local_room *, struct frame *, const char *,
    size_t);
static void room_catch_up(struct local_room *);
static void room_maybe_release(struct local_room *);

struct local_room *
room_find(const char *id)
{
	return dict_get(&rooms, id, strlen(id));
}

size_t
room_count(void)
{
	return rooms.n;
}

/* The pub/sub channel of a room: <prefix>ch:{R} */
void
room_channel(struct buf *b, const char *room)
{
	buf_adds(b, cfg.prefix);
	buf_adds(b, "ch:{");
	buf_adds(b, room);
	buf_addc(b, '}');
}

/*
 * Fill argv/lens with the first nkeys of a room's keys, in the order the
 * scripts expect: room, members, state, events, rooms index, public index.
 * The strings live in keys, which the caller frees.
 */
void
room_keys(const char *room, struct buf *keys, const char **argv,
    size_t *lens, int nkeys)
{
	key_room_script(keys, cfg.prefix, room, argv, lens, nkeys);
}

/* Channel name back to room id, or NULL if it is not a room channel. */
static struct local_room *
room_of_channel(const char *ch, size_t len)
{
	size_t pl = strlen(cfg.prefix);

	if (len < pl + 6 || memcmp(ch, cfg.prefix, pl) != 0 ||
	    memcmp(ch + pl, "ch:{", 4) != 0 || ch[len - 1] != '}')
		return NULL;
	return dict_get(&rooms, ch + pl + 4, len - pl - 5);
}

static void
room_subscribe(struct local_room *lr)
{
	struct buf ch;

	buf_init(&ch);
	room_channel(&ch, lr->id);
	lr->sub = SUB_SUBSCRIBING;
	store_subscribe(ch.p, ch.len);
	buf_free(&ch);
}

static struct local_room *
room_get(const char *id)
{
	struct local_room *lr = room_find(id);

	if (lr != NULL)
		return lr;
	lr = xcalloc(1, sizeof *lr);
	snprintf(lr->id, sizeof lr->id, "%s", id);
	lr->waiting_tail = &lr->waiting;
	dict_put(&rooms, lr->id, lr);
	return lr;
}

static void
room_free(struct local_room *lr)
{
	dict_del(&rooms, lr->id, strlen(lr->id));
	for (int i = 0; i < 5; i++)
		free(lr->details[i]);
	for (uint32_t i = 0; i < lr->nheld; i++)
		frame_unref(lr->held[i]);
	free(lr->held);
	free(lr->members);
	free(lr);
}

/*
 * A room with no members and no queued joins gives up its subscription,
 * and once that is confirmed (or there was none), its memory.
 */
static void
room_maybe_release(struct local_room *lr)
{
	struct buf ch;

	if (lr->nmembers > 0 || lr->waiting != NULL)
		return;
	switch (lr->sub) {
	case SUB_NONE:
		room_free(lr);
		break;
	case SUB_SUBSCRIBED:
		buf_init(&ch);
		room_channel(&ch, lr->id);
		lr->sub = SUB_UNSUBSCRIBING;
		store_unsubscribe(ch.p, ch.len);
		buf_free(&ch);
		break;
	case SUB_SUBSCRIBING:
	case SUB_UNSUBSCRIBING:
		break;	/* decided when the confirmation comes */
	}
}

static struct membership *
membership_new(struct conn *c, struct local_room *lr)
{
	struct membership *m = xcalloc(1, sizeof *m);

	m->conn = c;
	m->room = lr;
	m->state = MEMBER_PENDING;
	if (lr->nmembers == lr->cap) {
		lr->cap = lr->cap ? lr->cap * 2 : 4;
		lr->members = xrealloc(lr->members,
		    lr->cap * sizeof *lr->members);
	}
	m->index = lr->nmembers;
	lr->members[lr->nmembers++] = m;
	conn_add_membership(c, m);
	return m;
}

static void
membership_free(struct membership *m)
{
	struct local_room *lr = m->room;
	struct membership *last = lr->members[--lr->nmembers];

	lr->members[m->index] = last;
	last->index = m->index;
	conn_remove_membership(m->conn, m);
	for (uint32_t i = 0; i < m->nstash; i++)
		frame_unref(m->stash[i]);
	free(m->stash);
	free(m->member);
	free(m);
	room_maybe_release(lr);
}

/* Forget a membership here only: Redis already knows (roomctl evict). */
void
room_drop(struct membership *m)
{
	membership_free(m);
}

static int
membership_wants(struct membership *m, const struct seq *seq)
{
	int cmp = seq_cmp(seq, &m->after);

	return cmp > 0 || (cmp == 0 && m->after_incl);
}

static void
membership_deliver(struct membership *m, struct frame *f)
{
	if (!membership_wants(m, &f->seq))
		return;
	conn_send(m->conn, f);
	m->after = f->seq;
	m->after_incl = 0;
}

/*
 * The join went through: from now on the member gets every frame from
 * seq on (its member_joined), starting with those stashed meanwhile.
 */
static void
membership_activate(struct membership *m, const struct seq *seq, int incl)
{
	m->state = MEMBER_ACTIVE;
	m->after = *seq;
	m->after_incl = incl;
	for (uint32_t i = 0; i < m->nstash; i++) {
		membership_deliver(m, m->stash[i]);
		frame_unref(m->stash[i]);
	}
	free(m->stash);
	m->stash = NULL;
	m->nstash = m->stash_cap = 0;
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
	struct leave *next;
};

static struct leave *leaves_owed;

static void room_leave_send(struct leave *);

static void
room_leave_reply(redisReply *rr, void *arg)
{
	struct leave *l = arg;
	store_cb cb = l->cb;
	void *cbarg = l->arg;

	l->cb = NULL;
	if (rr == NULL) {
		log_debug("conn %s: leave of room %s owed to redis", l->conn,
		    l->room);
		l->next = leaves_owed;
		leaves_owed = l;
	} else
		free(l);
	if (cb != NULL)
		cb(rr, cbarg);
}

static void
room_leave_send(struct leave *l)
{
	const char *argv[13];
	size_t lens[13];
	char maxlen[24], ttl[24], ettl[24];
	struct buf keys, ch;

	buf_init(&keys);
	buf_init(&ch);
	room_keys(l->room, &keys, argv, lens, 6);
	room_channel(&ch, l->room);
	snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)cfg.history);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)cfg.room_ttl);
	snprintf(ettl, sizeof ettl, "%llu", (unsigned long long)cfg.empty_ttl);
	argv[6] = l->room;
	argv[7] = l->conn;
	argv[8] = ch.p;
	argv[9] = maxlen;
	argv[10] = ttl;
	argv[11] = ettl;
	argv[12] = l->reason;
	for (int i = 6; i < 13; i++)
		lens[i] = strlen(argv[i]);
	if (store_script(SCRIPT_LEAVE, 6, 7, argv, lens, room_leave_reply,
	    l) != 0)
		room_leave_reply(NULL, l);
	buf_free(&keys);
	buf_free(&ch);
}

/* Send the leave script; cb (may be NULL) gets the reply. */
static void
room_send_leave(const char *room, const char *conn, const char *reason,
    store_cb cb, void *arg)
{
	struct leave *l = xcalloc(1, sizeof *l);

	snprintf(l->room, sizeof l->room, "%s", room);
	snprintf(l->conn, sizeof l->conn, "%s", conn);
	snprintf(l->reason, sizeof l->reason, "%s", reason);
	l->cb = cb;
	l->arg = arg;
	room_leave_send(l);
}

/* Redis is back: send the leaves it may have missed. */
void
room_retry_leaves(void)
{
	struct leave *l = leaves_owed, *next;

	leaves_owed = NULL;
	for (; l != NULL; l = next) {
		next = l->next;
		log_info("conn %s: leaving room %s, which redis missed",
		    l->conn, l->room);
		room_leave_send(l);
	}
}

static void
join_fail(struct membership *m)
{
	if (m != NULL && m->state == MEMBER_PENDING)
		membership_free(m);
}

static void
join_reply(redisReply *rr, void *arg)
{
	struct room_op *op = arg;
	struct conn *c = op->c;
	struct membership *m;
	const char *status;
	redisReply *e;
	struct buf b;
	struct seq seq;

	if (c->wsi == NULL) {
		/* Closed meanwhile: its leave was queued right after. */
		room_op_free(op);
		return;
	}
	m = conn_membership(c, op->room);
	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements < 1 ||
	    rr->element[0]->type != REDIS_REPLY_STRING) {
		if (rr == NULL)
			conn_reply_error(c, op->ticket, op->ref, "unavailable",
			    "redis is unavailable");
		else {
			log_warnx("join %s: bad reply from redis%s%s", op->room,
			    rr->type == REDIS_REPLY_ERROR ? ": " : "",
			    rr->type == REDIS_REPLY_ERROR ? rr->str : "");
			conn_reply_error(c, op->ticket, op->ref, "internal",
			    "internal error");
		}
		join_fail(m);
		room_op_free(op);
		return;
	}
	status = rr->element[0]->str;
	if (strcmp(status, "room_full") == 0) {
		conn_reply_error(c, op->ticket, op->ref, "room_full",
		    "room '%s' is full", op->room);
		join_fail(m);
		room_op_free(op);
		return;
	}
	if (rr->elements < 9) {
		conn_reply_error(c, op->ticket, op->ref, "internal",
		    "internal error");
		join_fail(m);
		room_op_free(op);
		return;
	}

	/* Missed frames first, then the reply, as the protocol says. */
	e = rr->element[6];
	for (size_t i = 0; i < e->elements; i++)
		conn_send_text(c, e->element[i]->str, e->element[i]->len);
	if (op->ref != NULL) {
		buf_init(&b);
		reply_ok_begin(&b, op->ref);
		buf_adds(&b, ",\"room\":");
		json_add_string(&b, op->room, strlen(op->room));
		buf_adds(&b, ",\"seq\":");
		if (rr->element[1]->type == REDIS_REPLY_STRING)
			json_add_string(&b, rr->element[1]->str,
			    rr->element[1]->len);
		else
			buf_adds(&b, "null");
		reply_add_array(&b, "members", rr->element[2]);
		reply_add_state(&b, rr->element[3]);
		buf_printf(&b, ",\"state_version\":%lld",
		    rr->element[4]->integer);
		if (rr->element[5]->integer >= 0)
			buf_printf(&b, ",\"recovered\":%s",
			    rr->element[5]->integer ? "true" : "false");
		buf_addc(&b, '}');
		conn_reply_text(c, op->ticket, b.p, b.len);
		buf_free(&b);
	} else
		conn_reply(c, op->ticket, NULL);

	if (m != NULL && rr->element[7]->type == REDIS_REPLY_STRING) {
		free(m->member);
		m->member = xstrndup(rr->element[7]->str, rr->element[7]->len);
	}
	e = rr->element[8];
	if (m != NULL && e->type == REDIS_REPLY_ARRAY && e->elements == 5) {
		for (int i = 0; i < 5; i++) {
			free(m->room->details[i]);
			m->room->details[i] = xstrdup(
			    e->element[i]->type == REDIS_REPLY_STRING ?
			    e->element[i]->str : "");
		}
	}
	if (m != NULL && m->state == MEMBER_PENDING) {
		seq.ms = seq.n = 0;
		if (rr->element[1]->type == REDIS_REPLY_STRING)
			seq_parse(rr->element[1]->str, rr->element[1]->len,
			    &seq);
		/* A new member gets its own member_joined; a known one what
		 * comes after the latest frame. */
		membership_activate(m, &seq, strcmp(status, "ok") == 0);
	}
	room_op_free(op);
}

static void
room_op_send(struct room_op *op)
{
	const char *argv[17];
	size_t lens[17];
	char maxlen[24], ttl[24];
	struct buf keys, ch;

	buf_init(&keys);
	buf_init(&ch);
	room_keys(op->room, &keys, argv, lens, 6);
	room_channel(&ch, op->room);
	snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)cfg.history);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)cfg.room_ttl);
	argv[6] = op->room;
	argv[7] = op->c->id;
	argv[8] = op->member;
	argv[9] = ch.p;
	argv[10] = maxlen;
	argv[11] = ttl;
	argv[12] = op->since;
	argv[13] = op->title != NULL ? op->title : "";
	argv[14] = op->topic != NULL ? op->topic : "";
	argv[15] = op->visibility;
	argv[16] = op->max_members;
	for (int i = 6; i < 17; i++)
		lens[i] = strlen(argv[i]);
	if (store_script(SCRIPT_JOIN, 6, 11, argv, lens, join_reply, op) != 0)
		join_reply(NULL, op);
	buf_free(&keys);
	buf_free(&ch);
}

/*
 * Join conn to room. meta is the member's meta as JSON text (or NULL),
 * since a seq (or NULL), create the validated create object (or NULL).
 * The reply goes out under ticket; ref is copied.
 */
void
room_join(struct conn *c, uint64_t ticket, const char *ref, const char *room,
    const char *meta, const char *since, cJSON *create)
{
	struct local_room *lr;
	struct membership *m;
	struct room_op *op;
	struct buf b;
	cJSON *it;

	if (!store_ready()) {
		conn_reply_error(c, ticket, ref, "unavailable",
		    "redis is unavailable");
		return;
	}
	op = xcalloc(1, sizeof *op);
	op->c = c;
	conn_ref(c);
	op->ticket = ticket;
	op->ref = ref != NULL ? xstrdup(ref) : NULL;
	snprintf(op->room, sizeof op->room, "%s", room);
	snprintf(op->since, sizeof op->since, "%s", since ? since : "");
	buf_init(&b);
	buf_printf(&b, "{\"conn\":\"%s\",\"user\":", c->id);
	if (c->user != NULL)
		json_add_string(&b, c->user, strlen(c->user));
	else
		buf_adds(&b, "null");
	buf_printf(&b, ",\"meta\":%s,\"node\":\"%s\"", meta ? meta : "{}",
	    node_id);
	op->member = buf_detach(&b);
	if (create != NULL) {
		if ((it = cJSON_GetObjectItemCaseSensitive(create,
		    "title")) != NULL)
			op->title = xstrdup(it->valuestring);
		if ((it = cJSON_GetObjectItemCaseSensitive(create,
		    "topic")) != NULL)
			op->topic = xstrdup(it->valuestring);
		if ((it = cJSON_GetObjectItemCaseSensitive(create,
		    "visibility")) != NULL)
			snprintf(op->visibility, sizeof op->visibility, "%s",
			    it->valuestring);
		if ((it = cJSON_GetObjectItemCaseSensitive(create,
		    "max_members")) != NULL)
			snprintf(op->max_members, sizeof op->max_members,
			    "%lld", (long long)it->valuedouble);
	}

	lr = room_get(room);
	if ((m = conn_membership(c, room)) == NULL)
		m = membership_new(c, lr);
	if (lr->sub == SUB_SUBSCRIBED) {
		room_op_send(op);
		return;
	}
	/* Wait for the subscription; the connection's later requests wait
	 * behind this one so they still run in order. */
	*lr->waiting_tail = op;
	lr->waiting_tail = &op->next;
	c->blocked++;
	if (lr->sub == SUB_NONE)
		room_subscribe(lr);
}

static void
leave_reply(redisReply *rr, void *arg)
{
	struct room_op *op = arg;
	struct buf b;

	if (op->c->wsi == NULL)
		;
	else if (rr == NULL)
		conn_reply_error(op->c, op->ticket, op->ref, "unavailable",
		    "redis is unavailable");
	else if (rr->type == REDIS_REPLY_ERROR) {
		log_warnx("leave %s: %s", op->room, rr->str);
		conn_reply_error(op->c, op->ticket, op->ref, "internal",
		    "internal error");
	} else if (op->ref == NULL)
		conn_reply(op->c, op->ticket, NULL);
	else {
		buf_init(&b);
		reply_ok_begin(&b, op->ref);
		buf_adds(&b, ",\"room\":");
		json_add_string(&b, op->room, strlen(op->room));
		buf_addc(&b, '}');
		conn_reply_text(op->c, op->ticket, b.p, b.len);
		buf_free(&b);
	}
	room_op_free(op);
}

/*
 * Leave a room at the member's request. The member stops receiving the
 * room's frames at once, its own member_left included.
 */
void
room_leave(struct conn *c, uint64_t ticket, const char *ref,
    struct membership *m)
{
	struct room_op *op = xcalloc(1, sizeof *op);

	op->c = c;
	conn_ref(c);
	op->ticket = ticket;
	op->ref = ref != NULL ? xstrdup(ref) : NULL;
	snprintf(op->room, sizeof op->room, "%s", m->room->id);
	membership_free(m);
	room_send_leave(op->room, c->id, "leave", leave_reply, op);
}

/* Drop c's queued (unsent) joins from a room; returns how many. */
static int
room_cancel_waiting(struct local_room *lr, struct conn *c)
{
	struct room_op **opp = &lr->waiting, *op;
	int n = 0;

	while ((op = *opp) != NULL) {
		if (op->c != c) {
			opp = &op->next;
			continue;
		}
		*opp = op->next;
		room_op_free(op);
		n++;
	}
	lr->waiting_tail = &lr->waiting;
	while (*lr->waiting_tail != NULL)
		lr->waiting_tail = &(*lr->waiting_tail)->next;
	return n;
}

/*
 * The connection is gone: it leaves every room with reason. A join that
 * was never sent is simply dropped; one in flight is followed by the leave
 * on the same Redis connection, so it runs after it.
 */
void
room_conn_closed(struct conn *c, const char *reason)
{
	while (c->nrooms > 0) {
		struct membership *m = c->rooms[c->nrooms - 1];
		struct local_room *lr = m->room;
		char room[ID_MAX + 1];
		int sent = 1;

		snprintf(room, sizeof room, "%s", lr->id);
		if (m->state == MEMBER_PENDING && room_cancel_waiting(lr, c) > 0)
			sent = 0;
		membership_free(m);
		if (sent)
			room_send_leave(room, c->id, reason, NULL, NULL);
	}
}

/* Is this frame an event whose sender (conn id) asked for echo=false? */
static int
frame_noecho(const char *text, size_t len, size_t end, const char **id,
    size_t *idlen)
{
	static const char from[] = "\"from\":{\"conn\":\"";
	const char *p, *q;

	if (end + 1 >= len || text[end] != ',' || text[end + 1] != ' ')
		return 0;
	p = memmem(text + end, len - end, from, sizeof from - 1);
	if (p == NULL)
		return 0;
	p += sizeof from - 1;
	q = memchr(p, '"', len - (size_t)(p - text));
	if (q == NULL)
		return 0;
	*id = p;
	*idlen = (size_t)(q - p);
	return 1;
}

/*
 * A room frame arrived on the room's channel: encode it once and hand the
 * same bytes to every local member that should see it.
 */
void
room_deliver(const char *channel, size_t chlen, const char *text, size_t len)
{
	struct local_room *lr = room_of_channel(channel, chlen);
	struct frame *f;
	struct seq seq;
	size_t end, skiplen = 0;
	const char *skip = NULL;

	if (lr == NULL || lr->nmembers == 0)
		return;
	if (frame_parse_seq(text, len, &seq, &end) != 0) {
		log_warnx("room %s: dropped a frame without a seq", lr->id);
		return;
	}
	frame_noecho(text, len, end, &skip, &skiplen);
	f = frame_new(text, len);
	f->seq = seq;
	if (lr->catching_up) {
		if (lr->nheld == lr->held_cap) {
			lr->held_cap = lr->held_cap ? lr->held_cap * 2 : 16;
			lr->held = xrealloc(lr->held,
			    lr->held_cap * sizeof *lr->held);
		}
		lr->held[lr->nheld++] = f;	/* with its noecho lost */
		return;
	}
	room_fanout(lr, f, skip, skiplen);
	frame_unref(f);
}

/*
 * Hand one encoded frame to every local member that should see it: the
 * same bytes for all. skip names a sender who asked for echo=false.
 */
static void
room_fanout(struct local_room *lr, struct frame *f, const char *skip,
    size_t skiplen)
{
	const struct seq seq = f->seq;

	for (uint32_t i = 0; i < lr->nmembers; i++) {
		struct membership *m = lr->members[i];

		if (skip != NULL && strlen(m->conn->id) == skiplen &&
		    memcmp(m->conn->id, skip, skiplen) == 0) {
			m->after = seq;
			m->after_incl = 0;
			continue;
		}
		if (m->state == MEMBER_ACTIVE) {
			membership_deliver(m, f);
			continue;
		}
		if (m->nstash == m->stash_cap) {
			m->stash_cap = m->stash_cap ? m->stash_cap * 2 : 4;
			m->stash = xrealloc(m->stash,
			    m->stash_cap * sizeof *m->stash);
		}
		m->stash[m->nstash++] = frame_ref(f);
	}
}

/* The subscription is live: send the joins that waited for it. */
void
room_subscribed(const char *channel, size_t chlen)
{
	struct local_room *lr = room_of_channel(channel, chlen);
	struct room_op *op;

	if (lr == NULL || lr->sub != SUB_SUBSCRIBING)
		return;
	lr->sub = SUB_SUBSCRIBED;
	if (lr->catchup_needed) {
		lr->catchup_needed = 0;
		lr->catching_up = 1;	/* hold live frames from now on */
		room_catch_up(lr);
	}
	while ((op = lr->waiting) != NULL) {
		struct conn *c = op->c;

		lr->waiting = op->next;
		if (lr->waiting == NULL)
			lr->waiting_tail = &lr->waiting;
		conn_ref(c);
		room_op_send(op);
		conn_unblock(c);
		conn_unref(c);
	}
	room_maybe_release(lr);
}

void
room_unsubscribed(const char *channel, size_t chlen)
{
	struct local_room *lr = room_of_channel(channel, chlen);

	if (lr == NULL || lr->sub != SUB_UNSUBSCRIBING)
		return;
	lr->sub = SUB_NONE;
	if (lr->nmembers > 0 || lr->waiting != NULL)
		room_subscribe(lr);
	else
		room_free(lr);
}

static void
room_resubscribe_one(void *val, void *arg)
{
	struct local_room *lr = val;

	(void)arg;
	lr->sub = SUB_NONE;
	lr->catchup_needed = lr->nmembers > 0;
	if (lr->nmembers > 0 || lr->waiting != NULL)
		room_subscribe(lr);
}

/*
 * The subscription connection is new (first start or after an outage):
 * subscribe again to every room that has members here.
 */
void
room_resubscribe_all(void)
{
	dict_each(&rooms, room_resubscribe_one, NULL);
}

static void
room_restore_one(void *val, void *arg)
{
	struct local_room *lr = val;
	const char *argv[15];
	size_t lens[15];
	char ttl[24];
	struct buf keys;

	(void)arg;
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)cfg.room_ttl);
	for (uint32_t i = 0; i < lr->nmembers; i++) {
		struct membership *m = lr->members[i];

		if (m->state != MEMBER_ACTIVE || m->member == NULL)
			continue;
		buf_init(&keys);
		room_keys(lr->id, &keys, argv, lens, 6);
		argv[6] = lr->id;
		argv[7] = m->conn->id;
		argv[8] = m->member;
		argv[9] = ttl;
		for (int j = 0; j < 5; j++)
			argv[10 + j] = lr->details[j] != NULL ? lr->details[j] :
			    "";
		if (*argv[12] == '\0')
			argv[12] = "public";
		if (*argv[13] == '\0')
			argv[13] = "0";
		if (*argv[14] == '\0')
			argv[14] = "0";
		for (int j = 6; j < 15; j++)
			lens[j] = strlen(argv[j]);
		store_script(SCRIPT_RESTORE, 6, 9, argv, lens, NULL, NULL);
		buf_free(&keys);
	}
}

/*
 * Redis is back, perhaps empty after a restart without persistence:
 * write every live member of this node back, so presence is whole again.
 * The script leaves members Redis still has alone.
 */
void
room_restore_all(void)
{
	dict_each(&rooms, room_restore_one, NULL);
}

/* The room id a catch-up read is for (the room may be gone by then). */
struct catchup {
	char room[ID_MAX + 1];
};

/* Deliver what was held while the history was read, and stop holding. */
static void
room_release_held(struct local_room *lr)
{
	lr->catching_up = 0;
	for (uint32_t i = 0; i < lr->nheld; i++) {
		room_fanout(lr, lr->held[i], NULL, 0);
		frame_unref(lr->held[i]);
	}
	lr->nheld = 0;
}

static void
catchup_reply(redisReply *rr, void *arg)
{
	struct catchup *cu = arg;
	struct local_room *lr = room_find(cu->room);
	struct frame *f;
	struct seq seq;
	size_t end, n = 0;

	free(cu);
	if (lr == NULL || !lr->catching_up)
		return;
	if (rr == NULL) {
		/* The command connection is not up (yet, or again): keep
		 * holding, and read when it is. */
		lr->catchup_unsent = 1;
		return;
	}
	if (rr->type == REDIS_REPLY_ARRAY && rr->elements == 2 &&
	    rr->element[1]->type == REDIS_REPLY_ARRAY) {
		redisReply *e = rr->element[1];

		for (size_t i = 0; i < e->elements; i++) {
			if (frame_parse_seq(e->element[i]->str,
			    e->element[i]->len, &seq, &end) != 0)
				continue;
			f = frame_new(e->element[i]->str, e->element[i]->len);
			f->seq = seq;
			room_fanout(lr, f, NULL, 0);
			frame_unref(f);
			n++;
		}
	}
	if (n > 0)
		log_info("room %s: %zu frames caught up after the "
		    "subscription came back", lr->id, n);
	room_release_held(lr);
}

static void
room_catch_up_one(void *val, void *arg)
{
	struct local_room *lr = val;

	(void)arg;
	if (lr->catching_up && lr->catchup_unsent)
		room_catch_up(lr);
}

/* The command connection is up: send the catch-up reads that waited. */
void
room_catch_up_unsent(void)
{
	dict_each(&rooms, room_catch_up_one, NULL);
}

/*
 * The subscription is back after an outage: frames written meanwhile went
 * to nobody here. Read them from history, from the oldest seq a member has
 * seen; the members' filters drop what they already have, and live frames
 * wait until the history is in, so order holds.
 */
static void
room_catch_up(struct local_room *lr)
{
	const char *argv[8];
	size_t lens[8];
	char since[48], lim[24];
	struct seq oldest = { 0, 0 };
	int have = 0;
	struct buf keys;
	struct catchup *cu;

	for (uint32_t i = 0; i < lr->nmembers; i++) {
		struct membership *m = lr->members[i];

		if (m->state != MEMBER_ACTIVE)
			continue;
		if (!have || seq_cmp(&m->after, &oldest) < 0)
			oldest = m->after;
		have = 1;
	}
	if (!have) {
		room_release_held(lr);
		return;
	}
	lr->catchup_unsent = 0;
	snprintf(since, sizeof since, "%llu-%llu",
	    (unsigned long long)oldest.ms, (unsigned long long)oldest.n);
	snprintf(lim, sizeof lim, "%llu", (unsigned long long)cfg.history);
	buf_init(&keys);
	room_keys(lr->id, &keys, argv, lens, 4);
	argv[4] = "history";
	argv[5] = "";		/* no membership check: this is the node */
	argv[6] = since;
	argv[7] = lim;
	for (int i = 4; i < 8; i++)
		lens[i] = strlen(argv[i]);
	cu = xmalloc(sizeof *cu);
	snprintf(cu->room, sizeof cu->room, "%s", lr->id);
	if (store_script(SCRIPT_READ, 4, 4, argv, lens, catchup_reply,
	    cu) != 0)
		catchup_reply(NULL, cu);
	buf_free(&keys);
}
