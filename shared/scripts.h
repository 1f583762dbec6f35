/*
 * scripts.h: the one C definition of each Redis script's calling
 * convention (shared/lua/NAME.lua): a struct of named KEYS and ARGV, a
 * builder that turns it into argv/lens in the script's order, and named
 * indices of the reply's elements. roomd and roomctl both call the scripts
 * through these, so adding an argument is a change in the Lua file and in
 * one struct here.
 *
 *	struct script_args sa;
 *	script_leave_args(&sa, &(struct script_leave){ .prefix = p,
 *	    .room = r, .conn = c, .reason = "leave", ... });
 *	... send sa.argv/sa.lens (sa.nkeys of them keys) ...
 *	script_args_free(&sa);
 */
#ifndef ROOMD_SCRIPTS_H
#define ROOMD_SCRIPTS_H

#include <stddef.h>
#include <stdint.h>

#include "shared.h"

enum script_id {
	SCRIPT_JOIN,
	SCRIPT_LEAVE,
	SCRIPT_APPEND,
	SCRIPT_STATE_SET,
	SCRIPT_READ,
	SCRIPT_ROOMS,
	SCRIPT_RESTORE,
	SCRIPT_GC,
	SCRIPT_MATCH,
	SCRIPT_LOCK,
	SCRIPT_MATCH_ROOM,
	SCRIPT_MATCH_PICK,
	SCRIPT_POOL_SET,
	SCRIPT_COUNT
};
const char *script_source(enum script_id);
const char *script_sha(enum script_id);
const char *script_name(enum script_id);
void script_use_cluster(int);
int script_cluster(void);

#define SCRIPT_ARGV_MAX 24

/*
 * One script call's KEYS then ARGV. argv points into b (keys, the channel,
 * numbers) or at the caller's strings, which must outlive the struct's
 * use; script_args_free frees b.
 */
struct script_args {
	enum script_id id;
	int nkeys;
	int argc;			/* keys and arguments */
	const char *argv[SCRIPT_ARGV_MAX];
	size_t lens[SCRIPT_ARGV_MAX];
	size_t off[SCRIPT_ARGV_MAX];	/* in b, or SIZE_MAX: the caller's */
	struct buf b;
	char wh_stream[256];		/* script_add_notices */
};
void script_args_free(struct script_args *);
#define SCRIPT_ROOM_KEYS 4		/* room, :members, :state, :events */
int script_take_outside(struct script_args *, const char **, int);
void script_add_notices(struct script_args *, const char *prefix,
    const char *cfgval);
const struct redisReply *script_notices_unwrap(const struct redisReply *,
    const char **stream);
#define SCRIPT_NOTICES_WRAP "roomd:notices-stream"

/* The scripts that answer with a status word put it first. */
#define SCRIPT_R_STATUS 0

/* join.lua: add a member, creating the room if needed. */
struct script_join {
	const char *prefix;
	const char *room;
	const char *conn;
	const char *member;		/* member JSON without its '}' */
	uint64_t maxlen;		/* history length */
	uint64_t ttl;			/* room TTL, seconds */
	const char *since;		/* NULL: none */
	const char *title;		/* create fields; NULL: default */
	const char *topic;
	const char *visibility;
	uint64_t max_members;		/* 0: no limit */
	uint64_t budget;		/* bytes of recovered frames; 0: no
					   bound */
};
void script_join_args(struct script_args *, const struct script_join *);
enum {
	JOIN_R_STATUS,			/* "ok", "already", "room_full" */
	JOIN_R_SEQ,			/* the joiner's member_joined */
	JOIN_R_MEMBERS,			/* member JSONs */
	JOIN_R_STATE,			/* flat state hash */
	JOIN_R_STATE_VERSION,
	JOIN_R_RECOVERED,		/* -1 without since, else 0 or 1 */
	JOIN_R_FRAMES,			/* missed frames, oldest first */
	JOIN_R_MEMBER,			/* the joiner's member JSON */
	JOIN_R_DETAILS,			/* JOIN_D_* */
	JOIN_R_MORE,			/* 1: frames stopped at the budget */
	JOIN_R_COUNT
};
enum {
	JOIN_D_TITLE,
	JOIN_D_TOPIC,
	JOIN_D_VISIBILITY,
	JOIN_D_MAX_MEMBERS,
	JOIN_D_CREATED_AT,
	JOIN_D_LOCKED,			/* "1" when locked */
	JOIN_D_POOL,			/* rooms made by match only: */
	JOIN_D_FILTER,			/* canonical filter JSON */
	JOIN_D_POOL_KEY,		/* the pool's sorted set */
	JOIN_D_COUNT
};

/* leave.lua: remove a member; the last one closes the room. */
struct script_leave {
	const char *prefix;
	const char *room;
	const char *conn;
	uint64_t maxlen;
	uint64_t ttl;
	uint64_t empty_ttl;		/* 0 deletes at once */
	const char *reason;
	const char *ctl_message;	/* NULL: none; else published on
					   <prefix>ctl before member_left */
};
void script_leave_args(struct script_args *, const struct script_leave *);
enum {
	LEAVE_R_REMOVED,		/* 0 or 1 */
	LEAVE_R_SEQ,			/* of member_left, or nil */
	LEAVE_R_CLOSED,			/* 0 or 1 */
	LEAVE_R_COUNT
};

