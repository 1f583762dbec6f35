/*
 * cmd-replay.c owns `roomctl replay`: a room's history as JSON lines,
 * followed live or published again into another room.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "roomctl.h"

/* History is read this many entries at a time, to bound memory. */
#define REPLAY_PAGE 500
#define REPLAY_COUNT_MAX 100000000
/*
 * --follow blocks this long in XREAD: short enough that SIGINT, which
 * hiredis retries through, ends roomctl within a second.
 */
#define REPLAY_BLOCK_MS "1000"
/* Longest nap while waiting for a republished frame's time. */
#define REPLAY_NAP_MS 200

struct replay {
	struct cmd_ctx *ctx;
	redisContext *c;
	const char *room;
	char *events;			/* the room's stream key, ours */
	const char *since;		/* exclusive, or NULL */
	const char *until;		/* inclusive, or NULL */
	uint64_t count;			/* 0: everything */
	int follow;
	const char *into;		/* republish into this room, or NULL */
	double speed;			/* 0: as fast as possible */
	char last[64];			/* the last entry id seen */

	/* --into: each copy is written its frame's gap after the last. */
	int started;
	uint64_t ts0;			/* ts of the last frame copied */
	uint64_t mono0;			/* when its copy was written */
};

static volatile sig_atomic_t replay_stop;

static void
replay_signal(int sig)
{
	(void)sig;
	replay_stop = 1;
}

/*
 * Catch SIGINT and SIGTERM without SA_RESTART, so sleeps end early; the
 * loops check replay_stop and finish with status 0.
 */
static void
replay_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = replay_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Sleep until mono_ms() reaches target or a signal asks us to stop. */
static void
replay_sleep_until(uint64_t target)
{
	struct timespec ts;
	uint64_t now, ms;

	while (!replay_stop && (now = mono_ms()) < target) {
		ms = target - now;
		if (ms > REPLAY_NAP_MS)
			ms = REPLAY_NAP_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)ms * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/*
 * The frame's member name as the frame holds it, less whitespace (numbers
 * keep every digit; shared/jsonscan.c), else cJSON's printing of v, or
 * "null" when there is none; caller frees.
 */
static char *
replay_value(const char *frame, const cJSON *v, const char *name)
{
	const char *p;
	size_t n = 0;

	if (v == NULL)
		return xstrdup("null");
	if (json_member_span(frame, strlen(frame), name, &p, &n) != 0)
		p = NULL;
	return json_value_text(p, n, v);
}

/* A cJSON value in one line, "null" for NULL; caller frees. */
static char *
replay_print_json(const cJSON *v)
{
	return v != NULL ? cJSON_PrintUnformatted(v) : xstrdup("null");
}

/*
 * Publish one frame again into rp->into if it is an event, after waiting
 * so that frames keep their spacing (divided by --speed). Other frames
 * (joins, leaves, state) belong to the original room and are skipped.
 * Returns 0 or an exit status.
 */
static int
replay_republish(struct replay *rp, const char *frame)
{
	const cJSON *type, *ts, *event;
	cJSON *f;
	char *from, *data, *seq = NULL;
	struct buf body;
	uint64_t t, delay;
	int rc;

	if ((f = cJSON_Parse(frame)) == NULL)
		return 0;
	type = cJSON_GetObjectItemCaseSensitive(f, "type");
	ts = cJSON_GetObjectItemCaseSensitive(f, "ts");
	event = cJSON_GetObjectItemCaseSensitive(f, "event");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "event") != 0 ||
	    !cJSON_IsString(event) ||
	    !id_valid(event->valuestring, strlen(event->valuestring))) {
		cJSON_Delete(f);
		return 0;
	}
	t = cJSON_IsNumber(ts) && ts->valuedouble > 0 ?
	    (uint64_t)ts->valuedouble : 0;
	/*
	 * Each copy waits its gap after the previous copy was written, not
	 * on a schedule from the first: a write that is slow (a loaded
	 * Redis) then delays the rest instead of squeezing the next gap.
	 */
	if (rp->started && rp->speed > 0 && t > rp->ts0) {
		delay = (uint64_t)((double)(t - rp->ts0) / rp->speed);
		replay_sleep_until(rp->mono0 + delay);
		if (replay_stop) {
			cJSON_Delete(f);
			return 0;
		}
	}
	rp->started = 1;
	if (t > rp->ts0)
		rp->ts0 = t;

	/* from first, as in frames roomd writes: nodes look for from.conn. */
	from = replay_print_json(cJSON_GetObjectItemCaseSensitive(f, "from"));
	data = replay_value(frame, cJSON_GetObjectItemCaseSensitive(f,
	    "data"), "data");
	buf_init(&body);
	buf_printf(&body, ",\"from\":%s,\"event\":\"%s\",\"data\":%s", from,
	    event->valuestring, data);
	free(from);
	free(data);
	rc = redis_append(rp->c, rp->ctx, rp->into, body.p, &seq);
	rp->mono0 = mono_ms();
	buf_free(&body);
	if (rc == 0) {
		if (rp->ctx->json)
			printf("{\"room\":\"%s\",\"seq\":\"%s\","
			    "\"source_seq\":\"%s\"}\n", rp->into, seq,
			    rp->last);
		else
			printf("%s\n", seq);
		free(seq);
		rc = stdout_flush();
	}
	cJSON_Delete(f);
	return rc;
}

