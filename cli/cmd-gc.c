/*
 * cmd-gc.c owns `roomctl gc`: cleaning up after dead nodes and rooms whose
 * keys are gone.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

static long long
gc_int(const redisReply *r)
{
	return r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

static const char *
gc_plural(long long n)
{
	return n == 1 ? "" : "s";
}

static int
cmd_gc_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = &cmd_gc_entry;
	struct script_args sa;
	redisContext *c;
	redisReply *r, *dead;
	cJSON *out, *arr;
	long long removed, closed, dropped;
	char *text;
	size_t i;
	int opt;

	if ((opt = cmd_options_only(ctx, e, argc, argv)) != CMD_OPTION_DONE)
		return opt;

	c = redis_open(ctx);
	script_gc_args(&sa, &(struct script_gc){
		.prefix = ctx->prefix,
		.maxlen = ROOMCTL_HISTORY,
		.ttl = ROOMCTL_ROOM_TTL,
		.empty_ttl = ROOMCTL_EMPTY_TTL,
		.sweep = 1,	/* stale index entries too */
	});
	r = redis_script(c, &sa);
	script_args_free(&sa);
	redis_close(c);
	if (r == NULL)
		return EXIT_FAIL;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != GC_R_COUNT ||
	    r->element[GC_R_DEAD]->type != REDIS_REPLY_ARRAY) {
		cmd_error("unexpected reply from the gc script");
		redis_reply_free(r);
		return EXIT_FAIL;
	}
	dead = r->element[GC_R_DEAD];
	removed = gc_int(r->element[GC_R_REMOVED]);
	closed = gc_int(r->element[GC_R_CLOSED]);
	dropped = gc_int(r->element[GC_R_DROPPED]);
	if (ctx->json) {
		out = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(out, "dead_nodes");
		for (i = 0; i < dead->elements; i++)
			cJSON_AddItemToArray(arr,
			    cJSON_CreateString(dead->element[i]->str));
		cJSON_AddNumberToObject(out, "members_removed",
		    (double)removed);
		cJSON_AddNumberToObject(out, "rooms_closed", (double)closed);
		cJSON_AddNumberToObject(out, "index_entries_dropped",
		    (double)dropped);
		text = cJSON_PrintUnformatted(out);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(out);
	} else {
		printf("%zu dead node%s", dead->elements,
		    gc_plural((long long)dead->elements));
		for (i = 0; i < dead->elements; i++)
			printf("%s%s", i == 0 ? " (" : ", ",
			    dead->element[i]->str);
		printf("%s, %lld member%s removed, %lld room%s closed, "
		    "%lld index entr%s dropped\n",
		    dead->elements > 0 ? ")" : "",
		    removed, gc_plural(removed), closed, gc_plural(closed),
		    dropped, dropped == 1 ? "y" : "ies");
	}
	redis_reply_free(r);
	return stdout_flush();
}

const struct cmd_entry cmd_gc_entry = {
	.name = "gc",
	.args = "[--json]",
	.summary = "remove members of dead nodes and stale room index entries",
	.options = "--json",
	.exec = cmd_gc_exec,
};
