/*
 * scripts.c: the Lua scripts that change rooms atomically, their SHA1s, and
 * the builders that lay out each script's KEYS and ARGV (scripts.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "scripts.h"

/* Generated from shared/lua/NAME.lua by mk/lua2c.sh. */
extern const char lua_join[];
extern const char lua_leave[];
extern const char lua_append[];
extern const char lua_state_set[];
extern const char lua_read[];
extern const char lua_rooms[];
extern const char lua_restore[];
extern const char lua_gc[];
extern const char lua_match[];
extern const char lua_lock[];

static const struct {
	const char *name;
	const char *source;
} scripts[SCRIPT_COUNT] = {
	[SCRIPT_JOIN] = { "join", lua_join },
	[SCRIPT_LEAVE] = { "leave", lua_leave },
	[SCRIPT_APPEND] = { "append", lua_append },
	[SCRIPT_STATE_SET] = { "state_set", lua_state_set },
	[SCRIPT_READ] = { "read", lua_read },
	[SCRIPT_ROOMS] = { "rooms", lua_rooms },
	[SCRIPT_RESTORE] = { "restore", lua_restore },
	[SCRIPT_GC] = { "gc", lua_gc },
	[SCRIPT_MATCH] = { "match", lua_match },
	[SCRIPT_LOCK] = { "lock", lua_lock },
};

/* Lowercase hex SHA1 of each source, as EVALSHA wants; filled on first use. */
static char script_shas[SCRIPT_COUNT][41];

static void
script_check(enum script_id id)
{
	if ((unsigned)id >= SCRIPT_COUNT)
		fatalx("script id %d out of range", (int)id);
}

const char *
script_source(enum script_id id)
{
	script_check(id);
	return scripts[id].source;
}

const char *
script_name(enum script_id id)
{
	script_check(id);
	return scripts[id].name;
}

/*
 * Return the SHA1 Redis will know the script by. Computed once and cached;
 * both programs are single-threaded where they call this.
 */
