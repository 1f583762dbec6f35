/* test_buf.c: buffers, allocators, number and duration parsing, logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cJSON.h>

#include "shared.h"

static void
test_buf_basics(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);

	buf_add(&b, "ab", 2);
	buf_adds(&b, "cd");
	buf_addc(&b, 'e');
	buf_printf(&b, "%d-%s", 42, "x");
	assert_string_equal(b.p, "abcde42-x");
	assert_int_equal(b.len, 9);
	assert_true(b.cap > b.len);

	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	buf_adds(&b, "again");
	assert_string_equal(b.p, "again");

	s = buf_detach(&b);
	assert_string_equal(s, "again");
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(s);

	/* Detaching an empty buffer still gives a string. */
	s = buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	/* Resetting or freeing an unused buffer is fine. */
	buf_reset(&b);
	buf_free(&b);
	buf_free(&b);
	assert_null(b.p);

	/* Adding nothing still makes a string. */
	buf_add(&b, "", 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	buf_free(&b);
}

static void
test_buf_growth(void **state)
{
	struct buf b;
	size_t i;
	char *big;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 100000; i++)
		buf_addc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.p[b.len], '\0');
	assert_int_equal(b.p[99999], 'a' + 99999 % 26);
	assert_int_equal(strlen(b.p), 100000);

	/* buf_printf larger than what is left. */
	buf_reset(&b);
	big = xmalloc(10000);
	memset(big, 'z', 9999);
	big[9999] = '\0';
	buf_printf(&b, "<%s>", big);
	assert_int_equal(b.len, 10001);
	assert_int_equal(b.p[0], '<');
	assert_int_equal(b.p[10000], '>');
	free(big);

	/* Binary data with NULs keeps its length. */
	buf_reset(&b);
	buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "a\0b", 4);

	/* Reserve makes room without changing the contents. */
	buf_reset(&b);
	buf_adds(&b, "k");
	buf_reserve(&b, 5000);
	assert_true(b.cap >= 5002);
	assert_string_equal(b.p, "k");
	buf_free(&b);
}

static void
test_alloc(void **state)
{
	char *s, *p;
	int n;

	(void)state;
	s = xstrdup("hello");
	assert_string_equal(s, "hello");
	free(s);
	s = xstrndup("hello", 3);
	assert_string_equal(s, "hel");
	free(s);
	s = xstrndup("hi", 10);
	assert_string_equal(s, "hi");
	free(s);
	n = xasprintf(&s, "%s=%d", "n", 7);
	assert_int_equal(n, 3);
	assert_string_equal(s, "n=7");
	free(s);

	p = xcalloc(4, 8);
	assert_memory_equal(p, "\0\0\0\0\0\0\0\0", 8);
	p = xrealloc(p, 1000);
	free(p);
	/* Zero sizes still give something to free. */
	p = xmalloc(0);
	assert_non_null(p);
	free(p);
	p = xcalloc(0, 0);
	assert_non_null(p);
	free(p);
}

static void
test_clocks(void **state)
{
	uint64_t a, b;

	(void)state;
	a = time_ms();
	/* After 2020 and before 2200. */
	assert_true(a > 1577836800000ULL);
	assert_true(a < 7258118400000ULL);
	a = mono_ms();
	usleep(20000);
	b = mono_ms();
	assert_true(b >= a + 15);
	assert_true(b < a + 5000);
}

