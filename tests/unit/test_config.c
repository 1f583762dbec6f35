/* test_config.c: roomd's settings from argv, ROOMD_* and the config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shared.h"
#include "config.h"

extern char **environ;

#define MAX_ARGS 32
#define MAX_FILES 16

/* Temporary files a test made, removed by teardown. */
static char tmp_paths[MAX_FILES][64];
static int tmp_count;

/* Start each test with no ROOMD_* variable, whatever the runner set. */
static int
setup(void **state)
{
	char name[128], *eq;
	size_t i;

	(void)state;
	for (;;) {
		for (i = 0; environ[i] != NULL; i++) {
			if (strncmp(environ[i], "ROOMD_", 6) == 0)
				break;
		}
		if (environ[i] == NULL)
			break;
		eq = strchr(environ[i], '=');
		snprintf(name, sizeof name, "%.*s",
		    (int)(eq != NULL ? eq - environ[i] : 127), environ[i]);
		unsetenv(name);
	}
	tmp_count = 0;
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < tmp_count; i++)
		unlink(tmp_paths[i]);
	tmp_count = 0;
	return setup(state);
}

/* Write text to a new temporary file and return its path. */
static const char *
tmp_file(const char *text)
{
	char *path;
	int fd;

	assert_true(tmp_count < MAX_FILES);
	path = tmp_paths[tmp_count++];
	snprintf(path, sizeof tmp_paths[0], "/tmp/roomd-test-conf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/*
 * Run config_load on a NULL-terminated list of arguments (after "roomd").
 * Return its result; *cause is set on error.
 */
static int
load(struct config *cfg, char **cause, ...)
{
	char *argv[MAX_ARGS];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"roomd";
	va_start(ap, cause);
	while ((argv[argc] = va_arg(ap, char *)) != NULL) {
		argc++;
		assert_true(argc < MAX_ARGS);
	}
	va_end(ap);
	*cause = NULL;
	return config_load(cfg, argc, argv, cause);
}

/* Expect config_load to fail with exactly this cause. */
#define assert_load_error(want, ...) do {				\
	struct config c_;						\
	char *cause_;							\
	assert_int_equal(load(&c_, &cause_, __VA_ARGS__, (char *)NULL),	\
	    CONFIG_ERROR);						\
	assert_non_null(cause_);					\
	assert_string_equal(cause_, (want));				\
	free(cause_);							\
	config_free(&c_);						\
} while (0)

static void
test_defaults(void **state)
{
	struct config cfg;
	char *cause;

	(void)state;
	assert_int_equal(load(&cfg, &cause, (char *)NULL), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(cfg.listen, "127.0.0.1:7700");
	assert_string_equal(cfg.redis, "redis://127.0.0.1:6379/0");
	assert_string_equal(cfg.prefix, "roomd:");
	assert_null(cfg.config);
	assert_null(cfg.auth_secret);
	assert_null(cfg.auth_secret_file);
	assert_int_equal(cfg.insecure, 0);
	assert_null(cfg.node_id);
	assert_int_equal(cfg.history, 1000);
	assert_int_equal(cfg.room_ttl, 10800);
	assert_int_equal(cfg.empty_ttl, 60);
	assert_int_equal(cfg.max_frame, 65536);
	assert_int_equal(cfg.max_rooms_per_conn, 32);
	assert_int_equal(cfg.max_conns, 20000);
	assert_int_equal(cfg.rate, 100);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
	assert_int_equal(cfg.check_config, 0);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 7700);
	assert_int_equal(cfg.redis_url.is_unix, 0);
	assert_string_equal(cfg.redis_url.host, "127.0.0.1");
	assert_int_equal(cfg.redis_url.port, 6379);
	assert_int_equal(cfg.redis_url.db, 0);
	config_free(&cfg);
	config_free(&cfg);	/* twice is fine */
}

static void
test_argv(void **state)
{
	struct config cfg;
	char *cause;

	(void)state;
	assert_int_equal(load(&cfg, &cause, "--listen", "0.0.0.0:7801",
	    "--redis=redis://:pw@10.0.0.5:6380/2", "--prefix", "t1:",
	    "--auth-secret", "s3", "--insecure", "--node-id", "n-1",
	    "--history=5", "--room-ttl", "1", "--empty-ttl", "0",
	    "--max-frame", "256", "--max-rooms-per-conn", "10000",
	    "--max-conns", "1000000", "--rate", "1", "--log-level", "debug",
	    "--log-format=json", "--check-config", (char *)NULL), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 7801);
	assert_string_equal(cfg.redis_url.host, "10.0.0.5");
	assert_int_equal(cfg.redis_url.port, 6380);
	assert_int_equal(cfg.redis_url.db, 2);
	assert_string_equal(cfg.redis_url.password, "pw");
	assert_string_equal(cfg.prefix, "t1:");
	assert_string_equal(cfg.auth_secret, "s3");
	assert_int_equal(cfg.insecure, 1);
	assert_string_equal(cfg.node_id, "n-1");
	assert_int_equal(cfg.history, 5);
	assert_int_equal(cfg.room_ttl, 1);
	assert_int_equal(cfg.empty_ttl, 0);
	assert_int_equal(cfg.max_frame, 256);
	assert_int_equal(cfg.max_rooms_per_conn, 10000);
	assert_int_equal(cfg.max_conns, 1000000);
	assert_int_equal(cfg.rate, 1);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
	assert_int_equal(cfg.check_config, 1);
	config_free(&cfg);

	/* The last of a repeated option wins; flags take =false. */
	assert_int_equal(load(&cfg, &cause, "--history", "7", "--history=8",
	    "--insecure", "--insecure=no", "--listen", "[::1]:9",
	    "--redis", "unix:///tmp/r.sock?db=3", (char *)NULL), CONFIG_OK);
	assert_int_equal(cfg.history, 8);
	assert_int_equal(cfg.insecure, 0);
	assert_string_equal(cfg.listen_host, "::1");
	assert_int_equal(cfg.listen_port, 9);
	assert_int_equal(cfg.redis_url.is_unix, 1);
	assert_string_equal(cfg.redis_url.path, "/tmp/r.sock");
	assert_int_equal(cfg.redis_url.db, 3);
	config_free(&cfg);

	/* A value may start with dashes, and "--" ends the options. */
	assert_int_equal(load(&cfg, &cause, "--auth-secret", "--x--",
	    "--", (char *)NULL), CONFIG_OK);
	assert_string_equal(cfg.auth_secret, "--x--");
	config_free(&cfg);
}

static void
test_argv_errors(void **state)
{
	(void)state;
	assert_load_error("unknown option '--foo'", "--foo");
	assert_load_error("unknown option '--foo'", "--foo=1");
	assert_load_error("unknown option '-x'", "-x");
	assert_load_error("unknown option '---listen'", "---listen", "x");
	assert_load_error("unexpected argument 'extra'", "extra");
	assert_load_error("unexpected argument '-'", "-");
	assert_load_error("unexpected argument 'x'", "--", "x");
	assert_load_error("--listen needs a value", "--listen");
	assert_load_error("--history needs a value", "--rate", "5",
	    "--history");
	assert_load_error("bad value 'x' for --history: expected an integer "
	    "from 1 to 1000000", "--history", "x");
	assert_load_error("bad value '0' for --history: expected an integer "
	    "from 1 to 1000000", "--history=0");
	assert_load_error("bad value '1000001' for --history: expected an "
	    "integer from 1 to 1000000", "--history", "1000001");
	assert_load_error("bad value '-1' for --empty-ttl: expected an integer "
	    "from 0 to 31536000", "--empty-ttl", "-1");
	assert_load_error("bad value '31536001' for --room-ttl: expected an "
	    "integer from 1 to 31536000", "--room-ttl", "31536001");
	assert_load_error("bad value '255' for --max-frame: expected an "
	    "integer from 256 to 16777216", "--max-frame", "255");
	assert_load_error("bad value '16777217' for --max-frame: expected an "
	    "integer from 256 to 16777216", "--max-frame", "16777217");
	assert_load_error("bad value '0' for --max-rooms-per-conn: expected an "
	    "integer from 1 to 10000", "--max-rooms-per-conn", "0");
	assert_load_error("bad value '10001' for --max-rooms-per-conn: "
	    "expected an integer from 1 to 10000", "--max-rooms-per-conn",
	    "10001");
	assert_load_error("bad value '0' for --max-conns: expected an integer "
	    "from 1 to 1000000", "--max-conns", "0");
	assert_load_error("bad value '1000001' for --rate: expected an integer "
	    "from 1 to 1000000", "--rate", "1000001");
	assert_load_error("bad value ' 5' for --rate: expected an integer "
	    "from 1 to 1000000", "--rate", " 5");
	assert_load_error("bad value 'loud' for --log-level: expected debug, "
	    "info, warn or error", "--log-level", "loud");
	assert_load_error("bad value 'xml' for --log-format: expected text or "
	    "json", "--log-format", "xml");
	assert_load_error("bad value 'maybe' for --insecure: expected true or "
	    "false", "--insecure=maybe");
	assert_load_error("--listen: bad address '7700': missing port "
	    "(expected HOST:PORT)", "--listen", "7700");
	assert_load_error("--redis: bad redis url 'redis://:***@': missing "
	    "host", "--redis", "redis://:hunter2@");
	assert_load_error("--redis: bad redis url 'localhost:6379': expected "
	    "redis:// or unix://", "--redis", "localhost:6379");
	assert_load_error("bad value '' for --prefix: expected 1 to 64 "
	    "characters", "--prefix", "");
	assert_load_error("bad value 'a b' for --prefix: spaces, control "
	    "characters and braces are not allowed", "--prefix", "a b");
	assert_load_error("bad value 'a{b}' for --prefix: spaces, control "
	    "characters and braces are not allowed", "--prefix", "a{b}");
#define X65 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	assert_load_error("bad value '" X65 "' for --prefix: expected 1 to 64 "
	    "characters", "--prefix", X65);
#undef X65
	assert_load_error("bad value 'n/1' for --node-id: expected 1 to 64 of "
	    "A-Z a-z 0-9 _ . : -", "--node-id", "n/1");
	assert_load_error("--auth-secret: bad value: must not be empty",
	    "--auth-secret", "");
	assert_load_error("--auth-secret: give auth-secret or "
	    "auth-secret-file, not both", "--auth-secret-file", "/x",
	    "--auth-secret", "s");
	assert_load_error("bad value 'x' for --check-config: expected true or "
	    "false", "--check-config=x");
	assert_load_error("--help takes no value", "--help=1");
	assert_load_error("cannot open config file '/nonexistent/roomd.conf': "
	    "No such file or directory", "--config", "/nonexistent/roomd.conf");
	assert_load_error("bad value '' for --config: must not be empty",
	    "--config", "");
	/* A device is not read forever: a fuzzed config file may name one. */
	assert_load_error("--auth-secret-file: secret file '/dev/zero' is over "
	    "65536 bytes", "--auth-secret-file", "/dev/zero");
}

