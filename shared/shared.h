/*
 * shared.h: prototypes for the code roomd and roomctl both use: logging,
 * memory and string buffers, URL parsing, protocol identifiers and JSON
 * helpers, Redis key names and the Lua scripts that write rooms atomically.
 * Nothing in shared/ exits or logs on its own behalf except log.c itself.
 */
#ifndef ROOMD_SHARED_H
#define ROOMD_SHARED_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ROOMD_VERSION "0.1.0"
#define ROOMD_PROTOCOL 1

#include "defaults.h"

#define printflike(a, b) __attribute__((format(printf, a, b)))
#define nonnull_return __attribute__((returns_nonnull))

/* Room ids and event names: ^[A-Za-z0-9_.:-]{1,64}$ */
#define ID_MAX 64

/* log.c */
enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
/* LOG_FORMAT_CLI: "progname: msg", for a command-line tool's errors. */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON, LOG_FORMAT_CLI };
void log_init(const char *progname, enum log_level, enum log_format);
int log_level_parse(const char *, enum log_level *);
int log_format_parse(const char *, enum log_format *);
int log_enabled(enum log_level);
void log_debug(const char *, ...) printflike(1, 2);
void log_info(const char *, ...) printflike(1, 2);
void log_warn(const char *, ...) printflike(1, 2);
void log_warnx(const char *, ...) printflike(1, 2);
void log_error(const char *, ...) printflike(1, 2);
void fatal(const char *, ...) printflike(1, 2) __attribute__((noreturn));
void fatalx(const char *, ...) printflike(1, 2) __attribute__((noreturn));
#define LOG_LIMIT_LINES 3
#define LOG_LIMIT_MS 10000
struct log_limit {		/* zero-initialised, one per message source */
	uint64_t since_ms;
	unsigned int lines;
	uint64_t suppressed;
};
void log_warnx_limited(struct log_limit *, const char *, ...)
    printflike(2, 3);

/* utf8.c: RFC 3629 UTF-8. */
size_t utf8_seq_len(const unsigned char *, size_t);
int utf8_valid(const void *, size_t);

/* util.c */
void *xmalloc(size_t) nonnull_return;
void *xcalloc(size_t, size_t) nonnull_return;
void *xrealloc(void *, size_t) nonnull_return;
char *xstrdup(const char *) nonnull_return;
char *xstrndup(const char *, size_t) nonnull_return;
int xasprintf(char **, const char *, ...) printflike(2, 3);
uint64_t time_ms(void);
uint64_t mono_ms(void);
int parse_duration_ms(const char *, uint64_t *);
int parse_uint(const char *, uint64_t min, uint64_t max, uint64_t *);

/* buf.c: a growable byte buffer, always NUL-terminated. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};
void buf_init(struct buf *);
void buf_free(struct buf *);
void buf_reset(struct buf *);
void buf_reserve(struct buf *, size_t);
void buf_add(struct buf *, const void *, size_t);
void buf_adds(struct buf *, const char *);
void buf_addc(struct buf *, char);
void buf_printf(struct buf *, const char *, ...) printflike(2, 3);
char *buf_detach(struct buf *);

/* redis_uv.c */
struct redisAsyncContext;
struct uv_loop_s;
int redis_uv_attach(struct redisAsyncContext *, struct uv_loop_s *);

/* url.c */
struct redis_url {
	int is_unix;		/* unix:///path */
	char host[256];
	int port;
	char path[108];		/* sun_path */
	char password[256];	/* empty: no AUTH */
	int db;
};
int redis_url_parse(const char *, struct redis_url *, char **cause);
void redis_url_format(const struct redis_url *, char *, size_t);
struct ws_url {
	char host[256];
	int port;
	char path[512];		/* path and query, starting with / */
	int tls;		/* wss:// */
};
int ws_url_parse(const char *, struct ws_url *, char **cause);
int hostport_parse(const char *, char *host, size_t hostlen, int *port,
    char **cause);

/* proto.c */
int id_valid(const char *, size_t);
struct seq {
	uint64_t ms;
	uint64_t n;
};
int seq_parse(const char *, size_t, struct seq *);
int seq_cmp(const struct seq *, const struct seq *);
int seq_is_last(const struct seq *);
void json_add_string(struct buf *, const char *, size_t);
const char *json_type_name(int cjson_type);

