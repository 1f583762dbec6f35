/*
 * reply.c: every reply frame roomd builds for a request, ok or error,
 * from the request's ref and the named fields of a script's reply; the
 * connection (conn.c) sends them in request order.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "roomd.h"

/*
 * Begin an ok reply in b: {"type":"ok","ref":R, and with room given,
 * ,"room":ROOM. A request without a ref gets no reply: that is sent in
 * its place at once, and -1 returned with b untouched.
 */
static int
reply_begin(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, struct buf *b)
{
	if (ref == NULL) {
		conn_reply(c, ticket, NULL);
		return -1;
	}
	buf_init(b);
	buf_adds(b, "{\"type\":\"ok\",\"ref\":");
	buf_adds(b, ref);
	if (room != NULL) {
		buf_adds(b, ",\"room\":");
		json_add_string(b, room, strlen(room));
	}
	return 0;
}

/* Close an ok reply begun in b and queue it under ticket. */
static void
reply_finish(struct conn *c, uint64_t ticket, struct buf *b)
{
	buf_addc(b, '}');
	conn_reply_text(c, ticket, b->p, b->len);
	buf_free(b);
}

/*
 * Reply with an error frame, counted in /metrics by its code. ref is the
 * request's ref as JSON text, or NULL for none.
 */
void
reply_error(struct conn *c, uint64_t ticket, const char *ref,
    enum err_code code, const char *fmt, ...)
{
	struct buf b;
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	buf_init(&b);
	buf_adds(&b, "{\"type\":\"error\"");
	if (ref != NULL) {
		buf_adds(&b, ",\"ref\":");
		buf_adds(&b, ref);
	}
	buf_printf(&b, ",\"code\":\"%s\",\"message\":", err_name(code));
	json_add_string(&b, msg, strlen(msg));
	buf_addc(&b, '}');
	free(msg);
	metrics_error(code);
	log_debug("conn %s: error %s", c->id, err_name(code));
	conn_reply_text(c, ticket, b.p, b.len);
	buf_free(&b);
}

/* Reply ok with nothing but the ref; a request without one gets none. */
void
reply_ok(struct conn *c, uint64_t ticket, const char *ref)
{
	struct buf b;

	if (reply_begin(c, ticket, ref, NULL, &b) == 0)
		reply_finish(c, ticket, &b);
}

/*
 * Reply ok with the fields fields() appends from a script's reply rr,
 * each with a leading comma; a request without a ref gets no reply.
 */
void
reply_ok_fields(struct conn *c, uint64_t ticket, const char *ref,
    reply_fields_fn fields, redisReply *rr)
{
	struct buf b;

	if (reply_begin(c, ticket, ref, NULL, &b) != 0)
		return;
	fields(&b, rr);
	reply_finish(c, ticket, &b);
}

/* A ping without a ref gets a pong, one with a ref a plain ok. */
void
reply_pong(struct conn *c, uint64_t ticket, const char *ref)
{
	static const char pong[] = "{\"type\":\"pong\"}";

	if (ref == NULL)
		conn_reply_text(c, ticket, pong, sizeof pong - 1);
	else
		reply_ok(c, ticket, ref);
}

/*
 * Append ,"name":[...] from an array reply of JSON texts (members, frames),
 * copied as they are: Redis holds them already encoded.
 */
static void
reply_add_array(struct buf *b, const char *name, redisReply *arr)
{
	buf_printf(b, ",\"%s\":[", name);
	for (size_t i = 0; i < arr->elements; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_add(b, arr->element[i]->str, arr->element[i]->len);
	}
	buf_addc(b, ']');
}

/* Append ,"state":{k:v,...} from a flat HGETALL of JSON values. */
static void
reply_add_state(struct buf *b, redisReply *flat)
{
	buf_adds(b, ",\"state\":{");
	for (size_t i = 0; i + 1 < flat->elements; i += 2) {
		if (i > 0)
			buf_addc(b, ',');
		json_add_string(b, flat->element[i]->str,
		    flat->element[i]->len);
		buf_addc(b, ':');
		buf_add(b, flat->element[i + 1]->str,
		    flat->element[i + 1]->len);
	}
	buf_addc(b, '}');
}