/* Print or republish one stream entry; returns 0 or an exit status. */
static int
replay_entry(struct replay *rp, const redisReply *entry)
{
	char *frame;
	int rc = 0;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
	    entry->element[0]->type != REDIS_REPLY_STRING)
		return 0;
	snprintf(rp->last, sizeof rp->last, "%s", entry->element[0]->str);
	if ((frame = redis_frame(entry)) == NULL)
		return 0;
	if (rp->into != NULL)
		rc = replay_republish(rp, frame);
	else {
		printf("%s\n", frame);
		/* Live frames are for someone watching: no buffering. */
		if (rp->follow)
			rc = stdout_flush();
	}
	free(frame);
	return rc;
}

/* Handle every entry of an XRANGE-style reply, in order or reversed. */
static int
replay_entries(struct replay *rp, const redisReply *r, int reversed)
{
	size_t i, n = r->elements;
	int rc;

	for (i = 0; i < n && !replay_stop; i++) {
		rc = replay_entry(rp, r->element[reversed ? n - 1 - i : i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * The history: the first --count after --since, or without --since the
 * newest --count, or everything; up to --until. Read in pages so a long
 * history is never held whole.
 */
static int
replay_history(struct replay *rp)
{
	char start[80], countstr[24];
	const char *end = rp->until != NULL ? rp->until : "+";
	uint64_t left = rp->count, page;
	redisReply *r;
	int rc;

	if (rp->since == NULL && rp->count > 0) {
		snprintf(countstr, sizeof countstr, "%llu",
		    (unsigned long long)rp->count);
		r = redis_commandl(rp->c, "XREVRANGE", rp->events, end, "-",
		    "COUNT", countstr, NULL);
		if (r == NULL)
			return EXIT_FAIL;
		rc = replay_entries(rp, r, 1);
		redis_reply_free(r);
		return rc;
	}
	if (rp->since != NULL)
		snprintf(start, sizeof start, "(%s", rp->since);
	else
		snprintf(start, sizeof start, "-");
	while (!replay_stop) {
		page = REPLAY_PAGE;
		if (rp->count > 0 && left < page)
			page = left;
		snprintf(countstr, sizeof countstr, "%llu",
		    (unsigned long long)page);
		r = redis_commandl(rp->c, "XRANGE", rp->events, start, end,
		    "COUNT", countstr, NULL);
		if (r == NULL)
			return EXIT_FAIL;
		rc = replay_entries(rp, r, 0);
		if (rc != 0 || r->elements < page) {
			redis_reply_free(r);
			return rc;
		}
		redis_reply_free(r);
		if (rp->count > 0 && (left -= page) == 0)
			return 0;
		snprintf(start, sizeof start, "(%s", rp->last);
	}
	return 0;
}

/*
 * --follow: block on XREAD after the last entry seen, in a loop, until a
 * signal; each new frame is handled as it comes.
 */
static int
replay_follow(struct replay *rp)
{
	const redisReply *stream;
	redisReply *r;
	int rc;

	while (!replay_stop) {
		r = redis_commandl(rp->c, "XREAD", "COUNT", "100", "BLOCK",
		    REPLAY_BLOCK_MS, "STREAMS", rp->events, rp->last, NULL);
		if (r == NULL)
			return replay_stop ? 0 : EXIT_FAIL;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
			stream = r->element[0];
			if (stream->type == REDIS_REPLY_ARRAY &&
			    stream->elements == 2 &&
			    stream->element[1]->type == REDIS_REPLY_ARRAY) {
				rc = replay_entries(rp, stream->element[1], 0);
				if (rc != 0) {
					redis_reply_free(r);
					return rc;
				}
			}
		}
		redis_reply_free(r);
	}
	return 0;
}

/* 1 when the room has a history or a hash, 0 when not, -1 on error. */
static int
replay_room_known(struct replay *rp)
{
	redisReply *r;
	char *hash;
	int known;

	hash = redis_key_room(rp->ctx, rp->room, NULL);
	r = redis_commandl(rp->c, "EXISTS", rp->events, hash, NULL);
	free(hash);
	if (r == NULL)
		return -1;
	known = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	redis_reply_free(r);
	return known;
}

/* Check a seq option's value: Redis takes it as is once it parses. */
static int
replay_seq_ok(const char *s)
{
	struct seq v;

	return strlen(s) < 40 && seq_parse(s, strlen(s), &v) == 0;
}

/* Parse the options into rp; returns -1 to go on, or an exit status. */
static int
replay_parse(struct replay *rp, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "into", required_argument, NULL, 'i' },
		{ "speed", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = &cmd_replay_entry;
	char *end;
	int ch, opt;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!replay_seq_ok(optarg))
				return cmd_usage_error(e, "replay: bad --since "
				    "'%s' (a seq is MS-N)", optarg);
			rp->since = optarg;
			break;
		case 'u':
			if (!replay_seq_ok(optarg))
				return cmd_usage_error(e, "replay: bad --until "
				    "'%s' (a seq is MS-N)", optarg);
			rp->until = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, 1, REPLAY_COUNT_MAX,
			    &rp->count) != 0)
				return cmd_usage_error(e, "replay: --count "
				    "must be 1 to %d", REPLAY_COUNT_MAX);
			break;
		case 'f':
			rp->follow = 1;
			break;
		case 'i':
			rp->into = optarg;
			break;
		case 'S':
			errno = 0;
			rp->speed = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || errno != 0 ||
			    !isfinite(rp->speed) || rp->speed < 0)
				return cmd_usage_error(e, "replay: --speed "
				    "must be a number >= 0");
			break;
		default:
			if ((opt = cmd_option(rp->ctx, e, ch, argv)) != CMD_OPTION_DONE)
				return opt;
			break;
		}
	}
	if ((opt = cmd_room_operand(e, argc, argv, &rp->room)) !=
	    CMD_OPTION_DONE)
		return opt;
	if (rp->into != NULL && !id_valid(rp->into, strlen(rp->into)))
		return cmd_usage_error(e, "replay: bad room id '%s'", rp->into);
	if (rp->into != NULL && strcmp(rp->into, rp->room) == 0)
		return cmd_usage_error(e, "replay: --into must name another "
		    "room");
	/* Following up to a point that may never come is not a stream. */
	if (rp->follow && rp->until != NULL)
		return cmd_usage_error(e, "replay: --follow and --until do "
		    "not go together");
	return -1;
}

