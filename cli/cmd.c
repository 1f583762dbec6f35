/*
 * cmd.c owns roomctl's command table, which drives dispatch, usage text and
 * `roomctl help`, and the helpers commands use to report errors.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "roomctl.h"

/* Every command, in the order `roomctl help` lists them: one line each. */
const struct cmd_entry *cmd_table[] = {
	&cmd_help_entry,
	&cmd_version_entry,
	&cmd_nodes_entry,
	&cmd_rooms_entry,
	&cmd_inspect_entry,
	&cmd_evict_entry,
	&cmd_replay_entry,
	&cmd_publish_entry,
	&cmd_gc_entry,
	&cmd_webhooks_entry,
	&cmd_sim_entry,
	&cmd_token_entry,
	NULL
};

/* The command named exactly name, or NULL. */
const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry **e;

	for (e = cmd_table; *e != NULL; e++) {
		if (strcmp((*e)->name, name) == 0)
			return *e;
	}
	return NULL;
}

/* Print a command's usage line, or roomctl's own when entry is NULL. */
void
cmd_usage(const struct cmd_entry *entry, FILE *f)
{
	const struct cmd_entry **e;

	if (entry != NULL) {
		fprintf(f, "usage: roomctl %s%s%s\n", entry->name,
		    *entry->args != '\0' ? " " : "", entry->args);
		return;
	}
	fprintf(f, "usage: roomctl [--redis URL | --redis-cluster "
	    "HOST:PORT[,...]] [--redis-password P] [--prefix P] [--json] "
	    "COMMAND [ARGS]\ncommands:");
	for (e = cmd_table; *e != NULL; e++)
		fprintf(f, " %s", (*e)->name);
	fprintf(f, "\n");
}

/* Print "roomctl: " and the message as one line on stderr. */
static void
cmd_verror(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "roomctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}

/* Report a usage error and the usage on stderr; returns EXIT_USAGE. */
int
cmd_usage_error(const struct cmd_entry *entry, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_verror(fmt, ap);
	va_end(ap);
	cmd_usage(entry, stderr);
	return EXIT_USAGE;
}

/* Report an error on stderr as one line: "roomctl: what went wrong". */
void
cmd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_verror(fmt, ap);
	va_end(ap);
}

/*
 * The options every command shares, for the default case of its getopt
 * switch: --json (its long option maps to 'j'), -h, a missing argument and
 * an unknown option. Returns CMD_OPTION_DONE to go on parsing, or the
 * exit status the command must return.
 */
int
cmd_option(struct cmd_ctx *ctx, const struct cmd_entry *e, int ch,
    char **argv)
{
	switch (ch) {
	case 'j':
		ctx->json = 1;
		return CMD_OPTION_DONE;
	case 'h':
		cmd_usage(e, stdout);
		return EXIT_OK;
	case ':':
		return cmd_usage_error(e, "%s: %s needs an argument", e->name,
		    argv[optind - 1]);
	default:
		return cmd_usage_error(e, "%s: unknown option %s", e->name,
		    argv[optind - 1]);
	}
}

/*
 * The whole option parsing of a command that takes nothing but --json and
 * -h. Returns CMD_OPTION_DONE, or the exit status the command must return.
 */
int
cmd_options_only(struct cmd_ctx *ctx, const struct cmd_entry *e, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if ((rc = cmd_option(ctx, e, ch, argv)) != CMD_OPTION_DONE)
			return rc;
	}
	if (optind != argc)
		return cmd_usage_error(e, "%s: unexpected argument '%s'",
		    e->name, argv[optind]);
	return CMD_OPTION_DONE;
}

/*
 * After getopt: the command's one operand, a valid room id, in *room.
 * Returns CMD_OPTION_DONE, or the exit status after a usage error.
 */
int
cmd_room_operand(const struct cmd_entry *e, int argc, char **argv,
    const char **room)
{
	if (optind == argc)
		return cmd_usage_error(e, "%s: missing ROOM", e->name);
	if (argc - optind > 1)
		return cmd_usage_error(e, "%s: unexpected argument '%s'",
		    e->name, argv[optind + 1]);
	*room = argv[optind];
	if (!id_valid(*room, strlen(*room)))
		return cmd_usage_error(e, "%s: bad room id '%s'", e->name,
		    *room);
	return CMD_OPTION_DONE;
}
