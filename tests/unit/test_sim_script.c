/*
 * test_sim_script.c: the `roomctl sim` script language (cli/sim-script.c)
 * and expect matching (cli/sim-match.c): reading scripts, substitution,
 * every step's parse and error, and which frames match. The files are
 * compiled in, as the unit tests link only shared/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../cli/sim-script.c"
#include "../../cli/sim-match.c"

/* Write text to a temporary file and load it as a script. */
static int
load_text(struct sim_script *s, const char *text, size_t len, char **cause)
{
	char path[] = "/tmp/test_sim_script.XXXXXX";
	int fd, r;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	r = sim_script_load(s, path, cause);
	unlink(path);
	return r;
}

/* Compile one line for client i of n in room "lobby". */
static int
compile1(const char *line, struct sim_step **steps, char **cause)
{
	struct sim_line l = { 1, (char *)line };
	struct sim_script s = { (char *)"t.sim", &l, 1 };
	struct sim_vars v = { 3, 5, "lobby" };
	size_t n;

	return sim_script_compile(&s, &v, steps, &n, cause);
}

static void
test_load(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "\n"
	    "  join r1   # trailing comment\n"
	    "send {\"a\":\"#not a comment\"} # but this is\n"
	    "\t\r\n"
	    "publish r1 e {\"x\": \"a # b\"}";
	struct sim_script s;
	char *cause = NULL;

	(void)state;
	assert_int_equal(load_text(&s, text, sizeof text - 1, &cause), 0);
	assert_int_equal(s.nlines, 3);
	assert_int_equal(s.lines[0].line, 3);
	assert_string_equal(s.lines[0].text, "join r1");
	assert_int_equal(s.lines[1].line, 4);
	assert_string_equal(s.lines[1].text, "send {\"a\":\"#not a comment\"}");
	assert_int_equal(s.lines[2].line, 6);
	assert_string_equal(s.lines[2].text, "publish r1 e {\"x\": \"a # b\"}");
	sim_script_free(&s);

	assert_int_equal(load_text(&s, "join\0x", 6, &cause), -1);
	assert_non_null(strstr(cause, "not a text file"));
	free(cause);
	assert_int_equal(sim_script_load(&s, "/nonexistent/x.sim", &cause), -1);
	assert_non_null(strstr(cause, "/nonexistent/x.sim: "));
	free(cause);
}

static void
test_substitute(void **state)
{
	struct sim_vars v = { 3, 5, "lobby" };
	char *out;

	(void)state;
	out = sim_substitute("$i/$n/$room ${i}x ${room}s $$i $other ${i $", &v);
	assert_string_equal(out, "3/5/lobby 3x lobbys $i $other ${i $");
	free(out);
}

