/*
 * request.c: turns one client text frame into a request: rate-limits and
 * parses it, finds its type in the request table (each family of types
 * lives in a req-*.c file), and offers the families the field validation,
 * membership check and script call whose reply becomes the client's.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomd.h"

/* A request waiting for its script's reply. */
struct pending {
	struct conn *c;
	uint64_t ticket;
	char *ref;
	char room[ID_MAX + 1];
	enum shape shape;	/* of the script's reply */
	reply_fields_fn fields;	/* the ok reply's fields */
};

/* Redis refusing a request is most likely the client's doing: its log
 * lines are limited. */
static struct log_limit redis_errors;

/* The request table, in the order of PROTOCOL.md. */
static const struct req_entry *const request_table[] = {
	&req_join_entry,
	&req_leave_entry,
	&req_match_entry,
	&req_lock_entry,
	&req_unlock_entry,
	&req_publish_entry,
	&req_state_set_entry,
	&req_state_get_entry,
	&req_presence_entry,
	&req_history_entry,
	&req_rooms_entry,
	&req_ping_entry,
};
#define NREQUESTS (sizeof request_table / sizeof request_table[0])

/* Client strings quoted in error messages are cut to this. */
const char *
req_shorten(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s);

	if (n < outlen) {
		memcpy(out, s, n + 1);
		return out;
	}
	memcpy(out, s, outlen - 4);
	memcpy(out + outlen - 4, "...", 4);
	return out;
}

/* Reply to the request with an error; the message is cut to 255 bytes. */
void
req_error(struct req *r, enum err_code code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply_error(r->c, r->ticket, r->ref, code, "%s", msg);
}

/*
 * Field access with the error a client should see. Each returns 0 when the
 * field is absent and optional, 1 when present and valid, and -1 after
 * replying with an error.
 */
int
req_field_string(struct req *r, const char *name, int required,
    const char **out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (it == NULL || (cJSON_IsNull(it) && !required)) {
		if (!required)
			return 0;
		req_error(r, ERR_BAD_REQUEST, "missing field '%s'", name);
		return -1;
	}
	if (!cJSON_IsString(it)) {
		req_error(r, ERR_BAD_REQUEST,
		    "field '%s' must be a string, not %s", name,
		    json_type_name(it->type));
		return -1;
	}
	*out = it->valuestring;
	return 1;
}

int
req_field_id(struct req *r, const char *name, const char **out)
{
	char tmp[80];

	if (req_field_string(r, name, 1, out) != 1)
		return -1;
	if (!id_valid(*out, strlen(*out))) {
		req_error(r, ERR_BAD_REQUEST,
		    "bad %s '%s': it must match ^[A-Za-z0-9_.:-]{1,64}$",
		    name, req_shorten(*out, tmp, sizeof tmp));
		return -1;
	}
	return 1;
}

int
req_field_int(struct req *r, cJSON *obj, const char *name, long long min,
    long long max, long long *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	d = cJSON_GetNumberValue(it);
	if (!cJSON_IsNumber(it) || d != floor(d) || d < (double)min ||
	    d > (double)max) {
		req_error(r, ERR_BAD_REQUEST,
		    "field '%s' must be an integer from %lld to %lld", name,
		    min, max);
		return -1;
	}
	*out = (long long)d;
	return 1;
}

int
req_field_bool(struct req *r, const char *name, int *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsBool(it)) {
		req_error(r, ERR_BAD_REQUEST,
		    "field '%s' must be true or false", name);
		return -1;
	}
	*out = cJSON_IsTrue(it);
	return 1;
}

int
req_field_seq(struct req *r, const char *name, const char **out)
{
	struct seq s;
	int rc;

	if ((rc = req_field_string(r, name, 0, out)) != 1)
		return rc;
	if (seq_parse(*out, strlen(*out), &s) != 0) {
		req_error(r, ERR_BAD_REQUEST,
		    "field '%s' must be a seq like \"1732270000000-0\"", name);
		return -1;
	}
	/* Redis refuses it as the exclusive start a since is. */
	if (seq_is_last(&s)) {
		req_error(r, ERR_BAD_REQUEST,
		    "field '%s' is the last possible seq: nothing follows it",
		    name);
		return -1;
	}
	return 1;
}

/*
 * The membership check, done here to spare Redis and done again in the
 * script, atomically. Sets *who to the conn id the script must find in
 * the room, or NULL for an admin, who needs no membership. Returns -1
 * after replying not_member.
 */
int
req_need_member(struct req *r, const char **who)
{
	*who = r->c->id;
	if (conn_membership(r->c, r->room) != NULL)
		return 0;
	if (r->c->claims != NULL && r->c->claims->admin) {
		*who = NULL;
		return 0;
	}
	req_error(r, ERR_NOT_MEMBER, "not a member of room '%s'", r->room);
	return -1;
}

/* {"conn":"ID","user":U}: who sent an event or changed state. */
void
req_actor(struct buf *b, struct conn *c)
{
	buf_printf(b, "{\"conn\":\"%s\",\"user\":", c->id);
	if (c->user != NULL)
		json_add_string(b, c->user, strlen(c->user));
	else
		buf_adds(b, "null");
	buf_addc(b, '}');
}

