/*
 * cmd-webhooks.c owns `roomctl webhooks`: the webhook queue as an operator
 * needs it (BACKEND.md, REDIS.md roomd:webhooks): how many notices wait,
 * how old the oldest is, which node delivers, and since when delivery has
 * been failing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

/* The value of field in a flat reply of field, value pairs, or NULL. */
static const redisReply *
webhooks_field(const redisReply *h, const char *field)
{
	if (h == NULL || h->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(h->element[i]->str, field) == 0)
			return h->element[i + 1];
	}
	return NULL;
}

static long long
webhooks_int(const redisReply *r)
{
	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return atoll(r->str);
	return 0;
}

/* The queue's numbers, summed over its streams. */
struct webhooks_queue {
	long long depth;		/* notices in the streams */
	long long added;		/* ever queued */
	long long pending;		/* read by a deliverer, not acked */
	long long oldest;		/* ms of the oldest first entry; 0 */
};

/*
 * Add one stream's numbers to q. A stream that is not there adds nothing:
 * not made yet, or (a cluster's) retired meanwhile, and XINFO would answer
 * an error for it. (One retired between EXISTS and XINFO, a window of a
 * round trip after 10 idle seconds, prints that error and adds nothing.)
 * Returns -1 after an error is printed when Redis could not be asked.
 */
static int
webhooks_stream(redisContext *c, const char *key, struct webhooks_queue *q)
{
	redisReply *ex, *info = NULL, *groups = NULL;
	const redisReply *f;
	long long first;

	if ((ex = redis_commandl(c, "EXISTS", key, NULL)) == NULL)
		return -1;
	if (ex->type == REDIS_REPLY_INTEGER && ex->integer == 1) {
		info = redis_commandl(c, "XINFO", "STREAM", key, NULL);
		groups = redis_commandl(c, "XINFO", "GROUPS", key, NULL);
	}
	redis_reply_free(ex);
	if (info != NULL && info->type == REDIS_REPLY_ARRAY) {
		q->depth += webhooks_int(webhooks_field(info, "length"));
		q->added += webhooks_int(webhooks_field(info,
		    "entries-added"));
		f = webhooks_field(info, "first-entry");
		if (f != NULL && f->type == REDIS_REPLY_ARRAY &&
		    f->elements > 0 &&
		    f->element[0]->type == REDIS_REPLY_STRING) {
			first = atoll(f->element[0]->str);
			if (first > 0 && (q->oldest == 0 || first < q->oldest))
				q->oldest = first;
		}
	}
	if (groups != NULL && groups->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < groups->elements; i++)
			q->pending += webhooks_int(webhooks_field(
			    groups->element[i], "pending"));
	}
	redis_reply_free(info);
	redis_reply_free(groups);
	return 0;
}

/*
 * A cluster's queue: a stream per slot that has had notices, each listed
 * in <prefix>webhooks:streams by the writer that made it (roomd or
 * roomctl, scripts.c script_add_notices). The deliverer retires a stream
 * that stays empty and adds what it had ever queued to
 * <prefix>webhooks:retired, so queued_total does not go back. Returns -1
 * after an error is printed.
 */
static int
webhooks_cluster(redisContext *c, const struct cmd_ctx *ctx,
    struct webhooks_queue *q)
{
	redisReply *list, *retired;
	char *k_streams, *k_retired;
	int rc = 0;

	k_streams = redis_key_plain(ctx, "webhooks:streams");
	k_retired = redis_key_plain(ctx, "webhooks:retired");
	/* One error printed, not one for each key. */
	list = redis_commandl(c, "SMEMBERS", k_streams, NULL);
	retired = list != NULL ? redis_commandl(c, "GET", k_retired, NULL) :
	    NULL;
	if (list == NULL || retired == NULL)
		rc = -1;
	else {
		for (size_t i = 0; rc == 0 && list->type ==
		    REDIS_REPLY_ARRAY && i < list->elements; i++)
			if (list->element[i]->type == REDIS_REPLY_STRING)
				rc = webhooks_stream(c, list->element[i]->str,
				    q);
		q->added += webhooks_int(retired);	/* nil: none */
	}
	redis_reply_free(list);
	redis_reply_free(retired);
	free(k_streams);
	free(k_retired);
	return rc;
}

