/* scripts.c: the Lua scripts that change rooms atomically, and their SHA1s. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "shared.h"

/* Generated from shared/lua/NAME.lua by mk/lua2c.sh. */
extern const char lua_join[];
extern const char lua_leave[];
extern const char lua_append[];
extern const char lua_state_set[];
extern const char lua_read[];
extern const char lua_rooms[];
extern const char lua_restore[];
extern const char lua_gc[];

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
