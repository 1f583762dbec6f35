/*
 * request.c: turns one client text frame into a request: parses and
 * validates it, answers what needs no Redis, and sends the rest to Redis
 * as one script call whose reply becomes the client's reply.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomd.h"
#include "backend.h"	/* backend: publish hook, connect hook meta */

#define META_MAX 1024
#define KEY_MAX 128
#define TITLE_MAX 256
#define HISTORY_DEFAULT 100
#define HISTORY_MAX 1000
#define ROOMS_DEFAULT 50
#define ROOMS_MAX 1000
#define MAX_MEMBERS_MAX 1000000

/* One request being handled. */
struct req {
	struct conn *c;
	uint64_t ticket;
	char *ref;		/* the ref as JSON text, or NULL */
	cJSON *root;
	const char *room;	/* validated room id, when the type has one */
};

/* A request waiting for its Redis reply. */
struct pending {
	struct conn *c;
	uint64_t ticket;
	char *ref;
	char room[ID_MAX + 1];
	/* Appends the ok reply's fields, each with a leading comma. */
	void (*done)(struct buf *, redisReply *);
};

static void req_join(struct req *);
static void req_leave(struct req *);
static void req_publish(struct req *);
static void req_state_set(struct req *);
static void req_state_get(struct req *);
static void req_presence(struct req *);
static void req_history(struct req *);
static void req_rooms(struct req *);
static void req_ping(struct req *);

static const struct {
	const char *name;
	void (*fn)(struct req *);
	int needs_room;
} request_types[] = {
	{ "join", req_join, 1 },
	{ "leave", req_leave, 1 },
	{ "publish", req_publish, 1 },
	{ "state.set", req_state_set, 1 },
	{ "state.get", req_state_get, 1 },
	{ "presence", req_presence, 1 },
	{ "history", req_history, 1 },
	{ "rooms", req_rooms, 0 },
	{ "ping", req_ping, 0 },
};

/* Client strings quoted in error messages are cut to this. */
static const char *
shorten(const char *s, char *out, size_t outlen)
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

static void
req_error(struct req *r, const char *code, const char *fmt, ...)
    printflike(3, 4);

static void
req_error(struct req *r, const char *code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	conn_reply_error(r->c, r->ticket, r->ref, code, "%s", msg);
}

/* Begin an ok reply: {"type":"ok","ref":R */
void
reply_ok_begin(struct buf *b, const char *ref)
{
	buf_adds(b, "{\"type\":\"ok\"");
	if (ref != NULL) {
		buf_adds(b, ",\"ref\":");
		buf_adds(b, ref);
	}
}

/* Reply ok with nothing but the ref, or nothing at all without one. */
static void
reply_plain_ok(struct conn *c, uint64_t ticket, const char *ref)
{
	struct buf b;

	if (ref == NULL) {
		conn_reply(c, ticket, NULL);
		return;
	}
	buf_init(&b);
	reply_ok_begin(&b, ref);
	buf_addc(&b, '}');
	conn_reply_text(c, ticket, b.p, b.len);
	buf_free(&b);
}

/*
 * Field access with the error a client should see. Each returns 0 when the
 * field is absent and optional, 1 when present and valid, and -1 after
 * replying with an error.
 */
static int
field_string(struct req *r, const char *name, int required, const char **out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (it == NULL || (cJSON_IsNull(it) && !required)) {
		if (!required)
			return 0;
		req_error(r, "bad_request", "missing field '%s'", name);
		return -1;
	}
	if (!cJSON_IsString(it)) {
		req_error(r, "bad_request", "field '%s' must be a string, not %s",
		    name, json_type_name(it->type));
		return -1;
	}
	*out = it->valuestring;
	return 1;
}

static int
field_id(struct req *r, const char *name, const char **out)
{
	char tmp[80];

	if (field_string(r, name, 1, out) != 1)
		return -1;
	if (!id_valid(*out, strlen(*out))) {
		req_error(r, "bad_request",
		    "bad %s '%s': it must match ^[A-Za-z0-9_.:-]{1,64}$",
		    name, shorten(*out, tmp, sizeof tmp));
		return -1;
	}
	return 1;
}

static int
field_int(struct req *r, cJSON *obj, const char *name, long long min,
    long long max, long long *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	d = cJSON_GetNumberValue(it);
	if (!cJSON_IsNumber(it) || d != floor(d) || d < (double)min ||
	    d > (double)max) {
		req_error(r, "bad_request",
		    "field '%s' must be an integer from %lld to %lld", name,
		    min, max);
		return -1;
	}
	*out = (long long)d;
	return 1;
}

