/*
 * cmd-nodes.c owns `roomctl nodes`: the live roomd nodes and what they
 * report about themselves.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

/* Node hash fields that hold numbers; the rest are strings. */
static const char *const nodes_numeric[] = {
	"pid", "started_at", "conns", "rooms", NULL
};

static int
nodes_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add one node's row: the uptime comes from started_at and our clock. */
static void
nodes_row(struct table *t, const char *id, const redisReply *h, uint64_t now)
{
	const char *started;
	uint64_t ms;
	char uptime[32];

	started = redis_hash_get(h, "started_at");
	if (started != NULL && parse_uint(started, 1, UINT64_MAX, &ms) == 0)
		fmt_age_ms(uptime, sizeof uptime, now > ms ? now - ms : 0);
	else
		snprintf(uptime, sizeof uptime, "-");
	table_add(t, id, redis_hash_get(h, "addr"), redis_hash_get(h, "conns"),
	    redis_hash_get(h, "rooms"), uptime, redis_hash_get(h, "version"));
}

/* One node as {"id":..., fields...}, numbers where the field is numeric. */
static cJSON *
nodes_json(const char *id, const redisReply *h)
{
	cJSON *o;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	redis_hash_json(o, h, nodes_numeric);
	return o;
}

static int
cmd_nodes_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = &cmd_nodes_entry;
	redisContext *c;
	redisReply *ids, *h;
	struct table t;
	cJSON *arr = NULL;
	const char **sorted = NULL;
	char *set, *key, *text;
	uint64_t now;
	size_t i, n = 0;
	int opt, rc = EXIT_OK;

	if ((opt = cmd_options_only(ctx, e, argc, argv)) != CMD_OPTION_DONE)
		return opt;

	c = redis_open(ctx);
	set = redis_key_plain(ctx, "nodes");
	ids = redis_commandl(c, "SMEMBERS", set, NULL);
	free(set);
	if (ids == NULL) {
		redis_close(c);
		return EXIT_FAIL;
	}
	/* Sorted, so the output is stable from one run to the next. */
	sorted = xcalloc(ids->elements + 1, sizeof *sorted);
	for (i = 0; i < ids->elements; i++)
		sorted[i] = ids->element[i]->str;
	qsort(sorted, ids->elements, sizeof *sorted, nodes_cmp);

	now = time_ms();
	if (ctx->json)
		arr = cJSON_CreateArray();
	else
		table_init(&t, 6, "ID", "ADDR", "CONNS", "ROOMS", "UPTIME",
		    "VERSION");
	for (i = 0; i < ids->elements; i++) {
		xasprintf(&key, "%snode:%s", ctx->prefix, sorted[i]);
		h = redis_commandl(c, "HGETALL", key, NULL);
		free(key);
		if (h == NULL) {
			rc = EXIT_FAIL;
			break;
		}
		/* An id whose heartbeat key expired is a dead node: skip it. */
		if (h->type == REDIS_REPLY_ARRAY && h->elements > 0) {
			if (ctx->json)
				cJSON_AddItemToArray(arr,
				    nodes_json(sorted[i], h));
			else
				nodes_row(&t, sorted[i], h, now);
			n++;
		}
		redis_reply_free(h);
	}
	if (rc == EXIT_OK && ctx->json) {
		text = cJSON_PrintUnformatted(arr);
		printf("%s\n", text);
		free(text);
	} else if (rc == EXIT_OK) {
		if (n > 0)
			table_print(&t, stdout);
		else
			printf("no live nodes\n");
	}
	if (ctx->json)
		cJSON_Delete(arr);
	else
		table_free(&t);
	free(sorted);
	redis_reply_free(ids);
	redis_close(c);
	if (rc == EXIT_OK)
		rc = stdout_flush();
	return rc;
}

const struct cmd_entry cmd_nodes_entry = {
	.name = "nodes",
	.args = "[--json]",
	.summary = "list live roomd nodes: address, connections, rooms, uptime",
	.options = "--json",
	.exec = cmd_nodes_exec,
};
