/* keys.c: the names of roomd's Redis keys and channels (see REDIS.md). */
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
