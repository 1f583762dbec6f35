/*
 * req-join.c: the join and leave requests, and matchmaking's match, lock
 * and unlock: their fields (meta, since, the create object, pool, size
 * and filter) and the checks made before join.c runs the scripts.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "roomd.h"
#include "backend.h"	/* backend: the connect hook's default meta */

#define META_MAX 1024
#define TITLE_MAX 256
#define MAX_MEMBERS_MAX 1000000
#define POOL_MAX 32		/* "<pool>-<12 hex>" fits in ID_MAX */
#define MATCH_SIZE_MIN 2
#define MATCH_SIZE_MAX 1000
#define FILTER_KEYS_MAX 16
#define FILTER_VALUE_MAX 128

/*
 * Validate the create object into cr (its strings point into it). Returns
 * 0, or -1 after replying with an error.
 */
static int
req_create(struct req *r, cJSON *create, struct room_create *cr)
{
	const char *s;
	long long v;
	cJSON *it;
	char tmp[40];

	if (!cJSON_IsObject(create)) {
		req_error(r, ERR_BAD_REQUEST, "field 'create' must be an object");
		return -1;
	}
	for (it = create->child; it != NULL; it = it->next) {
		if (strcmp(it->string, "title") == 0 ||
		    strcmp(it->string, "topic") == 0) {
			if (!cJSON_IsString(it)) {
				req_error(r, ERR_BAD_REQUEST,
				    "field 'create.%s' must be a string",
				    it->string);
				return -1;
			}
			if (strlen(it->valuestring) > TITLE_MAX) {
				req_error(r, ERR_TOO_LARGE,
				    "field 'create.%s' is over %d bytes",
				    it->string, TITLE_MAX);
				return -1;
			}
			/* A name given twice: the first counts. */
			if (strcmp(it->string, "title") == 0) {
				if (cr->title == NULL)
					cr->title = it->valuestring;
			} else if (cr->topic == NULL)
				cr->topic = it->valuestring;
		} else if (strcmp(it->string, "visibility") == 0) {
			s = cJSON_GetStringValue(it);
			if (s == NULL || (strcmp(s, "public") != 0 &&
			    strcmp(s, "private") != 0)) {
				req_error(r, ERR_BAD_REQUEST,
				    "field 'create.visibility' must be "
				    "\"public\" or \"private\"");
				return -1;
			}
			if (cr->visibility == NULL)
				cr->visibility = s;
		} else if (strcmp(it->string, "max_members") == 0) {
			if (req_field_int(r, create, "max_members", 1,
			    MAX_MEMBERS_MAX, &v) < 0)
				return -1;
			cr->max_members = (uint64_t)v;
		} else {
			req_error(r, ERR_BAD_REQUEST,
			    "unknown field 'create.%s'",
			    req_shorten(it->string, tmp, sizeof tmp));
			return -1;
		}
	}
	return 0;
}

/*
 * The meta field as JSON text into *out (NULL when absent), for the caller
 * to free. Returns 0, or -1 after replying with an error.
 */
