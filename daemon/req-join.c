/*
 * req-join.c: the join and leave requests: their fields (meta, since and
 * the create object) and the checks made before join.c runs the scripts.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "roomd.h"
#include "backend.h"	/* backend: the connect hook's default meta */

#define META_MAX 1024
#define TITLE_MAX 256
#define MAX_MEMBERS_MAX 1000000

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

static void
req_join(struct req *r)
{
	struct room_create cr = { NULL, NULL, NULL, 0 };
	cJSON *meta, *create;
	const char *since = NULL;
	char *meta_json = NULL;

	if (r->c->claims != NULL && !jwt_may_join(r->c->claims, r->room)) {
		req_error(r, ERR_FORBIDDEN, "not allowed to join room '%s'",
		    r->room);
		return;
	}
	if (req_field_seq(r, "since", &since) < 0)
		return;
	meta = cJSON_GetObjectItemCaseSensitive(r->root, "meta");
	if ((meta == NULL || cJSON_IsNull(meta)) && hook_default_meta(r->c))
		meta_json = xstrdup(hook_default_meta(r->c));	/* backend */
	else if (meta != NULL && !cJSON_IsNull(meta)) {
		if (!cJSON_IsObject(meta)) {
			req_error(r, ERR_BAD_REQUEST,
			    "field 'meta' must be an object");
			return;
		}
		meta_json = cJSON_PrintUnformatted(meta);
		if (strlen(meta_json) > META_MAX) {
			req_error(r, ERR_TOO_LARGE,
			    "field 'meta' is over %d bytes", META_MAX);
			free(meta_json);
			return;
		}
	}
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

const struct req_entry req_join_entry = { REQ_JOIN, req_join, 1, 1 };
const struct req_entry req_leave_entry = { REQ_LEAVE, req_leave, 1, 1 };
