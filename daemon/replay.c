/*
 * replay.c: the rest of the frames a join with `since` missed, when the
 * join script stopped at its byte budget: read as history pages up to the
 * joiner's own member_joined and sent a page at a time as the joiner reads
 * them, then the join's reply, then its live frames. Nothing is ever
 * queued for the joiner faster than it reads.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "roomd.h"

/* A join whose missed frames are still being sent. Holds a reference to
 * c; freed by replay_free. */
struct replay {
	struct conn *c;
	uint64_t ticket;
	int has_ref;
	struct buf reply;	/* the join's reply, begun */
	char room[ID_MAX + 1];
	struct seq seq;		/* of the join: where live frames start */
	int incl;		/* ... including it (a new member) */
	char last[48];		/* the last frame sent */
	char stop[50];		/* the last frame wanted, as an XRANGE end */
};

static void replay_page(void *);

static void
replay_free(struct replay *rp)
{
	rp->c->inflight--;
	conn_unref(rp->c);
	buf_free(&rp->reply);
	free(rp);
}

/*
 * All sent (or a page could not be read: then recovered is false and the
 * client resyncs from the reply's state): the reply, then live frames.
 */
static void
replay_finish(struct replay *rp, int recovered)
{
	struct conn *c = rp->c;
	struct membership *m;

	if (c->wsi != NULL) {
		if (rp->has_ref) {
			reply_joined_finish(c, rp->ticket, &rp->reply,
			    recovered);
			buf_init(&rp->reply);
		} else
			conn_reply(c, rp->ticket, NULL);
		m = conn_membership(c, rp->room);
		if (m != NULL && m->state == MEMBER_PENDING)
			membership_activate(m, &rp->seq, rp->incl);
	}
	replay_free(rp);
}

static int
replay_ready(void *arg)
{
	struct replay *rp = arg;

	return conn_drained(rp->c);
}

static void
replay_done(redisReply *rr, void *arg)
{
	struct replay *rp = arg;
	redisReply *frames, *last;

	if (rp->c->wsi == NULL) {
		replay_free(rp);
		return;
	}
	if (rr == NULL || rr->type == REDIS_REPLY_ERROR ||
	    shape_check(SHAPE_HISTORY, rr) != 0 ||
	    strcmp(rr->element[READ_R_STATUS]->str, "ok") != 0) {
		replay_finish(rp, 0);
		return;
	}
	frames = rr->element[READ_R_FRAMES];
	for (size_t i = 0; i < frames->elements; i++) {
		struct frame *f = frame_new(frames->element[i]->str,
		    frames->element[i]->len);

		conn_send_reply(rp->c, f);
		frame_unref(f);
	}
	last = rr->element[READ_R_LAST];
	if (rr->element[READ_R_MORE]->integer != 1 ||
	    last->type != REDIS_REPLY_STRING || last->len >= sizeof rp->last) {
		replay_finish(rp, 1);
		return;
	}
	memcpy(rp->last, last->str, last->len);
	rp->last[last->len] = '\0';
	pace_wait(replay_ready, replay_page, rp);
}

/* The joiner has read the last page: read the next. */
static void
replay_page(void *arg)
{
	struct replay *rp = arg;
	struct script_args sa;

	if (rp->c->wsi == NULL) {
		replay_free(rp);
		return;
	}
	script_read_args(&sa, &(struct script_read){
		.prefix = cfg.prefix,
		.room = rp->room,
		.what = "history",
		.conn = NULL,
		.since = rp->last,
		.limit = (long long)cfg.history,
		.budget = REPLY_BUDGET,
		.stop = rp->stop,
	});
	store_run(&sa, replay_done, rp);
}

/*
 * The join script's reply rr (status ok or already, its frames sent)
 * says more frames were missed than it returned: send the rest in pages,
 * then the reply under ticket, then activate the membership from the
 * join's seq (incl: that frame itself is the joiner's member_joined).
 */
void
replay_start(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, redisReply *rr, int incl)
{
	struct replay *rp = xcalloc(1, sizeof *rp);
	redisReply *frames = rr->element[JOIN_R_FRAMES];
	redisReply *seq = rr->element[JOIN_R_SEQ];
	redisReply *last;
	struct seq ls;
	size_t end;

	rp->c = c;
	conn_ref(c);
	c->inflight++;
	rp->ticket = ticket;
	snprintf(rp->room, sizeof rp->room, "%s", room);
	rp->incl = incl;
	buf_init(&rp->reply);
	if (ref != NULL) {
		rp->has_ref = 1;
		reply_joined_begin(&rp->reply, ref, room, rr);
	}
	last = frames->elements > 0 ? frames->element[frames->elements - 1] :
	    NULL;
	if (seq->type != REDIS_REPLY_STRING || last == NULL ||
	    seq_parse(seq->str, seq->len, &rp->seq) != 0 ||
	    frame_parse_seq(last->str, last->len, &ls, &end) != 0) {
		replay_finish(rp, 1);
		return;
	}
	snprintf(rp->last, sizeof rp->last, "%llu-%llu",
	    (unsigned long long)ls.ms, (unsigned long long)ls.n);
	snprintf(rp->stop, sizeof rp->stop, "%s%.*s", incl ? "(" : "",
	    (int)seq->len, seq->str);
	pace_wait(replay_ready, replay_page, rp);
}
