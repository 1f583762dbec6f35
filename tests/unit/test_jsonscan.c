/*
 * test_jsonscan.c: parsing from a NUL-terminated copy, the exact text of a
 * top-level member (how refs are echoed), escaped NULs in strings, the
 * last seq, log lines limited per source (issue 9, defects 4-6, 11), and
 * values passed on as sent without their whitespace (json_minify).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cJSON.h>

#include "shared.h"

/* The span of name in text as a string, or "(none)". */
static const char *
span(const char *text, const char *name)
{
	static char out[256];
	const char *v;
	size_t n;

	if (json_member_span(text, strlen(text), name, &v, &n) != 0)
		return "(none)";
	snprintf(out, sizeof out, "%.*s", (int)n, v);
	return out;
}

static void
check_span(const char *text, const char *name, const char *want)
{
	const char *got = span(text, name);

	if (strcmp(got, want) != 0)
		print_error("span(%s, %s) = %s, want %s\n", text, name, got,
		    want);
	assert_string_equal(got, want);
}

static void
test_member_span(void **state)
{
	(void)state;
	check_span("{\"ref\":1}", "ref", "1");
	check_span("{\"type\":\"ping\",\"ref\":123456789012345678901234567890}",
	    "ref", "123456789012345678901234567890");
	check_span("{\"ref\":1e999,\"type\":\"ping\"}", "ref", "1e999");
	check_span(" { \"ref\" : \"a\\\"b\" } ", "ref", "\"a\\\"b\"");
	check_span("{\"a\":{\"ref\":2},\"b\":[\"ref\",{\"ref\":3}],\"ref\":-0}",
	    "ref", "-0");
	check_span("{\"r\\u0065f\":7,\"ref\":8}", "ref", "7");
	check_span("{\"REF\":7}", "ref", "(none)");
	check_span("{\"refs\":7}", "ref", "(none)");
	check_span("{\"ref\":7,\"ref\":8}", "ref", "7");	/* cJSON's pick */
	check_span("{\"ref\":[1,{\"x\":\"]\"}]}", "ref", "[1,{\"x\":\"]\"}]");
	check_span("{\x01\"ref\":\x01true}", "ref", "true");
	check_span("[1]", "ref", "(none)");
	check_span("{}", "ref", "(none)");
	/* Cut short: nothing read past the end. */
	check_span("{\"ref\":\"abc", "ref", "(none)");
	check_span("{\"ref\":{\"a\":1", "ref", "(none)");
	check_span("{\"ref\"", "ref", "(none)");
	check_span("{\"ref\":", "ref", "(none)");
}

static void
test_nul_escape(void **state)
{
	(void)state;
	assert_int_equal(json_has_nul_escape("{\"a\":\"x\\u0000y\"}", 16), 1);
	assert_int_equal(json_has_nul_escape("{\"k\\u0000\":1}", 13), 1);
	assert_int_equal(json_has_nul_escape("{\"a\":[{\"b\":\"\\u0000\"}]}",
	    22), 1);
	assert_int_equal(json_has_nul_escape("{\"a\":\"\\\\u0000\"}", 15), 0);
	assert_int_equal(json_has_nul_escape("{\"a\":\"\\u0001\"}", 14), 0);
	assert_int_equal(json_has_nul_escape("{\"a\":\"\\u00000\"}", 15), 1);
	assert_int_equal(json_has_nul_escape("{\"a\":\"u0000\"}", 13), 0);
	assert_int_equal(json_has_nul_escape("{\"a\":\"\\u000", 11), 0);
	assert_int_equal(json_has_nul_escape("", 0), 0);
}

/* cJSON gets a NUL-terminated copy: bytes after len are never read. */
static void
test_parse(void **state)
{
	/* A buffer that goes on past len, without a NUL in sight. */
	char buf[16];
	size_t used = 99;
	cJSON *j;

	(void)state;
	memcpy(buf, "{\"a\":1,\"b\":2}  xx", 16);
	assert_null(json_parse(buf, 7, &used));		/* {"a":1, */
	assert_int_equal(used, 0);
	j = json_parse(buf, 13, &used);
	assert_non_null(j);
	assert_int_equal(used, 13);
	cJSON_Delete(j);
	j = json_parse(buf, 16, &used);			/* trailing blanks */
	assert_non_null(j);
	assert_int_equal(used, 13);
	cJSON_Delete(j);
	assert_null(json_parse(buf, 0, &used));
}

