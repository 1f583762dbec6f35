/* cmd-version.c owns `roomctl version`: the version and protocol spoken. */
#include <stdio.h>
#include <string.h>

#include "roomctl.h"

static int
cmd_version_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		cmd_usage(&cmd_version_entry, stdout);
		return EXIT_OK;
	}
	if (argc != 1)
		return cmd_usage_error(&cmd_version_entry,
		    "version: unexpected argument '%s'", argv[1]);
	if (ctx->json)
		printf("{\"version\":\"%s\",\"protocol\":%d}\n", ROOMD_VERSION,
		    ROOMD_PROTOCOL);
	else
		printf("roomctl %s (protocol %d)\n", ROOMD_VERSION,
		    ROOMD_PROTOCOL);
	return EXIT_OK;
}

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.args = "",
	.summary = "print roomctl's version and protocol",
	.options = "",
	.exec = cmd_version_exec,
};
