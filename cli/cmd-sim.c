/*
 * cmd-sim.c owns `roomctl sim`: its options, and the choice between
 * scripted mode (sim-script.c, sim-run.c) and load mode (sim-load.c), which
 * share sim.c. Calls go one way: cmd-sim.c -> sim-run.c, sim-load.c ->
 * sim.c, wsclient.c.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roomctl.h"

#define SIM_CLIENTS_MAX 100000

/* The script language, for `roomctl sim --help`. */
static const char cmd_sim_help[] =
    "\n"
    "Every client runs SCRIPT, one step a line; '#' starts a comment at the\n"
    "start of a line or after a blank outside a JSON string. $i (client\n"
    "index from 0), $n (clients) and $room (--room, default sim) are\n"
    "substituted first; ${i} also works, $$ is a dollar.\n"
    "\n"
    "  connect [TOKEN]          open the WebSocket (implicit before the\n"
    "                           first step that needs it)\n"
    "  join ROOM [META_JSON]    wait for the reply; an error reply is kept\n"
    "                           for expect\n"
    "  match POOL SIZE [FILTER_JSON]\n"
    "                           wait for the reply as join does; $room is\n"
    "                           then the matched room in later lines\n"
    "  leave ROOM\n"
    "  publish ROOM EVENT [DATA_JSON]\n"
    "  state ROOM KEY VALUE_JSON\n"
    "  send FRAME               any raw text frame, JSON or not\n"
    "  send-binary TEXT         TEXT as a binary frame (extension)\n"
    "  stall DURATION           read nothing for DURATION: a slow consumer\n"
    "                           (extension)\n"
    "  expect TYPE [FIELD=VALUE ...] [within DURATION]\n"
    "                           wait (default 5s) for a frame of that type\n"
    "  poll FRAME_JSON until TYPE [FIELD=VALUE ...] [every D] [within D]\n"
    "                           send FRAME (a fresh ref each time) every D\n"
    "                           (100ms) until a reply to it, or a frame\n"
    "                           without ref, matches as in expect (5s)\n"
    "  sleep DURATION           250ms, 2s, 1.5s, 1m\n"
    "  barrier                  wait until every running client is here\n"
    "  disconnect               close with 1000\n"
    "\n"
    "In expect, FIELD is a dotted path (data.hero, members.0.conn) and\n"
    "VALUE matches the field's JSON or, for a string, its text. Extensions:\n"
    "FIELD!=VALUE (absent or different), FIELD=* (present), TYPE * (any\n"
    "type). A refused upgrade is the frame\n"
    "{\"type\":\"refused\",\"status\":N}, a close from the server\n"
    "{\"type\":\"close\",\"code\":N,\"reason\":R}.\n"
    "\n"
    "Exit status: 0 every client finished, 1 a step failed, 2 usage or\n"
    "script error (nothing connected).\n";

