/*
 * recover.c: what a node does after a Redis outage: write its live
 * members back (Redis may have restarted empty), and catch its rooms up on
 * the frames written while the subscription was gone, from history,
 * holding live frames until they are in so that order holds.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "roomd.h"

/* The room id a catch-up read is for (the room may be gone by then). */
struct catchup {
	char room[ID_MAX + 1];
};

static void
recover_restore_one(struct local_room *lr, void *arg)
{
	struct script_args sa;
	struct script_restore r = {
		.prefix = cfg.prefix,
		.room = lr->id,
		.ttl = cfg.room_ttl,
	};

	(void)arg;
	for (int j = 0; j < JOIN_D_COUNT; j++)
		r.details[j] = lr->details[j];
	for (uint32_t i = 0; i < lr->nmembers; i++) {
		struct membership *m = lr->members[i];

		if (m->state != MEMBER_ACTIVE || m->member == NULL)
			continue;
		r.conn = m->conn->id;
		r.member = m->member;
		script_restore_args(&sa, &r);
		store_run(&sa, NULL, NULL);
	}
}

/*
 * Redis is back, perhaps empty after a restart without persistence:
 * write every live member of this node back, so presence is whole again.
 * The script leaves members Redis still has alone.
 */
void
recover_restore_all(void)
{
	room_each(recover_restore_one, NULL);
}

/* Deliver what was held while the history was read, and stop holding. */
static void
recover_release_held(struct local_room *lr)
{
	lr->catching_up = 0;
	for (uint32_t i = 0; i < lr->nheld; i++) {
		fanout_frame(lr, lr->held[i], NULL, 0);
		frame_unref(lr->held[i]);
	}
	lr->nheld = 0;
}

static void
catchup_done(redisReply *rr, void *arg)
{
	struct catchup *cu = arg;
	struct local_room *lr = room_find(cu->room);
	redisReply *e;
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
	if (rr->type == REDIS_REPLY_ARRAY && rr->elements == READ_R_FRAMES + 1 &&
	    rr->element[READ_R_FRAMES]->type == REDIS_REPLY_ARRAY) {
		e = rr->element[READ_R_FRAMES];
		for (size_t i = 0; i < e->elements; i++) {
			if (frame_parse_seq(e->element[i]->str,
			    e->element[i]->len, &seq, &end) != 0)
				continue;
			fanout_note(lr, e->element[i]->str, e->element[i]->len,
			    end, &seq);
			f = frame_new(e->element[i]->str, e->element[i]->len);
			f->seq = seq;
			fanout_frame(lr, f, NULL, 0);
			frame_unref(f);
			n++;
		}
	}
	if (n > 0 && !lr->catchup_quiet)
		log_info("room %s: %zu frames caught up after the "
		    "subscription came back", lr->id, n);
	lr->catchup_quiet = 0;
	recover_release_held(lr);
}

static void
recover_catch_up_one(struct local_room *lr, void *arg)
{
	(void)arg;
	if (lr->catching_up && lr->catchup_unsent)
		recover_catch_up(lr);
}

/* The command connection is up: send the catch-up reads that waited. */
void
recover_catch_up_unsent(void)
{
	room_each(recover_catch_up_one, NULL);
}

/*
 * The subscription is back after an outage: frames written meanwhile went
 * to nobody here. Read them from history, from the oldest seq a member has
 * seen; the members' filters drop what they already have, and live frames
 * wait until the history is in, so order holds.
 */
void
recover_catch_up(struct local_room *lr)
{
	struct script_args sa;
	char since[48];
	struct seq oldest = { 0, 0 };
	int have = 0;
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
		recover_release_held(lr);
		return;
	}
	lr->catchup_unsent = 0;
	snprintf(since, sizeof since, "%llu-%llu",
	    (unsigned long long)oldest.ms, (unsigned long long)oldest.n);
	script_read_args(&sa, &(struct script_read){
		.prefix = cfg.prefix,
		.room = lr->id,
		.what = "history",
		.conn = NULL,	/* no membership check: this is the node */
		.since = since,
		.limit = (long long)cfg.history,
	});
	cu = xmalloc(sizeof *cu);
	snprintf(cu->room, sizeof cu->room, "%s", lr->id);
	store_run(&sa, catchup_done, cu);
}