/* append.lua: write and publish one room frame. */
struct script_append {
	const char *prefix;
	const char *room;
	uint64_t maxlen;
	uint64_t ttl;
	const char *type;		/* frame type */
	const char *body;		/* fields, each with a leading comma */
	const char *conn;		/* must be a member; NULL: none */
	int noecho;			/* the sender asked for echo=false */
	int must_exist;			/* never create a room */
};
void script_append_args(struct script_args *, const struct script_append *);
enum {
	APPEND_R_STATUS,		/* "ok", "not_member", "not_found" */
	APPEND_R_SEQ,
	APPEND_R_COUNT
};

/* state_set.lua: set or delete one state key. */
struct script_state_set {
	const char *prefix;
	const char *room;
	uint64_t maxlen;
	uint64_t ttl;
	const char *conn;		/* must be a member; NULL: an admin */
	const char *key;
	const char *value;		/* JSON; "null" deletes */
	int has_if_version;
	long long if_version;
	const char *by;			/* {"conn":..,"user":..} JSON */
	uint64_t max_state;		/* bytes of keys and values; 0: no
					   bound */
};
void script_state_set_args(struct script_args *,
    const struct script_state_set *);
enum {
	STATE_SET_R_STATUS,		/* "ok", "conflict", "too_large",
					   "not_member", "not_found" */
	STATE_SET_R_VERSION,		/* new, or current on conflict */
	STATE_SET_R_BOUND = 1,		/* on too_large: the bound */
	STATE_SET_R_SEQ,
	STATE_SET_R_COUNT
};

/* read.lua: a member's read of state, presence or history. */
struct script_read {
	const char *prefix;
	const char *room;
	const char *what;		/* "state", "presence", "history",
					   "info" (backend: the API) */
	const char *conn;		/* must be a member; NULL: none */
	const char *since;		/* NULL: none */
	long long limit;
	uint64_t budget;		/* history: bytes; 0: no bound */
	const char *stop;		/* history: last entry as an XRANGE
					   bound; NULL: the end */
};
void script_read_args(struct script_args *, const struct script_read *);
enum {
	READ_R_STATUS,			/* "ok", "not_member", "not_found" */
	READ_R_STATE = 1,		/* state: flat state hash */
	READ_R_STATE_VERSION = 2,
	READ_R_MEMBERS = 1,		/* presence: member JSONs */
	READ_R_FRAMES = 1,		/* history: frames oldest first */
	READ_R_MORE = 2,		/* history: 1 when cut at the budget */
	READ_R_LAST = 3,		/* history: seq of the last frame */
	READ_R_HISTORY_COUNT = 4,
	READ_R_DETAILS = 1,		/* info: title, topic, visibility,
					   max_members, created_at, locked */
	READ_R_MEMBER_COUNT = 2,	/* info */
	READ_R_LATEST = 3,		/* info: the latest seq, or nil */
};

/* rooms.lua: rooms by member count with their details. */
struct script_rooms {
	const char *prefix;
	int all;			/* the full index, not rooms:public */
	long long limit;
	const char *visibility;		/* wanted; NULL: any */
};
void script_rooms_args(struct script_args *, const struct script_rooms *);
enum {					/* the fields of each row */
	ROOMS_R_ROOM,
	ROOMS_R_TITLE,
	ROOMS_R_TOPIC,
	ROOMS_R_VISIBILITY,
	ROOMS_R_MEMBERS,
	ROOMS_R_MAX_MEMBERS,		/* 0: no limit */
	ROOMS_R_CREATED_AT,
	ROOMS_R_LOCKED,			/* 0 or 1 */
	ROOMS_R_POOL,			/* "" unless made by match */
	ROOMS_R_FILTER,			/* JSON, "" unless made by match */
	ROOMS_R_COUNT
};

/*
 * rooms.lua on a Redis Cluster, where no one script reads the index and
 * the rooms: the room hash fields it reads (an HMGET of them, in this
 * order), and one row of its reply from a room id, its index score and
 * that HMGET's reply. NULL when the room's keys are gone (the caller drops
 * the entry: *stale is set) or its visibility is not want ("" for any);
 * else a reply made with malloc, for freeReplyObject.
 */
#define SCRIPT_ROOMS_NFIELDS 8
extern const char *const script_rooms_fields[SCRIPT_ROOMS_NFIELDS];
struct redisReply;
struct redisReply *script_rooms_row(const char *room, long long members,
    const struct redisReply *hmget, const char *want, int *stale);
int script_rooms_row_cmp(const void *, const void *);

/* restore.lua: write a live member back after Redis lost it; replies
 * 1 when written, 0 when it was there. */