/* Run config_load with stdout captured; return what was printed. */
static char *
load_stdout(int *rc, const char *arg)
{
	char path[] = "/tmp/roomd-test-out.XXXXXX", *out, *cause = NULL;
	char *argv[] = { (char *)"roomd", (char *)arg, NULL };
	struct config cfg;
	int fd, saved;
	long n;
	FILE *f;

	fd = mkstemp(path);
	assert_true(fd != -1);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	*rc = config_load(&cfg, 2, argv, &cause);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	assert_null(cause);
	config_free(&cfg);

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

static void
test_help_version(void **state)
{
	char *out;
	int rc;

	(void)state;
	out = load_stdout(&rc, "--version");
	assert_int_equal(rc, CONFIG_EXIT);
	assert_string_equal(out, "roomd 0.1.0\n");
	free(out);
	out = load_stdout(&rc, "-V");
	assert_int_equal(rc, CONFIG_EXIT);
	assert_string_equal(out, "roomd 0.1.0\n");
	free(out);

	out = load_stdout(&rc, "--help");
	assert_int_equal(rc, CONFIG_EXIT);
	assert_true(strncmp(out, "usage: roomd ", 13) == 0);
	assert_non_null(strstr(out, "--max-rooms-per-conn"));
	assert_non_null(strstr(out, "--auth-secret-file"));
	free(out);
	out = load_stdout(&rc, "-h");
	assert_int_equal(rc, CONFIG_EXIT);
	assert_true(strncmp(out, "usage: roomd ", 13) == 0);
	free(out);
}

static void
test_env(void **state)
{
	struct config cfg;
	char *cause;

	(void)state;
	setenv("ROOMD_LISTEN", "127.0.0.1:8800", 1);
	setenv("ROOMD_AUTH_SECRET", "envsecret", 1);
	setenv("ROOMD_MAX_ROOMS_PER_CONN", "7", 1);
	setenv("ROOMD_INSECURE", "yes", 1);
	setenv("ROOMD_LOG_FORMAT", "json", 1);
	setenv("ROOMD_HISTORY", "", 1);		/* empty: unset */
	setenv("ROOMD_SOMETHING_ELSE", "x", 1);	/* not ours to refuse */
	assert_int_equal(load(&cfg, &cause, (char *)NULL), CONFIG_OK);
	assert_null(cause);
	assert_int_equal(cfg.listen_port, 8800);
	assert_string_equal(cfg.auth_secret, "envsecret");
	assert_int_equal(cfg.max_rooms_per_conn, 7);
	assert_int_equal(cfg.insecure, 1);
	assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
	assert_int_equal(cfg.history, 1000);
	config_free(&cfg);

	/* The command line wins over the environment. */
	assert_int_equal(load(&cfg, &cause, "--listen", "127.0.0.1:9900",
	    "--max-rooms-per-conn=3", (char *)NULL), CONFIG_OK);
	assert_int_equal(cfg.listen_port, 9900);
	assert_int_equal(cfg.max_rooms_per_conn, 3);
	assert_string_equal(cfg.auth_secret, "envsecret");
	config_free(&cfg);

	/* Flag spellings. */
	setenv("ROOMD_INSECURE", "0", 1);
	assert_int_equal(load(&cfg, &cause, (char *)NULL), CONFIG_OK);
	assert_int_equal(cfg.insecure, 0);
	config_free(&cfg);
	setenv("ROOMD_INSECURE", "TRUE", 1);
	assert_int_equal(load(&cfg, &cause, (char *)NULL), CONFIG_OK);
	assert_int_equal(cfg.insecure, 1);
	config_free(&cfg);
}

static void
test_env_errors(void **state)
{
	(void)state;
	setenv("ROOMD_HISTORY", "lots", 1);
	assert_load_error("ROOMD_HISTORY: bad value 'lots': expected an "
	    "integer from 1 to 1000000", "--rate", "5");
	/* Even when the command line overrides it. */
	assert_load_error("ROOMD_HISTORY: bad value 'lots': expected an "
	    "integer from 1 to 1000000", "--history", "5");
	unsetenv("ROOMD_HISTORY");

	setenv("ROOMD_INSECURE", "2", 1);
	assert_load_error("ROOMD_INSECURE: bad value '2': expected true or "
	    "false", "--rate", "5");
	unsetenv("ROOMD_INSECURE");

	setenv("ROOMD_REDIS", "redis://:pw@h:99999", 1);
	assert_load_error("ROOMD_REDIS: bad redis url 'redis://:***@h:99999': "
	    "port must be a number from 1 to 65535", "--rate", "5");
	unsetenv("ROOMD_REDIS");

	setenv("ROOMD_AUTH_SECRET", "a", 1);
	setenv("ROOMD_AUTH_SECRET_FILE", "/b", 1);
	assert_load_error("ROOMD_AUTH_SECRET_FILE: give auth-secret or "
	    "auth-secret-file, not both", "--rate", "5");
}

static void
test_file(void **state)
{
	struct config cfg;
	const char *path;
	char *cause;

	(void)state;
	path = tmp_file(
	    "# roomd settings\n"
	    "\n"
	    "   listen   =   0.0.0.0:7001   \n"
	    "redis = \"redis://127.0.0.1:6390/4\"\n"
	    "prefix=f:\n"
	    "\t# indented comment\n"
	    "history = 50\n"
	    "room-ttl = 99\n"
	    "max_frame = 1024\n"
	    "insecure = true\n"
	    "log-level = warn\n"
	    "auth-secret = \"with spaces # and hash\"\n"
	    "node-id = file-node");
	assert_int_equal(load(&cfg, &cause, "--config", path, (char *)NULL),
	    CONFIG_OK);
	assert_null(cause);
	assert_string_equal(cfg.config, path);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 7001);
	assert_int_equal(cfg.redis_url.port, 6390);
	assert_int_equal(cfg.redis_url.db, 4);
	assert_string_equal(cfg.prefix, "f:");
	assert_int_equal(cfg.history, 50);
	assert_int_equal(cfg.room_ttl, 99);
	assert_int_equal(cfg.max_frame, 1024);
	assert_int_equal(cfg.insecure, 1);
	assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
	assert_string_equal(cfg.auth_secret, "with spaces # and hash");
	assert_string_equal(cfg.node_id, "file-node");
	config_free(&cfg);

	/* ROOMD_CONFIG names the file too. */
	setenv("ROOMD_CONFIG", path, 1);
	assert_int_equal(load(&cfg, &cause, (char *)NULL), CONFIG_OK);
	assert_int_equal(cfg.history, 50);
	config_free(&cfg);

	/* A bare flag name turns it on; CRLF line ends are fine. */
	path = tmp_file("insecure\r\nrate = 9\r\n");
	assert_int_equal(load(&cfg, &cause, "--config", path, (char *)NULL),
	    CONFIG_OK);
	assert_int_equal(cfg.insecure, 1);
	assert_int_equal(cfg.rate, 9);
	config_free(&cfg);
}