static void
test_steps(void **state)
{
	struct sim_step *st;
	char *cause = NULL;

	(void)state;
	assert_int_equal(compile1("join room-$i {\"side\": \"a\"}", &st,
	    &cause), 0);
	assert_int_equal(st->op, SIM_JOIN);
	assert_string_equal(st->a, "room-3");
	assert_string_equal(st->arg, "{\"side\": \"a\"}");
	assert_string_equal(st->text, "join room-3 {\"side\": \"a\"}");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("publish $room hit [1, 2]", &st, &cause), 0);
	assert_int_equal(st->op, SIM_PUBLISH);
	assert_string_equal(st->a, "lobby");
	assert_string_equal(st->b, "hit");
	assert_string_equal(st->arg, "[1, 2]");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("match duel 2 {\"mode\": \"$i\"}", &st,
	    &cause), 0);
	assert_int_equal(st->op, SIM_MATCH);
	assert_string_equal(st->a, "duel");
	assert_string_equal(st->b, "2");
	assert_string_equal(st->arg, "{\"mode\": \"3\"}");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("match duel 1000", &st, &cause), 0);
	assert_null(st->arg);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("state r k {\"hp\":3}", &st, &cause), 0);
	assert_int_equal(st->op, SIM_STATE);
	assert_string_equal(st->b, "k");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("send  not json at all ", &st, &cause), 0);
	assert_int_equal(st->op, SIM_SEND);
	assert_string_equal(st->a, "not json at all");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("send-binary", &st, &cause), 0);
	assert_int_equal(st->op, SIM_SEND_BINARY);
	assert_string_equal(st->a, "");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("expect event data.hero=\"two words\" "
	    "from.user!=bob m.x=* within 1.5s", &st, &cause), 0);
	assert_int_equal(st->op, SIM_EXPECT);
	assert_string_equal(st->a, "event");
	assert_int_equal(st->ms, 1500);
	assert_int_equal(st->nmatch, 3);
	assert_string_equal(st->match[0].path, "data.hero");
	assert_string_equal(st->match[0].value, "\"two words\"");
	assert_int_equal(st->match[0].kind, SIM_MATCH_EQ);
	assert_int_equal(st->match[1].kind, SIM_MATCH_NE);
	assert_string_equal(st->match[1].path, "from.user");
	assert_int_equal(st->match[2].kind, SIM_MATCH_ANY);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("expect ok", &st, &cause), 0);
	assert_int_equal(st->ms, SIM_EXPECT_MS);
	sim_steps_free(st, 1);
	assert_int_equal(compile1("expect ok within 0s", &st, &cause), 0);
	assert_int_equal(st->ms, 0);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("poll {\"type\":\"ping\",\"ref\":1} until "
	    "ok code!=x within 2s every 250ms", &st, &cause), 0);
	assert_int_equal(st->op, SIM_POLL);
	assert_string_equal(st->arg, "{\"type\":\"ping\",\"ref\":1}");
	assert_string_equal(st->a, "ok");
	assert_int_equal(st->nmatch, 1);
	assert_int_equal(st->ms, 2000);
	assert_int_equal(st->every_ms, 250);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("poll {\"type\": \"ping\"} until ok", &st,
	    &cause), 0);
	assert_int_equal(st->ms, SIM_EXPECT_MS);
	assert_int_equal(st->every_ms, SIM_POLL_EVERY_MS);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("sleep 250ms", &st, &cause), 0);
	assert_int_equal(st->op, SIM_SLEEP);
	assert_int_equal(st->ms, 250);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("stall 1m", &st, &cause), 0);
	assert_int_equal(st->op, SIM_STALL);
	assert_int_equal(st->ms, 60000);
	sim_steps_free(st, 1);

	assert_int_equal(compile1("connect tok$i", &st, &cause), 0);
	assert_int_equal(st->op, SIM_CONNECT);
	assert_string_equal(st->a, "tok3");
	sim_steps_free(st, 1);

	assert_int_equal(compile1("barrier", &st, &cause), 0);
	assert_int_equal(st->op, SIM_BARRIER);
	sim_steps_free(st, 1);
	assert_int_equal(compile1("disconnect", &st, &cause), 0);
	assert_int_equal(st->op, SIM_DISCONNECT);
	sim_steps_free(st, 1);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *line, *cause;
	} cases[] = {
		{ "frobnicate", "t.sim:1: unknown step 'frobnicate'" },
		{ "join", "t.sim:1: join: missing room" },
		{ "leave", "t.sim:1: leave: missing room" },
		{ "leave r extra", "t.sim:1: leave: unexpected argument 'extra'" },
		{ "join r {bad", "t.sim:1: join: not valid JSON: {bad" },
		{ "publish r", "t.sim:1: publish: expected ROOM EVENT [DATA_JSON]" },
		{ "state r k", "t.sim:1: state: expected ROOM KEY VALUE_JSON" },
		{ "send", "t.sim:1: send: missing frame" },
		{ "match", "t.sim:1: match: expected POOL SIZE [FILTER_JSON]" },
		{ "match p", "t.sim:1: match: expected POOL SIZE [FILTER_JSON]" },
		{ "match p 1", "t.sim:1: match: SIZE must be an integer from 2 "
		    "to 1000, not '1'" },
		{ "match p 4x", "t.sim:1: match: SIZE must be an integer from 2 "
		    "to 1000, not '4x'" },
		{ "match p 4 [1]", "t.sim:1: match: FILTER_JSON must be a JSON "
		    "object: [1]" },
		{ "match p 4 {bad", "t.sim:1: match: FILTER_JSON must be a JSON "
		    "object: {bad" },
		{ "expect", "t.sim:1: expect: missing frame type" },
		{ "expect ok within", "t.sim:1: expect: within needs a duration "
		    "(250ms, 2s, 1.5s, 1m)" },
		{ "expect ok within 1s a=b", "t.sim:1: expect: nothing but it "
		    "may follow within DURATION" },
		{ "expect ok every 1s", "t.sim:1: expected FIELD=VALUE, "
		    "got 'every'" },
		{ "expect ok =x", "t.sim:1: expected FIELD=VALUE, got '=x'" },
		{ "expect ok !=x", "t.sim:1: expected FIELD!=VALUE, got '!=x'" },
		{ "expect ok a..b=1", "t.sim:1: bad field path 'a..b'" },
		{ "sleep soon", "t.sim:1: sleep: expected a duration (250ms, 2s, "
		    "1.5s, 1m)" },
		{ "barrier now", "t.sim:1: barrier: unexpected argument 'now'" },
		{ "poll", "t.sim:1: poll: expected FRAME_JSON until TYPE "
		    "[FIELD=VALUE ...]" },
		{ "poll {\"type\":\"ping\"} ok", "t.sim:1: poll: expected "
		    "FRAME_JSON until TYPE [FIELD=VALUE ...]" },
		{ "poll [1] until ok", "t.sim:1: poll: not a JSON object: [1]" },
		{ "poll {} until", "t.sim:1: poll: missing frame type" },
		{ "poll {} until ok every 0s", "t.sim:1: poll: every needs a "
		    "duration (250ms, 2s, 1.5s, 1m)" },
		{ "poll {} until ok every 1s a=b", "t.sim:1: poll: nothing but "
		    "every DURATION may follow within DURATION" },
	};
	struct sim_step *st = NULL;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		if (compile1(cases[i].line, &st, &cause) != -1)
			fail_msg("'%s' compiled", cases[i].line);
		if (strcmp(cause, cases[i].cause) != 0)
			fail_msg("'%s': cause '%s', want '%s'", cases[i].line,
			    cause, cases[i].cause);
		free(cause);
	}
}

