/* test_url.c: Redis URLs, WebSocket URLs and HOST:PORT addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared.h"

static void
test_redis_good(void **state)
{
	static const struct {
		const char *in;
		int is_unix;
		const char *host;
		int port;
		const char *path, *password;
		int db;
		const char *shown;
	} cases[] = {
		{ "redis://127.0.0.1:6379/0", 0, "127.0.0.1", 6379, "", "", 0,
		    "redis://127.0.0.1:6379/0" },
		{ "redis://localhost", 0, "localhost", 6379, "", "", 0,
		    "redis://localhost:6379/0" },
		{ "redis://localhost/", 0, "localhost", 6379, "", "", 0,
		    "redis://localhost:6379/0" },
		{ "redis://r.example.com:7000/3", 0, "r.example.com", 7000, "",
		    "", 3, "redis://r.example.com:7000/3" },
		{ "redis://:s3cret@host:6380/2", 0, "host", 6380, "", "s3cret",
		    2, "redis://host:6380/2" },
		{ "redis://user:pw@host", 0, "host", 6379, "", "pw", 0,
		    "redis://host:6379/0" },
		{ "redis://default:a:b@host", 0, "host", 6379, "", "a:b", 0,
		    "redis://host:6379/0" },
		{ "redis://pwonly@host", 0, "host", 6379, "", "pwonly", 0,
		    "redis://host:6379/0" },
		{ "redis://:p@ss/w%3Frd@host/1", 0, "host", 6379, "",
		    "p@ss/w?rd", 1, "redis://host:6379/1" },
		{ "redis://:p%40%3a%2F@host", 0, "host", 6379, "", "p@:/", 0,
		    "redis://host:6379/0" },
		{ "redis://host?db=4", 0, "host", 6379, "", "", 4,
		    "redis://host:6379/4" },
		{ "redis://host/0?password=x", 0, "host", 6379, "", "x", 0,
		    "redis://host:6379/0" },
		{ "redis://[::1]:6379/0", 0, "::1", 6379, "", "", 0,
		    "redis://[::1]:6379/0" },
		{ "redis://[::1]", 0, "::1", 6379, "", "", 0,
		    "redis://[::1]:6379/0" },
		{ "redis://:pw@[fe80::1%25eth0]:1", 0, "fe80::1%25eth0", 1, "",
		    "pw", 0, "redis://[fe80::1%25eth0]:1/0" },
		{ "redis://h:65535/15", 0, "h", 65535, "", "", 15,
		    "redis://h:65535/15" },
		{ "unix:///tmp/r.sock", 1, "", 6379, "/tmp/r.sock", "", 0,
		    "unix:///tmp/r.sock" },
		{ "unix:///tmp/r.sock?db=1", 1, "", 6379, "/tmp/r.sock", "", 1,
		    "unix:///tmp/r.sock?db=1" },
		{ "unix:///var/run/redis.sock?db=2&password=pw", 1, "", 6379,
		    "/var/run/redis.sock", "pw", 2,
		    "unix:///var/run/redis.sock?db=2" },
	};
	struct redis_url u;
	char shown[512];
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		if (redis_url_parse(cases[i].in, &u, &cause) != 0)
			print_error("%s: %s\n", cases[i].in, cause);
		assert_null(cause);
		assert_int_equal(u.is_unix, cases[i].is_unix);
		assert_string_equal(u.host, cases[i].host);
		assert_int_equal(u.port, cases[i].port);
		assert_string_equal(u.path, cases[i].path);
		assert_string_equal(u.password, cases[i].password);
		assert_int_equal(u.db, cases[i].db);
		redis_url_format(&u, shown, sizeof shown);
		assert_string_equal(shown, cases[i].shown);
	}
}

static void
test_redis_bad(void **state)
{
	static const struct {
		const char *in, *cause;
	} cases[] = {
		{ "x", "bad redis url 'x': expected redis:// or unix://" },
		{ "", "bad redis url '': expected redis:// or unix://" },
		{ "http://h", "bad redis url 'http://h': expected redis:// or "
		    "unix://" },
		{ "REDIS://h", "bad redis url 'REDIS://h': expected redis:// "
		    "or unix://" },
		{ "127.0.0.1:6379", "bad redis url '127.0.0.1:6379': expected "
		    "redis:// or unix://" },
		{ "rediss://h", "bad redis url 'rediss://h': rediss:// (TLS) "
		    "is not supported" },
		{ "redis://", "bad redis url 'redis://': missing host" },
		{ "redis://:6379", "bad redis url 'redis://:6379': missing "
		    "host" },
		{ "redis://h:0", "bad redis url 'redis://h:0': port must be a "
		    "number from 1 to 65535" },
		{ "redis://h:65536", "bad redis url 'redis://h:65536': port "
		    "must be a number from 1 to 65535" },
		{ "redis://h:", "bad redis url 'redis://h:': port must be a "
		    "number from 1 to 65535" },
		{ "redis://h:-1", "bad redis url 'redis://h:-1': port must be "
		    "a number from 1 to 65535" },
		{ "redis://h:63x", "bad redis url 'redis://h:63x': port must "
		    "be a number from 1 to 65535" },
		{ "redis://h/x", "bad redis url 'redis://h/x': database must "
		    "be a number, as in /0" },
		{ "redis://h/-1", "bad redis url 'redis://h/-1': database must "
		    "be a number, as in /0" },
		{ "redis://h/1/2", "bad redis url 'redis://h/1/2': database "
		    "must be a number, as in /0" },
		{ "redis://h?foo=1", "bad redis url 'redis://h?foo=1': unknown "
		    "query parameter (expected db or password)" },
		{ "redis://h#x", "bad redis url 'redis://h#x': unexpected '#' "
		    "in url" },
		{ "redis://ho st", "bad redis url 'redis://ho st': bad host "
		    "name" },
		{ "redis://[::1", "bad redis url 'redis://[::1': missing ']' "
		    "after IPv6 address" },
		{ "redis://[zz]:1", "bad redis url 'redis://[zz]:1': bad IPv6 "
		    "address" },
		{ "redis://[::1]x", "bad redis url 'redis://[::1]x': expected "
		    "':' after ']'" },
		{ "redis://::1:6379", "bad redis url 'redis://::1:6379': an "
		    "IPv6 address needs brackets, as in [::1]" },
		/* Passwords never show in causes. */
		{ "redis://:topsecret@:1", "bad redis url 'redis://:***@:1': "
		    "missing host" },
		{ "redis://bob:topsecret@h:0", "bad redis url "
		    "'redis://bob:***@h:0': port must be a number from 1 to "
		    "65535" },
		{ "redis://:bad%zz@h", "bad redis url 'redis://:***@h': bad "
		    "password" },
		{ "redis://:nul%00@h", "bad redis url 'redis://:***@h': bad "
		    "password" },
		{ "unix://tmp/r.sock", "bad redis url 'unix://tmp/r.sock': "
		    "expected unix:///absolute/path" },
		{ "unix://", "bad redis url 'unix://': expected "
		    "unix:///absolute/path" },
		{ "unix:///r.sock?db=x", "bad redis url 'unix:///r.sock?db=x': "
		    "db must be a number" },
		{ "unix:///r.sock?x", "bad redis url 'unix:///r.sock?x': "
		    "expected NAME=VALUE in the query" },
		{ "unix:///r.sock?password=hidden&db=x", "bad redis url "
		    "'unix:///r.sock?password=***&db=x': db must be a number" },
	};
	struct redis_url u;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		assert_int_equal(redis_url_parse(cases[i].in, &u, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(cause, cases[i].cause);
		free(cause);
	}

	/* A socket path longer than sun_path allows. */
	{
		char in[200];

		memset(in, 'a', sizeof in);
		memcpy(in, "unix:///", 8);
		in[sizeof in - 1] = '\0';
		cause = NULL;
		assert_int_equal(redis_url_parse(in, &u, &cause), -1);
		assert_non_null(strstr(cause, "socket path too long"));
		free(cause);
	}

	/* A NULL cause is allowed. */
	assert_int_equal(redis_url_parse("nope", &u, NULL), -1);
}

