/*
 * config-opts.c: roomd's option table (name, type, range, sources, default
 * and help of every setting), the checks of string values, and the usage
 * text printed from the table. Defaults both binaries share come from
 * shared/defaults.h.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "config.h"

static int check_listen(const struct opt *, const char *, char **);
static int check_redis(const struct opt *, const char *, char **);
static int check_cluster(const struct opt *, const char *, char **);
static int check_prefix(const struct opt *, const char *, char **);
static int check_node_id(const struct opt *, const char *, char **);
static int check_nonempty(const struct opt *, const char *, char **);
static int check_http_url(const struct opt *, const char *, char **);
static int check_patterns(const struct opt *, const char *, char **);

#define F(f) offsetof(struct config, f)
const struct opt config_opts[] = {
	{ "listen", OPT_STRING, F(listen), 0, 0, IN_ALL, check_listen, 1, 0,
	    "ADDR:PORT", "address to serve WebSocket and HTTP on",
	    DEFAULT_LISTEN, 0 },
	{ "redis", OPT_STRING, F(redis), 0, 0, IN_ALL, check_redis, 1, 1,
	    "URL", "redis://[:password@]host[:port][/db] or "
	    "unix:///path[?db=N]", DEFAULT_REDIS, 1 },
	{ "redis-cluster", OPT_STRING, F(redis_cluster), 0, 0, IN_ALL,
	    check_cluster, 0, 0, "HOST:PORT[,...]",
	    "Redis Cluster seed nodes, instead of --redis", NULL, 0 },
	{ "redis-password", OPT_STRING, F(redis_password), 0, 0, IN_ALL,
	    check_nonempty, 0, 1, "P", "password of the cluster's nodes", NULL,
	    0 },
	{ "prefix", OPT_STRING, F(prefix), 0, 0, IN_ALL, check_prefix, 0, 0,
	    "P", "prefix of every Redis key", DEFAULT_PREFIX, 0 },
	{ "config", OPT_STRING, F(config), 0, 0, IN_ARGV | IN_ENV,
	    check_nonempty, 0, 0, "FILE", "read name = value lines from FILE",
	    NULL, 0 },
	{ "auth-secret", OPT_STRING, F(auth_secret), 0, 0, IN_ALL,
	    check_nonempty, 0, 1, "S", "HMAC secret of client tokens", NULL,
	    0 },
	{ "auth-secret-file", OPT_STRING, F(auth_secret_file), 0, 0, IN_ALL,
	    check_nonempty, 0, 0, "F", "read the secret from F", NULL, 0 },
	{ "insecure", OPT_FLAG, F(insecure), 0, 0, IN_ALL, NULL, 0, 0, NULL,
	    "allow anonymous clients on a non-loopback address", NULL, 0 },
	{ "node-id", OPT_STRING, F(node_id), 0, 0, IN_ALL, check_node_id, 0,
	    0, "ID", "this node's id (generated)", NULL, 0 },
	{ "history", OPT_UINT, F(history), 1, 1000000, IN_ALL, NULL, 0, 0,
	    "N", "frames kept per room", STRINGIFY(DEFAULT_HISTORY), 0 },
	{ "room-ttl", OPT_UINT, F(room_ttl), 1, 31536000, IN_ALL, NULL, 0, 0,
	    "SECS", "idle room lifetime", STRINGIFY(DEFAULT_ROOM_TTL), 0 },
	{ "empty-ttl", OPT_UINT, F(empty_ttl), 0, 31536000, IN_ALL, NULL, 0, 0,
	    "SECS", "lifetime of a closed room's keys, 0 deletes",
	    STRINGIFY(DEFAULT_EMPTY_TTL), 0 },
	{ "max-frame", OPT_UINT, F(max_frame), 256, 16777216, IN_ALL, NULL, 0,
	    0, "BYTES", "largest client frame", "65536", 0 },
	{ "max-state", OPT_UINT, F(max_state), 1024, 1073741824, IN_ALL, NULL,
	    0, 0, "BYTES", "most state one room may hold", "1048576", 0 },
	{ "max-rooms-per-conn", OPT_UINT, F(max_rooms_per_conn), 1, 10000,
	    IN_ALL, NULL, 0, 0, "N", "rooms one connection may join", "32", 0 },
	{ "max-conns", OPT_UINT, F(max_conns), 1, 1000000, IN_ALL, NULL, 0, 0,
	    "N", "connections at once", "20000", 0 },
	{ "rate", OPT_UINT, F(rate), 1, 1000000, IN_ALL, NULL, 0, 0,
	    "MSGS_PER_SEC", "requests per second per connection", "100", 0 },
	{ "log-level", OPT_LEVEL, F(log_level), 0, 0, IN_ALL, NULL, 0, 0,
	    "debug|info|warn|error", "lowest level logged", "info", 0 },
	{ "log-format", OPT_FORMAT, F(log_format), 0, 0, IN_ALL, NULL, 0, 0,
	    "text|json", "log line format", "text", 0 },
	{ "tls-cert", OPT_STRING, F(tls_cert), 0, 0, IN_ALL, check_nonempty, 0,
	    0, "FILE", "serve wss:// and https:// with this PEM certificate "
	    "chain", NULL, 0 },
	{ "tls-key", OPT_STRING, F(tls_key), 0, 0, IN_ALL, check_nonempty, 0,
	    0, "FILE", "the certificate's PEM private key", NULL, 0 },
	{ "reuse-port", OPT_FLAG, F(reuse_port), 0, 0, IN_ALL, NULL, 0, 0,
	    NULL, "set SO_REUSEPORT: share the port with other roomds",
	    NULL, 0 },
	{ "workers", OPT_UINT, F(workers), 1, 64, IN_ALL, NULL, 0, 0, "N",
	    "run N worker processes on the port under a supervisor", "1", 0 },
	/* The application's back end (BACKEND.md). */
	{ "api-key", OPT_STRING, F(api_key), 0, 0, IN_ALL, check_nonempty, 0,
	    1, "K", "key of the HTTP API, which is off without one", NULL, 0 },
	{ "api-key-file", OPT_STRING, F(api_key_file), 0, 0, IN_ALL,
	    check_nonempty, 0, 0, "F", "read the API key from F", NULL, 0 },
	{ "connect-url", OPT_STRING, F(connect_url), 0, 0, IN_ALL,
	    check_http_url, 0, 0, "URL", "back end that authorises connections",
	    NULL, 0 },
	{ "publish-url", OPT_STRING, F(publish_url), 0, 0, IN_ALL,
	    check_http_url, 0, 0, "URL", "back end that checks events", NULL,
	    0 },
	{ "publish-events", OPT_STRING, F(publish_events), 0, 0, IN_ALL,
	    check_patterns, 0, 0, "PATTERNS", "events the publish hook sees",
	    "*", 0 },
	{ "hook-timeout", OPT_UINT, F(hook_timeout), 1, 600, IN_ALL, NULL, 0,
	    0, "SECS", "wait for a hook or webhook answer", "3", 0 },
	{ "webhook-url", OPT_STRING, F(webhook_url), 0, 0, IN_ALL,
	    check_http_url, 0, 0, "URL", "back end told what happens in rooms",
	    NULL, 0 },
	{ "webhook-secret", OPT_STRING, F(webhook_secret), 0, 0, IN_ALL,
	    check_nonempty, 0, 1, "S", "HMAC key of webhook signatures", NULL,
	    0 },
	{ "webhook-secret-file", OPT_STRING, F(webhook_secret_file), 0, 0,
	    IN_ALL, check_nonempty, 0, 0, "F", "read the webhook secret from F",
	    NULL, 0 },
	{ "webhook-events", OPT_STRING, F(webhook_events), 0, 0, IN_ALL,
	    check_patterns, 0, 0, "PATTERNS", "events also sent as notices, "
	    "none by default", NULL, 0 },
	{ "webhook-retry", OPT_UINT, F(webhook_retry), 1, 604800, IN_ALL, NULL,
	    0, 0, "SECS", "retry a failing webhook this long", "3600", 0 },
	{ "check-config", OPT_FLAG, F(check_config), 0, 0, IN_ARGV, NULL, 0, 0,
	    NULL, "check the settings and exit", NULL, 0 },
	{ "help", OPT_HELP, 0, 0, 0, IN_ARGV, NULL, 0, 0, NULL,
	    "print this help and exit (also -h)", NULL, 0 },
	{ "version", OPT_VERSION, 0, 0, 0, IN_ARGV, NULL, 0, 0, NULL,
	    "print the version and exit (also -V)", NULL, 0 },
};
#undef F
_Static_assert(sizeof config_opts / sizeof config_opts[0] == CONFIG_NOPTS,
    "CONFIG_NOPTS is not the number of options");

