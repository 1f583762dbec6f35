/*
 * defaults.h: the default of every setting roomd and roomctl share, in one
 * place. roomd's option table (daemon/config-opts.c) takes its defaults
 * from here, and roomctl writes rooms with the same history length and TTLs
 * a node uses unless configured otherwise (REDIS.md, CLI.md).
 */
#ifndef ROOMD_DEFAULTS_H
#define ROOMD_DEFAULTS_H

/* Make a string of a macro's value: STRINGIFY(DEFAULT_HISTORY) is "1000". */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#define DEFAULT_LISTEN "127.0.0.1:7700"
/* roomctl sim's --url: a roomd listening by default, at its WebSocket path. */
#define DEFAULT_WS_URL "ws://" DEFAULT_LISTEN "/ws"
#define DEFAULT_REDIS "redis://127.0.0.1:6379/0"
#define DEFAULT_PREFIX "roomd:"
#define DEFAULT_HISTORY 1000		/* frames kept per room */
#define DEFAULT_ROOM_TTL 10800		/* seconds an idle room lives */
#define DEFAULT_EMPTY_TTL 60		/* seconds a closed room's keys live */

#endif