/* jsonscan.c */
struct cJSON;
struct cJSON *json_parse(const char *, size_t, size_t *used);
int json_member_span(const char *, size_t, const char *name,
    const char **val, size_t *vlen);
int json_has_nul_escape(const char *, size_t);
int json_minify(const char *, size_t, struct buf *);
char *json_value_text(const char *, size_t, const struct cJSON *);

/* The error codes of error frames (PROTOCOL.md), in /metrics order. */
enum err_code {
	ERR_BAD_JSON,
	ERR_BAD_REQUEST,
	ERR_UNKNOWN_TYPE,
	ERR_UNAUTHORIZED,
	ERR_FORBIDDEN,
	ERR_NOT_FOUND,
	ERR_NOT_MEMBER,
	ERR_ROOM_FULL,
	ERR_TOO_MANY_ROOMS,
	ERR_CONFLICT,
	ERR_RATE_LIMITED,
	ERR_TOO_LARGE,
	ERR_UNAVAILABLE,
	ERR_INTERNAL,
	ERR_COUNT
};
const char *err_name(enum err_code);
int err_parse(const char *, enum err_code *);

/* The request types of PROTOCOL.md, in /metrics order. */
enum req_type {
	REQ_JOIN,
	REQ_LEAVE,
	REQ_PUBLISH,
	REQ_STATE_SET,
	REQ_STATE_GET,
	REQ_PRESENCE,
	REQ_HISTORY,
	REQ_ROOMS,
	REQ_PING,
	REQ_MATCH,
	REQ_LOCK,
	REQ_UNLOCK,
	REQ_TYPE_COUNT
};
const char *req_type_name(enum req_type);

/* dict.c */
struct dict_entry {
	const char *key;
	size_t len;
	void *val;
	struct dict_entry *next;
};
struct dict {
	struct dict_entry **b;
	size_t nb;
	size_t n;
};
void dict_init(struct dict *);
void dict_free(struct dict *);
void *dict_get(struct dict *, const char *, size_t);
void dict_put(struct dict *, const char *, void *);
void *dict_del(struct dict *, const char *, size_t);
void dict_each(struct dict *, void (*)(void *, void *), void *);

/* keys.c */
void key_room(struct buf *, const char *prefix, const char *room,
    const char *suffix);
void key_plain(struct buf *, const char *prefix, const char *name);
void key_room_script(struct buf *, const char *prefix, const char *room,
    const char **, size_t *, int nkeys);
void key_channel(struct buf *, const char *prefix, const char *room);
int key_pool(struct buf *, const char *prefix, const char *pool, unsigned,
    const char *filter);
const char *key_channel_room(const char *prefix, const char *, size_t,
    size_t *);


/* jwt.c: HS256 tokens (PROTOCOL.md, Auth). */
#define JWT_LEEWAY_S 30		/* clock skew allowed on exp and nbf */
#define JWT_TOKEN_MAX 8192	/* longer tokens are refused unread */
#define JWT_SUB_MAX 256		/* bytes in the sub claim */
#define JWT_PATTERNS_MAX 256	/* entries in rooms or publish */
#define JWT_PATTERN_MAX 256	/* bytes in one pattern */
struct jwt_claims {
	char *sub;		/* non-empty UTF-8 */
	int64_t exp;		/* seconds since the epoch */
	char **rooms;		/* NULL-terminated; NULL when absent */
	size_t nrooms;
	int has_rooms;		/* present (absent: any room) */
	char **publish;		/* NULL-terminated; NULL when absent */
	size_t npublish;
	int has_publish;	/* present (absent: any; empty: spectator) */
	int admin;
};
int jwt_verify(const char *token, size_t len, const char *secret,
    size_t secretlen, int64_t now, struct jwt_claims *, char **cause);
void jwt_claims_free(struct jwt_claims *);
int jwt_pattern_match(const char *pattern, const char *s);
int jwt_may_join(const struct jwt_claims *, const char *room);
int jwt_may_publish(const struct jwt_claims *, const char *event);
int jwt_may_write(const struct jwt_claims *);
char *jwt_sign(const char *payload_json, const char *secret,
    size_t secretlen);

/* scripts.c: each script's arguments and reply, named. */
#include "scripts.h"

#endif
