/*
 * api.c owns the HTTP API (BACKEND.md): POST /api/<method> with a bearer
 * key, a JSON body bounded by --max-frame and a node-wide request rate,
 * carried out through the same Redis scripts as the WebSocket requests
 * (events come from {"conn":null,"user":"api"}), answered with JSON: the
 * result, or {"code","message"} with the status BACKEND.md gives the code.
 * Without --api-key every /api/ path is 404.
 *
 * Lifetime: an api_req is made when lws hands over the request and freed
 * when both lws has closed it (api_closed) and no Redis call of its is out.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>

#include "roomd.h"
#include "backend.h"

#define API_ROOMS_MAX 100	/* rooms of one multi-room publish */
#define KEY_MAX 128
#define HISTORY_DEFAULT 100
#define HISTORY_MAX 1000
#define ROOMS_DEFAULT 50
#define ROOMS_MAX 1000
#define REASON_MAX 256
static const char api_actor[] = "{\"conn\":null,\"user\":\"api\"}";

struct api_req;
typedef void (*api_fn)(struct api_req *, cJSON *);

struct api_req {
	struct lws *wsi;	/* NULL once lws closed the request */
	api_fn fn;		/* the method, NULL after an early error */
	struct buf body;
	size_t body_len;	/* bytes received, kept or not */
	int done;		/* the answer is ready in status/resp */
	int awaiting_body;	/* lws has more body to hand over */
	unsigned int status;
	struct buf resp;
	int calls;		/* Redis calls out */
	/* What a method's calls gather. */
	char room[ID_MAX + 1];
	char **rooms;		/* publish to several rooms */
	char **seqs;
	size_t nrooms;
	int missing;		/* a room of rooms does not exist */
	int failed;		/* Redis was unavailable for one call */
	long long evicted;
	char *reason;
	int disconnect;
	int has_conn, has_user;
	char *match_conn, *match_user;
};

/* Node-wide bucket: 10 times --rate a second, bursts of twice that. */
static double tokens = -1;
static uint64_t bucket_ms;

