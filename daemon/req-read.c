/*
 * req-read.c: the requests that only read: state.get, presence and
 * history (the read script), rooms (the rooms script), and ping.
 */
#include <string.h>

#include "roomd.h"

#define HISTORY_DEFAULT 100
#define HISTORY_MAX 1000
#define ROOMS_DEFAULT 50
#define ROOMS_MAX 1000

/* state.get, presence and history: one read script each. */
static void
req_read(struct req *r, const char *what, const char *since, long long limit,
    reply_fields_fn fields)
{
	struct script_args sa;
	const char *who;

	if (req_need_member(r, &who) < 0)
		return;
	script_read_args(&sa, &(struct script_read){
		.prefix = cfg.prefix,
		.room = r->room,
		.what = what,
		.conn = who,
		.since = since,
		.limit = limit,
	});
	req_script(r, &sa, fields);
}

static void
req_state_get(struct req *r)
{
	req_read(r, "state", NULL, 0, reply_fields_state);
}

static void
req_presence(struct req *r)
{
	req_read(r, "presence", NULL, 0, reply_fields_presence);
}

static void
req_history(struct req *r)
{
	const char *since = NULL;
	long long limit = HISTORY_DEFAULT;

	if (req_field_seq(r, "since", &since) < 0 ||
	    req_field_int(r, r->root, "limit", 1, INT64_MAX / 2, &limit) < 0)
		return;
	if (limit > HISTORY_MAX)
		limit = HISTORY_MAX;
	req_read(r, "history", since, limit, reply_fields_history);
}

static void
req_rooms(struct req *r)
{
	const char *vis = "public";
	long long limit = ROOMS_DEFAULT;
	struct script_args sa;

	if (req_field_string(r, "visibility", 0, &vis) < 0 ||
	    req_field_int(r, r->root, "limit", 1, INT64_MAX / 2, &limit) < 0)
		return;
	if (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0 &&
	    strcmp(vis, "all") != 0) {
		req_error(r, ERR_BAD_REQUEST, "field 'visibility' must be "
		    "\"public\", \"private\" or \"all\"");
		return;
	}
	if (strcmp(vis, "public") != 0 && r->c->claims != NULL &&
	    !r->c->claims->admin) {
		req_error(r, ERR_FORBIDDEN, "only admins may list %s rooms",
		    vis);
		return;
	}
	if (limit > ROOMS_MAX)
		limit = ROOMS_MAX;
	script_rooms_args(&sa, &(struct script_rooms){
		.prefix = cfg.prefix,
		.all = strcmp(vis, "public") != 0,
		.limit = limit,
		/* Private listing filters the full index by visibility. */
		.visibility = strcmp(vis, "private") == 0 ? "private" : NULL,
	});
	req_script(r, &sa, reply_fields_rooms);
}

static void
req_ping(struct req *r)
{
	reply_pong(r->c, r->ticket, r->ref);
}

const struct req_entry req_state_get_entry =
    { REQ_STATE_GET, req_state_get, 1, 1 };
const struct req_entry req_presence_entry =
    { REQ_PRESENCE, req_presence, 1, 1 };
const struct req_entry req_history_entry = { REQ_HISTORY, req_history, 1, 1 };
const struct req_entry req_rooms_entry = { REQ_ROOMS, req_rooms, 0, 1 };
const struct req_entry req_ping_entry = { REQ_PING, req_ping, 0, 0 };