/* A string element of a reply, or "" when it is nil or no string. */
static const char *
reply_str(redisReply *e, size_t *len)
{
	if (e->type != REDIS_REPLY_STRING) {
		*len = 0;
		return "";
	}
	*len = e->len;
	return e->str;
}

/*
 * Append ,"details":{...} from the details a join or match script gives
 * (JOIN_D_*): pool and filter only for a room made by match. The filter
 * is stored as the canonical JSON roomd made of it, and copied as it is.
 */
static void
reply_add_details(struct buf *b, redisReply *d)
{
	const char *s;
	size_t len;
	long long maxm;

	if (d->type != REDIS_REPLY_ARRAY || d->elements < JOIN_D_COUNT) {
		buf_adds(b, ",\"details\":null");
		return;
	}
	buf_adds(b, ",\"details\":{\"title\":");
	s = reply_str(d->element[JOIN_D_TITLE], &len);
	json_add_string(b, s, len);
	buf_adds(b, ",\"topic\":");
	s = reply_str(d->element[JOIN_D_TOPIC], &len);
	json_add_string(b, s, len);
	s = reply_str(d->element[JOIN_D_VISIBILITY], &len);
	buf_printf(b, ",\"visibility\":\"%s\"", len == 7 &&
	    memcmp(s, "private", 7) == 0 ? "private" : "public");
	maxm = strtoll(reply_str(d->element[JOIN_D_MAX_MEMBERS], &len), NULL,
	    10);
	if (maxm > 0)
		buf_printf(b, ",\"max_members\":%lld", maxm);
	else
		buf_adds(b, ",\"max_members\":null");
	buf_printf(b, ",\"created_at\":%lld,\"locked\":%s",
	    strtoll(reply_str(d->element[JOIN_D_CREATED_AT], &len), NULL, 10),
	    strcmp(reply_str(d->element[JOIN_D_LOCKED], &len), "1") == 0 ?
	    "true" : "false");
	s = reply_str(d->element[JOIN_D_POOL], &len);
	if (len > 0) {
		buf_adds(b, ",\"pool\":");
		json_add_string(b, s, len);
		s = reply_str(d->element[JOIN_D_FILTER], &len);
		buf_adds(b, ",\"filter\":");
		if (len > 0)
			buf_add(b, s, len);
		else
			buf_adds(b, "{}");
	}
	buf_addc(b, '}');
}

/*
 * The ok reply of a join or match, from the script's reply (JOIN_R_*);
 * created is -1 for a join, else whether the match opened the room.
 */
static void
reply_join_or_match(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, redisReply *rr, int created)
{
	redisReply *seq = rr->element[JOIN_R_SEQ];
	long long recovered = rr->element[JOIN_R_RECOVERED]->integer;
	struct buf b;

	if (reply_begin(c, ticket, ref, room, &b) != 0)
		return;
	buf_adds(&b, ",\"seq\":");
	if (seq->type == REDIS_REPLY_STRING)
		json_add_string(&b, seq->str, seq->len);
	else
		buf_adds(&b, "null");
	reply_add_array(&b, "members", rr->element[JOIN_R_MEMBERS]);
	reply_add_state(&b, rr->element[JOIN_R_STATE]);
	buf_printf(&b, ",\"state_version\":%lld",
	    rr->element[JOIN_R_STATE_VERSION]->integer);
	reply_add_details(&b, rr->element[JOIN_R_DETAILS]);
	if (recovered >= 0)
		buf_printf(&b, ",\"recovered\":%s", recovered ? "true" :
		    "false");
	if (created >= 0)
		buf_printf(&b, ",\"created\":%s", created ? "true" : "false");
	reply_finish(c, ticket, &b);
}

/* The ok reply of a join, from the join script's reply (JOIN_R_*). */
void
reply_joined(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, redisReply *rr)
{
	reply_join_or_match(c, ticket, ref, room, rr, -1);
}

/* The ok reply of a match: a join's and created (MATCH_R_*). */
void
reply_matched(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, redisReply *rr, int created)
{
	reply_join_or_match(c, ticket, ref, room, rr, created != 0);
}