static unsigned int
status_of(enum err_code code)
{
	switch (code) {
	case ERR_BAD_JSON:
	case ERR_BAD_REQUEST:
		return 400;
	case ERR_UNAUTHORIZED:
		return 401;
	case ERR_FORBIDDEN:
		return 403;
	case ERR_NOT_FOUND:
		return 404;
	case ERR_CONFLICT:
		return 409;
	case ERR_TOO_LARGE:
		return 413;
	case ERR_RATE_LIMITED:
		return 429;
	case ERR_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

static void api_finish(struct api_req *);

/* Answer with an error; the first answer wins. */
static void
api_error(struct api_req *a, enum err_code code, const char *fmt, ...)
    printflike(3, 4);

static void
api_error(struct api_req *a, enum err_code code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (a->done)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_reset(&a->resp);
	buf_printf(&a->resp, "{\"code\":\"%s\",\"message\":",
	    err_name(code));
	json_add_string(&a->resp, msg, strlen(msg));
	buf_adds(&a->resp, "}\n");
	a->status = status_of(code);
	metrics_error(code);
	api_finish(a);
}

/* Answer 200 with the object in a->resp (without its braces). */
static void
api_ok(struct api_req *a, const char *fields)
{
	if (a->done)
		return;
	buf_reset(&a->resp);
	buf_printf(&a->resp, "{%s}\n", fields);
	a->status = 200;
	api_finish(a);
}

/* Answer 200 with the fields a reply builder of reply.c appends. */
static void
api_ok_fields(struct api_req *a, reply_fields_fn fields, redisReply *rr)
{
	struct buf b;

	buf_init(&b);
	fields(&b, rr);
	api_ok(a, b.p != NULL && *b.p == ',' ? b.p + 1 : "");
	buf_free(&b);
}

static void
api_free(struct api_req *a)
{
	buf_free(&a->body);
	buf_free(&a->resp);
	for (size_t i = 0; i < a->nrooms; i++) {
		free(a->rooms[i]);
		free(a->seqs[i]);
	}
	free(a->rooms);
	free(a->seqs);
	free(a->reason);
	free(a->match_conn);
	free(a->match_user);
	free(a);
}

/* The answer is ready: ask lws for a chance to write it. */
static void
api_finish(struct api_req *a)
{
	a->done = 1;
	/* An answer before the whole body was read waits for it, so the
	 * connection is at a request boundary when the answer ends. */
	if (a->wsi != NULL && !a->awaiting_body)
		lws_callback_on_writable(a->wsi);
}

/* One Redis call came back: free a request nobody waits for. */
static int
api_call_back(struct api_req *a)
{
	a->calls--;
	if (a->wsi == NULL && a->calls == 0) {
		api_free(a);
		return -1;
	}
	return 0;
}

/* ----- field access: 1 present, 0 absent and optional, -1 answered ----- */

static int
get_string(struct api_req *a, cJSON *o, const char *name, int required,
    const char **out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (it == NULL || cJSON_IsNull(it)) {
		if (!required)
			return 0;
		api_error(a, ERR_BAD_REQUEST, "missing field '%s'", name);
		return -1;
	}
	if (!cJSON_IsString(it)) {
		api_error(a, ERR_BAD_REQUEST, "field '%s' must be a string, not %s",
		    name, json_type_name(it->type));
		return -1;
	}
	*out = it->valuestring;
	return 1;
}

static int
get_id(struct api_req *a, cJSON *o, const char *name, const char **out)
{
	if (get_string(a, o, name, 1, out) < 0)
		return -1;
	if (!id_valid(*out, strlen(*out))) {
		api_error(a, ERR_BAD_REQUEST,
		    "bad %s: it must match ^[A-Za-z0-9_.:-]{1,64}$", name);
		return -1;
	}
	return 1;
}

static int
get_int(struct api_req *a, cJSON *o, const char *name, long long min,
    long long max, long long *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	d = cJSON_GetNumberValue(it);
	if (!cJSON_IsNumber(it) || d != floor(d) || d < (double)min ||
	    d > (double)max) {
		api_error(a, ERR_BAD_REQUEST,
		    "field '%s' must be an integer from %lld to %lld", name,
		    min, max);
		return -1;
	}
	*out = (long long)d;
	return 1;
}

static int
get_bool(struct api_req *a, cJSON *o, const char *name, int *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsBool(it)) {
		api_error(a, ERR_BAD_REQUEST, "field '%s' must be true or false",
		    name);
		return -1;
	}
	*out = cJSON_IsTrue(it);
	return 1;
}

static int
get_seq(struct api_req *a, cJSON *o, const char *name, const char **out)
{
	struct seq s;
	int rc;

	if ((rc = get_string(a, o, name, 0, out)) != 1)
		return rc;
	if (seq_parse(*out, strlen(*out), &s) != 0) {
		api_error(a, ERR_BAD_REQUEST,
		    "field '%s' must be a seq like \"1732270000000-0\"", name);
		return -1;
	}
	return 1;
}

/*
 * A script reply's common failures: NULL (Redis gone), Redis errors and
 * the status words not_found and conflict. Returns 0 when rr is an 'ok'
 * array to read, -1 after answering.
 */
static int
reply_check(struct api_req *a, redisReply *rr)
{
	const char *w;

	if (rr == NULL) {
		api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
		return -1;
	}
	if (rr->type == REDIS_REPLY_ERROR) {
		log_warnx("api: redis error: %s", rr->str);
		api_error(a, ERR_INTERNAL, "internal error");
		return -1;
	}
	if (rr->type != REDIS_REPLY_ARRAY || rr->elements == 0 ||
	    rr->element[0]->type != REDIS_REPLY_STRING) {
		api_error(a, ERR_INTERNAL, "unexpected reply");
		return -1;
	}
	w = rr->element[0]->str;
	if (strcmp(w, "ok") == 0)
		return 0;
	if (strcmp(w, "not_found") == 0)
		api_error(a, ERR_NOT_FOUND, "no room named '%s'", a->room);
	else if (strcmp(w, "conflict") == 0)
		api_error(a, ERR_CONFLICT, "state version is %lld",
		    rr->elements > 1 ? rr->element[1]->integer : 0);
	else
		api_error(a, ERR_INTERNAL, "unexpected reply '%s'", w);
	return -1;
}

/*
 * Send the script call sa (freed) for a; cb gets the reply, or NULL when
 * Redis is unavailable (then from within this call).
 */
static void
api_run(struct api_req *a, struct script_args *sa, store_cb cb, void *arg)
{
	a->calls++;
	store_run(sa, cb, arg);
}


/* ----- publish ----- */

struct pub_call {
	struct api_req *a;
	size_t i;
};

static void
publish_reply(redisReply *rr, void *arg)
{
	struct pub_call *pc = arg;
	struct api_req *a = pc->a;
	size_t i = pc->i;
	struct buf b;

	free(pc);
	if (api_call_back(a) != 0)
		return;
	if (rr == NULL)
		a->failed = 1;
	else if (rr->type == REDIS_REPLY_ARRAY && rr->elements == 2 &&
	    rr->element[1]->type == REDIS_REPLY_STRING)
		a->seqs[i] = xstrndup(rr->element[1]->str, rr->element[1]->len);
	else if (rr->type == REDIS_REPLY_ARRAY && rr->elements > 0 &&
	    rr->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(rr->element[0]->str, "not_found") == 0)
		a->missing = 1;
	else
		a->failed = 1;
	if (a->calls > 0)
		return;
	if (a->nrooms == 1 || a->rooms == NULL) {
		if (a->seqs[0] != NULL) {
			buf_init(&b);
			buf_adds(&b, "\"seq\":");
			json_add_string(&b, a->seqs[0], strlen(a->seqs[0]));
			api_ok(a, b.p);
			buf_free(&b);
		} else if (a->missing)
			api_error(a, ERR_NOT_FOUND, "no room named '%s'", a->room);
		else
			api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
		return;
	}
	if (a->failed) {
		api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
		return;
	}
	buf_init(&b);
	buf_adds(&b, "\"seqs\":[");
	for (size_t k = 0; k < a->nrooms; k++) {
		if (k > 0)
			buf_addc(&b, ',');
		if (a->seqs[k] != NULL)
			json_add_string(&b, a->seqs[k], strlen(a->seqs[k]));
		else
			buf_adds(&b, "null");	/* closed meanwhile */
	}
	buf_addc(&b, ']');
	api_ok(a, b.p);
	buf_free(&b);
}

/* Write the event into every room of a (all known to exist). */
static void
publish_write(struct api_req *a, const char *event, const char *data_json)
{
	struct buf body;
	struct script_args sa;

	buf_init(&body);
	buf_printf(&body, ",\"from\":%s,\"event\":\"%s\",\"data\":%s", api_actor,
	    event, data_json);
	for (size_t i = 0; i < a->nrooms && !a->done; i++) {
		struct pub_call *pc = xmalloc(sizeof *pc);

		pc->a = a;
		pc->i = i;
		script_append_args(&sa, &(struct script_append){
			.prefix = cfg.prefix,
			.room = a->rooms[i],
			.maxlen = cfg.history,
			.ttl = cfg.room_ttl,
			.type = "event",
			.body = body.p,
			.conn = NULL,		/* no member: the API */
			.must_exist = 1,	/* the API never creates one */
		});
		api_run(a, &sa, publish_reply, pc);
	}
	buf_free(&body);
}

/* A multi-room publish first checks every room exists: all or nothing. */
struct exists_call {
	struct api_req *a;
	char *event;
	char *data;
	size_t left;
};

static void
exists_reply(redisReply *rr, void *arg)
{
	struct exists_call *ec = arg;
	struct api_req *a = ec->a;

	if (api_call_back(a) != 0) {
		if (--ec->left == 0) {
			free(ec->event);
			free(ec->data);
			free(ec);
		}
		return;
	}
	if (rr == NULL || rr->type != REDIS_REPLY_INTEGER)
		a->failed = 1;
	else if (rr->integer == 0 && !a->missing) {
		a->missing = 1;
		/* Name the first room found missing. */
		for (size_t i = 0; i < a->nrooms; i++) {
			if (a->seqs[i] == NULL) {
				snprintf(a->room, sizeof a->room, "%s",
				    a->rooms[i]);
				break;
			}
		}
	}
	if (--ec->left > 0)
		return;
	if (a->failed)
		api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
	else if (a->missing)
		api_error(a, ERR_NOT_FOUND, "no room named '%s'", a->room);
	else
		publish_write(a, ec->event, ec->data);
	free(ec->event);
	free(ec->data);
	free(ec);
}

static void
api_publish(struct api_req *a, cJSON *root)
{
	const char *event, *room = NULL;
	cJSON *rooms, *data, *it;
	char *data_json;
	size_t n = 0;

	rooms = cJSON_GetObjectItemCaseSensitive(root, "rooms");
	if (rooms != NULL && !cJSON_IsNull(rooms)) {
		if (cJSON_GetObjectItemCaseSensitive(root, "room") != NULL) {
			api_error(a, ERR_BAD_REQUEST,
			    "give 'room' or 'rooms', not both");
			return;
		}
		if (!cJSON_IsArray(rooms) || cJSON_GetArraySize(rooms) < 1 ||
		    cJSON_GetArraySize(rooms) > API_ROOMS_MAX) {
			api_error(a, ERR_BAD_REQUEST, "field 'rooms' must be an "
			    "array of 1 to %d room ids", API_ROOMS_MAX);
			return;
		}
		cJSON_ArrayForEach(it, rooms) {
			if (!cJSON_IsString(it) || !id_valid(it->valuestring,
			    strlen(it->valuestring))) {
				api_error(a, ERR_BAD_REQUEST, "field 'rooms' must "
				    "hold room ids matching "
				    "^[A-Za-z0-9_.:-]{1,64}$");
				return;
			}
		}
	} else {
		rooms = NULL;
		if (get_id(a, root, "room", &room) < 0)
			return;
	}
	if (get_id(a, root, "event", &event) < 0)
		return;
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	data_json = data != NULL ? cJSON_PrintUnformatted(data) :
	    xstrdup("null");
	n = rooms != NULL ? (size_t)cJSON_GetArraySize(rooms) : 1;
	a->rooms = xcalloc(n, sizeof *a->rooms);
	a->seqs = xcalloc(n, sizeof *a->seqs);
	a->nrooms = n;
	if (rooms == NULL) {
		a->rooms[0] = xstrdup(room);
		snprintf(a->room, sizeof a->room, "%s", room);
		publish_write(a, event, data_json);
		free(data_json);
		return;
	}
	{
		struct exists_call *ec = xcalloc(1, sizeof *ec);
		size_t i = 0;
		struct buf key;
		const char *argv[2];
		size_t lens[2];

		ec->a = a;
		ec->event = xstrdup(event);
		ec->data = data_json;
		cJSON_ArrayForEach(it, rooms)
			a->rooms[i++] = xstrdup(it->valuestring);
		for (i = 0; i < n; i++) {
			buf_init(&key);
			key_room(&key, cfg.prefix, a->rooms[i], "");
			argv[0] = "EXISTS";
			argv[1] = key.p;
			lens[0] = 6;
			lens[1] = key.len;
			if (store_command(exists_reply, ec, 2, argv, lens) == 0) {
				a->calls++;
				ec->left++;
			}
			buf_free(&key);
		}
		if (ec->left == 0) {
			free(ec->event);
			free(ec->data);
			free(ec);
			api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
		}
	}
}

/* ----- state.set ----- */

static void
state_set_reply(redisReply *rr, void *arg)
{
	struct api_req *a = arg;
	char f[64];

	if (api_call_back(a) != 0 || reply_check(a, rr) != 0)
		return;
	(void)f;
	api_ok_fields(a, reply_fields_state_set, rr);
}

static void
api_state_set(struct api_req *a, cJSON *root)
{
	const char *room, *key;
	char *value_json;
	long long v = 0;
	int rc;
	cJSON *value;
	struct script_args sa;

	if (get_id(a, root, "room", &room) < 0 ||
	    get_string(a, root, "key", 1, &key) < 0)
		return;
	if (strlen(key) > KEY_MAX) {
		api_error(a, ERR_TOO_LARGE, "field 'key' is over %d bytes",
		    KEY_MAX);
		return;
	}
	if (*key == '\0') {
		api_error(a, ERR_BAD_REQUEST, "field 'key' must not be empty");
		return;
	}
	if ((value = cJSON_GetObjectItemCaseSensitive(root, "value")) == NULL) {
		api_error(a, ERR_BAD_REQUEST, "missing field 'value'");
		return;
	}
	if ((rc = get_int(a, root, "if_version", 0, INT64_MAX / 2, &v)) < 0)
		return;
	snprintf(a->room, sizeof a->room, "%s", room);
	value_json = cJSON_PrintUnformatted(value);
	script_state_set_args(&sa, &(struct script_state_set){
		.prefix = cfg.prefix,
		.room = room,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.conn = NULL,		/* no member: the API */
		.key = key,
		.value = value_json,
		.has_if_version = rc == 1,
		.if_version = v,
		.by = api_actor,
	});
	api_run(a, &sa, state_set_reply, a);
	free(value_json);
}

/* ----- reads: state.get, presence, history, info ----- */


static void
read_reply(redisReply *rr, void *arg, const char *what)
{
	struct api_req *a = arg;
	struct buf b;

	if (api_call_back(a) != 0 || reply_check(a, rr) != 0)
		return;
	if (strcmp(what, "state") == 0 && rr->elements > READ_R_STATE_VERSION) {
		api_ok_fields(a, reply_fields_state, rr);
		return;
	}
	if (strcmp(what, "presence") == 0 && rr->elements > READ_R_MEMBERS) {
		api_ok_fields(a, reply_fields_presence, rr);
		return;
	}
	if (strcmp(what, "history") == 0 && rr->elements > READ_R_FRAMES) {
		api_ok_fields(a, reply_fields_history, rr);
		return;
	}
	if (strcmp(what, "info") != 0 || rr->elements <= READ_R_LATEST ||
	    rr->element[READ_R_DETAILS]->type != REDIS_REPLY_ARRAY ||
	    rr->element[READ_R_DETAILS]->elements < 5) {
		api_error(a, ERR_INTERNAL, "unexpected reply");
		return;
	}
	{
		redisReply *d = rr->element[READ_R_DETAILS];
		redisReply *seq = rr->element[READ_R_LATEST];
		const char *vis;

		buf_init(&b);
		buf_adds(&b, "\"room\":");
		json_add_string(&b, a->room, strlen(a->room));
		buf_adds(&b, ",\"title\":");
		json_add_string(&b, d->element[0]->str ? d->element[0]->str :
		    "", d->element[0]->len);
		buf_adds(&b, ",\"topic\":");
		json_add_string(&b, d->element[1]->str ? d->element[1]->str :
		    "", d->element[1]->len);
		vis = d->element[2]->str != NULL &&
		    strcmp(d->element[2]->str, "private") == 0 ? "private" :
		    "public";
		buf_printf(&b, ",\"visibility\":\"%s\"", vis);
		if (d->element[3]->str != NULL && atoll(d->element[3]->str) > 0)
			buf_printf(&b, ",\"max_members\":%lld",
			    atoll(d->element[3]->str));
		else
			buf_adds(&b, ",\"max_members\":null");
		buf_printf(&b, ",\"created_at\":%lld",
		    d->element[4]->str != NULL ? atoll(d->element[4]->str) : 0);
		if (d->elements >= 6)
			buf_printf(&b, ",\"locked\":%s",
			    d->element[5]->str != NULL &&
			    strcmp(d->element[5]->str, "1") == 0 ? "true" :
			    "false");
		buf_printf(&b, ",\"members\":%lld,\"seq\":",
		    rr->element[READ_R_MEMBER_COUNT]->integer);
		if (seq->type == REDIS_REPLY_STRING)
			json_add_string(&b, seq->str, seq->len);
		else
			buf_adds(&b, "null");
		api_ok(a, b.p);
		buf_free(&b);
	}
}

static void
state_get_reply(redisReply *rr, void *arg)
{
	read_reply(rr, arg, "state");
}

static void
presence_reply(redisReply *rr, void *arg)
{
	read_reply(rr, arg, "presence");
}

static void
history_reply(redisReply *rr, void *arg)
{
	read_reply(rr, arg, "history");
}

static void
info_reply(redisReply *rr, void *arg)
{
	read_reply(rr, arg, "info");
}

static void
api_read(struct api_req *a, cJSON *root, const char *what, store_cb cb)
{
	const char *room, *since = NULL;
	long long limit = HISTORY_DEFAULT;
	struct script_args sa;

	if (get_id(a, root, "room", &room) < 0)
		return;
	if (strcmp(what, "history") == 0 &&
	    (get_seq(a, root, "since", &since) < 0 ||
	    get_int(a, root, "limit", 1, INT64_MAX / 2, &limit) < 0))
		return;
	if (limit > HISTORY_MAX)
		limit = HISTORY_MAX;
	snprintf(a->room, sizeof a->room, "%s", room);
	script_read_args(&sa, &(struct script_read){
		.prefix = cfg.prefix,
		.room = room,
		.what = what,
		.conn = NULL,		/* no member: the API */
		.since = since,
		.limit = limit,
	});
	api_run(a, &sa, cb, a);
}

static void
api_state_get(struct api_req *a, cJSON *root)
{
	api_read(a, root, "state", state_get_reply);
}

static void
api_presence(struct api_req *a, cJSON *root)
{
	api_read(a, root, "presence", presence_reply);
}

static void
api_history(struct api_req *a, cJSON *root)
{
	api_read(a, root, "history", history_reply);
}

static void
api_info(struct api_req *a, cJSON *root)
{
	api_read(a, root, "info", info_reply);
}

/* ----- rooms ----- */

static void
rooms_reply(redisReply *rr, void *arg)
{
	struct api_req *a = arg;

	if (api_call_back(a) != 0)
		return;
	if (rr == NULL || rr->type != REDIS_REPLY_ARRAY) {
		api_error(a, rr == NULL ? ERR_UNAVAILABLE : ERR_INTERNAL,
		    rr == NULL ? "redis is unavailable" : "unexpected reply");
		return;
	}
	api_ok_fields(a, reply_fields_rooms, rr);
}

static void
api_rooms(struct api_req *a, cJSON *root)
{
	const char *vis = "public";
	long long limit = ROOMS_DEFAULT;
	struct script_args sa;

	if (get_string(a, root, "visibility", 0, &vis) < 0 ||
	    get_int(a, root, "limit", 1, INT64_MAX / 2, &limit) < 0)
		return;
	if (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0 &&
	    strcmp(vis, "all") != 0) {
		api_error(a, ERR_BAD_REQUEST, "field 'visibility' must be "
		    "\"public\", \"private\" or \"all\"");
		return;
	}
	if (limit > ROOMS_MAX)
		limit = ROOMS_MAX;
	/* Private listing filters the full index by visibility. */
	script_rooms_args(&sa, &(struct script_rooms){
		.prefix = cfg.prefix,
		.all = strcmp(vis, "public") != 0,
		.limit = limit,
		.visibility = strcmp(vis, "private") == 0 ? "private" : NULL,
	});
	api_run(a, &sa, rooms_reply, a);
}

/* ----- evict ----- */

static void
evict_one_reply(redisReply *rr, void *arg)
{
	struct api_req *a = arg;
	char f[48];

	if (api_call_back(a) != 0)
		return;
	if (rr == NULL)
		a->failed = 1;
	else if (rr->type == REDIS_REPLY_ARRAY &&
	    rr->elements == LEAVE_R_COUNT &&
	    rr->element[LEAVE_R_REMOVED]->integer == 1)
		a->evicted++;
	if (a->calls > 0)
		return;
	if (a->failed && a->evicted == 0) {
		api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
		return;
	}
	snprintf(f, sizeof f, "\"evicted\":%lld", a->evicted);
	api_ok(a, f);
}

/* Remove one member as roomctl evict does: the leave script, which
 * publishes the control message before member_left. */
static void
evict_member(struct api_req *a, const char *conn)
{
	struct buf msg;
	struct script_args sa;

	buf_init(&msg);
	buf_adds(&msg, "{\"cmd\":\"evict\",\"room\":");
	json_add_string(&msg, a->room, strlen(a->room));
	buf_adds(&msg, ",\"conn\":");
	json_add_string(&msg, conn, strlen(conn));
	buf_adds(&msg, ",\"reason\":");
	json_add_string(&msg, a->reason, strlen(a->reason));
	buf_printf(&msg, ",\"disconnect\":%s}", a->disconnect ? "true" :
	    "false");
	script_leave_args(&sa, &(struct script_leave){
		.prefix = cfg.prefix,
		.room = a->room,
		.conn = conn,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.empty_ttl = cfg.empty_ttl,
		.reason = "evicted",
		.ctl_message = msg.p,
	});
	api_run(a, &sa, evict_one_reply, a);
	buf_free(&msg);
}

static void
evict_members_reply(redisReply *rr, void *arg)
{
	struct api_req *a = arg;
	cJSON *m, *c, *u;

	if (api_call_back(a) != 0 || reply_check(a, rr) != 0)
		return;
	for (size_t i = 0; rr->elements > READ_R_MEMBERS &&
	    i < rr->element[READ_R_MEMBERS]->elements; i++) {
		redisReply *e = rr->element[READ_R_MEMBERS]->element[i];

		m = cJSON_ParseWithLength(e->str, e->len);
		c = cJSON_GetObjectItemCaseSensitive(m, "conn");
		u = cJSON_GetObjectItemCaseSensitive(m, "user");
		if (cJSON_IsString(c) && (!a->has_conn ||
		    strcmp(c->valuestring, a->match_conn) == 0) &&
		    (!a->has_user || (cJSON_IsString(u) &&
		    strcmp(u->valuestring, a->match_user) == 0)))
			evict_member(a, c->valuestring);
		cJSON_Delete(m);
	}
	if (a->calls == 0) {
		if (a->failed)
			api_error(a, ERR_UNAVAILABLE, "redis is unavailable");
		else
			api_ok(a, "\"evicted\":0");
	}
}

static void
api_evict(struct api_req *a, cJSON *root)
{
	const char *room, *conn = NULL, *user = NULL, *reason = "evicted";
	struct script_args sa;
	int rc;

	if (get_id(a, root, "room", &room) < 0 ||
	    (rc = get_string(a, root, "conn", 0, &conn)) < 0)
		return;
	a->has_conn = rc == 1;
	if ((rc = get_string(a, root, "user", 0, &user)) < 0)
		return;
	a->has_user = rc == 1;
	if (get_string(a, root, "reason", 0, &reason) < 0 ||
	    get_bool(a, root, "disconnect", &a->disconnect) < 0)
		return;
	if (a->has_conn && a->has_user) {
		api_error(a, ERR_BAD_REQUEST, "give 'conn' or 'user', not both");
		return;
	}
	if (strlen(reason) > REASON_MAX) {
		api_error(a, ERR_TOO_LARGE, "field 'reason' is over %d bytes",
		    REASON_MAX);
		return;
	}
	snprintf(a->room, sizeof a->room, "%s", room);
	a->reason = xstrdup(reason);
	a->match_conn = conn != NULL ? xstrdup(conn) : NULL;
	a->match_user = user != NULL ? xstrdup(user) : NULL;
	script_read_args(&sa, &(struct script_read){
		.prefix = cfg.prefix,
		.room = room,
		.what = "presence",
		.conn = NULL,
	});
	api_run(a, &sa, evict_members_reply, a);
}

/* ----- lock, unlock ----- */

static void
lock_reply(redisReply *rr, void *arg)
{
	struct api_req *a = arg;
	struct buf b;

	if (api_call_back(a) != 0 || reply_check(a, rr) != 0)
		return;
	buf_init(&b);
	buf_adds(&b, "\"room\":");
	json_add_string(&b, a->room, strlen(a->room));
	api_ok(a, b.p);
	buf_free(&b);
}

/* lock and unlock: the lock script, by {"conn":null,"user":"api"}. */
static void
api_lock_set(struct api_req *a, cJSON *root, int lock)
{
	const char *room;
	struct script_args sa;

	if (get_id(a, root, "room", &room) < 0)
		return;
	snprintf(a->room, sizeof a->room, "%s", room);
	script_lock_args(&sa, &(struct script_lock){
		.prefix = cfg.prefix,
		.room = room,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.conn = NULL,		/* no member: the API */
		.lock = lock,
		.by = api_actor,
	});
	api_run(a, &sa, lock_reply, a);
}

static void
api_lock(struct api_req *a, cJSON *root)
{
	api_lock_set(a, root, 1);
}

static void
api_unlock(struct api_req *a, cJSON *root)
{
	api_lock_set(a, root, 0);
}

static const struct {
	const char *name;
	api_fn fn;
} methods[] = {
	{ "publish", api_publish },
	{ "state.set", api_state_set },
	{ "state.get", api_state_get },
	{ "presence", api_presence },
	{ "history", api_history },
	{ "rooms", api_rooms },
	{ "info", api_info },
	{ "evict", api_evict },
	{ "lock", api_lock },
	{ "unlock", api_unlock },
};

/* ----- HTTP side ----- */

/* The bearer key, compared in constant time. Returns 1 when it is right. */
static int
key_ok(struct lws *wsi)
{
	char buf[1024];
	const char *k;
	size_t klen = strlen(cfg.api_key), n;
	int len;

	len = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (len <= 7 || strncasecmp(buf, "Bearer ", 7) != 0)
		return 0;
	for (k = buf + 7; *k == ' '; k++)
		;
	n = strlen(k);
	/* Compare as many bytes as the key has whatever was sent, so the
	 * time says nothing about where they differ. */
	if (n != klen) {
		(void)CRYPTO_memcmp(cfg.api_key, cfg.api_key, klen);
		return 0;
	}
	return CRYPTO_memcmp(k, cfg.api_key, klen) == 0;
}

/* Take one request from the node's bucket; 0 when it is over the rate. */
static int
rate_take(void)
{
	uint64_t now = mono_ms();
	double rate = 10.0 * (double)cfg.rate;

	if (tokens < 0) {
		tokens = 2.0 * rate;
		bucket_ms = now;
	}
	tokens += (double)(now - bucket_ms) / 1000.0 * rate;
	bucket_ms = now;
	if (tokens > 2.0 * rate)
		tokens = 2.0 * rate;
	if (tokens < 1.0)
		return 0;
	tokens -= 1.0;
	return 1;
}

/*
 * A request for /api/...: check what can be checked before the body, and
 * keep the request in *slot for the body callbacks. Returns 0, or -1 to
 * close the connection.
 */
int
api_http(struct lws *wsi, const char *uri, struct api_req **slot)
{
	struct api_req *a;
	char cl[32];
	const char *method = uri[4] == '/' ? uri + 5 : "";
	size_t i;
	long long len = -1;

	if (*slot != NULL)	/* the last request on a kept-alive connection */
		api_closed(*slot);
	a = xcalloc(1, sizeof *a);
	a->wsi = wsi;
	buf_init(&a->body);
	buf_init(&a->resp);
	*slot = a;
	metrics_api_requests++;
	if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		len = atoll(cl);
	a->awaiting_body = len > 0;
	if (cfg.api_key == NULL) {
		api_error(a, ERR_NOT_FOUND, "no such path: the HTTP API is off");
		goto early;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0) {
		api_error(a, ERR_BAD_REQUEST, "the API takes POST");
		goto early;
	}
	if (!key_ok(wsi)) {
		api_error(a, ERR_UNAUTHORIZED, "a wrong or missing API key");
		goto early;
	}
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(method, methods[i].name) == 0)
			break;
	}
	if (i == sizeof methods / sizeof methods[0]) {
		api_error(a, ERR_NOT_FOUND, "unknown method");
		goto early;
	}
	if (len > (long long)cfg.max_frame) {
		api_error(a, ERR_TOO_LARGE, "the body is over %llu bytes",
		    (unsigned long long)cfg.max_frame);
		goto early;
	}
	if (!rate_take()) {
		metrics_api_refused++;
		api_error(a, ERR_RATE_LIMITED, "more than %llu API requests a "
		    "second on this node", 10ULL * cfg.rate);
		goto early;
	}
	a->fn = methods[i].fn;
