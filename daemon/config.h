/*
 * config.h: roomd's settings, read from the command line, the environment
 * (ROOMD_*) and a config file of `name = value` lines, in that precedence.
 * Kept apart from roomd.h so unit tests can link config.c alone.
 */
#ifndef ROOMD_CONFIG_H
#define ROOMD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "shared.h"

struct config {
	/* Options, by their long names. Strings are owned by the struct. */
	char *listen;			/* ADDR:PORT, default 127.0.0.1:7700 */
	char *redis;			/* URL, default redis://127.0.0.1:6379/0 */
	char *prefix;			/* default "roomd:" */
	char *config;			/* file the settings came from, or NULL */
	char *auth_secret;		/* NULL: anonymous */
	char *auth_secret_file;
	int insecure;
	char *node_id;			/* NULL: generated at start */
	uint64_t history;		/* stream MAXLEN ~, default 1000 */
	uint64_t room_ttl;		/* seconds, default 10800 */
	uint64_t empty_ttl;		/* seconds, default 60; 0 deletes */
	uint64_t max_frame;		/* bytes, default 65536 */
	uint64_t max_rooms_per_conn;	/* default 32 */
	uint64_t max_conns;		/* default 20000 */
	uint64_t rate;			/* requests/s per connection, default 100 */
	enum log_level log_level;	/* default info */
	enum log_format log_format;	/* default text */
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

/* config.c */
#define CONFIG_OK 0
#define CONFIG_ERROR -1	/* *cause says what; exit 2 */
#define CONFIG_EXIT 1	/* --help or --version was printed; exit 0 */
int config_load(struct config *, int argc, char **argv, char **cause);
void config_free(struct config *);
void config_usage(FILE *);
#endif
