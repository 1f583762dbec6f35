/*
 * redis.c owns roomctl's one synchronous Redis connection: connecting,
 * commands, scripts and key names.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

/* Connecting is bounded; a command may run long (gc over many rooms). */
#define REDIS_CONNECT_TIMEOUT_SEC 2
#define REDIS_COMMAND_TIMEOUT_SEC 30
#define REDIS_ARGS_MAX 64

/* Send one command during setup; returns the error text or NULL. */
static char *
redis_setup_command(redisContext *c, const char *fmt, const char *arg)
{
	redisReply *r;
	char *why = NULL;

	r = redisCommand(c, fmt, arg);
	if (r == NULL)
		return xstrdup(c->errstr);
	if (r->type == REDIS_REPLY_ERROR)
		why = xstrdup(r->str);
	freeReplyObject(r);
	return why;
}

/*
 * Connect to ctx->redis, authenticate and select the database. roomctl can
 * do nothing without Redis, so on failure this prints the address (never
 * the password) and exits: 2 for a URL that does not parse, 1 otherwise.
 */
redisContext *
redis_open(const struct cmd_ctx *ctx)
{
	struct timeval tv = { REDIS_CONNECT_TIMEOUT_SEC, 0 };
	struct redis_url u;
	redisContext *c;
	char shown[512], db[16], *cause = NULL, *why = NULL;

	if (redis_url_parse(ctx->redis, &u, &cause) != 0) {
		cmd_error("%s", cause);
		free(cause);
		exit(EXIT_USAGE);
	}
	redis_url_format(&u, shown, sizeof shown);
	if (u.is_unix)
		c = redisConnectUnixWithTimeout(u.path, tv);
	else
		c = redisConnectWithTimeout(u.host, u.port, tv);
	if (c == NULL) {
		cmd_error("cannot connect to redis at %s: out of memory",
		    shown);
		exit(EXIT_FAIL);
	}
	if (c->err != 0)
		why = xstrdup(c->errstr);
	if (why == NULL) {
		tv.tv_sec = REDIS_COMMAND_TIMEOUT_SEC;
		redisSetTimeout(c, tv);
	}
	if (why == NULL && u.password[0] != '\0')
		why = redis_setup_command(c, "AUTH %s", u.password);
	if (why == NULL && u.db != 0) {
		snprintf(db, sizeof db, "%d", u.db);
		why = redis_setup_command(c, "SELECT %s", db);
	}
	if (why != NULL) {
		cmd_error("cannot connect to redis at %s: %s", shown, why);
		free(why);
		redisFree(c);
		exit(EXIT_FAIL);
	}
	return c;
}

void
redis_close(redisContext *c)
{
	if (c != NULL)
		redisFree(c);
}

void
redis_reply_free(redisReply *r)
{
	if (r != NULL)
		freeReplyObject(r);
}

/*
 * Run one command given as argc strings (lens NULL: NUL-terminated). Returns
 * the reply, which the caller frees, or NULL after printing why: the
 * connection failed or Redis answered with an error.
 */
