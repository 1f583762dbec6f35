/*
 * config.h: roomd's settings, read from the command line, the environment
 * (ROOMD_*) and a config file of `name = value` lines, in that precedence.
 * config-opts.c holds the option table (names, types, ranges, defaults,
 * help); config.c merges the three sources through it. Kept apart from
 * roomd.h so unit tests and fuzzers can link the config files alone.
 */
#ifndef ROOMD_CONFIG_H
#define ROOMD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "shared.h"

struct config {
	/* Options, by their long names. Strings are owned by the struct. */
	/* Defaults are in the option table, config-opts.c. */
	char *listen;			/* ADDR:PORT */
	char *redis;			/* URL */
	char *redis_cluster;		/* HOST:PORT[,...]; NULL: --redis */
	char *redis_password;		/* for the cluster's nodes */
	char *prefix;
	char *config;			/* file the settings came from, or NULL */
	char *auth_secret;		/* NULL: anonymous */
	char *auth_secret_file;
	int insecure;
	char *node_id;			/* NULL: generated at start */
	uint64_t history;		/* stream MAXLEN ~ */
	uint64_t room_ttl;		/* seconds */
	uint64_t empty_ttl;		/* seconds; 0 deletes */
	uint64_t max_frame;		/* bytes */
	uint64_t max_rooms_per_conn;	/* rooms */
	uint64_t max_state;		/* bytes of one room's state */
	uint64_t max_conns;
	uint64_t rate;			/* requests/s per connection */
	enum log_level log_level;
	enum log_format log_format;
	char *tls_cert;			/* PEM certificate (chain), or NULL */
	char *tls_key;			/* PEM private key, or NULL */
	int reuse_port;			/* SO_REUSEPORT on the listener */
	uint64_t workers;		/* > 1: supervise that many */
	int check_config;		/* --check-config: validate and exit */
	/* The application's back end (BACKEND.md); NULL: off. */
	char *api_key;
	char *api_key_file;
	char *connect_url;
	char *publish_url;
	char *publish_events;		/* patterns, default "*" */
	uint64_t hook_timeout;		/* seconds, default 3 */
	char *webhook_url;
	char *webhook_secret;
	char *webhook_secret_file;
	char *webhook_events;		/* patterns, default none */
	uint64_t webhook_retry;		/* seconds, default 3600 */

	/* Derived from the options above by config_load. */
	struct redis_url redis_url;
	char listen_host[256];
	int listen_port;
};

/* Which sources may set an option. */
#define IN_ARGV 0x1
#define IN_ENV 0x2
#define IN_FILE 0x4
#define IN_ALL (IN_ARGV | IN_ENV | IN_FILE)

enum opt_type {
	OPT_STRING,
	OPT_UINT,
	OPT_FLAG,
	OPT_LEVEL,
	OPT_FORMAT,
	OPT_HELP,
	OPT_VERSION,
};

struct opt;
/* Check a value; return 0, or -1 with *why (malloc'd) saying what's wrong. */
typedef int (*opt_check_fn)(const struct opt *, const char *, char **why);

/*
 * One option. The table in config-opts.c drives parsing from all three
 * sources, the defaults and the usage text, so they cannot disagree.
 */
struct opt {
	const char *name;
	enum opt_type type;
	size_t off;		/* field in struct config */
	uint64_t min, max;	/* OPT_UINT range */
	int in;			/* IN_* */
	opt_check_fn check;	/* extra check of OPT_STRING values */
	int own_cause;		/* check's *why is a whole sentence */
	int secret;		/* never echo the value */
	const char *arg;	/* for usage */
	const char *help;
	const char *def;	/* default value as it would be written, or NULL */
	int def_hidden;		/* usage does not show the default */
};

/* config-opts.c */
#define CONFIG_NOPTS 38	/* entries in config_opts, checked at build */
extern const struct opt config_opts[];
const struct opt *opt_find(const char *, size_t);
void opt_env_name(const struct opt *, char *, size_t);
void config_usage(FILE *);

/* config.c */
#define CONFIG_OK 0
#define CONFIG_ERROR -1	/* *cause says what; exit 2 */
#define CONFIG_EXIT 1	/* --help or --version was printed; exit 0 */
int config_load(struct config *, int argc, char **argv, char **cause);
void config_free(struct config *);
#endif
