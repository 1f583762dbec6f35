/*
 * roomctl.h: the admin CLI's command table and the prototypes its commands
 * share. Each command lives in cli/cmd-NAME.c and exports cmd_NAME_entry;
 * cli/cmd.c lists them in one table that drives dispatch, usage text and
 * `roomctl help` (and the completions are checked against it).
 */
#ifndef ROOMCTL_H
#define ROOMCTL_H

#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "shared.h"

struct cJSON;
struct redisContext;
struct redisReply;

/* Exit statuses, listed in roomctl(1); never renumber them. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NOTFOUND 3

/* What the global options decided, handed to every command. */
struct cmd_ctx {
	const char *redis;	/* URL from --redis or the environment */
	const char *redis_cluster;	/* seeds; NULL: redis */
	const char *redis_password;	/* of the cluster's nodes */
	const char *prefix;	/* key prefix, default DEFAULT_PREFIX */
	int json;		/* --json */
	int tty;		/* stdout is a terminal */
};

struct cmd_entry {
	const char *name;
	const char *args;	/* synopsis after the name */
	const char *summary;	/* one line for `roomctl help` */
	const char *options;	/* long options, space separated, for completions */
	int (*exec)(struct cmd_ctx *, int argc, char **argv);
};

/* cmd.c */
extern const struct cmd_entry *cmd_table[];
const struct cmd_entry *cmd_find(const char *);
void cmd_usage(const struct cmd_entry *, FILE *);
int cmd_usage_error(const struct cmd_entry *, const char *, ...)
    printflike(2, 3);
void cmd_error(const char *, ...) printflike(1, 2);
#define CMD_OPTION_DONE (-1)
int cmd_option(struct cmd_ctx *, const struct cmd_entry *, int, char **);
int cmd_options_only(struct cmd_ctx *, const struct cmd_entry *, int,
    char **);
int cmd_room_operand(const struct cmd_entry *, int, char **, const char **);

/* cmd-*.c */
extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_nodes_entry;
extern const struct cmd_entry cmd_webhooks_entry;
extern const struct cmd_entry cmd_rooms_entry;
extern const struct cmd_entry cmd_inspect_entry;
extern const struct cmd_entry cmd_evict_entry;
extern const struct cmd_entry cmd_replay_entry;
extern const struct cmd_entry cmd_publish_entry;
extern const struct cmd_entry cmd_gc_entry;
extern const struct cmd_entry cmd_sim_entry;
extern const struct cmd_entry cmd_token_entry;

/*
 * redis.c: one synchronous hiredis connection per command. Rooms written by
 * roomctl use roomd's defaults for history length and TTLs: roomctl has no
 * view of a node's configuration, and those are what REDIS.md documents.
 */
#define ROOMCTL_HISTORY DEFAULT_HISTORY
#define ROOMCTL_ROOM_TTL DEFAULT_ROOM_TTL
#define ROOMCTL_EMPTY_TTL DEFAULT_EMPTY_TTL

struct redisContext *redis_open(const struct cmd_ctx *);
void redis_close(struct redisContext *);
struct redisReply *redis_command(struct redisContext *, int, const char **,
    const size_t *);
struct redisReply *redis_commandl(struct redisContext *, ...);
struct redisReply *redis_script(struct redisContext *,
    const struct script_args *);
void redis_reply_free(struct redisReply *);
char *redis_key_room(const struct cmd_ctx *, const char *, const char *);
char *redis_key_plain(const struct cmd_ctx *, const char *);
int redis_room_exists(struct redisContext *, const struct cmd_ctx *,
    const char *);
const char *redis_hash_get(const struct redisReply *, const char *);
void redis_hash_json(struct cJSON *, const struct redisReply *,
    const char *const *);
char *redis_frame(const struct redisReply *);
int redis_append(struct redisContext *, const struct cmd_ctx *, const char *,
    const char *, char **);

/* redis-cluster.c: what redis.c hands on with --redis-cluster. */
int rcl_active(void);
struct redisContext *rcl_open(const struct cmd_ctx *);
void rcl_close(void);
struct redisReply *rcl_command(int, const char **, const size_t *);
struct redisReply *rcl_script(const struct script_args *);

/* table.c: aligned text tables for terminals, column widths computed. */
struct table {
	size_t ncols;
	size_t nrows;			/* including the header */
	char **cells;			/* row-major, escaped copies */
};
void table_init(struct table *, size_t, ...);
void table_add(struct table *, ...);
void table_print(const struct table *, FILE *);
void table_free(struct table *);
void fmt_time_ms(char *, size_t, uint64_t);
void fmt_age_ms(char *, size_t, uint64_t);
int stdout_flush(void);