redisReply *
redis_command(redisContext *c, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r;

	r = redisCommandArgv(c, argc, argv, lens);
	if (r == NULL) {
		cmd_error("redis: %s", c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		cmd_error("redis: %s", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* redis_command with the arguments as a NULL-terminated list of strings. */
redisReply *
redis_commandl(redisContext *c, ...)
{
	const char *argv[REDIS_ARGS_MAX];
	const char *s;
	va_list ap;
	int argc = 0;

	va_start(ap, c);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (argc == REDIS_ARGS_MAX)
			fatalx("redis_commandl: too many arguments");
		argv[argc++] = s;
	}
	va_end(ap);
	return redis_command(c, argc, argv, NULL);
}

/*
 * Run a script call built by a script_*_args builder (scripts.h) by SHA;
 * when this Redis has not seen it yet (NOSCRIPT, also after a restart or
 * SCRIPT FLUSH), send the source once with EVAL, which also caches it.
 * Returns the reply or NULL after printing why.
 */
redisReply *
redis_script(redisContext *c, const struct script_args *sa)
{
	const char *argv[3 + SCRIPT_ARGV_MAX];
	size_t lens[3 + SCRIPT_ARGV_MAX];
	char numkeys[16];
	redisReply *r;
	int argc = 0, i;

	snprintf(numkeys, sizeof numkeys, "%d", sa->nkeys);
	argv[argc++] = "EVALSHA";
	argv[argc++] = script_sha(sa->id);
	argv[argc++] = numkeys;
	for (i = 0; i < sa->argc; i++) {
		argv[argc] = sa->argv[i];
		lens[argc++] = sa->lens[i];
	}
	for (i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);

	r = redisCommandArgv(c, argc, argv, lens);
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		argv[0] = "EVAL";
		argv[1] = script_source(sa->id);
		lens[0] = 4;
		lens[1] = strlen(argv[1]);
		r = redisCommandArgv(c, argc, argv, lens);
	}
	if (r == NULL) {
		cmd_error("redis: %s", c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		cmd_error("redis: script %s: %s", script_name(sa->id), r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* "<prefix>room:{room}<suffix>", for the caller to free. */
char *
redis_key_room(const struct cmd_ctx *ctx, const char *room,
    const char *suffix)
{
	struct buf b;

	buf_init(&b);
	key_room(&b, ctx->prefix, room, suffix);
	return buf_detach(&b);
}

/* "<prefix>name", for the caller to free. */
char *
redis_key_plain(const struct cmd_ctx *ctx, const char *name)
{
	struct buf b;

	buf_init(&b);
	key_plain(&b, ctx->prefix, name);
	return buf_detach(&b);
}

/* 1 when the room's hash exists, 0 when not, -1 after printing an error. */
int
redis_room_exists(redisContext *c, const struct cmd_ctx *ctx,
    const char *room)
{
	redisReply *r;
	char *key;
	int found;

	key = redis_key_room(ctx, room, NULL);
	r = redis_commandl(c, "EXISTS", key, NULL);
	free(key);
	if (r == NULL)
		return -1;
	found = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return found;
}

/* The value of field in a flat HGETALL reply, or NULL. */
const char *
redis_hash_get(const redisReply *h, const char *field)
{
	size_t i;

	for (i = 0; i + 1 < h->elements; i += 2) {
		if (strcmp(h->element[i]->str, field) == 0)
			return h->element[i + 1]->str;
	}
	return NULL;
}

/*
 * Add every field of a flat HGETALL reply to the object o, in order: a
 * number when its name is in numeric (NULL-terminated), else a string.
 */
void
redis_hash_json(struct cJSON *o, const redisReply *h,
    const char *const *numeric)
{
	const char *const *f;
	const char *k, *v;
	size_t i;

	for (i = 0; i + 1 < h->elements; i += 2) {
		k = h->element[i]->str;
		v = h->element[i + 1]->str;
		for (f = numeric; *f != NULL && strcmp(*f, k) != 0; f++)
			;
		if (*f != NULL)
			cJSON_AddNumberToObject(o, k, strtod(v, NULL));
		else
			cJSON_AddStringToObject(o, k, v);
	}
}

/*
 * The frame of one stream entry ([id, [field, value, ...]]) as clients see
 * it: the seq first, then the stored frame's fields. Returns a string for
 * the caller to free, or NULL when the entry is not one roomd wrote.
 */
char *
redis_frame(const redisReply *entry)
{
	const redisReply *id, *fields;
	const char *f = NULL;
	size_t i;
	char *out;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2)
		return NULL;
	id = entry->element[0];
	fields = entry->element[1];
	if (id->type != REDIS_REPLY_STRING || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < fields->elements; i += 2) {
		if (strcmp(fields->element[i]->str, "f") == 0)
			f = fields->element[i + 1]->str;
	}
	if (f == NULL || f[0] != '{')
		return NULL;
	/* "{}" has no fields to follow the seq, so no comma either. */
	f++;
	f += strspn(f, " \t\r\n");
	xasprintf(&out, "{\"seq\":\"%s\"%s%s", id->str, *f == '}' ? "" : ",",
	    f);
	return out;
}

/*
 * Append one event frame (body: its fields after ts, each with a leading
 * comma) to room through the append script, the room having to exist.
 * On success *seq is the new frame's seq for the caller to free. Returns
 * 0, EXIT_NOTFOUND (after saying so) or EXIT_FAIL.
 */
int
redis_append(redisContext *c, const struct cmd_ctx *ctx, const char *room,
    const char *body, char **seq)
{
	struct script_args sa;
	redisReply *r, *status;
	int rc = EXIT_FAIL;

	script_append_args(&sa, &(struct script_append){
		.prefix = ctx->prefix,
		.room = room,
		.maxlen = ROOMCTL_HISTORY,
		.ttl = ROOMCTL_ROOM_TTL,
		.type = "event",
		.body = body,
		.conn = NULL,		/* no membership needed */
		.noecho = 0,		/* roomctl is nobody's connection */
		.must_exist = 1,	/* never create a room by publishing */
	});
	r = redis_script(c, &sa);
	script_args_free(&sa);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[APPEND_R_STATUS]->type == REDIS_REPLY_STRING) {
		status = r->element[APPEND_R_STATUS];
		if (strcmp(status->str, "ok") == 0 &&
		    r->elements == APPEND_R_COUNT) {
			*seq = xstrdup(r->element[APPEND_R_SEQ]->str);
			rc = 0;
		} else if (strcmp(status->str, "not_found") == 0) {
			cmd_error("no room named '%s'", room);
			rc = EXIT_NOTFOUND;
		} else
			cmd_error("append script: %s", status->str);
	} else if (r != NULL)
		cmd_error("unexpected reply from the append script");
	redis_reply_free(r);
	return rc;
}
