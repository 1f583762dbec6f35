/*
 * fanout.c: a room frame in from pub/sub, out to the room's local members:
 * encoded once, the same bytes queued for every member that should see
 * it, stashed for members whose join is still in flight, and held while
 * the room catches up after an outage (recover.c).
 */
#include <string.h>

#include "roomd.h"

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
 * Note what a room frame (text, its seq field ending at end) changes in
 * what this node keeps of the room: a room_locked frame (issue 10) sets
 * the locked detail that restore.lua writes back after an outage. Frames
 * come live and from catch-up reads, not always in seq order, so only a
 * newer one counts. Scripts write "type" right after "seq", so one
 * comparison at end finds it.
 */
void
fanout_note(struct local_room *lr, const char *text, size_t len, size_t end,
    const struct seq *seq)
{
	static const char type[] = ",\"type\":\"room_locked\"";
	static const char locked[] = "\"locked\":true";

	if (len - end < sizeof type - 1 ||
	    memcmp(text + end, type, sizeof type - 1) != 0 ||
	    seq_cmp(seq, &lr->locked_seq) <= 0)
		return;
	lr->locked_seq = *seq;
	free(lr->details[JOIN_D_LOCKED]);
	lr->details[JOIN_D_LOCKED] = xstrdup(memmem(text, len, locked,
	    sizeof locked - 1) != NULL ? "1" : "0");
}

/*
 * A room frame arrived on the room's channel: encode it once and hand the
 * same bytes to every local member that should see it.
 */
void
fanout_deliver(const char *channel, size_t chlen, const char *text,
    size_t len)
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
	fanout_note(lr, text, len, end, &seq);
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
	fanout_frame(lr, f, skip, skiplen);
	frame_unref(f);
}

/*
 * Hand one encoded frame to every local member that should see it: the
 * same bytes for all. skip names a sender who asked for echo=false.
 */
void
fanout_frame(struct local_room *lr, struct frame *f, const char *skip,
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