/* The ok reply of a leave. */
void
reply_left(struct conn *c, uint64_t ticket, const char *ref,
    const char *room)
{
	struct buf b;

	if (reply_begin(c, ticket, ref, room, &b) == 0)
		reply_finish(c, ticket, &b);
}

/* publish: the append script's seq. */
void
reply_fields_published(struct buf *b, redisReply *rr)
{
	buf_adds(b, ",\"seq\":");
	json_add_string(b, rr->element[APPEND_R_SEQ]->str,
	    rr->element[APPEND_R_SEQ]->len);
}

/* state.set: the new state version. */
void
reply_fields_state_set(struct buf *b, redisReply *rr)
{
	buf_printf(b, ",\"state_version\":%lld",
	    rr->element[STATE_SET_R_VERSION]->integer);
}

/* state.get: the state and its version. */
void
reply_fields_state(struct buf *b, redisReply *rr)
{
	reply_add_state(b, rr->element[READ_R_STATE]);
	buf_printf(b, ",\"state_version\":%lld",
	    rr->element[READ_R_STATE_VERSION]->integer);
}

void
reply_fields_presence(struct buf *b, redisReply *rr)
{
	reply_add_array(b, "members", rr->element[READ_R_MEMBERS]);
}

void
reply_fields_history(struct buf *b, redisReply *rr)
{
	reply_add_array(b, "events", rr->element[READ_R_FRAMES]);
}

/* rooms: one object per row of the rooms script (ROOMS_R_*). */
void
reply_fields_rooms(struct buf *b, redisReply *rr)
{
	buf_adds(b, ",\"rooms\":[");
	for (size_t i = 0; i < rr->elements; i++) {
		redisReply *e = rr->element[i], **f;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < ROOMS_R_COUNT)
			continue;
		f = e->element;
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"room\":");
		json_add_string(b, f[ROOMS_R_ROOM]->str, f[ROOMS_R_ROOM]->len);
		buf_adds(b, ",\"title\":");
		json_add_string(b, f[ROOMS_R_TITLE]->str,
		    f[ROOMS_R_TITLE]->len);
		buf_adds(b, ",\"topic\":");
		json_add_string(b, f[ROOMS_R_TOPIC]->str,
		    f[ROOMS_R_TOPIC]->len);
		buf_printf(b, ",\"visibility\":\"%s\",\"members\":%lld",
		    strcmp(f[ROOMS_R_VISIBILITY]->str, "private") == 0 ?
		    "private" : "public", f[ROOMS_R_MEMBERS]->integer);
		if (f[ROOMS_R_MAX_MEMBERS]->integer > 0)
			buf_printf(b, ",\"max_members\":%lld",
			    f[ROOMS_R_MAX_MEMBERS]->integer);
		else
			buf_adds(b, ",\"max_members\":null");
		buf_printf(b, ",\"created_at\":%lld,\"locked\":%s",
		    f[ROOMS_R_CREATED_AT]->integer,
		    f[ROOMS_R_LOCKED]->integer == 1 ? "true" : "false");
		if (f[ROOMS_R_POOL]->type == REDIS_REPLY_STRING &&
		    f[ROOMS_R_POOL]->len > 0) {
			buf_adds(b, ",\"pool\":");
			json_add_string(b, f[ROOMS_R_POOL]->str,
			    f[ROOMS_R_POOL]->len);
			buf_adds(b, ",\"filter\":");
			if (f[ROOMS_R_FILTER]->type == REDIS_REPLY_STRING &&
			    f[ROOMS_R_FILTER]->len > 0)
				buf_add(b, f[ROOMS_R_FILTER]->str,
				    f[ROOMS_R_FILTER]->len);
			else
				buf_adds(b, "{}");
		}
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

/* lock and unlock: the room, as for leave. */
void
reply_fields_locked(struct buf *b, redisReply *rr)
{
	redisReply *room = rr->element[LOCK_R_ROOM];

	buf_adds(b, ",\"room\":");
	json_add_string(b, room->str, room->len);
}
