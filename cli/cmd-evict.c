/*
 * cmd-evict.c owns `roomctl evict`: removing members from a room and telling
 * their nodes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

/* The reason reaches the evicted client in one frame: keep it short. */
#define EVICT_REASON_MAX 256

struct evict_opts {
	const char *room;
	const char *conn;		/* --conn, or NULL */
	const char *user;		/* --user, or NULL */
	const char *reason;
	int disconnect;
};

/* A member chosen for eviction; strings point into the members reply. */
struct evict_member {
	const char *conn;
	char *user;			/* NULL for anonymous; ours */
	char *node;			/* ours */
	int evicted;
};

/* The member's JSON string field, copied, or NULL. */
static char *
evict_field(const cJSON *m, const char *name)
{
	const char *s;

	s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, name));
	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * Pick the members --conn or --user name, or all of them, from a flat
 * HGETALL of the members hash. Returns how many were picked into *out.
 */
static size_t
evict_pick(const struct evict_opts *o, const redisReply *h,
    struct evict_member **out)
{
	struct evict_member *picked;
	const char *conn;
	cJSON *m;
	size_t i, n = 0;
	char *user;

	picked = xcalloc(h->elements / 2 + 1, sizeof *picked);
	for (i = 0; i + 1 < h->elements; i += 2) {
		conn = h->element[i]->str;
		if (o->conn != NULL && strcmp(conn, o->conn) != 0)
			continue;
		m = cJSON_Parse(h->element[i + 1]->str);
		user = evict_field(m, "user");
		if (o->user != NULL &&
		    (user == NULL || strcmp(user, o->user) != 0)) {
			free(user);
			cJSON_Delete(m);
			continue;
		}
		picked[n].conn = conn;
		picked[n].user = user;
		picked[n].node = evict_field(m, "node");
		n++;
		cJSON_Delete(m);
	}
	*out = picked;
	return n;
}

/* The control message the member's node acts on; caller frees. */
static char *
evict_ctl_message(const struct evict_opts *o, const char *conn)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"cmd\":\"evict\",\"room\":");
	json_add_string(&b, o->room, strlen(o->room));
	buf_adds(&b, ",\"conn\":");
	json_add_string(&b, conn, strlen(conn));
	buf_adds(&b, ",\"reason\":");
	json_add_string(&b, o->reason, strlen(o->reason));
	buf_printf(&b, ",\"disconnect\":%s}", o->disconnect ? "true" : "false");
	return buf_detach(&b);
}

/*
 * Remove one member with the leave script, which also publishes the control
 * message before member_left. Works the same for members of dead nodes:
 * everything happens in Redis. Returns 1 removed, 0 already gone, -1 error;
 * *closed is set when this was the last member.
 */
static int
evict_one(redisContext *c, const struct cmd_ctx *ctx,
    const struct evict_opts *o, const char *conn, int *closed)
{
	struct script_args sa;
	char *msg;
	redisReply *r;
	int rc = -1;

	msg = evict_ctl_message(o, conn);
	script_leave_args(&sa, &(struct script_leave){
		.prefix = ctx->prefix,
		.room = o->room,
		.conn = conn,
		.maxlen = ROOMCTL_HISTORY,
		.ttl = ROOMCTL_ROOM_TTL,
		.empty_ttl = ROOMCTL_EMPTY_TTL,
		.reason = "evicted",
		.ctl_message = msg,
	});
	r = redis_script(c, &sa);
	script_args_free(&sa);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == LEAVE_R_COUNT) {
		rc = r->element[LEAVE_R_REMOVED]->integer == 1;
		if (r->element[LEAVE_R_CLOSED]->integer == 1)
			*closed = 1;
	} else if (r != NULL)
		cmd_error("unexpected reply from the leave script");
	redis_reply_free(r);
	free(msg);
	return rc;
}