/* wsframe.c: RFC 6455 frames and the upgrade reply, parsed without I/O. */
#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xa
#define WS_PROTOCOL "roomd.v1"
#define WS_HEADER_MAX 16384		/* the upgrade reply's headers */
#define WS_FRAME_HEADER_MAX 14		/* a client frame's, mask included */
#define WS_KEY_LEN 24			/* Sec-WebSocket-Key, base64 */
#define WS_ACCEPT_LEN 28		/* Sec-WebSocket-Accept, base64 */

/* A frame header from the server, or why it is refused. */
struct ws_frame {
	int fin;
	int opcode;
	uint64_t plen;			/* payload bytes */
	size_t hlen;			/* header bytes */
	int code;			/* on error: close code to fail with */
	const char *why;		/* on error: static text */
};

/* The outcome of the server's reply to the upgrade. */
struct ws_handshake {
	size_t hlen;			/* header bytes, when upgraded */
	int status;			/* a refusal's HTTP status, or 0 */
	char why[128];			/* on error */
};

size_t ws_frame_encode(unsigned char *, int, const void *, size_t,
    const unsigned char[4]);
int ws_frame_parse(const void *, size_t, struct ws_frame *);
int ws_close_parse(const unsigned char *, size_t, int *, const char **);
void ws_key_make(const unsigned char[16], char[WS_KEY_LEN + 1]);
void ws_accept_make(const char *, char[WS_ACCEPT_LEN + 1]);
int ws_handshake_parse(const char *, size_t, const char *,
    struct ws_handshake *);
#define WS_REQUEST_MAX(host, path) (512 + strlen(host) + strlen(path))
size_t ws_handshake_request(char *, size_t, const char *, int, const char *,
    const char *);

/*
 * wsclient.c: an RFC 6455 client on one libuv loop. The caller owns the
 * struct (it may embed it, thousands to a loop) and must keep it, and the
 * host and path strings given to ws_client_connect, alive until on_close.
 * Fields are private to wsclient.c except data.
 */
#define WS_WQUEUE_MAX (8u << 20)	/* unsent bytes before we give up */

enum ws_client_state {
	WS_CLIENT_IDLE,		/* no socket: connect may be called */
	WS_CLIENT_CONNECTING,	/* TCP connect in progress */
	WS_CLIENT_HANDSHAKE,	/* upgrade sent, reading the reply */
	WS_CLIENT_OPEN,
	WS_CLIENT_CLOSING,	/* a close frame went out: waiting */
	WS_CLIENT_ENDING	/* handles closing: on_close comes next */
};

struct ws_client;
struct ws_client_cb {
	/* The upgrade completed. */
	void (*on_open)(struct ws_client *);
	/* A whole text or binary message; payload points into a buffer that
	 * is reused once the callback returns. */
	void (*on_message)(struct ws_client *, int opcode, const char *,
	    size_t);
	/*
	 * The connection is over and both handles are closed: the struct may
	 * be freed or connected again. code is the peer's close code (1005
	 * when it gave none), the code we failed the connection with (1002,
	 * 1007, 1009), 1008 when the server stopped reading and more than
	 * WS_WQUEUE_MAX bytes wait to be sent (ws_client_limit_hit), or 1006
	 * for anything else (connect error, EOF, refused upgrade: see
	 * ws_client_http_status).
	 */
	void (*on_close)(struct ws_client *, int code, const char *reason);
};

/* Read and frame buffers: grown when needed, reused for every message. */
struct ws_bytes {
	char *p;
	size_t len;
	size_t cap;
};

struct ws_client {
	void *data;			/* for the caller */

	uv_loop_t *loop;
	const struct ws_client_cb *cb;
	enum ws_client_state state;
	uv_tcp_t tcp;			/* closed before on_close */
	uv_timer_t timer;		/* handshake and close bounds */
	uv_connect_t connect;
	const char *host;		/* Host header, caller's */
	int port;
	const char *path;		/* path and query, caller's */
	int handles;			/* handles not closed yet */
	int http_status;		/* a refused upgrade's status, or 0 */
	int end_code;			/* for on_close, 0 until known */
	int close_received;
	int limit_hit;			/* we gave up: WS_WQUEUE_MAX */
	uint8_t frag_opcode;		/* message in fragments, or 0 */
	uint64_t rng;			/* masks, seeded per connect */
	size_t wqueued;			/* bytes queued in uv_write */
	size_t max_message;		/* larger messages fail with 1009 */
	char key[32];			/* Sec-WebSocket-Key, base64 */
	char reason[128];		/* for on_close */
	struct ws_bytes rbuf;		/* read, parsed in place */
	struct ws_bytes wbuf;		/* frame being written */
	struct ws_bytes frag;		/* fragments of one message */
	/* wss://: OpenSSL over memory BIOs; ssl is NULL for ws:// */
	struct ssl_ctx_st *tls_ctx;	/* caller's, from ws_client_tls */
	struct ssl_st *ssl;
	struct bio_st *net;		/* our end of the BIO pair */
	struct ws_bytes tls_pending;	/* written before the handshake */
};