/* Split a comma-separated list of URLs onto the end of o->urls. */
static void
cmd_sim_add_urls(struct sim_opts *o, const char *list)
{
	const char *p = list, *comma;
	size_t n;

	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n > 0) {
			o->urls = xrealloc(o->urls,
			    (o->nurls + 1) * sizeof *o->urls);
			o->urls[o->nurls++] = xstrndup(p, n);
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static void
cmd_sim_free(struct sim_opts *o)
{
	size_t i;

	for (i = 0; i < o->nurls; i++)
		free(o->urls[i]);
	free(o->urls);
}

/* Parse the options into o; returns 0 or an exit status after an error. */
static int
cmd_sim_parse(struct sim_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "clients", required_argument, NULL, 'c' },
		{ "room", required_argument, NULL, 'R' },
		{ "token", required_argument, NULL, 't' },
		{ "transcript", required_argument, NULL, 'T' },
		{ "rooms", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = &cmd_sim_entry;
	const char *env;
	uint64_t v;
	char *end;
	int ch, load = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			cmd_sim_add_urls(o, optarg);
			break;
		case 'c':
			if (parse_uint(optarg, 1, SIM_CLIENTS_MAX, &v) != 0)
				return cmd_usage_error(e, "sim: --clients "
				    "must be 1 to %d", SIM_CLIENTS_MAX);
			o->clients = (unsigned)v;
			break;
		case 'R':
			o->room = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'T':
			o->transcript = optarg;
			break;
		case 'm':
			if (parse_uint(optarg, 1, 1000000, &v) != 0)
				return cmd_usage_error(e, "sim: --rooms "
				    "must be 1 to 1000000");
			o->rooms = (unsigned)v;
			load = 1;
			break;
		case 'r':
			o->rate = strtod(optarg, &end);
			/* 0: connect, join and stay idle (memory). */
			if (end == optarg || *end != '\0' ||
			    !isfinite(o->rate) || o->rate < 0)
				return cmd_usage_error(e, "sim: --rate must "
				    "be a number >= 0");
			load = 1;
			break;
		case 'd':
			if (parse_duration_ms(optarg, &o->duration_ms) != 0 ||
			    o->duration_ms == 0)
				return cmd_usage_error(e, "sim: bad "
				    "--duration '%s'", optarg);
			load = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			cmd_usage(e, stdout);
			fputs(cmd_sim_help, stdout);
			return EXIT_OK;
		case ':':
			return cmd_usage_error(e, "sim: %s needs an argument",
			    argv[optind - 1]);
		default:
			return cmd_usage_error(e, "sim: unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error(e, "sim: one SCRIPT at most");
	if (argc - optind == 1)
		o->script = argv[optind];
	if (o->script != NULL && load)
		return cmd_usage_error(e, "sim: --rooms, --rate and "
		    "--duration are for load mode, without a SCRIPT");
	if (o->script == NULL && !load)
		return cmd_usage_error(e, "sim: missing SCRIPT");
	if (o->script == NULL && (o->rooms == 0 || o->duration_ms == 0 ||
	    o->rate < 0))
		return cmd_usage_error(e, "sim: load mode needs --rooms, "
		    "--rate and --duration");

	if (o->nurls == 0) {
		env = getenv("ROOMCTL_URL");
		cmd_sim_add_urls(o, env != NULL && *env != '\0' ? env :
		    DEFAULT_WS_URL);
	}
	if (o->nurls == 0)
		return cmd_usage_error(e, "sim: no URL");
	return -1;
}

static int
cmd_sim_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct sim_opts o;
	struct sim_script script;
	char *cause;
	int rc;

	memset(&o, 0, sizeof o);
	o.clients = 1;
	o.room = "sim";
	o.rate = -1;		/* load mode: --rate is required */
	o.json = ctx->json;
	if ((rc = cmd_sim_parse(&o, argc, argv)) != -1) {
		cmd_sim_free(&o);
		return rc;
	}
	if (o.script == NULL) {
		rc = sim_load(&o);
		cmd_sim_free(&o);
		return rc;
	}
	if (sim_script_load(&script, o.script, &cause) != 0) {
		cmd_error("sim: %s", cause);
		free(cause);
		cmd_sim_free(&o);
		return EXIT_FAIL;
	}
	rc = sim_run(&o, &script);
	sim_script_free(&script);
	cmd_sim_free(&o);
	return rc;
}

const struct cmd_entry cmd_sim_entry = {
	.name = "sim",
	.args = "[--url URL[,URL...]] [--clients N] [--room ROOM]\n"
	    "                   [--token TOKEN] [--transcript FILE] SCRIPT\n"
	    "       roomctl sim [--url URL[,URL...]] --clients N --rooms R\n"
	    "                   --rate X --duration SECS [--json]",
	.summary = "run simulated clients over WebSocket, from a script "
	    "or as load",
	.options = "--url --clients --room --token --transcript --rooms "
	    "--rate --duration --json",
	.exec = cmd_sim_exec,
};