static void
pending_free(struct pending *p)
{
	p->c->inflight--;
	conn_unref(p->c);
	free(p->ref);
	free(p);
}

/*
 * Every script reply comes here first: a lost Redis connection and Redis
 * errors become `unavailable` and `internal`, and so does a reply of
 * another shape than the script's (shape.c); status words the scripts
 * return first become the error codes of the same name.
 */
static void
pending_reply(redisReply *rr, void *arg)
{
	struct pending *p = arg;
	struct conn *c = p->c;
	enum err_code code;

	if (c->wsi == NULL)
		;	/* gone: nobody to answer */
	else if (rr == NULL)
		reply_error(c, p->ticket, p->ref, ERR_UNAVAILABLE,
		    "redis is unavailable");
	else if (rr->type == REDIS_REPLY_ERROR) {
		log_warnx_limited(&redis_errors, "redis error: %s", rr->str);
		reply_error(c, p->ticket, p->ref, ERR_INTERNAL,
		    "internal error");
	} else if (shape_check(p->shape, rr) != 0)
		reply_error(c, p->ticket, p->ref, ERR_INTERNAL,
		    "internal error");
	else if (p->shape != SHAPE_ROOMS &&
	    strcmp(rr->element[SCRIPT_R_STATUS]->str, "ok") != 0) {
		const char *status = rr->element[SCRIPT_R_STATUS]->str;

		if (err_parse(status, &code) != 0)
			code = ERR_INTERNAL;
		switch (code) {
		case ERR_NOT_MEMBER:
			reply_error(c, p->ticket, p->ref, code,
			    "not a member of room '%s'", p->room);
			break;
		case ERR_NOT_FOUND:
			reply_error(c, p->ticket, p->ref, code,
			    "no room named '%s'", p->room);
			break;
		case ERR_CONFLICT:
			reply_error(c, p->ticket, p->ref, code,
			    "state version is %lld",
			    rr->element[STATE_SET_R_VERSION]->integer);
			break;
		case ERR_TOO_LARGE:
			reply_error(c, p->ticket, p->ref, code,
			    "the state of room '%s' would be over %lld bytes",
			    p->room, rr->element[STATE_SET_R_BOUND]->integer);
			break;
		default:
			reply_error(c, p->ticket, p->ref, ERR_INTERNAL,
			    "unexpected reply '%s'", status);
			break;
		}
	} else
		reply_ok_fields(c, p->ticket, p->ref, p->fields, rr);
	pending_free(p);
}

/*
 * Send the script call sa for request r, whose reply has the given shape
 * and whose ok reply gets the fields fields() appends; replies
 * `unavailable` at once when Redis is down. The request's ref moves to
 * the pending call. Frees sa.
 */
void
req_script(struct req *r, struct script_args *sa, enum shape shape,
    reply_fields_fn fields)
{
	struct pending *p = xcalloc(1, sizeof *p);

	p->c = r->c;
	conn_ref(r->c);
	r->c->inflight++;
	p->ticket = r->ticket;
	p->ref = r->ref;
	r->ref = NULL;
	if (r->room != NULL)
		snprintf(p->room, sizeof p->room, "%s", r->room);
	p->shape = shape;
	p->fields = fields;
	store_run(sa, pending_reply, p);
}

/*
 * The request's ref, as the exact JSON text the client sent (a number is
 * not rounded through a double), into *out (NULL when there is none).
 * Returns NULL, or why the ref is refused (then *out is NULL): it must be
 * a string or a number of at most REF_MAX bytes of JSON, with no control
 * characters or NUL.
 */
const char *
req_ref_text(cJSON *root, const char *text, size_t len, char **out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "ref");
	const char *v;
	size_t vlen;

	*out = NULL;
	if (it == NULL)
		return NULL;
	if (!cJSON_IsString(it) && !cJSON_IsNumber(it))
		return "must be a string or a number";
	if (json_member_span(text, len, "ref", &v, &vlen) != 0)
		return "must be a string or a number";	/* cannot happen */
	if (vlen > REF_MAX)
		return "is over " REF_MAX_S " bytes of JSON";
	for (size_t i = 0; i < vlen; i++) {
		if ((unsigned char)v[i] < 0x20)
			return "must not hold control characters";
	}
	if (json_has_nul_escape(v, vlen))
		return "must not hold \\u0000";
	*out = xstrndup(v, vlen);
	return NULL;
}

/*
 * Charge one request to the connection's buckets: --rate a second with
 * bursts of twice that, and a slower bucket of patience that only a client
 * far over the rate for seconds empties. Returns 0 to go on, 1 when the
 * request is refused, -1 when the connection must be closed.
 */