struct script_restore {
	const char *prefix;
	const char *room;
	const char *conn;
	const char *member;		/* member JSON */
	uint64_t ttl;
	const char *details[JOIN_D_COUNT];	/* as the join reply gave */
};
void script_restore_args(struct script_args *,
    const struct script_restore *);

/* gc.lua: members of dead nodes leave with node_lost. */
struct script_gc {
	const char *prefix;
	uint64_t maxlen;
	uint64_t ttl;
	uint64_t empty_ttl;
	int sweep;			/* stale index entries too */
	const char *restarted;		/* a node id; NULL: none */
};
void script_gc_args(struct script_args *, const struct script_gc *);
enum {
	GC_R_DEAD,			/* node ids */
	GC_R_REMOVED,
	GC_R_CLOSED,
	GC_R_DROPPED,
	GC_R_COUNT
};

/*
 * match.lua: a seat in the fullest open room of a pool with this size and
 * filter, or a new room (issue 10). Its reply is join.lua's (JOIN_R_*,
 * with recovered -1 and no frames) and two more elements.
 */
struct script_match {
	const char *prefix;
	const char *pool;
	unsigned size;
	const char *filter;		/* canonical JSON ("{}" for none) */
	const char *new_room;		/* the id to create if none fits */
	const char *conn;
	const char *member;		/* member JSON without its '}' */
	uint64_t maxlen;
	uint64_t ttl;
	const char *title;		/* create fields; NULL: default */
	const char *topic;
	const char *visibility;		/* NULL: private */
};
/* Returns -1 (nothing built) when the pool key cannot be made. */
int script_match_args(struct script_args *, const struct script_match *);
/* Where script_match_args puts each key and argument. */
enum {
	MATCH_K_POOL,
	MATCH_K_NEW_ROOM,		/* its four keys */
	MATCH_K_ROOMS = MATCH_K_NEW_ROOM + SCRIPT_ROOM_KEYS,
	MATCH_K_PUBLIC,
	MATCH_A_PREFIX,
	MATCH_A_CONN,
	MATCH_A_MEMBER,
	MATCH_A_POOL,
	MATCH_A_SIZE,
	MATCH_A_FILTER,
	MATCH_A_NEW_ROOM,
	MATCH_A_MAXLEN,
	MATCH_A_TTL,
	MATCH_A_TITLE,
	MATCH_A_TOPIC,
	MATCH_A_VISIBILITY,
	MATCH_A_COUNT
};
enum {
	MATCH_R_STATUS = JOIN_R_STATUS,	/* "ok", "already", "conflict" */
	MATCH_R_ROOM = JOIN_R_COUNT,	/* the room picked or made */
	MATCH_R_CREATED,		/* 1 when this call made it */
	MATCH_R_COUNT
};

/*
 * match_room.lua: on a Redis Cluster, the room half of a match: a seat in
 * one room picked from the pool (create 0) or in a new one (create 1).
 * Its reply is match.lua's, or {"stale"} (the room is no longer open to
 * the pool) or {"conflict"}. The strings are the caller's.
 */
struct script_match_room {
	const char *prefix;
	const char *room;
	const char *conn;
	const char *member;		/* member JSON without its '}' */
	const char *pool;
	const char *size;
	const char *filter;
	const char *pool_key;
	const char *maxlen;
	const char *ttl;
	int create;
	const char *title;
	const char *topic;
	const char *visibility;
};
void script_match_room_args(struct script_args *,
    const struct script_match_room *);

/*
 * match_pick.lua: on a Redis Cluster, the pool half of a match: the
 * pool's fullest entries, or leave to open a room ({"open"}), or
 * {"wait"} while another caller opens one.
 */
struct script_match_pick {
	const char *pool_key;
	unsigned max;			/* entries at most */
	const char *new_room;
	unsigned open_ms;		/* the leave to open lasts this long */
};
void script_match_pick_args(struct script_args *,
    const struct script_match_pick *);

/*
 * pool_set.lua: on a Redis Cluster, a room's pool entry from the room's
 * state as of its frame seq (NULL: none), older writes dropped.
 */
struct script_pool_set {
	const char *pool_key;
	const char *room;
	long long count;
	long long max_members;
	int locked;
	const char *seq;
	const char *created_at;		/* NULL: not known */
};
void script_pool_set_args(struct script_args *,
    const struct script_pool_set *);

/* lock.lua: lock or unlock a room against matchmaking (issue 10). */
struct script_lock {
	const char *prefix;
	const char *room;
	uint64_t maxlen;
	uint64_t ttl;
	const char *conn;		/* must be a member; NULL: none */
	int lock;			/* 1 lock, 0 unlock */
	const char *by;			/* {"conn":..,"user":..} JSON */
};
void script_lock_args(struct script_args *, const struct script_lock *);
enum {
	LOCK_R_STATUS,			/* "ok", "not_member", "not_found" */
	LOCK_R_SEQ,			/* of room_locked; nil: no change */
	LOCK_R_ROOM,
	LOCK_R_COUNT
};

#endif
