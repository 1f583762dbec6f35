/*
 * room.c: the rooms that have members on this node: the table of local
 * rooms, each one's pub/sub subscription state, and the memberships that
 * link a room's members to their connections.
 *
 * Why joins wait: a joiner must see every frame from its own member_joined
 * on. So the node is subscribed to the room's channel before the join
 * script runs (join.c); frames that arrive before the join's reply are
 * stashed, and the reply's seq says which of them the joiner gets.
 */
#include <string.h>

#include "roomd.h"

static struct dict rooms;

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

/* The local room a room channel's name is for, or NULL. */
struct local_room *
room_of_channel(const char *ch, size_t len)
{
	const char *id;
	size_t idlen;

	if ((id = key_channel_room(cfg.prefix, ch, len, &idlen)) == NULL)
		return NULL;
	return dict_get(&rooms, id, idlen);
}

struct room_each_arg {
	void (*fn)(struct local_room *, void *);
	void *arg;
};

static void
room_each_one(void *val, void *arg)
{
	struct room_each_arg *e = arg;

	e->fn(val, e->arg);
}

/* Call fn on every local room; fn must not free any. */
void
room_each(void (*fn)(struct local_room *, void *), void *arg)
{
	struct room_each_arg e = { fn, arg };

	dict_each(&rooms, room_each_one, &e);
}

static void
room_sub_command(struct local_room *lr, void (*cmd)(const char *, size_t))
{
	struct buf ch;

	buf_init(&ch);
	key_channel(&ch, cfg.prefix, lr->id);
	cmd(ch.p, ch.len);
	buf_free(&ch);
}

/* Ask for the room's channel; room_confirmed follows. */
void
room_subscribe(struct local_room *lr)
{
	lr->sub = SUB_SUBSCRIBING;
	room_sub_command(lr, store_subscribe);
}

/* The local room of id, made (not yet subscribed) if there is none. */
struct local_room *
room_get(const char *id)
{
	struct local_room *lr = room_find(id);

	if (lr != NULL)
		return lr;
	lr = xcalloc(1, sizeof *lr);
	snprintf(lr->id, sizeof lr->id, "%s", id);
	TAILQ_INIT(&lr->waiting);
	dict_put(&rooms, lr->id, lr);
	return lr;
}

static void
room_free(struct local_room *lr)
{
	dict_del(&rooms, lr->id, strlen(lr->id));
	for (int i = 0; i < JOIN_D_COUNT; i++)
		free(lr->details[i]);
	for (uint32_t i = 0; i < lr->nheld; i++)
		frame_unref(lr->held[i]);
	free(lr->held);
	free(lr->members);
	free(lr);
}

/*
 * A room with no members and no queued joins gives up its subscription,
 * and once that is confirmed (or there was none), its memory: lr may be
 * freed.
 */
void
room_maybe_release(struct local_room *lr)
{
	if (lr->nmembers > 0 || !TAILQ_EMPTY(&lr->waiting))
		return;
	switch (lr->sub) {
	case SUB_NONE:
		room_free(lr);
		break;
	case SUB_SUBSCRIBED:
		lr->sub = SUB_UNSUBSCRIBING;
		room_sub_command(lr, store_unsubscribe);
		break;
	case SUB_SUBSCRIBING:
	case SUB_UNSUBSCRIBING:
		break;	/* decided when the confirmation comes */
	}
}

/*
 * The subscription of lr is confirmed. Returns 0 when it was being asked
 * for (the caller sends what waited for it), -1 when it was not.
 */
int
room_confirmed(struct local_room *lr)
{
	if (lr == NULL || lr->sub != SUB_SUBSCRIBING)
		return -1;
	lr->sub = SUB_SUBSCRIBED;
	return 0;
}

/* The channel is given up: free the room, or subscribe again if needed. */
void
room_unsubscribed(const char *channel, size_t chlen)
{
	struct local_room *lr = room_of_channel(channel, chlen);

	if (lr == NULL || lr->sub != SUB_UNSUBSCRIBING)
		return;
	lr->sub = SUB_NONE;
	if (lr->nmembers > 0 || !TAILQ_EMPTY(&lr->waiting))
		room_subscribe(lr);
	else
		room_free(lr);
}

static void
room_resubscribe_one(struct local_room *lr, void *arg)
{
	(void)arg;
	lr->sub = SUB_NONE;
	lr->catchup_needed = lr->nmembers > 0;
	if (lr->nmembers > 0 || !TAILQ_EMPTY(&lr->waiting))
		room_subscribe(lr);
}

/*
 * The subscription connection is new (first start or after an outage):
 * subscribe again to every room that has members here; frames missed
 * meanwhile are caught up once each is confirmed (recover.c).
 */
void
room_resubscribe_all(void)
{
	room_each(room_resubscribe_one, NULL);
}

/* A pending membership of c in lr, linked from both. */
struct membership *
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

/* Unlink and free m; its room may be released (and freed) with it. */
void
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

/* Send f to an active member unless it has had it already. */
void
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
 * seq on (its member_joined, when incl), starting with those stashed
 * meanwhile.
 */
void
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