/* The option called name (len bytes, not NUL-terminated), or NULL. */
const struct opt *
opt_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (strlen(config_opts[i].name) == len &&
		    strncmp(config_opts[i].name, name, len) == 0)
			return &config_opts[i];
	}
	return NULL;
}

/* Name of the environment variable for an option: ROOMD_MAX_FRAME. */
void
opt_env_name(const struct opt *o, char *out, size_t outlen)
{
	size_t i;

	snprintf(out, outlen, "ROOMD_%s", o->name);
	for (i = 6; out[i] != '\0'; i++)
		out[i] = (out[i] == '-') ? '_' : (char)toupper(
		    (unsigned char)out[i]);
}

static int
check_listen(const struct opt *o, const char *v, char **why)
{
	char host[256];
	int port;

	(void)o;
	return hostport_parse(v, host, sizeof host, &port, why);
}

static int
check_redis(const struct opt *o, const char *v, char **why)
{
	struct redis_url u;

	(void)o;
	return redis_url_parse(v, &u, why);
}

static int
check_cluster(const struct opt *o, const char *v, char **why)
{
	struct cluster_addr *a = NULL;
	size_t n = 0;

	(void)o;
	if (cluster_seeds_parse(v, &a, &n, why) != 0)
		return -1;
	free(a);
	return 0;
}