const char *
script_sha(enum script_id id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	const char *src;

	script_check(id);
	if (script_shas[id][0] != '\0')
		return script_shas[id];
	src = scripts[id].source;
	if (EVP_Digest(src, strlen(src), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		fatalx("cannot compute SHA1 of script %s", scripts[id].name);
	for (i = 0; i < mdlen; i++)
		snprintf(script_shas[id] + i * 2, 3, "%02x", md[i]);
	return script_shas[id];
}

/* Start a call of script id with no keys and no arguments yet. */
static void
sa_begin(struct script_args *sa, enum script_id id)
{
	script_check(id);
	sa->id = id;
	sa->nkeys = 0;
	sa->argc = 0;
	buf_init(&sa->b);
}

static void
sa_check(struct script_args *sa)
{
	if (sa->argc >= SCRIPT_ARGV_MAX)
		fatalx("script %s: too many arguments", script_name(sa->id));
}

/* The next argument is the caller's string, NULL meaning "". */
static void
sa_str(struct script_args *sa, const char *s)
{
	sa_check(sa);
	if (s == NULL)
		s = "";
	sa->argv[sa->argc] = s;
	sa->lens[sa->argc] = strlen(s);
	sa->off[sa->argc] = SIZE_MAX;
	sa->argc++;
}

/* The next argument is what b gains from off on; it is NUL-ended. */
static void
sa_own_from(struct script_args *sa, size_t off)
{
	sa_check(sa);
	sa->off[sa->argc] = off;
	sa->lens[sa->argc] = sa->b.len - off;
	buf_addc(&sa->b, '\0');
	sa->argc++;
}

static void
sa_uint(struct script_args *sa, uint64_t v)
{
	size_t off = sa->b.len;

	buf_printf(&sa->b, "%llu", (unsigned long long)v);
	sa_own_from(sa, off);
}

static void
sa_int(struct script_args *sa, long long v)
{
	size_t off = sa->b.len;

	buf_printf(&sa->b, "%lld", v);
	sa_own_from(sa, off);
}

/* The first nkeys of a room's keys, as key_room_script orders them. */
static void
sa_room_keys(struct script_args *sa, const char *prefix, const char *room,
    int nkeys)
{
	static const char *suffix[] = { "", ":members", ":state", ":events" };
	size_t off;

	for (int i = 0; i < nkeys; i++) {
		off = sa->b.len;
		if (i < 4)
			key_room(&sa->b, prefix, room, suffix[i]);
		else
			key_plain(&sa->b, prefix, i == 4 ? "rooms" :
			    "rooms:public");
		sa_own_from(sa, off);
	}
	sa->nkeys = nkeys;
}

static void
sa_channel(struct script_args *sa, const char *prefix, const char *room)
{
	size_t off = sa->b.len;

	key_channel(&sa->b, prefix, room);
	sa_own_from(sa, off);
}

/*
 * Begin a room script's call: its first nkeys room keys, then the room
 * id as its first argument.
 */
static void
sa_begin_room(struct script_args *sa, enum script_id id, const char *prefix,
    const char *room, int nkeys)
{
	sa_begin(sa, id);
	sa_room_keys(sa, prefix, room, nkeys);
	sa_str(sa, room);
}

/* What every frame-writing call passes next: channel, maxlen, ttl. */
static void
sa_frame_args(struct script_args *sa, const char *prefix, const char *room,
    uint64_t maxlen, uint64_t ttl)
{
	sa_channel(sa, prefix, room);
	sa_uint(sa, maxlen);
	sa_uint(sa, ttl);
}

/* b no longer moves: point the owned arguments into it. */
static void
sa_end(struct script_args *sa)
{
	for (int i = 0; i < sa->argc; i++) {
		if (sa->off[i] != SIZE_MAX)
			sa->argv[i] = sa->b.p + sa->off[i];
	}
}

void
script_args_free(struct script_args *sa)
{
	buf_free(&sa->b);
}

void
script_join_args(struct script_args *sa, const struct script_join *j)
{
	sa_begin_room(sa, SCRIPT_JOIN, j->prefix, j->room, 6);
	sa_str(sa, j->conn);
	sa_str(sa, j->member);
	sa_frame_args(sa, j->prefix, j->room, j->maxlen, j->ttl);
	sa_str(sa, j->since);
	sa_str(sa, j->title);
	sa_str(sa, j->topic);
	sa_str(sa, j->visibility);
	if (j->max_members > 0)
		sa_uint(sa, j->max_members);
	else
		sa_str(sa, "");
	sa_end(sa);
}

void
script_leave_args(struct script_args *sa, const struct script_leave *l)
{
	size_t off;

	sa_begin_room(sa, SCRIPT_LEAVE, l->prefix, l->room, 6);
	sa_str(sa, l->conn);
	sa_frame_args(sa, l->prefix, l->room, l->maxlen, l->ttl);
	sa_uint(sa, l->empty_ttl);
	sa_str(sa, l->reason);
	if (l->ctl_message != NULL) {
		off = sa->b.len;
		key_plain(&sa->b, l->prefix, "ctl");
		sa_own_from(sa, off);
		sa_str(sa, l->ctl_message);
	}
	sa_end(sa);
}

void
script_append_args(struct script_args *sa, const struct script_append *a)
{
	sa_begin_room(sa, SCRIPT_APPEND, a->prefix, a->room, 4);
	sa_frame_args(sa, a->prefix, a->room, a->maxlen, a->ttl);
	sa_str(sa, a->type);
	sa_str(sa, a->body);
	sa_str(sa, a->conn);
	sa_str(sa, a->noecho ? "1" : "0");
	sa_str(sa, a->must_exist ? "1" : "0");
	sa_end(sa);
}

void
script_state_set_args(struct script_args *sa,
    const struct script_state_set *s)
{
	size_t off;

	sa_begin_room(sa, SCRIPT_STATE_SET, s->prefix, s->room, 4);
	sa_frame_args(sa, s->prefix, s->room, s->maxlen, s->ttl);
	sa_str(sa, s->conn);
	sa_str(sa, s->key);
	off = sa->b.len;
	json_add_string(&sa->b, s->key, strlen(s->key));
	sa_own_from(sa, off);
	sa_str(sa, s->value);
	if (s->has_if_version)
		sa_int(sa, s->if_version);
	else
		sa_str(sa, "");
	sa_str(sa, s->by);
	sa_end(sa);
}

void
script_read_args(struct script_args *sa, const struct script_read *r)
{
	sa_begin(sa, SCRIPT_READ);
	sa_room_keys(sa, r->prefix, r->room, 4);
	sa_str(sa, r->what);
	sa_str(sa, r->conn);
	sa_str(sa, r->since);
	sa_int(sa, r->limit);
	sa_end(sa);
}

void
script_rooms_args(struct script_args *sa, const struct script_rooms *r)
{
	size_t off;

	sa_begin(sa, SCRIPT_ROOMS);
	off = sa->b.len;
	key_plain(&sa->b, r->prefix, r->all ? "rooms" : "rooms:public");
	sa_own_from(sa, off);
	sa->nkeys = 1;
	sa_str(sa, r->prefix);
	sa_int(sa, r->limit);
	sa_str(sa, r->visibility);
	sa_end(sa);
}

void
script_restore_args(struct script_args *sa, const struct script_restore *r)
{
	/* What a room created before details were known defaults to. */
	static const char *dflt[JOIN_D_COUNT] = {
		[JOIN_D_VISIBILITY] = "public",
		[JOIN_D_MAX_MEMBERS] = "0",
		[JOIN_D_CREATED_AT] = "0",
		[JOIN_D_LOCKED] = "0",
	};

	sa_begin_room(sa, SCRIPT_RESTORE, r->prefix, r->room, 6);
	sa_str(sa, r->conn);
	sa_str(sa, r->member);
	sa_uint(sa, r->ttl);
	for (int i = 0; i < JOIN_D_COUNT; i++)
		sa_str(sa, r->details[i] != NULL && *r->details[i] != '\0' ?
		    r->details[i] : dflt[i]);
	sa_end(sa);
}

void
script_gc_args(struct script_args *sa, const struct script_gc *g)
{
	sa_begin(sa, SCRIPT_GC);
	sa_str(sa, g->prefix);
	sa_uint(sa, g->maxlen);
	sa_uint(sa, g->ttl);
	sa_uint(sa, g->empty_ttl);
	sa_str(sa, g->sweep ? "1" : "0");
	if (g->restarted != NULL)
		sa_str(sa, g->restarted);
	sa_end(sa);
}

int
script_match_args(struct script_args *sa, const struct script_match *m)
{
	size_t off;

	sa_begin(sa, SCRIPT_MATCH);
	off = sa->b.len;
	if (key_pool(&sa->b, m->prefix, m->pool, m->size, m->filter) != 0) {
		buf_free(&sa->b);
		return -1;
	}
	sa_own_from(sa, off);
	sa_room_keys(sa, m->prefix, m->new_room, 6);
	sa->nkeys = 7;
	sa_str(sa, m->prefix);
	sa_str(sa, m->conn);
	sa_str(sa, m->member);
	sa_str(sa, m->pool);
	sa_uint(sa, m->size);
	sa_str(sa, m->filter);
	sa_str(sa, m->new_room);
	sa_uint(sa, m->maxlen);
	sa_uint(sa, m->ttl);
	sa_str(sa, m->title);
	sa_str(sa, m->topic);
	sa_str(sa, m->visibility);
	sa_end(sa);
	return 0;
}

void
script_lock_args(struct script_args *sa, const struct script_lock *l)
{
	sa_begin_room(sa, SCRIPT_LOCK, l->prefix, l->room, 4);
	sa_frame_args(sa, l->prefix, l->room, l->maxlen, l->ttl);
	sa_str(sa, l->conn);
	sa_str(sa, l->lock ? "1" : "0");
	sa_str(sa, l->by);
	sa_end(sa);
}
