/* cmd-help.c owns `roomctl help`: the command list, or one command's usage. */
#include <stdio.h>
#include <string.h>

#include "roomctl.h"

static int
cmd_help_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry **e, *entry;

	(void)ctx;
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		cmd_usage(&cmd_help_entry, stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cmd_usage_error(&cmd_help_entry,
		    "help: unexpected argument '%s'", argv[2]);
	if (argc == 2) {
		if ((entry = cmd_find(argv[1])) == NULL)
			return cmd_usage_error(&cmd_help_entry,
			    "help: unknown command '%s'", argv[1]);
		cmd_usage(entry, stdout);
		printf("%s\n", entry->summary);
		return EXIT_OK;
	}

	printf("usage: roomctl [--redis URL | --redis-cluster HOST:PORT[,...]] "
	    "[--redis-password P] [--prefix P] [--json] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (e = cmd_table; *e != NULL; e++)
		printf("  %-10s %s\n", (*e)->name, (*e)->summary);
	printf("\n'roomctl help COMMAND' shows a command's arguments.\n");
	return EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.args = "[COMMAND]",
	.summary = "list the commands, or show one command's usage",
	.options = "",
	.exec = cmd_help_exec,
};