static int
field_bool(struct req *r, const char *name, int *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsBool(it)) {
		req_error(r, "bad_request", "field '%s' must be true or false",
		    name);
		return -1;
	}
	*out = cJSON_IsTrue(it);
	return 1;
}

static int
field_seq(struct req *r, const char *name, const char **out)
{
	struct seq s;
	int rc;

	if ((rc = field_string(r, name, 0, out)) != 1)
		return rc;
	if (seq_parse(*out, strlen(*out), &s) != 0) {
		req_error(r, "bad_request",
		    "field '%s' must be a seq like \"1732270000000-0\"", name);
		return -1;
	}
	return 1;
}

/*
 * The membership check, done here to spare Redis and done again in the
 * script, atomically. Sets *who to the conn id the script must find in
 * the room, or "" for an admin, who needs no membership. Returns -1 after
 * replying not_member.
 */
static int
need_member(struct req *r, const char **who)
{
	*who = r->c->id;
	if (conn_membership(r->c, r->room) != NULL)
		return 0;
	if (r->c->claims != NULL && r->c->claims->admin) {
		*who = "";
		return 0;
	}
	req_error(r, "not_member", "not a member of room '%s'", r->room);
	return -1;
}

static struct pending *
pending_new(struct req *r, void (*done)(struct buf *, redisReply *))
{
	struct pending *p = xcalloc(1, sizeof *p);

	p->c = r->c;
	conn_ref(r->c);
	p->ticket = r->ticket;
	p->ref = r->ref;
	r->ref = NULL;
	if (r->room != NULL)
		snprintf(p->room, sizeof p->room, "%s", r->room);
	p->done = done;
	return p;
}

static void
pending_free(struct pending *p)
{
	conn_unref(p->c);
	free(p->ref);
	free(p);
}

/*
 * Every script reply comes here first: a lost Redis connection and Redis
 * errors become `unavailable` and `internal`; status words the scripts
 * return as their first element become the error codes of the same name.
 */
static void
pending_reply(redisReply *rr, void *arg)
{
	struct pending *p = arg;
	struct conn *c = p->c;

	if (c->wsi == NULL)
		;	/* gone: nobody to answer */
	else if (rr == NULL)
		conn_reply_error(c, p->ticket, p->ref, "unavailable",
		    "redis is unavailable");
	else if (rr->type == REDIS_REPLY_ERROR) {
		log_warnx("redis error: %s", rr->str);
		conn_reply_error(c, p->ticket, p->ref, "internal",
		    "internal error");
	} else if (rr->type == REDIS_REPLY_ARRAY && rr->elements > 0 &&
	    rr->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(rr->element[0]->str, "ok") != 0) {
		const char *code = rr->element[0]->str;

		if (strcmp(code, "not_member") == 0)
			conn_reply_error(c, p->ticket, p->ref, code,
			    "not a member of room '%s'", p->room);
		else if (strcmp(code, "not_found") == 0)
			conn_reply_error(c, p->ticket, p->ref, code,
			    "no room named '%s'", p->room);
		else if (strcmp(code, "conflict") == 0)
			conn_reply_error(c, p->ticket, p->ref, code,
			    "state version is %lld",
			    rr->elements > 1 ? rr->element[1]->integer : 0);
		else
			conn_reply_error(c, p->ticket, p->ref, "internal",
			    "unexpected reply '%s'", code);
	} else if (p->ref == NULL)
		conn_reply(c, p->ticket, NULL);	/* no ref: no reply */
	else {
		struct buf b;

		buf_init(&b);
		reply_ok_begin(&b, p->ref);
		p->done(&b, rr);
		buf_addc(&b, '}');
		conn_reply_text(c, p->ticket, b.p, b.len);
		buf_free(&b);
	}
	pending_free(p);
}

/*
 * Send a room script: the four room keys come first, then args. Replies
 * `unavailable` at once when Redis is down.
 */
static void
pending_script(struct pending *p, enum script_id sid, const char **args,
    const size_t *lens, int nargs)
{
	const char *argv[24];
	size_t argl[24];
	struct buf keys;

	buf_init(&keys);
	room_keys(p->room, &keys, argv, argl, 4);
	memcpy(argv + 4, args, nargs * sizeof *args);
	memcpy(argl + 4, lens, nargs * sizeof *lens);
	if (store_script(sid, 4, nargs, argv, argl, pending_reply, p) != 0)
		pending_reply(NULL, p);
	buf_free(&keys);
}