/*
 * Keys are built as prefix + name, so whitespace would split commands in
 * redis-cli and braces would steal the room's hash tag.
 */
static int
check_prefix(const struct opt *o, const char *v, char **why)
{
	const unsigned char *p;

	(void)o;
	if (*v == '\0' || strlen(v) > 64) {
		*why = xstrdup("expected 1 to 64 characters");
		return -1;
	}
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '{' || *p == '}') {
			*why = xstrdup("spaces, control characters and braces "
			    "are not allowed");
			return -1;
		}
	}
	return 0;
}

static int
check_node_id(const struct opt *o, const char *v, char **why)
{
	(void)o;
	if (!id_valid(v, strlen(v))) {
		*why = xstrdup("expected 1 to 64 of A-Z a-z 0-9 _ . : -");
		return -1;
	}
	return 0;
}

static int
check_nonempty(const struct opt *o, const char *v, char **why)
{
	(void)o;
	if (*v == '\0') {
		*why = xstrdup("must not be empty");
		return -1;
	}
	return 0;
}

/* An http:// or https:// URL with a host. */
static int
check_http_url(const struct opt *o, const char *v, char **why)
{
	const char *h;

	(void)o;
	if (strncmp(v, "http://", 7) == 0)
		h = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		h = v + 8;
	else {
		*why = xstrdup("must be an http:// or https:// URL");
		return -1;
	}
	if (*h == '\0' || *h == '/' || strpbrk(v, " \t\r\n") != NULL) {
		*why = xstrdup("must be an http:// or https:// URL with a host");
		return -1;
	}
	return 0;
}

/* Comma-separated event-name patterns: ids with '*' wildcards. */
static int
check_patterns(const struct opt *o, const char *v, char **why)
{
	const char *p = v, *e;
	size_t n;

	(void)o;
	if (*v == '\0')
		return 0;
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n > ID_MAX) {
			*why = xstrdup("must be event-name patterns, "
			    "comma-separated");
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (p[i] != '*' && !id_valid(p + i, 1)) {
				xasprintf(why, "pattern '%.*s' may hold only "
				    "A-Z a-z 0-9 _ . : - and *", (int)n, p);
				return -1;
			}
		}
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

/* Print the synopsis and one line per option, from the option table. */
void
config_usage(FILE *f)
{
	const struct opt *o;
	char left[64], help[128];
	size_t i;

	fprintf(f,
	    "usage: roomd [--listen ADDR:PORT] [--redis URL] [--prefix P] "
	    "[--config FILE]\n"
	    "             [--redis-cluster HOST:PORT[,...]] "
	    "[--redis-password P]\n"
	    "             [--auth-secret S | --auth-secret-file F] "
	    "[--insecure]\n"
	    "             [--node-id ID] [--history N] [--room-ttl SECS] "
	    "[--empty-ttl SECS]\n"
	    "             [--max-frame BYTES] [--max-state BYTES] "
	    "[--max-rooms-per-conn N]\n"
	    "             [--max-conns N] [--rate MSGS_PER_SEC] "
	    "[--log-level LEVEL]\n"
	    "             [--log-format text|json] "
	    "[--tls-cert FILE --tls-key FILE]\n"
	    "             [--reuse-port] [--workers N]\n"
	    "             [--api-key K | --api-key-file F] [--connect-url URL]\n"
	    "             [--publish-url URL] [--publish-events PATTERNS] "
	    "[--hook-timeout SECS]\n"
	    "             [--webhook-url URL] [--webhook-secret S | "
	    "--webhook-secret-file F]\n"
	    "             [--webhook-events PATTERNS] [--webhook-retry SECS]\n"
	    "             [--check-config]\n\n");
	for (i = 0; i < CONFIG_NOPTS; i++) {
		o = &config_opts[i];
		if (o->arg != NULL)
			snprintf(left, sizeof left, "--%s %s", o->name, o->arg);
		else
			snprintf(left, sizeof left, "--%s", o->name);
		if (o->def != NULL && !o->def_hidden)
			snprintf(help, sizeof help, "%s (%s)", o->help, o->def);
		else
			snprintf(help, sizeof help, "%s", o->help);
		if (strlen(left) > 24)
			fprintf(f, "  %s\n  %-24s  %s\n", left, "", help);
		else
			fprintf(f, "  %-24s  %s\n", left, help);
	}
	fprintf(f, "\nEvery option can also be set as ROOMD_NAME in the "
	    "environment (ROOMD_LISTEN,\nROOMD_AUTH_SECRET) or as 'name = "
	    "value' in the config file; the command line\nwins over the "
	    "environment, which wins over the file.\n");
}
