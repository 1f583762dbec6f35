/*
 * cmd-publish.c owns `roomctl publish`: writing an event frame into a room
 * as roomctl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

/* roomd's default --max-frame: larger data would not reach its clients. */
#define PUBLISH_DATA_MAX 65536

/* 1 when s is a whole JSON number, such as DATA "-5" (not an option). */
static int
publish_is_number(const char *s)
{
	cJSON *j;
	int yes;

	j = cJSON_ParseWithOpts(s, NULL, 1);
	yes = cJSON_IsNumber(j);
	cJSON_Delete(j);
	return yes;
}

/*
 * DATA as one line of JSON, the way roomd passes a client's data on: as
 * written less its whitespace (shared/jsonscan.c), printed from cJSON's
 * reading where only cJSON calls it JSON, or, when it is not JSON, as a
 * JSON string. Caller frees.
 */
static char *
publish_data(const char *s)
{
	struct buf b;
	cJSON *j;
	char *out;

	if (s == NULL)
		return xstrdup("null");
	if ((j = cJSON_ParseWithOpts(s, NULL, 1)) != NULL) {
		out = json_value_text(s, strlen(s), j);
		cJSON_Delete(j);
		return out;
	}
	buf_init(&b);
	json_add_string(&b, s, strlen(s));
	return buf_detach(&b);
}

static int
cmd_publish_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = &cmd_publish_entry;
	const char *pos[3], *a;
	redisContext *c;
	struct buf body;
	char *data, *seq = NULL;
	int i, npos = 0, options = 1, rc;

	/*
	 * By hand rather than getopt: DATA may be a negative number, which
	 * getopt would take for an option. "--" ends the options too.
	 */
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (options && strcmp(a, "--") == 0)
			options = 0;
		else if (options && strcmp(a, "--json") == 0)
			ctx->json = 1;
		else if (options && (strcmp(a, "-h") == 0 ||
		    strcmp(a, "--help") == 0)) {
			cmd_usage(e, stdout);
			return EXIT_OK;
		} else if (options && a[0] == '-' && a[1] != '\0' &&
		    !publish_is_number(a))
			return cmd_usage_error(e, "publish: unknown option %s",
			    a);
		else if (npos == 3)
			return cmd_usage_error(e, "publish: unexpected "
			    "argument '%s'", a);
		else
			pos[npos++] = a;
	}
	if (npos < 2)
		return cmd_usage_error(e, "publish: missing %s",
		    npos == 0 ? "ROOM and EVENT" : "EVENT");
	if (!id_valid(pos[0], strlen(pos[0])))
		return cmd_usage_error(e, "publish: bad room id '%s'", pos[0]);
	if (!id_valid(pos[1], strlen(pos[1])))
		return cmd_usage_error(e, "publish: bad event name '%s'",
		    pos[1]);
	data = publish_data(npos == 3 ? pos[2] : NULL);
	if (strlen(data) > PUBLISH_DATA_MAX) {
		free(data);
		return cmd_usage_error(e, "publish: DATA is over %d bytes",
		    PUBLISH_DATA_MAX);
	}

	/* from first, as in frames roomd writes: nodes look for from.conn. */
	buf_init(&body);
	buf_printf(&body, ",\"from\":{\"conn\":null,\"user\":\"roomctl\"},"
	    "\"event\":\"%s\",\"data\":%s", pos[1], data);
	free(data);
	c = redis_open(ctx);
	rc = redis_append(c, ctx, pos[0], body.p, &seq);
	buf_free(&body);
	redis_close(c);
	if (rc != 0)
		return rc;
	if (ctx->json)
		printf("{\"room\":\"%s\",\"seq\":\"%s\"}\n", pos[0], seq);
	else
		printf("%s\n", seq);
	free(seq);
	return stdout_flush();
}

const struct cmd_entry cmd_publish_entry = {
	.name = "publish",
	.args = "ROOM EVENT [DATA] [--json]",
	.summary = "write an event frame into a room as roomctl",
	.options = "--json",
	.exec = cmd_publish_exec,
};