/*
 * Append ,"name":[...] from an array reply of JSON texts (members, frames),
 * copied as they are: Redis holds them already encoded.
 */
void
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
void
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

static void
req_join(struct req *r)
{
	cJSON *meta, *create, *it;
	const char *since = NULL, *s;
	char *meta_json = NULL;
	long long v;

	if (r->c->claims != NULL && !jwt_may_join(r->c->claims, r->room)) {
		req_error(r, "forbidden", "not allowed to join room '%s'",
		    r->room);
		return;
	}
	if (field_seq(r, "since", &since) < 0)
		return;
	meta = cJSON_GetObjectItemCaseSensitive(r->root, "meta");
	if ((meta == NULL || cJSON_IsNull(meta)) && hook_default_meta(r->c))
		meta_json = xstrdup(hook_default_meta(r->c));	/* backend */
	else if (meta != NULL && !cJSON_IsNull(meta)) {
		if (!cJSON_IsObject(meta)) {
			req_error(r, "bad_request",
			    "field 'meta' must be an object");
			return;
		}
		meta_json = cJSON_PrintUnformatted(meta);
		if (strlen(meta_json) > META_MAX) {
			req_error(r, "too_large",
			    "field 'meta' is over %d bytes", META_MAX);
			free(meta_json);
			return;
		}
	}
	create = cJSON_GetObjectItemCaseSensitive(r->root, "create");
	if (create != NULL && !cJSON_IsNull(create)) {
		if (!cJSON_IsObject(create)) {
			req_error(r, "bad_request",
			    "field 'create' must be an object");
			goto out;
		}
		for (it = create->child; it != NULL; it = it->next) {
			if (strcmp(it->string, "title") == 0 ||
			    strcmp(it->string, "topic") == 0) {
				if (!cJSON_IsString(it)) {
					req_error(r, "bad_request",
					    "field 'create.%s' must be a string",
					    it->string);
					goto out;
				}
				if (strlen(it->valuestring) > TITLE_MAX) {
					req_error(r, "too_large",
					    "field 'create.%s' is over %d bytes",
					    it->string, TITLE_MAX);
					goto out;
				}
			} else if (strcmp(it->string, "visibility") == 0) {
				s = cJSON_GetStringValue(it);
				if (s == NULL || (strcmp(s, "public") != 0 &&
				    strcmp(s, "private") != 0)) {
					req_error(r, "bad_request",
					    "field 'create.visibility' must be "
					    "\"public\" or \"private\"");
					goto out;
				}
			} else if (strcmp(it->string, "max_members") == 0) {
				if (field_int(r, create, "max_members", 1,
				    MAX_MEMBERS_MAX, &v) < 0)
					goto out;
			} else {
				char tmp[40];

				req_error(r, "bad_request",
				    "unknown field 'create.%s'",
				    shorten(it->string, tmp, sizeof tmp));
				goto out;
			}
		}
	} else
		create = NULL;
	if (conn_membership(r->c, r->room) == NULL &&
	    r->c->nrooms >= cfg.max_rooms_per_conn) {
		req_error(r, "too_many_rooms",
		    "a connection may be in at most %llu rooms",
		    (unsigned long long)cfg.max_rooms_per_conn);
		goto out;
	}
	room_join(r->c, r->ticket, r->ref, r->room, meta_json, since, create);
out:
	free(meta_json);
}

static void
req_leave(struct req *r)
{
	struct membership *m;

	if ((m = conn_membership(r->c, r->room)) == NULL) {
		req_error(r, "not_member", "not a member of room '%s'", r->room);
		return;
	}
	room_leave(r->c, r->ticket, r->ref, m);
}

static void
publish_done(struct buf *b, redisReply *rr)
{
	buf_adds(b, ",\"seq\":");
	json_add_string(b, rr->element[1]->str, rr->element[1]->len);
}

/* {"conn":"ID","user":U} for from and by. */
static void
add_actor(struct buf *b, struct conn *c)
{
	buf_printf(b, "{\"conn\":\"%s\",\"user\":", c->id);
	if (c->user != NULL)
		json_add_string(b, c->user, strlen(c->user));
	else
		buf_adds(b, "null");
	buf_addc(b, '}');
}