static int
req_meta(struct req *r, char **out)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(r->root, "meta");

	*out = NULL;
	if ((meta == NULL || cJSON_IsNull(meta)) && hook_default_meta(r->c)) {
		*out = xstrdup(hook_default_meta(r->c));	/* backend */
		return 0;
	}
	if (meta == NULL || cJSON_IsNull(meta))
		return 0;
	if (!cJSON_IsObject(meta)) {
		req_error(r, ERR_BAD_REQUEST, "field 'meta' must be an object");
		return -1;
	}
	*out = cJSON_PrintUnformatted(meta);
	if (strlen(*out) > META_MAX) {
		req_error(r, ERR_TOO_LARGE, "field 'meta' is over %d bytes",
		    META_MAX);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void
req_join(struct req *r)
{
	struct room_create cr = { NULL, NULL, NULL, 0 };
	cJSON *create;
	const char *since = NULL;
	char *meta_json = NULL;

	if (r->c->claims != NULL && !jwt_may_join(r->c->claims, r->room)) {
		req_error(r, ERR_FORBIDDEN, "not allowed to join room '%s'",
		    r->room);
		return;
	}
	if (req_field_seq(r, "since", &since) < 0)
		return;
	if (req_meta(r, &meta_json) < 0)
		return;
	create = cJSON_GetObjectItemCaseSensitive(r->root, "create");
	if (create != NULL && !cJSON_IsNull(create) &&
	    req_create(r, create, &cr) < 0)
		goto out;
	if (conn_membership(r->c, r->room) == NULL &&
	    r->c->nrooms >= cfg.max_rooms_per_conn) {
		req_error(r, ERR_TOO_MANY_ROOMS,
		    "a connection may be in at most %llu rooms",
		    (unsigned long long)cfg.max_rooms_per_conn);
		goto out;
	}
	join_room(r->c, r->ticket, r->ref, r->room, meta_json, since, &cr);
out:
	free(meta_json);
}

static void
req_leave(struct req *r)
{
	struct membership *m;

	if ((m = conn_membership(r->c, r->room)) == NULL) {
		req_error(r, ERR_NOT_MEMBER, "not a member of room '%s'",
		    r->room);
		return;
	}
	join_leave(r->c, r->ticket, r->ref, m);
}

static int
filter_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/*
 * The filter field in its canonical form into *out, for the caller to
 * free: a compact object with its keys sorted, "{}" when absent, so that
 * equal filters are equal strings whatever order the client wrote. Keys
 * are ids, values strings (at most FILTER_VALUE_MAX bytes), numbers or
 * booleans, at most FILTER_KEYS_MAX of them. Returns 0, or -1 after
 * replying bad_request.
 */
static int
req_filter(struct req *r, char **out)
{
	cJSON *f = cJSON_GetObjectItemCaseSensitive(r->root, "filter"), *it;
	cJSON *keys[FILTER_KEYS_MAX];
	size_t n = 0;
	char tmp[40], *num;
	struct buf b;

	*out = NULL;
	if (f == NULL || cJSON_IsNull(f)) {
		*out = xstrdup("{}");
		return 0;
	}
	if (!cJSON_IsObject(f)) {
		req_error(r, ERR_BAD_REQUEST, "field 'filter' must be an object");
		return -1;
	}
	for (it = f->child; it != NULL; it = it->next) {
		if (n == FILTER_KEYS_MAX) {
			req_error(r, ERR_BAD_REQUEST,
			    "field 'filter' has over %d keys", FILTER_KEYS_MAX);
			return -1;
		}
		if (!id_valid(it->string, strlen(it->string))) {
			req_error(r, ERR_BAD_REQUEST, "bad filter key '%s': it "
			    "must match ^[A-Za-z0-9_.:-]{1,64}$",
			    req_shorten(it->string, tmp, sizeof tmp));
			return -1;
		}
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it) &&
		    !cJSON_IsBool(it)) {
			req_error(r, ERR_BAD_REQUEST, "filter value '%s' must "
			    "be a string, number or boolean, not %s",
			    it->string, json_type_name(it->type));
			return -1;
		}
		if (cJSON_IsString(it) &&
		    strlen(it->valuestring) > FILTER_VALUE_MAX) {
			req_error(r, ERR_BAD_REQUEST,
			    "filter value '%s' is over %d bytes", it->string,
			    FILTER_VALUE_MAX);
			return -1;
		}
		keys[n++] = it;
	}
	qsort(keys, n, sizeof *keys, filter_cmp);
	buf_init(&b);
	buf_addc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(keys[i - 1]->string, keys[i]->string) == 0) {
			req_error(r, ERR_BAD_REQUEST,
			    "filter key '%s' is given twice", keys[i]->string);
			buf_free(&b);
			return -1;
		}
		if (i > 0)
			buf_addc(&b, ',');
		json_add_string(&b, keys[i]->string, strlen(keys[i]->string));
		buf_addc(&b, ':');
		if (cJSON_IsString(keys[i]))
			json_add_string(&b, keys[i]->valuestring,
			    strlen(keys[i]->valuestring));
		else if (cJSON_IsBool(keys[i]))
			buf_adds(&b, cJSON_IsTrue(keys[i]) ? "true" : "false");
		else {
			num = cJSON_PrintUnformatted(keys[i]);
			buf_adds(&b, num);
			free(num);
		}
	}
	buf_addc(&b, '}');
	*out = buf_detach(&b);
	return 0;
}