static void
test_parse_uint(void **state)
{
	static const struct {
		const char *s;
		uint64_t min, max;
		int ok;
		uint64_t want;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },
		{ "1", 1, 1, 0, 1 },
		{ "0", 1, 10, -1, 0 },
		{ "007", 0, 10, 0, 7 },
		{ "1000000", 1, 1000000, 0, 1000000 },
		{ "1000001", 1, 1000000, -1, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -1, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, -1, 0 },
		{ "", 0, 10, -1, 0 },
		{ "-1", 0, 10, -1, 0 },
		{ "+1", 0, 10, -1, 0 },
		{ " 1", 0, 10, -1, 0 },
		{ "1 ", 0, 10, -1, 0 },
		{ "1\n", 0, 10, -1, 0 },
		{ "1x", 0, 10, -1, 0 },
		{ "0x1", 0, 10, -1, 0 },
		{ "1.0", 0, 10, -1, 0 },
		{ "1e3", 0, 10000, -1, 0 },
		{ "one", 0, 10, -1, 0 },
	};
	uint64_t v;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 4242;
		rc = parse_uint(cases[i].s, cases[i].min, cases[i].max, &v);
		if (rc != cases[i].ok)
			print_error("parse_uint(\"%s\") = %d, want %d\n",
			    cases[i].s, rc, cases[i].ok);
		assert_int_equal(rc, cases[i].ok);
		assert_int_equal(v, rc == 0 ? cases[i].want : 4242);
	}
	assert_int_equal(parse_uint(NULL, 0, 1, &v), -1);
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		int ok;
		uint64_t ms;
	} cases[] = {
		{ "250ms", 0, 250 },
		{ "0ms", 0, 0 },
		{ "2s", 0, 2000 },
		{ "1.5s", 0, 1500 },
		{ "0.25s", 0, 250 },
		{ "0.0005s", 0, 0 },
		{ "1.999999999999s", 0, 1999 },
		{ "1m", 0, 60000 },
		{ "1.5m", 0, 90000 },
		{ "2h", 0, 7200000 },
		{ "3", 0, 3000 },
		{ "0", 0, 0 },
		{ "1.5", 0, 1500 },
		{ "1.5ms", 0, 1 },
		{ "", -1, 0 },
		{ "s", -1, 0 },
		{ "ms", -1, 0 },
		{ ".5s", -1, 0 },
		{ "1.s", -1, 0 },
		{ "1.", -1, 0 },
		{ "-1s", -1, 0 },
		{ "+1s", -1, 0 },
		{ " 1s", -1, 0 },
		{ "1s ", -1, 0 },
		{ "1 s", -1, 0 },
		{ "1S", -1, 0 },
		{ "1sec", -1, 0 },
		{ "1d", -1, 0 },
		{ "1us", -1, 0 },
		{ "1s2", -1, 0 },
		{ "1.2.3s", -1, 0 },
		{ "18446744073709551615ms", 0, UINT64_MAX },
		{ "18446744073709551615s", -1, 0 },
		{ "18446744073709551616ms", -1, 0 },
	};
	uint64_t v;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 4242;
		rc = parse_duration_ms(cases[i].s, &v);
		if (rc != cases[i].ok)
			print_error("parse_duration_ms(\"%s\") = %d, want %d\n",
			    cases[i].s, rc, cases[i].ok);
		assert_int_equal(rc, cases[i].ok);
		assert_int_equal(v, rc == 0 ? cases[i].ms : 4242);
	}
}

/*
 * Run fn with stderr going to a temporary file and return what it wrote
 * (malloc'd).
 */
static char *
capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/roomd-test-log.XXXXXX", *out;
	int fd, saved;
	long n;
	FILE *f;

	fd = mkstemp(path);
	assert_true(fd != -1);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);

	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	out = xmalloc((size_t)n + 1);
	assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
	out[n] = '\0';
	fclose(f);
	unlink(path);
	return out;
}

/* Drop "time=... " so lines compare without the clock. */
static void
strip_time(char *s)
{
	char *line = s, *sp;

	while (*line != '\0') {
		if (strncmp(line, "time=", 5) == 0 &&
		    (sp = strchr(line, ' ')) != NULL) {
			assert_int_equal(sp - line, 5 + 24);
			assert_int_equal(line[5 + 23], 'Z');
			memmove(line, sp + 1, strlen(sp + 1) + 1);
		}
		line = strchr(line, '\n');
		if (line == NULL)
			break;
		line++;
	}
}

static void
log_defaults(void)
{
	log_debug("hidden %d", 1);
	log_info("shown %d", 2);
}

/* Runs first: before log_init the level is info and the format text. */
static void
test_log_defaults(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(log_enabled(LOG_LEVEL_DEBUG), 0);
	assert_int_equal(log_enabled(LOG_LEVEL_INFO), 1);
	out = capture_stderr(log_defaults);
	strip_time(out);
	assert_string_equal(out, "level=info msg=\"shown 2\"\n");
	free(out);
}