/*
 * Write one member's event: the append script, whose reply answers the
 * member (ticket, ref: JSON text or NULL, copied). Called by req_publish,
 * and by the publish hook once the back end let the event through.
 */
void
request_publish_write(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, const char *event, const char *data_json, int echo,
    const char *who)
{
	const char *args[9];
	size_t lens[9];
	char maxlen[24], ttl[24];
	struct buf body, ch;
	struct pending *p;

	/* from comes first: nodes look for from.conn to honour echo=false. */
	buf_init(&body);
	buf_adds(&body, ",\"from\":");
	add_actor(&body, c);
	buf_printf(&body, ",\"event\":\"%s\",\"data\":%s", event,
	    data_json != NULL ? data_json : "null");
	buf_init(&ch);
	room_channel(&ch, room);
	snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)cfg.history);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)cfg.room_ttl);
	args[0] = room;
	args[1] = ch.p;
	args[2] = maxlen;
	args[3] = ttl;
	args[4] = "event";
	args[5] = body.p;
	args[6] = who;
	args[7] = echo ? "0" : "1";
	args[8] = *who == '\0' ? "1" : "0";	/* an admin: the room must exist */
	for (int i = 0; i < 9; i++)
		lens[i] = strlen(args[i]);
	lens[5] = body.len;
	p = xcalloc(1, sizeof *p);
	p->c = c;
	conn_ref(c);
	p->ticket = ticket;
	p->ref = ref != NULL ? xstrdup(ref) : NULL;
	snprintf(p->room, sizeof p->room, "%s", room);
	p->done = publish_done;
	pending_script(p, SCRIPT_APPEND, args, lens, 9);
	buf_free(&body);
	buf_free(&ch);
}

static void
req_publish(struct req *r)
{
	const char *event, *who;
	char *data_json = NULL;
	cJSON *data;
	int echo = 1;

	if (field_id(r, "event", &event) < 0 || field_bool(r, "echo", &echo) < 0)
		return;
	if (r->c->claims != NULL && !jwt_may_publish(r->c->claims, event)) {
		req_error(r, "forbidden", "not allowed to publish '%s'", event);
		return;
	}
	data = cJSON_GetObjectItemCaseSensitive(r->root, "data");
	if (data != NULL) {
		data_json = cJSON_PrintUnformatted(data);
		if (strlen(data_json) > cfg.max_frame) {
			req_error(r, "too_large", "field 'data' is over %llu bytes",
			    (unsigned long long)cfg.max_frame);
			free(data_json);
			return;
		}
	}
	if (need_member(r, &who) < 0) {
		free(data_json);
		return;
	}
	/* backend: the publish hook decides first, and writes in order. */
	if (hook_publish_matches(event))
		hook_publish_start(r->c, r->ticket, r->ref, r->room, event,
		    data_json, echo, who);
	else
		request_publish_write(r->c, r->ticket, r->ref, r->room, event,
		    data_json, echo, who);
	free(data_json);
}

static void
state_set_done(struct buf *b, redisReply *rr)
{
	buf_printf(b, ",\"state_version\":%lld", rr->element[1]->integer);
}

static void
req_state_set(struct req *r)
{
	const char *key, *args[10], *who;
	size_t lens[10];
	char *value_json, maxlen[24], ttl[24], ifv[24] = "";
	cJSON *value;
	long long v;
	int rc;
	struct buf kj, by, ch;
	struct pending *p;

	if (field_string(r, "key", 1, &key) < 0)
		return;
	if (r->c->claims != NULL && !jwt_may_write(r->c->claims)) {
		req_error(r, "forbidden", "spectators may not change state");
		return;
	}
	if (strlen(key) > KEY_MAX) {
		req_error(r, "too_large", "field 'key' is over %d bytes",
		    KEY_MAX);
		return;
	}
	if (*key == '\0') {
		req_error(r, "bad_request", "field 'key' must not be empty");
		return;
	}
	value = cJSON_GetObjectItemCaseSensitive(r->root, "value");
	if (value == NULL) {
		req_error(r, "bad_request", "missing field 'value'");
		return;
	}
	if ((rc = field_int(r, r->root, "if_version", 0, INT64_MAX / 2,
	    &v)) < 0)
		return;
	if (rc == 1)
		snprintf(ifv, sizeof ifv, "%lld", v);
	value_json = cJSON_PrintUnformatted(value);
	if (strlen(value_json) > cfg.max_frame) {
		req_error(r, "too_large", "field 'value' is over %llu bytes",
		    (unsigned long long)cfg.max_frame);
		free(value_json);
		return;
	}
	if (need_member(r, &who) < 0) {
		free(value_json);
		return;
	}
	buf_init(&kj);
	json_add_string(&kj, key, strlen(key));
	buf_init(&by);
	add_actor(&by, r->c);
	buf_init(&ch);
	room_channel(&ch, r->room);
	snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)cfg.history);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)cfg.room_ttl);
	args[0] = r->room;
	args[1] = ch.p;
	args[2] = maxlen;
	args[3] = ttl;
	args[4] = who;
	args[5] = key;
	args[6] = kj.p;
	args[7] = value_json;
	args[8] = ifv;
	args[9] = by.p;
	for (int i = 0; i < 10; i++)
		lens[i] = strlen(args[i]);
	p = pending_new(r, state_set_done);
	pending_script(p, SCRIPT_STATE_SET, args, lens, 10);
	free(value_json);
	buf_free(&kj);
	buf_free(&by);
	buf_free(&ch);
}