static void
evict_print(const struct cmd_ctx *ctx, const struct evict_opts *o,
    const struct evict_member *m, size_t n, size_t removed, int closed)
{
	struct table t;
	cJSON *out, *arr;
	char *text;
	size_t i;

	if (ctx->json) {
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "room", o->room);
		arr = cJSON_AddArrayToObject(out, "evicted");
		for (i = 0; i < n; i++) {
			if (m[i].evicted)
				cJSON_AddItemToArray(arr,
				    cJSON_CreateString(m[i].conn));
		}
		cJSON_AddBoolToObject(out, "closed", closed);
		text = cJSON_PrintUnformatted(out);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(out);
		return;
	}
	table_init(&t, 3, "CONN", "USER", "NODE");
	for (i = 0; i < n; i++) {
		if (m[i].evicted)
			table_add(&t, m[i].conn, m[i].user, m[i].node);
	}
	table_print(&t, stdout);
	table_free(&t);
	printf("evicted %zu member%s from room '%s'%s%s\n", removed,
	    removed == 1 ? "" : "s", o->room,
	    o->disconnect ? " and disconnected them" : "",
	    closed ? "; the room is closed" : "");
}

/* Parse the options into o; returns -1 to go on, or an exit status. */
static int
evict_parse(struct cmd_ctx *ctx, struct evict_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conn", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "reason", required_argument, NULL, 'r' },
		{ "disconnect", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = &cmd_evict_entry;
	int ch, opt;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conn = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'r':
			o->reason = optarg;
			break;
		case 'd':
			o->disconnect = 1;
			break;
		default:
			if ((opt = cmd_option(ctx, e, ch, argv)) != CMD_OPTION_DONE)
				return opt;
			break;
		}
	}
	if ((opt = cmd_room_operand(e, argc, argv, &o->room)) !=
	    CMD_OPTION_DONE)
		return opt;
	if (o->conn != NULL && o->user != NULL)
		return cmd_usage_error(e, "evict: give --conn or --user, "
		    "not both");
	if ((o->conn != NULL && *o->conn == '\0') ||
	    (o->user != NULL && *o->user == '\0'))
		return cmd_usage_error(e, "evict: --conn and --user need a "
		    "value");
	if (strlen(o->reason) > EVICT_REASON_MAX)
		return cmd_usage_error(e, "evict: --reason is over %d bytes",
		    EVICT_REASON_MAX);
	return -1;
}

static int
cmd_evict_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct evict_opts o;
	struct evict_member *m = NULL;
	redisContext *c;
	redisReply *h;
	char *key;
	size_t n, i, removed = 0;
	int rc, closed = 0, exists, r;

	memset(&o, 0, sizeof o);
	o.reason = "evicted";
	if ((rc = evict_parse(ctx, &o, argc, argv)) != -1)
		return rc;

	c = redis_open(ctx);
	if ((exists = redis_room_exists(c, ctx, o.room)) < 0) {
		redis_close(c);
		return EXIT_FAIL;
	}
	key = redis_key_room(ctx, o.room, ":members");
	h = redis_commandl(c, "HGETALL", key, NULL);
	free(key);
	if (h == NULL) {
		redis_close(c);
		return EXIT_FAIL;
	}
	n = evict_pick(&o, h, &m);
	rc = EXIT_OK;
	for (i = 0; i < n; i++) {
		r = evict_one(c, ctx, &o, m[i].conn, &closed);
		if (r < 0) {
			rc = EXIT_FAIL;
			break;
		}
		m[i].evicted = r;
		removed += (size_t)r;
	}
	/* Nobody to evict, including those who left while we looked. */
	if (rc == EXIT_OK && removed == 0) {
		rc = EXIT_NOTFOUND;
		if (!exists && h->elements == 0)
			cmd_error("no room named '%s'", o.room);
		else if (o.conn != NULL || o.user != NULL)
			cmd_error("no member '%s' in room '%s'",
			    o.conn != NULL ? o.conn : o.user, o.room);
		else
			cmd_error("no members in room '%s'", o.room);
	}
	/* Report what was done even when a later eviction failed. */
	if (removed > 0)
		evict_print(ctx, &o, m, n, removed, closed);
	for (i = 0; i < n; i++) {
		free(m[i].user);
		free(m[i].node);
	}
	free(m);
	redis_reply_free(h);
	redis_close(c);
	if (stdout_flush() != 0 && rc == EXIT_OK)
		rc = EXIT_FAIL;
	return rc;
}

const struct cmd_entry cmd_evict_entry = {
	.name = "evict",
	.args = "ROOM [--conn ID | --user U] [--reason TEXT] [--disconnect] "
	    "[--json]",
	.summary = "remove one member, a user's members, or everyone",
	.options = "--conn --user --reason --disconnect --json",
	.exec = cmd_evict_exec,
};