static void
log_text_lines(void)
{
	log_init("test", LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT);
	log_debug("d");
	log_info("join room=%s", "evil\" level=error msg=\"forged\nline");
	log_warnx("ctl \x01\x1b[2J\t\\ \x7f caf\xc3\xa9");
	log_error("e");
}

static void
test_log_text(void **state)
{
	char *out;

	(void)state;
	out = capture_stderr(log_text_lines);
	strip_time(out);
	assert_string_equal(out,
	    "level=debug msg=\"d\"\n"
	    "level=info msg=\"join room=evil\\\" level=error "
	    "msg=\\\"forged\\nline\"\n"
	    "level=warn msg=\"ctl \\x01\\x1b[2J\\t\\\\ \\x7f caf\xc3\xa9\"\n"
	    "level=error msg=\"e\"\n");
	free(out);
}

static void
log_json_lines(void)
{
	log_init("test", LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	log_debug("not shown");
	log_info("a \"quoted\" \\ back\nslash \x01 caf\xc3\xa9 bad\xff\xc3");
	log_warnx("plain");
}

static void
test_log_json(void **state)
{
	char *out, *nl;
	cJSON *j;

	(void)state;
	out = capture_stderr(log_json_lines);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_string_equal(nl + 1 + strlen(nl + 1) - 1, "\n");

	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring,
	    "info");
	assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring,
	    "a \"quoted\" \\ back\nslash \x01 caf\xc3\xa9 bad"
	    "\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(strlen(cJSON_GetObjectItem(j, "time")->valuestring),
	    24);
	cJSON_Delete(j);
	assert_non_null(strstr(nl + 1, "\"level\":\"warn\",\"msg\":\"plain\""));
	free(out);
}

static void
log_warn_lines(void)
{
	log_init("test", LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
	log_info("below the level");
	errno = ENOENT;
	log_warn("open %s", "x");
	/* errno survives the call. */
	if (errno != ENOENT)
		log_warnx("errno changed to %d", errno);
}

static void
test_log_warn(void **state)
{
	char *out;

	(void)state;
	out = capture_stderr(log_warn_lines);
	strip_time(out);
	assert_string_equal(out, "level=warn msg=\"open x: No such file or "
	    "directory\"\n");
	free(out);
	assert_int_equal(log_enabled(LOG_LEVEL_INFO), 0);
	assert_int_equal(log_enabled(LOG_LEVEL_ERROR), 1);
}

static void
log_long_line(void)
{
	char big[10000];

	memset(big, '\n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_init("test", LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_info("%s", big);
}

static void
test_log_long(void **state)
{
	char *out;

	(void)state;
	/* Truncated, but still exactly one well-formed line. */
	out = capture_stderr(log_long_line);
	assert_non_null(strstr(out, "level=info msg=\"\\n\\n"));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_string_equal(out + strlen(out) - 2, "\"\n");
	free(out);
}

static void
test_log_parse(void **state)
{
	enum log_level lv = LOG_LEVEL_ERROR;
	enum log_format lf = LOG_FORMAT_JSON;

	(void)state;
	assert_int_equal(log_level_parse("debug", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("info", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_INFO);
	assert_int_equal(log_level_parse("warn", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("error", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("warning", &lv), -1);
	assert_int_equal(log_level_parse("INFO", &lv), -1);
	assert_int_equal(log_level_parse("", &lv), -1);
	assert_int_equal(lv, LOG_LEVEL_ERROR);

	assert_int_equal(log_format_parse("text", &lf), 0);
	assert_int_equal(lf, LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("json", &lf), 0);
	assert_int_equal(lf, LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("logfmt", &lf), -1);
	assert_int_equal(log_format_parse("", &lf), -1);
	assert_int_equal(lf, LOG_FORMAT_JSON);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_defaults),
		cmocka_unit_test(test_buf_basics),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_log_text),
		cmocka_unit_test(test_log_json),
		cmocka_unit_test(test_log_warn),
		cmocka_unit_test(test_log_long),
		cmocka_unit_test(test_log_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