void ws_client_init(struct ws_client *, uv_loop_t *,
    const struct ws_client_cb *, void *);
void ws_client_free(struct ws_client *);
int ws_client_connect(struct ws_client *, const struct sockaddr *,
    const char *, int, const char *);
int ws_client_send(struct ws_client *, int, const void *, size_t);
void ws_client_close(struct ws_client *, int, const char *);
void ws_client_abort(struct ws_client *, const char *);
void ws_client_pause(struct ws_client *, int);
int ws_client_http_status(const struct ws_client *);
const char *ws_client_limit_hit(const struct ws_client *);
void ws_client_tls(struct ws_client *, struct ssl_ctx_st *);
struct ssl_ctx_st *ws_tls_context(const char *ca, int insecure,
    char **cause);

/* What `roomctl sim` was asked to do (cmd-sim.c fills it). */
struct sim_opts {
	char **urls;			/* at least one */
	size_t nurls;
	unsigned clients;		/* default 1 */
	const char *room;		/* $room, default "sim" */
	const char *token;		/* NULL: none */
	const char *transcript;		/* NULL: none */
	const char *script;		/* path, "-", NULL: load mode */
	unsigned rooms;			/* load mode */
	double rate;			/* events a second per client */
	uint64_t duration_ms;
	int json;			/* --json */
	const char *ca;			/* --ca FILE, for wss:// */
	int insecure_tls;		/* --insecure-tls */
};

/* sim.c: what both modes share. A --url, parsed and resolved once. */
struct sim_url {
	const char *text;		/* as given, for messages */
	struct ws_url url;
	struct sockaddr_storage addr;
	struct ssl_ctx_st *tls;		/* the loop's, for wss://; or NULL */
};

/* The loop a run's clients share, and the URLs they connect to. */
struct sim_loop {
	uv_loop_t loop;
	struct sim_url *urls;		/* nurls, client i on i % nurls */
	size_t nurls;
	struct ssl_ctx_st *tls;		/* made when a URL is wss:// */
};
int sim_loop_open(struct sim_loop *, const struct sim_opts *);
void sim_loop_close(struct sim_loop *);
void sim_duration_format(char *, size_t, uint64_t);

/* sim-script.c: a script's lines, and the steps one client runs. */
enum sim_op {
	SIM_CONNECT,
	SIM_JOIN,
	SIM_MATCH,
	SIM_LEAVE,
	SIM_PUBLISH,
	SIM_STATE,
	SIM_SEND,
	SIM_SEND_BINARY,
	SIM_EXPECT,
	SIM_POLL,
	SIM_SLEEP,
	SIM_STALL,
	SIM_BARRIER,
	SIM_DISCONNECT
};

enum sim_match_kind {
	SIM_MATCH_EQ,			/* FIELD=VALUE */
	SIM_MATCH_NE,			/* FIELD!=VALUE: absent or not */
	SIM_MATCH_ANY			/* FIELD=*: present */
};

struct sim_match {
	enum sim_match_kind kind;
	char *path;			/* dotted */
	char *value;
	struct cJSON *json;		/* value parsed, or NULL */
};

struct sim_step {
	enum sim_op op;
	unsigned line;
	char *text;			/* the line after substitution */
	char *a;			/* room, pool, token, type, or frame
					   text */
	char *b;			/* event, key, or match size */
	char *arg;			/* JSON argument or poll frame, or NULL */
	struct sim_match *match;
	size_t nmatch;
	uint64_t ms;			/* expect and poll within, sleep */
	uint64_t every_ms;		/* poll every */
};

struct sim_line {
	unsigned line;
	char *text;			/* comment and blanks stripped */
};

struct sim_script {
	char *name;			/* the path or "stdin" */
	struct sim_line *lines;
	size_t nlines;
};

struct sim_vars {
	unsigned i;
	unsigned n;
	const char *room;
};

int sim_script_load(struct sim_script *, const char *, char **);
void sim_script_free(struct sim_script *);
int sim_script_compile(const struct sim_script *, const struct sim_vars *,
    struct sim_step **, size_t *, char **);
void sim_steps_free(struct sim_step *, size_t);
int sim_script_rebind(const struct sim_script *, const struct sim_vars *,
    struct sim_step *, size_t, char **);

/* sim-match.c */
int sim_step_matches(const struct sim_step *, const struct cJSON *);

/* sim-run.c */
int sim_run(const struct sim_opts *, const struct sim_script *);

/* sim-load.c */
int sim_load(const struct sim_opts *);

#endif