static void
state_get_done(struct buf *b, redisReply *rr)
{
	reply_add_state(b, rr->element[1]);
	buf_printf(b, ",\"state_version\":%lld", rr->element[2]->integer);
}

static void
presence_done(struct buf *b, redisReply *rr)
{
	reply_add_array(b, "members", rr->element[1]);
}

static void
history_done(struct buf *b, redisReply *rr)
{
	reply_add_array(b, "events", rr->element[1]);
}

/* state.get, presence and history: one read script each. */
static void
req_read(struct req *r, const char *what, const char *since, long long limit,
    void (*done)(struct buf *, redisReply *))
{
	const char *args[4], *who;
	size_t lens[4];
	char lim[24];

	if (need_member(r, &who) < 0)
		return;
	snprintf(lim, sizeof lim, "%lld", limit);
	args[0] = what;
	args[1] = who;
	args[2] = since != NULL ? since : "";
	args[3] = lim;
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(args[i]);
	pending_script(pending_new(r, done), SCRIPT_READ, args, lens, 4);
}

static void
req_state_get(struct req *r)
{
	req_read(r, "state", NULL, 0, state_get_done);
}

static void
req_presence(struct req *r)
{
	req_read(r, "presence", NULL, 0, presence_done);
}

static void
req_history(struct req *r)
{
	const char *since = NULL;
	long long limit = HISTORY_DEFAULT;

	if (field_seq(r, "since", &since) < 0 ||
	    field_int(r, r->root, "limit", 1, INT64_MAX / 2, &limit) < 0)
		return;
	if (limit > HISTORY_MAX)
		limit = HISTORY_MAX;
	req_read(r, "history", since, limit, history_done);
}

static void
rooms_done(struct buf *b, redisReply *rr)
{
	buf_adds(b, ",\"rooms\":[");
	for (size_t i = 0; i < rr->elements; i++) {
		redisReply *e = rr->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 7)
			continue;
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"room\":");
		json_add_string(b, e->element[0]->str, e->element[0]->len);
		buf_adds(b, ",\"title\":");
		json_add_string(b, e->element[1]->str, e->element[1]->len);
		buf_adds(b, ",\"topic\":");
		json_add_string(b, e->element[2]->str, e->element[2]->len);
		buf_printf(b, ",\"visibility\":\"%s\",\"members\":%lld",
		    strcmp(e->element[3]->str, "private") == 0 ? "private" :
		    "public", e->element[4]->integer);
		if (e->element[5]->integer > 0)
			buf_printf(b, ",\"max_members\":%lld",
			    e->element[5]->integer);
		else
			buf_adds(b, ",\"max_members\":null");
		buf_printf(b, ",\"created_at\":%lld}", e->element[6]->integer);
	}
	buf_addc(b, ']');
}