static void
test_ws_good(void **state)
{
	static const struct {
		const char *in, *host;
		int port;
		const char *path;
	} cases[] = {
		{ "ws://127.0.0.1:7700/ws", "127.0.0.1", 7700, "/ws" },
		{ "ws://localhost", "localhost", 80, "/" },
		{ "ws://localhost/", "localhost", 80, "/" },
		{ "ws://h:1/a/b?token=x&y=1", "h", 1, "/a/b?token=x&y=1" },
		{ "ws://h?token=x", "h", 80, "/?token=x" },
		{ "ws://[::1]:7700/ws", "::1", 7700, "/ws" },
		{ "ws://node-2.example.com:8080/ws", "node-2.example.com", 8080,
		    "/ws" },
		{ "wss://h/ws", "h", 443, "/ws" },
		{ "wss://[::1]:7443", "::1", 7443, "/" },
	};
	struct ws_url u;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		if (ws_url_parse(cases[i].in, &u, &cause) != 0)
			print_error("%s: %s\n", cases[i].in, cause);
		assert_null(cause);
		assert_string_equal(u.host, cases[i].host);
		assert_int_equal(u.port, cases[i].port);
		assert_string_equal(u.path, cases[i].path);
	}
}

static void
test_ws_bad(void **state)
{
	static const struct {
		const char *in, *cause;
	} cases[] = {
		{ "http://h/ws", "bad websocket url 'http://h/ws': expected "
		    "ws://host[:port][/path] or wss://..." },
		{ "h:7700", "bad websocket url 'h:7700': expected "
		    "ws://host[:port][/path] or wss://..." },
		{ "", "bad websocket url '': expected "
		    "ws://host[:port][/path] or wss://..." },
		{ "ws://", "bad websocket url 'ws://': missing host" },
		{ "ws:///ws", "bad websocket url 'ws:///ws': missing host" },
		{ "ws://h:0/", "bad websocket url 'ws://h:0/': port must be a "
		    "number from 1 to 65535" },
		{ "ws://h:99999", "bad websocket url 'ws://h:99999': port must "
		    "be a number from 1 to 65535" },
		{ "ws://h:x", "bad websocket url 'ws://h:x': port must be a "
		    "number from 1 to 65535" },
		{ "ws://u@h/", "bad websocket url 'ws://***@h/': user names "
		    "and passwords are not supported" },
		{ "ws://h/a b", "bad websocket url 'ws://h/a b': spaces and "
		    "control characters must be escaped" },
		{ "ws://h/#frag", "bad websocket url 'ws://h/#frag': "
		    "unexpected '#' in url" },
	};
	struct ws_url u;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		assert_int_equal(ws_url_parse(cases[i].in, &u, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(cause, cases[i].cause);
		free(cause);
	}

	/* A path that does not fit. */
	{
		char in[700];

		memset(in, 'a', sizeof in);
		memcpy(in, "ws://h/", 7);
		in[sizeof in - 1] = '\0';
		cause = NULL;
		assert_int_equal(ws_url_parse(in, &u, &cause), -1);
		assert_non_null(strstr(cause, "path too long"));
		free(cause);
	}
}

static void
test_hostport(void **state)
{
	static const struct {
		const char *in, *host;
		int port;
	} good[] = {
		{ "127.0.0.1:7700", "127.0.0.1", 7700 },
		{ "[::1]:7700", "::1", 7700 },
		{ "[::]:1", "::", 1 },
		{ "localhost:7700", "localhost", 7700 },
		{ "*:7700", "0.0.0.0", 7700 },
		{ ":7700", "0.0.0.0", 7700 },
		{ "0.0.0.0:65535", "0.0.0.0", 65535 },
		{ "my-host.example:80", "my-host.example", 80 },
	};
	static const struct {
		const char *in, *cause;
	} bad[] = {
		{ "7700", "bad address '7700': missing port (expected "
		    "HOST:PORT)" },
		{ "localhost", "bad address 'localhost': missing port "
		    "(expected HOST:PORT)" },
		{ "localhost:", "bad address 'localhost:': port must be a "
		    "number from 1 to 65535 (expected HOST:PORT)" },
		{ "h:0", "bad address 'h:0': port must be a number from 1 to "
		    "65535 (expected HOST:PORT)" },
		{ "h:65536", "bad address 'h:65536': port must be a number "
		    "from 1 to 65535 (expected HOST:PORT)" },
		{ "h:+1", "bad address 'h:+1': port must be a number from 1 to "
		    "65535 (expected HOST:PORT)" },
		{ "h: 1", "bad address 'h: 1': port must be a number from 1 to "
		    "65535 (expected HOST:PORT)" },
		{ "", "bad address '': missing host (expected HOST:PORT)" },
		{ "::1:7700", "bad address '::1:7700': an IPv6 address needs "
		    "brackets, as in [::1] (expected HOST:PORT)" },
		{ "fe80::1", "bad address 'fe80::1': an IPv6 address needs "
		    "brackets, as in [::1] (expected HOST:PORT)" },
		{ "[::1]", "bad address '[::1]': missing port (expected "
		    "HOST:PORT)" },
		{ "[::1:7700", "bad address '[::1:7700': missing ']' after "
		    "IPv6 address (expected HOST:PORT)" },
		{ "a b:1", "bad address 'a b:1': bad host name (expected "
		    "HOST:PORT)" },
		{ "ws://h:1", "bad address 'ws://h:1': bad host name (expected "
		    "HOST:PORT)" },
		{ "h:1:2", "bad address 'h:1:2': bad host name (expected "
		    "HOST:PORT)" },
	};
	char host[256];
	char *cause;
	int port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		cause = NULL;
		if (hostport_parse(good[i].in, host, sizeof host, &port,
		    &cause) != 0)
			print_error("%s: %s\n", good[i].in, cause);
		assert_null(cause);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		port = -7;
		assert_int_equal(hostport_parse(bad[i].in, host, sizeof host,
		    &port, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(cause, bad[i].cause);
		assert_int_equal(port, -7);
		free(cause);
	}

	/* The host must fit the caller's buffer. */
	cause = NULL;
	assert_int_equal(hostport_parse("abcdefgh:1", host, 8, &port, &cause),
	    -1);
	free(cause);
	assert_int_equal(hostport_parse("abcdefg:1", host, 8, &port, NULL),
	    0);
	assert_string_equal(host, "abcdefg");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_good),
		cmocka_unit_test(test_redis_bad),
		cmocka_unit_test(test_ws_good),
		cmocka_unit_test(test_ws_bad),
		cmocka_unit_test(test_hostport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
