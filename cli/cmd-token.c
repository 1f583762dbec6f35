/*
 * cmd-token.c owns `roomctl token`: minting an HS256 token for roomd's
 * --auth-secret, for operators testing a front end and for roomd's tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roomctl.h"

/* Append "name":[...] from a comma-separated list of patterns. */
static void
token_patterns(struct buf *b, const char *name, const char *list)
{
	const char *p = list, *comma;
	int first = 1;

	buf_printf(b, ",\"%s\":[", name);
	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		if (comma > p) {
			if (!first)
				buf_addc(b, ',');
			json_add_string(b, p, (size_t)(comma - p));
			first = 0;
		}
		p = *comma == ',' ? comma + 1 : comma;
	}
	buf_addc(b, ']');
}

/* The secret from a file, without its trailing newlines. Caller frees. */
static char *
token_read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[512];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	while (b.len > 0 && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
		b.p[--b.len] = '\0';
	return buf_detach(&b);
}

static int
cmd_token_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = &cmd_token_entry;
	const char *sub = NULL, *secret = NULL, *file = NULL, *rooms = NULL;
	const char *publish = NULL, *ttl_s = "1h";
	char *owned = NULL, *tok;
	uint64_t ttl_ms;
	int admin = 0, i;
	struct buf payload;

	(void)ctx;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cmd_usage(e, stdout);
			return EXIT_OK;
		}
		if (strcmp(a, "--admin") == 0) {
			admin = 1;
			continue;
		}
		if (strcmp(a, "--sub") == 0)
			dst = &sub;
		else if (strcmp(a, "--secret") == 0)
			dst = &secret;
		else if (strcmp(a, "--secret-file") == 0)
			dst = &file;
		else if (strcmp(a, "--rooms") == 0)
			dst = &rooms;
		else if (strcmp(a, "--publish") == 0)
			dst = &publish;
		else if (strcmp(a, "--ttl") == 0)
			dst = &ttl_s;
		else
			return cmd_usage_error(e, "token: unknown option '%s'", a);
		if (i + 1 >= argc)
			return cmd_usage_error(e, "token: %s needs a value", a);
		*dst = argv[++i];
	}
	if (sub == NULL || *sub == '\0')
		return cmd_usage_error(e, "token: --sub is required");
	if (parse_duration_ms(ttl_s, &ttl_ms) != 0)
		return cmd_usage_error(e, "token: bad --ttl '%s'", ttl_s);
	if (secret != NULL && file != NULL)
		return cmd_usage_error(e,
		    "token: give --secret or --secret-file, not both");
	if (file != NULL) {
		if ((owned = token_read_secret(file)) == NULL) {
			cmd_error("token: cannot read %s", file);
			return EXIT_FAIL;
		}
		secret = owned;
	}
	if (secret == NULL)
		secret = getenv("ROOMD_AUTH_SECRET");
	if (secret == NULL || *secret == '\0') {
		free(owned);
		return cmd_usage_error(e, "token: no secret: give --secret, "
		    "--secret-file or ROOMD_AUTH_SECRET");
	}

	buf_init(&payload);
	buf_adds(&payload, "{\"sub\":");
	json_add_string(&payload, sub, strlen(sub));
	buf_printf(&payload, ",\"iat\":%llu,\"exp\":%llu",
	    (unsigned long long)(time_ms() / 1000),
	    (unsigned long long)((time_ms() + ttl_ms) / 1000));
	if (rooms != NULL)
		token_patterns(&payload, "rooms", rooms);
	if (publish != NULL)
		token_patterns(&payload, "publish", publish);
	if (admin)
		buf_adds(&payload, ",\"admin\":true");
	buf_addc(&payload, '}');
	tok = jwt_sign(payload.p, secret, strlen(secret));
	printf("%s\n", tok);
	free(tok);
	buf_free(&payload);
	free(owned);
	return EXIT_OK;
}

const struct cmd_entry cmd_token_entry = {
	.name = "token",
	.args = "--sub USER [--secret S | --secret-file F] [--ttl DURATION] "
	    "[--rooms P,...] [--publish P,...] [--admin]",
	.summary = "mint an HS256 token for roomd's --auth-secret",
	.options = "--sub --secret --secret-file --ttl --rooms --publish "
	    "--admin",
	.exec = cmd_token_exec,
};