static int
rate_charge(struct conn *c)
{
	uint64_t now = mono_ms();
	double dt = (double)(now - c->bucket_ms) / 1000.0;
	double rate = (double)cfg.rate;

	c->bucket_ms = now;
	c->tokens += dt * rate;
	if (c->tokens > 2.0 * rate)
		c->tokens = 2.0 * rate;
	c->patience += dt * 2.0 * rate;
	if (c->patience > 10.0 * rate)
		c->patience = 10.0 * rate;
	if ((c->patience -= 1.0) < 0)
		return -1;
	if (c->tokens < 1.0)
		return 1;
	c->tokens -= 1.0;
	return 0;
}

/* Refuse a request over the rate, echoing its ref if it has a good one. */
static void
rate_refuse(struct conn *c, const char *text, size_t len)
{
	size_t used;
	cJSON *root = NULL;
	char *ref = NULL;

	if (memchr(text, '\0', len) == NULL)
		root = json_parse(text, len, &used);
	if (root != NULL && cJSON_IsObject(root))
		req_ref_text(root, text, len, &ref);
	reply_error(c, conn_ticket(c), ref, ERR_RATE_LIMITED,
	    "more than %llu requests a second",
	    (unsigned long long)cfg.rate);
	free(ref);
	cJSON_Delete(root);
}

/*
 * A text frame from a client: rate-limit it, then handle it (or hold it
 * back behind a join that waits for its subscription).
 */
void
request_handle(struct conn *c, const char *text, size_t len)
{
	switch (rate_charge(c)) {
	case -1:
		log_info("conn %s: closed for flooding", c->id);
		conn_close_after_replies(c, 1008, "rate limit exceeded");
		return;
	case 1:
		rate_refuse(c, text, len);
		return;
	}
	request_run(c, text, len);
}

static int
request_unbusy_ready(void *arg)
{
	struct conn *c = arg;

	return c->wsi == NULL || !conn_busy(c);
}

/* The client has read: run what it sent meanwhile. */
static void
request_unbusy(void *arg)
{
	struct conn *c = arg;

	defer_unblock(c);
	conn_unref(c);
}

/*
 * Handle one request, unless the connection is blocked: then it is held
 * back (defer.c) and run later, in order. Bad input gets an error reply
 * and touches nothing else; the connection goes on.
 */
void
request_run(struct conn *c, const char *text, size_t len)
{
	struct req r = { .c = c, .text = text, .len = len };
	const struct req_entry *e = NULL;
	cJSON *it;
	const char *type, *why;
	char tmp[40];
	size_t used;

	if (defer_hold(c, text, len))
		return;
	if (conn_busy(c)) {
		/* It has asked for more than it has read: this request and
		 * those after it wait until it reads (and Redis has no more
		 * of its output in flight meanwhile). */
		defer_block_first(c, text, len);
		conn_ref(c);
		pace_wait(request_unbusy_ready, request_unbusy, c);
		return;
	}
	r.ticket = conn_ticket(c);
	if (memchr(text, '\0', len) != NULL) {
		req_error(&r, ERR_BAD_JSON, "the frame holds a NUL byte");
		return;
	}
	r.root = json_parse(text, len, &used);
	/* The frame must be one value: trailing bytes are bad_json too. */
	while (r.root != NULL && used < len && strchr(" \t\r\n", text[used]))
		used++;
	if (r.root != NULL && used != len) {
		cJSON_Delete(r.root);
		r.root = NULL;
	}
	if (r.root == NULL) {
		req_error(&r, ERR_BAD_JSON, "the frame is not valid JSON");
		return;
	}
	if (!cJSON_IsObject(r.root)) {
		req_error(&r, ERR_BAD_JSON, "the frame must be a JSON object");
		goto out;
	}
	if ((why = req_ref_text(r.root, text, len, &r.ref)) != NULL) {
		req_error(&r, ERR_BAD_REQUEST, "field 'ref' %s", why);
		goto out;
	}
	/* cJSON's strings end at a NUL: "a\u0000b" would be read as "a". */
	if (json_has_nul_escape(text, len)) {
		req_error(&r, ERR_BAD_REQUEST,
		    "strings must not hold \\u0000");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(r.root, "type");
	if (it == NULL) {
		req_error(&r, ERR_BAD_REQUEST, "missing field 'type'");
		goto out;
	}
	if ((type = cJSON_GetStringValue(it)) == NULL) {
		req_error(&r, ERR_BAD_REQUEST, "field 'type' must be a string");
		goto out;
	}
	for (size_t i = 0; i < NREQUESTS; i++) {
		if (strcmp(type, req_type_name(request_table[i]->type)) == 0) {
			e = request_table[i];
			break;
		}
	}
	metrics_request(e);
	if (e == NULL) {
		req_error(&r, ERR_UNKNOWN_TYPE, "unknown request type '%s'",
		    req_shorten(type, tmp, sizeof tmp));
		goto out;
	}
	if (c->claims != NULL && e->needs_token &&
	    (int64_t)(time_ms() / 1000) > c->claims->exp + JWT_LEEWAY_S) {
		req_error(&r, ERR_UNAUTHORIZED, "the token has expired");
		goto out;
	}
	if (e->needs_room && req_field_id(&r, "room", &r.room) < 0)
		goto out;
	e->fn(&r);
out:
	free(r.ref);
	cJSON_Delete(r.root);
}
