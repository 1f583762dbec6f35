/*
 * cmd-rooms.c owns `roomctl rooms`: rooms by member count with their
 * details.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

#define ROOMS_LIMIT_DEFAULT 50
#define ROOMS_LIMIT_MAX 100000

/* A field of a row as text: Lua numbers come back as integers. */
static void
rooms_text(const redisReply *r, char *out, size_t outlen)
{
	if (r->type == REDIS_REPLY_INTEGER)
		snprintf(out, outlen, "%lld", r->integer);
	else if (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS)
		snprintf(out, outlen, "%s", r->str);
	else
		snprintf(out, outlen, "-");
}

static long long
rooms_int(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

static const char *
rooms_str(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING ? r->str : "";
}

static void
rooms_row(struct table *t, const redisReply *row)
{
	char members[24], max[24], created[32];
	const char *pool = rooms_str(row->element[ROOMS_R_POOL]);
	struct buf pb;
	long long m;

	rooms_text(row->element[ROOMS_R_MEMBERS], members, sizeof members);
	m = rooms_int(row->element[ROOMS_R_MAX_MEMBERS]);
	if (m > 0)
		snprintf(max, sizeof max, "%lld", m);
	else
		snprintf(max, sizeof max, "-");
	fmt_time_ms(created, sizeof created,
	    (uint64_t)rooms_int(row->element[ROOMS_R_CREATED_AT]));
	/* POOL: "pool filter", "-" for a room not made by match; LOCKED. */
	buf_init(&pb);
	if (*pool != '\0')
		buf_printf(&pb, "%s %s", pool,
		    rooms_str(row->element[ROOMS_R_FILTER]));
	else
		buf_adds(&pb, "-");
	table_add(t, rooms_str(row->element[ROOMS_R_ROOM]), members, max,
	    rooms_str(row->element[ROOMS_R_TITLE]),
	    rooms_str(row->element[ROOMS_R_TOPIC]),
	    rooms_str(row->element[ROOMS_R_VISIBILITY]), created, pb.p,
	    rooms_int(row->element[ROOMS_R_LOCKED]) == 1 ? "yes" : "no");
	buf_free(&pb);
}

/*
 * One room as {room,title,topic,visibility,members,max_members,created_at,
 * locked}, and pool and filter for a room made by match.
 */
static cJSON *
rooms_json(const redisReply *row)
{
	cJSON *o;
	long long m;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "room", rooms_str(row->element[ROOMS_R_ROOM]));
	cJSON_AddStringToObject(o, "title",
	    rooms_str(row->element[ROOMS_R_TITLE]));
	cJSON_AddStringToObject(o, "topic",
	    rooms_str(row->element[ROOMS_R_TOPIC]));
	cJSON_AddStringToObject(o, "visibility",
	    rooms_str(row->element[ROOMS_R_VISIBILITY]));
	cJSON_AddNumberToObject(o, "members",
	    (double)rooms_int(row->element[ROOMS_R_MEMBERS]));
	/* 0 means no limit in Redis; null says so without a magic number. */
	m = rooms_int(row->element[ROOMS_R_MAX_MEMBERS]);
	if (m > 0)
		cJSON_AddNumberToObject(o, "max_members", (double)m);
	else
		cJSON_AddNullToObject(o, "max_members");
	cJSON_AddNumberToObject(o, "created_at",
	    (double)rooms_int(row->element[ROOMS_R_CREATED_AT]));
	cJSON_AddBoolToObject(o, "locked",
	    rooms_int(row->element[ROOMS_R_LOCKED]) == 1);
	if (*rooms_str(row->element[ROOMS_R_POOL]) != '\0') {
		cJSON *f = cJSON_Parse(rooms_str(row->element[ROOMS_R_FILTER]));

		cJSON_AddStringToObject(o, "pool",
		    rooms_str(row->element[ROOMS_R_POOL]));
		cJSON_AddItemToObject(o, "filter", f != NULL ? f :
		    cJSON_CreateObject());
	}
	return o;
}

static int
cmd_rooms_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = &cmd_rooms_entry;
	struct script_args sa;
	redisContext *c;
	redisReply *r, *row;
	struct table t;
	cJSON *arr;
	char *text;
	uint64_t n = ROOMS_LIMIT_DEFAULT;
	size_t i;
	int ch, opt, all = 0, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'l':
			if (parse_uint(optarg, 1, ROOMS_LIMIT_MAX, &n) != 0)
				return cmd_usage_error(e, "rooms: --limit must "
				    "be 1 to %d", ROOMS_LIMIT_MAX);
			break;
		default:
			if ((opt = cmd_option(ctx, e, ch, argv)) != CMD_OPTION_DONE)
				return opt;
			break;
		}
	}
	if (optind != argc)
		return cmd_usage_error(e, "rooms: unexpected argument '%s'",
		    argv[optind]);

	c = redis_open(ctx);
	script_rooms_args(&sa, &(struct script_rooms){
		.prefix = ctx->prefix,
		.all = all,
		.limit = (long long)n,
		.visibility = NULL,	/* any */
	});
	r = redis_script(c, &sa);
	script_args_free(&sa);
	if (r == NULL) {
		redis_close(c);
		return EXIT_FAIL;
	}
	if (ctx->json) {
		arr = cJSON_CreateArray();
		for (i = 0; i < r->elements; i++) {
			row = r->element[i];
			if (row->type == REDIS_REPLY_ARRAY &&
			    row->elements >= ROOMS_R_COUNT)
				cJSON_AddItemToArray(arr, rooms_json(row));
		}
		text = cJSON_PrintUnformatted(arr);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(arr);
	} else if (r->elements == 0) {
		printf("no %srooms\n", all ? "" : "public ");
	} else {
		table_init(&t, 9, "ROOM", "MEMBERS", "MAX", "TITLE", "TOPIC",
		    "VISIBILITY", "CREATED", "POOL", "LOCKED");
		for (i = 0; i < r->elements; i++) {
			row = r->element[i];
			if (row->type == REDIS_REPLY_ARRAY &&
			    row->elements >= ROOMS_R_COUNT)
				rooms_row(&t, row);
		}
		table_print(&t, stdout);
		table_free(&t);
	}
	redis_reply_free(r);
	redis_close(c);
	rc = stdout_flush();
	return rc;
}

const struct cmd_entry cmd_rooms_entry = {
	.name = "rooms",
	.args = "[--all] [--limit N] [--json]",
	.summary = "list rooms by member count (public ones unless --all)",
	.options = "--all --limit --json",
	.exec = cmd_rooms_exec,
};
