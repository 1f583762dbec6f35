/* keys.c: the names of roomd's Redis keys and channels (see REDIS.md). */
#include <string.h>

#include <openssl/evp.h>

#include "shared.h"

/*
 * Append "<prefix>room:{<room>}<suffix>". The braces are a hash tag so that
 * all of one room's keys land in one Redis Cluster slot. The suffix, when
 * given, carries its own leading colon (":members").
 */
void
key_room(struct buf *b, const char *prefix, const char *room,
    const char *suffix)
{
	buf_adds(b, prefix);
	buf_adds(b, "room:{");
	buf_adds(b, room);
	buf_addc(b, '}');
	if (suffix != NULL)
		buf_adds(b, suffix);
}

/* Append "<prefix><name>", for keys outside rooms: "rooms", "node:n1". */
void
key_plain(struct buf *b, const char *prefix, const char *name)
{
	buf_adds(b, prefix);
	buf_adds(b, name);
}

/*
 * The keys the room scripts take, in their order: the room hash, :members,
 * :state, :events, then the rooms and rooms:public indexes; the first
 * nkeys (4 or 6) of them. The strings live in keys, NUL-separated; argv
 * and lens (either may be NULL) point into it once it is complete.
 */
void
key_room_script(struct buf *keys, const char *prefix, const char *room,
    const char **argv, size_t *lens, int nkeys)
{
	static const char *suffix[] = { "", ":members", ":state", ":events" };
	size_t off[6];

	for (int i = 0; i < nkeys && i < 6; i++) {
		off[i] = keys->len;
		if (i < 4)
			key_room(keys, prefix, room, suffix[i]);
		else
			key_plain(keys, prefix, i == 4 ? "rooms" :
			    "rooms:public");
		if (lens != NULL)
			lens[i] = keys->len - off[i];
		buf_addc(keys, '\0');
	}
	for (int i = 0; i < nkeys && i < 6; i++) {
		if (argv != NULL)
			argv[i] = keys->p + off[i];
	}
}

/* Append "<prefix>ch:{<room>}", the pub/sub channel of a room's frames. */
void
key_channel(struct buf *b, const char *prefix, const char *room)
{
	buf_adds(b, prefix);
	buf_adds(b, "ch:{");
	buf_adds(b, room);
	buf_addc(b, '}');
}

/*
 * The room id inside a room channel's name (not NUL-terminated: its length
 * goes to *len), or NULL when ch is not one under prefix.
 */
const char *
key_channel_room(const char *prefix, const char *ch, size_t len,
    size_t *roomlen)
{
	size_t pl = strlen(prefix);

	if (len < pl + 6 || memcmp(ch, prefix, pl) != 0 ||
	    memcmp(ch + pl, "ch:{", 4) != 0 || ch[len - 1] != '}')
		return NULL;
	*roomlen = len - pl - 5;
	return ch + pl + 4;
}

/*
 * Append "<prefix>pool:{<pool>}:<digest>", the sorted set of a pool's open
 * rooms of one size and filter: the digest is the first 16 hex digits of
 * the SHA1 of "<size>:<canonical filter JSON>", so equal filters (as
 * canonicalised by the caller: keys sorted, compact) share one key.
 * Returns 0, or -1 when no SHA1 could be computed.
 */
int
key_pool(struct buf *b, const char *prefix, const char *pool,
    unsigned size, const char *filter)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf in;
	int rc;

	buf_init(&in);
	buf_printf(&in, "%u:%s", size, filter);
	rc = EVP_Digest(in.p, in.len, md, &mdlen, EVP_sha1(), NULL);
	buf_free(&in);
	if (rc != 1 || mdlen < 8)
		return -1;
	buf_adds(b, prefix);
	buf_adds(b, "pool:{");
	buf_adds(b, pool);
	buf_adds(b, "}:");
	for (int i = 0; i < 8; i++)
		buf_printf(b, "%02x", md[i]);
	return 0;
}