early:
	/* Without a body to wait for, answer now. */
	if (len <= 0 && !a->done)
		api_error(a, ERR_BAD_JSON, "the body must be a JSON object");
	return 0;
}

/* A piece of the body: kept while under --max-frame. Returns 0. */
int
api_body(struct api_req *a, const char *in, size_t len)
{
	a->body_len += len;
	if (a->done || a->fn == NULL)
		return 0;	/* answered early: the rest is read and dropped */
	if (a->body_len > cfg.max_frame) {
		api_error(a, ERR_TOO_LARGE, "the body is over %llu bytes",
		    (unsigned long long)cfg.max_frame);
		buf_free(&a->body);
		return 0;
	}
	buf_add(&a->body, in, len);
	return 0;
}

/* The whole body is in: parse it and run the method. Returns 0. */
int
api_body_done(struct lws *wsi, struct api_req *a)
{
	cJSON *root;
	const char *end = NULL;

	a->awaiting_body = 0;
	if (a->done) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (a->fn == NULL)
		return 0;
	root = cJSON_ParseWithLengthOpts(a->body.p != NULL ? a->body.p : "",
	    a->body.len, &end, 0);
	while (root != NULL && end < a->body.p + a->body.len &&
	    strchr(" \t\r\n", *end) != NULL && *end != '\0')
		end++;
	if (root == NULL || end != a->body.p + a->body.len) {
		api_error(a, ERR_BAD_JSON, "the body is not valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		api_error(a, ERR_BAD_JSON, "the body must be a JSON object");
		goto out;
	}
	a->fn(a, root);
out:
	cJSON_Delete(root);
	return 0;
}

/* Write the answer once it is ready. Returns -1 to close the connection. */
int
api_writable(struct lws *wsi, struct api_req *a)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
	unsigned char *end = hdr + sizeof hdr - 1, *out;
	size_t len = a->resp.len;
	int rc;

	if (!a->done)
		return 0;
	if (lws_add_http_common_headers(wsi, a->status, "application/json",
	    len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	out = xmalloc(LWS_PRE + len + 1);
	memcpy(out + LWS_PRE, a->resp.p, len);
	rc = lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	free(out);
	if (rc != (int)len)
		return -1;
	a->done = 0;	/* written: nothing more to write */
	a->fn = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* lws is done with the request: free it now or when Redis answers. */
void
api_closed(struct api_req *a)
{
	a->wsi = NULL;
	if (a->calls == 0)
		api_free(a);
}
