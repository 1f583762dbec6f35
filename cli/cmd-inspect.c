/*
 * cmd-inspect.c owns `roomctl inspect`: one room's details, members, state
 * and latest frames.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

#define INSPECT_EVENTS_DEFAULT 10
#define INSPECT_EVENTS_MAX 100000
/* Longer values are cut in tables; --json shows them whole. */
#define INSPECT_CELL_MAX 60

/* Room hash fields that hold numbers; the rest are strings. */
static const char *const inspect_numeric[] = {
	"max_members", "created_at", "last_active", "state_version", NULL
};

/* What one inspect gathers from Redis; every reply is owned here. */
struct inspect {
	const char *room;
	redisReply *details;		/* flat HGETALL */
	redisReply *members;		/* flat HGETALL */
	redisReply *state;		/* flat HGETALL */
	redisReply *events;		/* XREVRANGE: newest first */
	cJSON **member;			/* parsed, in joining order */
	size_t nmember;
};

/* Parse JSON text from Redis; text that is not JSON becomes a string. */
static cJSON *
inspect_parse(const char *s)
{
	cJSON *j;

	j = cJSON_ParseWithOpts(s, NULL, 1);
	return j != NULL ? j : cJSON_CreateString(s);
}

static double
inspect_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *
inspect_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A string for printf: "-" for an absent field. */
static const char *
inspect_or(const char *s)
{
	return s != NULL ? s : "-";
}

/* Members in the order they joined, then by conn id for ties. */
static int
inspect_member_cmp(const void *a, const void *b)
{
	const cJSON *ma = *(const cJSON *const *)a;
	const cJSON *mb = *(const cJSON *const *)b;
	double ja = inspect_num(ma, "joined_at"), jb = inspect_num(mb,
	    "joined_at");
	const char *ca = inspect_str(ma, "conn"), *cb = inspect_str(mb, "conn");

	if (ja != jb)
		return ja < jb ? -1 : 1;
	return strcmp(ca != NULL ? ca : "", cb != NULL ? cb : "");
}

/* A JSON value in one line, cut to fit a table cell; caller frees. */
static char *
inspect_cell(const cJSON *v)
{
	char *s;
	size_t n;

	if (v == NULL)
		return xstrdup("-");
	if (cJSON_IsString(v))
		s = xstrdup(v->valuestring);
	else
		s = cJSON_PrintUnformatted(v);
	n = strlen(s);
	if (n > INSPECT_CELL_MAX) {
		/* Cut on a UTF-8 character boundary. */
		n = INSPECT_CELL_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		s = xrealloc(s, n + 4);
		memcpy(s + n, "...", 4);
	}
	return s;
}

/* Read everything in one go; returns 0, EXIT_NOTFOUND or EXIT_FAIL. */
static int
inspect_load(struct inspect *in, redisContext *c, const struct cmd_ctx *ctx,
    uint64_t nevents)
{
	char *key, count[24];
	size_t i;

	key = redis_key_room(ctx, in->room, NULL);
	in->details = redis_commandl(c, "HGETALL", key, NULL);
	free(key);
	if (in->details == NULL)
		return EXIT_FAIL;
	if (in->details->elements == 0) {
		cmd_error("no room named '%s'", in->room);
		return EXIT_NOTFOUND;
	}
	key = redis_key_room(ctx, in->room, ":members");
	in->members = redis_commandl(c, "HGETALL", key, NULL);
	free(key);
	key = redis_key_room(ctx, in->room, ":state");
	in->state = in->members == NULL ? NULL :
	    redis_commandl(c, "HGETALL", key, NULL);
	free(key);
	if (in->state == NULL)
		return EXIT_FAIL;
	if (nevents > 0) {
		snprintf(count, sizeof count, "%llu",
		    (unsigned long long)nevents);
		key = redis_key_room(ctx, in->room, ":events");
		in->events = redis_commandl(c, "XREVRANGE", key, "+", "-",
		    "COUNT", count, NULL);
		free(key);
		if (in->events == NULL)
			return EXIT_FAIL;
	}

	in->member = xcalloc(in->members->elements / 2 + 1,
	    sizeof *in->member);
	for (i = 0; i + 1 < in->members->elements; i += 2)
		in->member[in->nmember++] =
		    inspect_parse(in->members->element[i + 1]->str);
	qsort(in->member, in->nmember, sizeof *in->member,
	    inspect_member_cmp);
	return 0;
}

static void
inspect_free(struct inspect *in)
{
	size_t i;

	for (i = 0; i < in->nmember; i++)
		cJSON_Delete(in->member[i]);
	free(in->member);
	redis_reply_free(in->details);
	redis_reply_free(in->members);
	redis_reply_free(in->state);
	redis_reply_free(in->events);
}