static void
test_precedence(void **state)
{
	struct config cfg;
	const char *path;
	char *cause;

	(void)state;
	path = tmp_file("history = 10\nrate = 10\nmax-conns = 10\n"
	    "log-level = error\n");
	setenv("ROOMD_RATE", "20", 1);
	setenv("ROOMD_MAX_CONNS", "20", 1);
	setenv("ROOMD_CONFIG", path, 1);

	/* argv > env > file > default, option by option. */
	assert_int_equal(load(&cfg, &cause, "--max-conns", "30",
	    (char *)NULL), CONFIG_OK);
	assert_null(cause);
	assert_int_equal(cfg.history, 10);
	assert_int_equal(cfg.rate, 20);
	assert_int_equal(cfg.max_conns, 30);
	assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR);
	assert_int_equal(cfg.max_frame, 65536);
	config_free(&cfg);

	/* --config wins over ROOMD_CONFIG. */
	path = tmp_file("history = 11\n");
	assert_int_equal(load(&cfg, &cause, "--config", path, (char *)NULL),
	    CONFIG_OK);
	assert_int_equal(cfg.history, 11);
	assert_string_equal(cfg.config, path);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	config_free(&cfg);
}

static void
test_secret_file(void **state)
{
	struct config cfg;
	const char *path, *other;
	char *cause, want[512];

	(void)state;
	path = tmp_file("topsecret\n\n");
	assert_int_equal(load(&cfg, &cause, "--auth-secret-file", path,
	    (char *)NULL), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(cfg.auth_secret, "topsecret");
	assert_string_equal(cfg.auth_secret_file, path);
	config_free(&cfg);

	/* CRLF too, and inner newlines stay. */
	path = tmp_file("two\nlines\r\n");
	assert_int_equal(load(&cfg, &cause, "--auth-secret-file", path,
	    (char *)NULL), CONFIG_OK);
	assert_string_equal(cfg.auth_secret, "two\nlines");
	config_free(&cfg);

	/* A higher source's secret file beats a lower source's secret. */
	setenv("ROOMD_AUTH_SECRET", "fromenv", 1);
	assert_int_equal(load(&cfg, &cause, "--auth-secret-file", path,
	    (char *)NULL), CONFIG_OK);
	assert_string_equal(cfg.auth_secret, "two\nlines");
	config_free(&cfg);
	other = tmp_file("auth-secret-file = /nonexistent\n");
	assert_int_equal(load(&cfg, &cause, "--config", other, (char *)NULL),
	    CONFIG_OK);
	assert_string_equal(cfg.auth_secret, "fromenv");
	assert_null(cfg.auth_secret_file);
	config_free(&cfg);
	unsetenv("ROOMD_AUTH_SECRET");

	assert_load_error("--auth-secret-file: cannot open secret file "
	    "'/nonexistent/secret': No such file or directory",
	    "--auth-secret-file", "/nonexistent/secret");
	path = tmp_file("\n\n");
	snprintf(want, sizeof want, "--auth-secret-file: secret file '%s' is "
	    "empty", path);
	assert_load_error(want, "--auth-secret-file", path);

	/* From a file, the error points at its line. */
	path = tmp_file("# secret\nauth-secret-file = /nonexistent/s\n");
	snprintf(want, sizeof want, "%s:2: cannot open secret file "
	    "'/nonexistent/s': No such file or directory", path);
	assert_load_error(want, "--config", path);
}

static void
test_file_errors(void **state)
{
	const char *path;
	char want[512];

	(void)state;
	path = tmp_file("history = 5\n\nfoo = 1\n");
	snprintf(want, sizeof want, "%s:3: unknown option 'foo'", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("# c\nhistory = x\n");
	snprintf(want, sizeof want, "%s:2: bad value 'x' for history: "
	    "expected an integer from 1 to 1000000", path);
	assert_load_error(want, "--config", path);
	/* Reported even though the command line overrides it. */
	assert_load_error(want, "--config", path, "--history", "3");

	path = tmp_file("config = /etc/other.conf\n");
	snprintf(want, sizeof want, "%s:1: config cannot be set in a config "
	    "file", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("check-config = true\n");
	snprintf(want, sizeof want, "%s:1: check-config cannot be set in a "
	    "config file", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("help = 1\n");
	snprintf(want, sizeof want, "%s:1: unknown option 'help'", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("listen\n");
	snprintf(want, sizeof want, "%s:1: expected 'listen = value'", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("insecure = sure\n");
	snprintf(want, sizeof want, "%s:1: bad value 'sure' for insecure: "
	    "expected true or false", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("listen = nowhere\n");
	snprintf(want, sizeof want, "%s:1: bad address 'nowhere': missing "
	    "port (expected HOST:PORT)", path);
	assert_load_error(want, "--config", path);

	path = tmp_file("auth-secret = a\nauth-secret-file = /b\n");
	snprintf(want, sizeof want, "%s:2: give auth-secret or "
	    "auth-secret-file, not both", path);
	assert_load_error(want, "--config", path);

	path = tmp_file(" = 5\n");
	snprintf(want, sizeof want, "%s:1: unknown option ''", path);
	assert_load_error(want, "--config", path);

	setenv("ROOMD_CONFIG", "/nonexistent/env.conf", 1);
	assert_load_error("cannot open config file '/nonexistent/env.conf': "
	    "No such file or directory", "--rate", "3");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_help_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secret_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
