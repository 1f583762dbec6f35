/*
 * roomctl.c owns roomctl's entry point: the global options, the
 * environment, and dispatch to a command from the table in cmd.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roomctl.h"

#define ROOMCTL_REDIS_DEFAULT DEFAULT_REDIS
#define ROOMCTL_PREFIX_DEFAULT DEFAULT_PREFIX

/* An environment variable, or NULL when unset or empty. */
static const char *
roomctl_getenv(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *entry;
	struct cmd_ctx ctx;
	int ch;

	/*
	 * Whatever shared/ code reports on roomctl's behalf (fatalx, running
	 * out of memory) comes out as "roomctl: what went wrong" (CLI.md).
	 */
	log_init("roomctl", LOG_LEVEL_INFO, LOG_FORMAT_CLI);

	/* A peer that hangs up must be an EPIPE from write, not a death. */
	signal(SIGPIPE, SIG_IGN);

	memset(&ctx, 0, sizeof ctx);
	ctx.redis = roomctl_getenv("ROOMCTL_REDIS");
	if (ctx.redis == NULL)
		ctx.redis = roomctl_getenv("ROOMD_REDIS");
	if (ctx.redis == NULL)
		ctx.redis = ROOMCTL_REDIS_DEFAULT;
	ctx.prefix = ROOMCTL_PREFIX_DEFAULT;
	ctx.tty = isatty(STDOUT_FILENO);

	/* "+": stop at the command, whose options are its own. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			ctx.redis = optarg;
			break;
		case 'p':
			ctx.prefix = optarg;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'h':
			cmd_usage(NULL, stdout);
			return EXIT_OK;
		case 'V':
			printf("roomctl %s (protocol %d)\n", ROOMD_VERSION,
			    ROOMD_PROTOCOL);
			return EXIT_OK;
		case ':':
			return cmd_usage_error(NULL, "%s needs an argument",
			    argv[optind - 1]);
		default:
			return cmd_usage_error(NULL, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cmd_usage_error(NULL, "missing command");
	if ((entry = cmd_find(argv[0])) == NULL)
		return cmd_usage_error(NULL, "unknown command '%s'", argv[0]);

	/* Commands parse their own options with getopt from the start. */
	optind = 0;
	return entry->exec(&ctx, argc, argv);
}