/* The state hash sorted by key, as an object of parsed values. */
static cJSON *
inspect_state_json(const struct inspect *in)
{
	cJSON *o;
	size_t i;

	o = cJSON_CreateObject();
	for (i = 0; i + 1 < in->state->elements; i += 2)
		cJSON_AddItemToObject(o, in->state->element[i]->str,
		    inspect_parse(in->state->element[i + 1]->str));
	return o;
}

/*
 * The whole room as {room,details,members,state,state_version,events}.
 * Frames are added as raw text, seq first, exactly as replay prints them.
 */
static void
inspect_print_json(const struct inspect *in)
{
	cJSON *o, *details, *members, *events, *j;
	const char *v, *sv;
	char *frame, *text;
	size_t i;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "room", in->room);
	details = cJSON_AddObjectToObject(o, "details");
	redis_hash_json(details, in->details, inspect_numeric);
	/* No limit is null, in the field's place. */
	v = redis_hash_get(in->details, "max_members");
	if (v != NULL && strtod(v, NULL) <= 0)
		cJSON_ReplaceItemInObjectCaseSensitive(details, "max_members",
		    cJSON_CreateNull());
	/* Matchmaking: locked is a boolean, false when unset; the filter is
	 * JSON; the pool key is roomd's own business. */
	v = redis_hash_get(in->details, "locked");
	cJSON_DeleteItemFromObjectCaseSensitive(details, "locked");
	cJSON_AddBoolToObject(details, "locked", v != NULL &&
	    strcmp(v, "1") == 0);
	cJSON_DeleteItemFromObjectCaseSensitive(details, "pool_key");
	if ((v = redis_hash_get(in->details, "filter")) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(details, "filter",
		    inspect_parse(v));
	members = cJSON_AddArrayToObject(o, "members");
	for (i = 0; i < in->nmember; i++)
		cJSON_AddItemToArray(members,
		    cJSON_Duplicate(in->member[i], 1));
	cJSON_AddItemToObject(o, "state", inspect_state_json(in));
	sv = redis_hash_get(in->details, "state_version");
	cJSON_AddNumberToObject(o, "state_version",
	    sv != NULL ? strtod(sv, NULL) : 0);
	events = cJSON_AddArrayToObject(o, "events");
	for (i = in->events != NULL ? in->events->elements : 0; i > 0; i--) {
		if ((frame = redis_frame(in->events->element[i - 1])) == NULL)
			continue;
		j = cJSON_ParseWithOpts(frame, NULL, 1);
		if (j != NULL) {
			cJSON_Delete(j);
			cJSON_AddItemToArray(events, cJSON_CreateRaw(frame));
		} else
			cJSON_AddItemToArray(events, cJSON_CreateString(frame));
		free(frame);
	}
	text = cJSON_PrintUnformatted(o);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

/* "event E data", "member_left C evicted": what a frame did, in short. */
static char *
inspect_frame_detail(const cJSON *f)
{
	const char *type = inspect_str(f, "type");
	const cJSON *member;
	struct buf b;
	char *cell;

	buf_init(&b);
	if (type == NULL)
		type = "";
	if (strcmp(type, "event") == 0) {
		buf_printf(&b, "%s ", inspect_or(inspect_str(f, "event")));
		cell = inspect_cell(cJSON_GetObjectItemCaseSensitive(f,
		    "data"));
		buf_adds(&b, cell);
		free(cell);
	} else if (strcmp(type, "member_joined") == 0) {
		member = cJSON_GetObjectItemCaseSensitive(f, "member");
		buf_printf(&b, "conn %s", inspect_or(inspect_str(member,
		    "conn")));
	} else if (strcmp(type, "member_left") == 0) {
		buf_printf(&b, "conn %s reason %s",
		    inspect_or(inspect_str(f, "conn")),
		    inspect_or(inspect_str(f, "reason")));
	} else if (strcmp(type, "state_changed") == 0) {
		buf_printf(&b, "%s = ", inspect_or(inspect_str(f, "key")));
		cell = inspect_cell(cJSON_GetObjectItemCaseSensitive(f,
		    "value"));
		buf_adds(&b, cell);
		free(cell);
	} else if (strcmp(type, "room_closed") == 0)
		buf_printf(&b, "reason %s",
		    inspect_or(inspect_str(f, "reason")));
	else if (strcmp(type, "room_locked") == 0)
		buf_printf(&b, "%s by conn %s",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f,
		    "locked")) ? "locked" : "unlocked",
		    inspect_or(inspect_str(cJSON_GetObjectItemCaseSensitive(f,
		    "by"), "conn")));
	return buf_detach(&b);
}