static int
cmd_webhooks_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = &cmd_webhooks_entry;
	redisContext *c;
	redisReply *status = NULL, *lease = NULL, *cfgv = NULL;
	const redisReply *f;
	struct webhooks_queue q = { 0 };
	char *k_stream, *k_status, *k_lease, *k_cfg, *text, age[32];
	long long failing = 0;
	const char *deliverer = NULL, *last_error = NULL, *events = NULL;
	uint64_t now = time_ms();
	cJSON *o;
	int opt, rc = EXIT_OK;

	if ((opt = cmd_options_only(ctx, e, argc, argv)) != CMD_OPTION_DONE)
		return opt;
	c = redis_open(ctx);
	k_stream = redis_key_plain(ctx, "webhooks");
	k_status = redis_key_plain(ctx, "webhooks:status");
	k_lease = redis_key_plain(ctx, "webhooks:lease");
	k_cfg = redis_key_plain(ctx, "webhooks:cfg");
	/* A cluster's scripts cannot all reach one stream: each slot has
	 * its own. No stream yet is an empty queue. */
	if ((ctx->redis_cluster != NULL ? webhooks_cluster(c, ctx, &q) :
	    webhooks_stream(c, k_stream, &q)) != 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	status = redis_commandl(c, "HGETALL", k_status, NULL);
	lease = redis_commandl(c, "GET", k_lease, NULL);
	cfgv = redis_commandl(c, "GET", k_cfg, NULL);
	if (status == NULL || lease == NULL || cfgv == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	if (lease->type == REDIS_REPLY_STRING)
		deliverer = lease->str;
	if (cfgv->type == REDIS_REPLY_STRING)
		events = cfgv->str + 1;		/* after the '=' */
	failing = webhooks_int(webhooks_field(status, "failing_since"));
	f = webhooks_field(status, "last_error");
	if (failing > 0 && f != NULL && f->type == REDIS_REPLY_STRING)
		last_error = f->str;

	if (ctx->json) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "enabled", events != NULL);
		if (events != NULL)
			cJSON_AddStringToObject(o, "events", events);
		else
			cJSON_AddNullToObject(o, "events");
		cJSON_AddNumberToObject(o, "depth", (double)q.depth);
		cJSON_AddNumberToObject(o, "pending", (double)q.pending);
		cJSON_AddNumberToObject(o, "queued_total", (double)q.added);
		if (q.oldest > 0)
			cJSON_AddNumberToObject(o, "oldest_age_ms",
			    (double)((long long)now > q.oldest ?
			    (long long)now - q.oldest : 0));
		else
			cJSON_AddNullToObject(o, "oldest_age_ms");
		if (deliverer != NULL)
			cJSON_AddStringToObject(o, "deliverer", deliverer);
		else
			cJSON_AddNullToObject(o, "deliverer");
		if (failing > 0) {
			cJSON_AddNumberToObject(o, "failing_since",
			    (double)failing);
			cJSON_AddStringToObject(o, "last_error",
			    last_error != NULL ? last_error : "");
		} else {
			cJSON_AddNullToObject(o, "failing_since");
			cJSON_AddNullToObject(o, "last_error");
		}
		text = cJSON_PrintUnformatted(o);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(o);
	} else {
		printf("enabled     %s", events != NULL ? "yes" : "no");
		if (events != NULL)
			printf(" (events: %s)", *events != '\0' ? events :
			    "none");
		printf("\ndepth       %lld\npending     %lld\nqueued      %lld\n",
		    q.depth, q.pending, q.added);
		if (q.oldest > 0) {
			fmt_age_ms(age, sizeof age,
			    (long long)now > q.oldest ?
			    now - (uint64_t)q.oldest : 0);
			printf("oldest      %s\n", age);
		} else
			printf("oldest      -\n");
		printf("deliverer   %s\n", deliverer != NULL ? deliverer : "-");
		if (failing > 0) {
			fmt_age_ms(age, sizeof age, (long long)now > failing ?
			    now - (uint64_t)failing : 0);
			printf("failing     since %s ago: %s\n", age,
			    last_error != NULL ? last_error : "?");
		} else
			printf("failing     no\n");
	}
out:
	redis_reply_free(status);
	redis_reply_free(lease);
	redis_reply_free(cfgv);
	free(k_stream);
	free(k_status);
	free(k_lease);
	free(k_cfg);
	redis_close(c);
	if (rc == EXIT_OK)
		rc = stdout_flush();
	return rc;
}

const struct cmd_entry cmd_webhooks_entry = {
	.name = "webhooks",
	.args = "[--json]",
	.summary = "show the webhook queue: depth, oldest notice, deliverer, "
	    "failures",
	.options = "--json",
	.exec = cmd_webhooks_exec,
};