/* Whether the frame text matches the expect line. */
static int
matches(const char *line, const char *frame)
{
	struct sim_step *st;
	char *cause = NULL;
	cJSON *j;
	int r;

	if (compile1(line, &st, &cause) != 0)
		fail_msg("'%s': %s", line, cause);
	j = cJSON_Parse(frame);
	r = sim_step_matches(st, j);
	cJSON_Delete(j);
	sim_steps_free(st, 1);
	return r;
}

static void
test_matches(void **state)
{
	static const char ev[] = "{\"type\":\"event\",\"event\":\"hit\","
	    "\"data\":{\"hp\":3,\"who\":\"two words\",\"o\":{\"a\": 1}},"
	    "\"members\":[{\"conn\":\"c1\"},{\"conn\":\"c2\"}]}";

	(void)state;
	assert_true(matches("expect event", ev));
	assert_true(matches("expect *", ev));
	assert_false(matches("expect ok", ev));
	assert_true(matches("expect event event=hit data.hp=3", ev));
	assert_true(matches("expect event data.hp=3.0", ev));
	assert_false(matches("expect event data.hp=4", ev));
	assert_true(matches("expect event data.who=\"two words\"", ev));
	assert_true(matches("expect event data.o={\"a\":1}", ev));
	assert_true(matches("expect event members.1.conn=c2", ev));
	assert_false(matches("expect event members.2.conn=*", ev));
	assert_false(matches("expect event members.x.conn=*", ev));
	assert_true(matches("expect event data.hp=*", ev));
	assert_false(matches("expect event data.mp=*", ev));
	assert_true(matches("expect event data.mp!=1", ev));
	assert_true(matches("expect event data.hp!=4", ev));
	assert_false(matches("expect event data.hp!=3", ev));
	assert_false(matches("expect event data.hp.x=*", ev));
	assert_false(matches("expect *", "[1,2]"));
	assert_false(matches("expect *", "{\"type\":1}"));
	assert_false(matches("expect *", "not json"));
}

/* A match step binds $room for the lines after it, and only those. */
static void
test_rebind(void **state)
{
	struct sim_line l[] = {
		{ 1, (char *)"match p 2" },
		{ 2, (char *)"publish $room hi" },
		{ 3, (char *)"expect event room=$room" },
	};
	struct sim_script s = { (char *)"t.sim", l, 3 };
	struct sim_vars v = { 0, 1, "sim" };
	struct sim_step *st;
	char *cause = NULL;
	size_t n;

	(void)state;
	assert_int_equal(sim_script_compile(&s, &v, &st, &n, &cause), 0);
	assert_string_equal(st[1].a, "sim");
	v.room = "p-0123456789ab";
	assert_int_equal(sim_script_rebind(&s, &v, st, 1, &cause), 0);
	assert_int_equal(st[0].op, SIM_MATCH);
	assert_string_equal(st[1].a, "p-0123456789ab");
	assert_string_equal(st[1].text, "publish p-0123456789ab hi");
	assert_string_equal(st[2].match[0].value, "p-0123456789ab");
	sim_steps_free(st, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_substitute),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_rebind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