static int
cmd_replay_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct replay rp;
	int rc, known;

	memset(&rp, 0, sizeof rp);
	rp.ctx = ctx;
	rp.speed = 1;
	if ((rc = replay_parse(&rp, argc, argv)) != -1)
		return rc;

	rp.c = redis_open(ctx);
	rp.events = redis_key_room(ctx, rp.room, ":events");
	rc = EXIT_FAIL;
	if ((known = replay_room_known(&rp)) == 0) {
		cmd_error("no room named '%s'", rp.room);
		rc = EXIT_NOTFOUND;
	}
	if (known == 1 && rp.into != NULL &&
	    (known = redis_room_exists(rp.c, ctx, rp.into)) == 0) {
		cmd_error("no room named '%s'", rp.into);
		rc = EXIT_NOTFOUND;
	}
	if (known == 1) {
		/* Where --follow picks up when the history showed nothing. */
		snprintf(rp.last, sizeof rp.last, "%s",
		    rp.since != NULL ? rp.since : "0-0");
		if (rp.follow || rp.into != NULL)
			replay_catch_signals();
		rc = replay_history(&rp);
		if (rc == 0)
			rc = stdout_flush();
		if (rc == 0 && rp.follow)
			rc = replay_follow(&rp);
	}
	free(rp.events);
	redis_close(rp.c);
	if (stdout_flush() != 0 && rc == 0)
		rc = EXIT_FAIL;
	return rc;
}

const struct cmd_entry cmd_replay_entry = {
	.name = "replay",
	.args = "ROOM [--since SEQ] [--until SEQ] [--count N] [--follow] "
	    "[--into ROOM2] [--speed X] [--json]",
	.summary = "print a room's history as JSON lines, follow it, or copy "
	    "it",
	.options = "--since --until --count --follow --into --speed --json",
	.exec = cmd_replay_exec,
};