static void
test_seq_is_last(void **state)
{
	struct seq s;

	(void)state;
	assert_int_equal(seq_parse("18446744073709551615-18446744073709551615",
	    41, &s), 0);
	assert_int_equal(seq_is_last(&s), 1);
	assert_int_equal(seq_parse("18446744073709551615-18446744073709551614",
	    41, &s), 0);
	assert_int_equal(seq_is_last(&s), 0);
	assert_int_equal(seq_parse("0-0", 3, &s), 0);
	assert_int_equal(seq_is_last(&s), 0);
}

static void
test_log_limited(void **state)
{
	struct log_limit lim = { 0 };

	(void)state;
	log_init("test", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);	/* quiet */
	for (int i = 0; i < 100; i++)
		log_warnx_limited(&lim, "line %d", i);
	assert_int_equal(lim.lines, LOG_LIMIT_LINES);
	assert_int_equal(lim.suppressed, 100 - LOG_LIMIT_LINES);
	/* A new window prints again and owns up to what it left out. */
	lim.since_ms -= LOG_LIMIT_MS;
	log_warnx_limited(&lim, "again");
	assert_int_equal(lim.lines, 1);
	assert_int_equal(lim.suppressed, 0);
}

/* json_minify of text: its output, or "(refused)". */
static const char *
minify(const char *text)
{
	static char out[512];
	struct buf b;
	int rc;

	buf_init(&b);
	rc = json_minify(text, strlen(text), &b);
	snprintf(out, sizeof out, "%s", rc == 0 ? "" : "(refused)");
	if (rc == 0)
		snprintf(out, sizeof out, "%.*s", (int)b.len, b.p);
	buf_free(&b);
	return out;
}

static void
check_minify(const char *text, const char *want)
{
	const char *got = minify(text);

	if (strcmp(got, want) != 0)
		print_error("minify(%s) = %s, want %s\n", text, got, want);
	assert_string_equal(got, want);
	if (strcmp(want, "(refused)") != 0) {
		/* What goes out means what came in. */
		cJSON *a = cJSON_Parse(text), *b = cJSON_Parse(got);

		assert_non_null(a);
		assert_non_null(b);
		assert_true(cJSON_Compare(a, b, 1));
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
}

static void
test_minify(void **state)
{
	(void)state;
	check_minify("{\"a\": 1, \"b\" : [ true ,false, null ]}",
	    "{\"a\":1,\"b\":[true,false,null]}");
	check_minify(" \"x y\" ", "\"x y\"");
	check_minify("\"a\\\" b\"", "\"a\\\" b\"");
	check_minify("{\"s\":\"\\\\\",\"t\" : 2}", "{\"s\":\"\\\\\",\"t\":2}");
	check_minify("\t[\r\n1 ,\n2]\n", "[1,2]");
	/* Numbers keep every digit, as sent. */
	check_minify("12345678901234567890", "12345678901234567890");
	check_minify("[-0.5e+10, 0, -0, 1E-3, 10.25]",
	    "[-0.5e+10,0,-0,1E-3,10.25]");
	check_minify("{}", "{}");
	check_minify("[ ]", "[]");
	check_minify("\"\\u00e9 \\ud83d\\ude00\"", "\"\\u00e9 \\ud83d\\ude00\"");
	/* What cJSON takes and JSON does not: printed from cJSON instead. */
	check_minify("01", "(refused)");
	check_minify("1.", "(refused)");
	check_minify("-.5", "(refused)");
	check_minify("1.e5", "(refused)");
	check_minify("[1,-]", "(refused)");
	check_minify("\"a\tb\"", "(refused)");
	check_minify("\"open", "(refused)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_span),
		cmocka_unit_test(test_nul_escape),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_seq_is_last),
		cmocka_unit_test(test_log_limited),
		cmocka_unit_test(test_minify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