/*
 * May a token match in pool? Only if its room patterns grant every id the
 * pool can give: "<pool>-" and 12 hex digits. A pattern cannot hold a
 * literal '*', so one that matches "<pool>-************" has wildcards
 * over all twelve digits and matches every such id.
 */
static int
req_may_match(const struct jwt_claims *claims, const char *pool)
{
	char any[ID_MAX + 1];

	snprintf(any, sizeof any, "%s-************", pool);
	return jwt_may_join(claims, any);
}

static void
req_match(struct req *r)
{
	struct room_create cr = { NULL, NULL, NULL, 0 };
	struct match_params mp;
	const char *pool;
	char *meta_json = NULL, *filter = NULL;
	cJSON *create, *since;
	long long size = 0;
	int rc;

	if (req_field_id(r, "pool", &pool) < 0)
		return;
	if (strlen(pool) > POOL_MAX) {
		req_error(r, ERR_BAD_REQUEST, "field 'pool' is over %d bytes: "
		    "its rooms' ids, '<pool>-' and 12 hex digits, must fit in "
		    "%d", POOL_MAX, ID_MAX);
		return;
	}
	if ((rc = req_field_int(r, r->root, "size", MATCH_SIZE_MIN,
	    MATCH_SIZE_MAX, &size)) < 0)
		return;
	if (rc == 0) {
		req_error(r, ERR_BAD_REQUEST, "missing field 'size'");
		return;
	}
	since = cJSON_GetObjectItemCaseSensitive(r->root, "since");
	if (since != NULL && !cJSON_IsNull(since)) {
		req_error(r, ERR_BAD_REQUEST, "field 'since' does not apply to "
		    "match: join the room by id to recover it");
		return;
	}
	if (r->c->claims != NULL && !req_may_match(r->c->claims, pool)) {
		req_error(r, ERR_FORBIDDEN, "not allowed to match in pool '%s'",
		    pool);
		return;
	}
	if (req_filter(r, &filter) < 0 || req_meta(r, &meta_json) < 0)
		goto out;
	create = cJSON_GetObjectItemCaseSensitive(r->root, "create");
	if (create != NULL && !cJSON_IsNull(create) &&
	    req_create(r, create, &cr) < 0)
		goto out;
	if (cr.max_members != 0) {
		req_error(r, ERR_BAD_REQUEST, "field 'create.max_members' does "
		    "not apply to match: size sets it");
		goto out;
	}
	if (r->c->nrooms >= cfg.max_rooms_per_conn) {
		req_error(r, ERR_TOO_MANY_ROOMS,
		    "a connection may be in at most %llu rooms",
		    (unsigned long long)cfg.max_rooms_per_conn);
		goto out;
	}
	mp = (struct match_params){
		.pool = pool,
		.size = (unsigned)size,
		.filter = filter,
		.meta = meta_json,
		.title = cr.title,
		.topic = cr.topic,
		.visibility = cr.visibility,
	};
	join_match(r->c, r->ticket, r->ref, &mp);
out:
	free(meta_json);
	free(filter);
}

/* lock and unlock: members only, or an admin; the script tells the room. */
static void
req_lock_or_unlock(struct req *r, int lock)
{
	const char *who;
	struct buf by;
	struct script_args sa;

	if (req_need_member(r, &who) < 0)
		return;
	buf_init(&by);
	req_actor(&by, r->c);
	script_lock_args(&sa, &(struct script_lock){
		.prefix = cfg.prefix,
		.room = r->room,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.conn = who,
		.lock = lock,
		.by = by.p,
	});
	req_script(r, &sa, SHAPE_LOCK, reply_fields_locked);
	buf_free(&by);
}

static void
req_lock(struct req *r)
{
	req_lock_or_unlock(r, 1);
}

static void
req_unlock(struct req *r)
{
	req_lock_or_unlock(r, 0);
}

const struct req_entry req_join_entry = { REQ_JOIN, req_join, 1, 1 };
const struct req_entry req_leave_entry = { REQ_LEAVE, req_leave, 1, 1 };
const struct req_entry req_match_entry = { REQ_MATCH, req_match, 0, 1 };
const struct req_entry req_lock_entry = { REQ_LOCK, req_lock, 1, 1 };
const struct req_entry req_unlock_entry = { REQ_UNLOCK, req_unlock, 1, 1 };