static void
inspect_print_table(const struct inspect *in)
{
	static const char *const shown[] = {
		"title", "topic", "visibility", "max_members", "state_version",
		NULL
	};
	const char *const *f;
	const char *v;
	struct table t;
	cJSON *state, *s, *fr;
	char when[32], count[24], *cell, *detail, *frame;
	uint64_t ms;
	size_t i;

	table_init(&t, 2, "room", in->room);
	for (f = shown; *f != NULL; f++) {
		v = redis_hash_get(in->details, *f);
		if (strcmp(*f, "max_members") == 0 &&
		    (v == NULL || strtod(v, NULL) <= 0))
			v = "none";
		table_add(&t, *f, v != NULL && *v != '\0' ? v : "-");
	}
	snprintf(count, sizeof count, "%zu", in->nmember);
	table_add(&t, "members", count);
	v = redis_hash_get(in->details, "locked");
	table_add(&t, "locked", v != NULL && strcmp(v, "1") == 0 ? "yes" :
	    "no");
	if ((v = redis_hash_get(in->details, "pool")) != NULL) {
		const char *flt = redis_hash_get(in->details, "filter");
		struct buf pool;

		buf_init(&pool);
		buf_printf(&pool, "%s %s", v, flt != NULL ? flt : "{}");
		table_add(&t, "pool", pool.p);
		buf_free(&pool);
	}
	v = redis_hash_get(in->details, "created_at");
	fmt_time_ms(when, sizeof when, v != NULL &&
	    parse_uint(v, 0, UINT64_MAX, &ms) == 0 ? ms : 0);
	table_add(&t, "created_at", when);
	v = redis_hash_get(in->details, "last_active");
	fmt_time_ms(when, sizeof when, v != NULL &&
	    parse_uint(v, 0, UINT64_MAX, &ms) == 0 ? ms : 0);
	table_add(&t, "last_active", when);
	table_print(&t, stdout);
	table_free(&t);

	printf("\nmembers:\n");
	if (in->nmember == 0)
		printf("  none\n");
	else {
		table_init(&t, 5, "CONN", "USER", "NODE", "JOINED", "META");
		for (i = 0; i < in->nmember; i++) {
			fmt_time_ms(when, sizeof when, (uint64_t)inspect_num(
			    in->member[i], "joined_at"));
			cell = inspect_cell(cJSON_GetObjectItemCaseSensitive(
			    in->member[i], "meta"));
			table_add(&t, inspect_str(in->member[i], "conn"),
			    inspect_str(in->member[i], "user"),
			    inspect_str(in->member[i], "node"), when, cell);
			free(cell);
		}
		table_print(&t, stdout);
		table_free(&t);
	}

	printf("\nstate:\n");
	state = inspect_state_json(in);
	if (cJSON_GetArraySize(state) == 0)
		printf("  none\n");
	else {
		table_init(&t, 2, "KEY", "VALUE");
		cJSON_ArrayForEach(s, state) {
			cell = inspect_cell(s);
			table_add(&t, s->string, cell);
			free(cell);
		}
		table_print(&t, stdout);
		table_free(&t);
	}
	cJSON_Delete(state);

	if (in->events == NULL)
		return;
	printf("\nlast %zu frames:\n", in->events->elements);
	if (in->events->elements == 0) {
		printf("  none\n");
		return;
	}
	table_init(&t, 4, "SEQ", "TIME", "TYPE", "DETAIL");
	for (i = in->events->elements; i > 0; i--) {
		if ((frame = redis_frame(in->events->element[i - 1])) == NULL)
			continue;
		if ((fr = cJSON_Parse(frame)) != NULL) {
			fmt_time_ms(when, sizeof when,
			    (uint64_t)inspect_num(fr, "ts"));
			detail = inspect_frame_detail(fr);
			table_add(&t, inspect_str(fr, "seq"), when,
			    inspect_str(fr, "type"), detail);
			free(detail);
			cJSON_Delete(fr);
		}
		free(frame);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static int
cmd_inspect_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = &cmd_inspect_entry;
	struct inspect in;
	redisContext *c;
	uint64_t nevents = INSPECT_EVENTS_DEFAULT;
	int ch, opt, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			if (parse_uint(optarg, 0, INSPECT_EVENTS_MAX,
			    &nevents) != 0)
				return cmd_usage_error(e, "inspect: --events "
				    "must be 0 to %d", INSPECT_EVENTS_MAX);
			break;
		default:
			if ((opt = cmd_option(ctx, e, ch, argv)) != CMD_OPTION_DONE)
				return opt;
			break;
		}
	}
	memset(&in, 0, sizeof in);
	if ((opt = cmd_room_operand(e, argc, argv, &in.room)) !=
	    CMD_OPTION_DONE)
		return opt;

	c = redis_open(ctx);
	rc = inspect_load(&in, c, ctx, nevents);
	if (rc == 0) {
		if (ctx->json)
			inspect_print_json(&in);
		else
			inspect_print_table(&in);
		rc = stdout_flush();
	}
	inspect_free(&in);
	redis_close(c);
	return rc;
}

const struct cmd_entry cmd_inspect_entry = {
	.name = "inspect",
	.args = "ROOM [--events N] [--json]",
	.summary = "show a room's details, members, state and latest frames",
	.options = "--events --json",
	.exec = cmd_inspect_exec,
};