static void
req_rooms(struct req *r)
{
	const char *vis = "public", *argv[4];
	size_t lens[4];
	long long limit = ROOMS_DEFAULT;
	char lim[24];
	struct buf key;
	struct pending *p;

	if (field_string(r, "visibility", 0, &vis) < 0 ||
	    field_int(r, r->root, "limit", 1, INT64_MAX / 2, &limit) < 0)
		return;
	if (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0 &&
	    strcmp(vis, "all") != 0) {
		req_error(r, "bad_request", "field 'visibility' must be "
		    "\"public\", \"private\" or \"all\"");
		return;
	}
	if (strcmp(vis, "public") != 0 && r->c->claims != NULL &&
	    !r->c->claims->admin) {
		req_error(r, "forbidden", "only admins may list %s rooms", vis);
		return;
	}
	if (limit > ROOMS_MAX)
		limit = ROOMS_MAX;
	snprintf(lim, sizeof lim, "%lld", limit);
	buf_init(&key);
	key_plain(&key, cfg.prefix, strcmp(vis, "public") == 0 ?
	    "rooms:public" : "rooms");
	argv[0] = key.p;
	argv[1] = cfg.prefix;
	argv[2] = lim;
	/* Private listing filters the full index by visibility. */
	argv[3] = strcmp(vis, "private") == 0 ? "private" : "";
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	p = pending_new(r, rooms_done);
	if (store_script(SCRIPT_ROOMS, 1, 3, argv, lens, pending_reply, p) != 0)
		pending_reply(NULL, p);
	buf_free(&key);
}

static void
req_ping(struct req *r)
{
	static const char pong[] = "{\"type\":\"pong\"}";

	if (r->ref == NULL)
		conn_reply_text(r->c, r->ticket, pong, sizeof pong - 1);
	else
		reply_plain_ok(r->c, r->ticket, r->ref);
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

/* Refuse a request over the rate, echoing its ref if it has one. */
static void
rate_refuse(struct conn *c, const char *text, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(text, len), *it;
	char *ref = NULL;

	it = cJSON_GetObjectItemCaseSensitive(root, "ref");
	if (cJSON_IsString(it) || cJSON_IsNumber(it))
		ref = cJSON_PrintUnformatted(it);
	conn_reply_error(c, conn_ticket(c), ref, "rate_limited",
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
		conn_close(c, 1008, "rate limit exceeded");
		return;
	case 1:
		rate_refuse(c, text, len);
		return;
	}
	request_run(c, text, len);
}

/*
 * Handle one request. Bad input gets an error reply and touches nothing
 * else; the connection goes on.
 */
void
request_run(struct conn *c, const char *text, size_t len)
{
	struct req r = { .c = c };
	cJSON *it;
	const char *type, *end = NULL;
	char tmp[40];
	size_t i;

	if (c->blocked > 0) {
		conn_defer(c, text, len);
		return;
	}
	r.ticket = conn_ticket(c);
	r.root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	/* The frame must be one value: trailing bytes are bad_json too. */
	while (r.root != NULL && end < text + len && strchr(" \t\r\n", *end) &&
	    *end != '\0')
		end++;
	if (r.root != NULL && end != text + len) {
		cJSON_Delete(r.root);
		r.root = NULL;
	}
	if (r.root == NULL) {
		req_error(&r, "bad_json", "the frame is not valid JSON");
		return;
	}
	if (!cJSON_IsObject(r.root)) {
		req_error(&r, "bad_json", "the frame must be a JSON object");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(r.root, "ref");
	if (it != NULL) {
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it)) {
			req_error(&r, "bad_request",
			    "field 'ref' must be a string or a number");
			goto out;
		}
		r.ref = cJSON_PrintUnformatted(it);
	}
	it = cJSON_GetObjectItemCaseSensitive(r.root, "type");
	if (it == NULL) {
		req_error(&r, "bad_request", "missing field 'type'");
		goto out;
	}
	if ((type = cJSON_GetStringValue(it)) == NULL) {
		req_error(&r, "bad_request", "field 'type' must be a string");
		goto out;
	}
	for (i = 0; i < sizeof request_types / sizeof request_types[0]; i++) {
		if (strcmp(type, request_types[i].name) == 0)
			break;
	}
	metrics_request(type);
	if (i == sizeof request_types / sizeof request_types[0]) {
		req_error(&r, "unknown_type", "unknown request type '%s'",
		    shorten(type, tmp, sizeof tmp));
		goto out;
	}
	if (c->claims != NULL && request_types[i].fn != req_ping &&
	    (int64_t)(time_ms() / 1000) > c->claims->exp + JWT_LEEWAY_S) {
		req_error(&r, "unauthorized", "the token has expired");
		goto out;
	}
	if (request_types[i].needs_room && field_id(&r, "room", &r.room) < 0)
		goto out;
	request_types[i].fn(&r);
out:
	free(r.ref);
	cJSON_Delete(r.root);
}
