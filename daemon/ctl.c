/*
 * ctl.c: commands that arrive on the <prefix>ctl channel from roomctl and
 * other nodes: evictions of this node's members, and the canary each node
 * sends itself to prove its subscription still delivers.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "roomd.h"

static uint64_t last_canary;

/* When this node last saw its own canary come back, in mono_ms(). */
uint64_t
ctl_last_canary(void)
{
	return last_canary;
}

/*
 * roomctl evict: the leave script has already removed the member in
 * Redis; here the member's own node drops it locally and tells it why.
 */
static void
ctl_evict(cJSON *msg)
{
	const char *id, *room, *reason;
	struct conn *c;
	struct membership *m;
	struct buf b;

	id = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "conn"));
	room = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "room"));
	reason = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "reason"));
	if (id == NULL || room == NULL || (c = conn_find(id)) == NULL)
		return;
	if (reason == NULL)
		reason = "evicted";
	/* Only a member can be evicted: anything else on the channel is
	 * ignored rather than allowed to kick a connection out. */
	if ((m = conn_membership(c, room)) == NULL)
		return;
	room_drop(m);
	log_info("conn %s: evicted from room %s", c->id, room);
	buf_init(&b);
	buf_adds(&b, "{\"type\":\"evicted\",\"room\":");
	json_add_string(&b, room, strlen(room));
	buf_adds(&b, ",\"reason\":");
	json_add_string(&b, reason, strlen(reason));
	buf_addc(&b, '}');
	conn_send_text(c, b.p, b.len);
	buf_free(&b);
	if (cJSON_IsTrue(cJSON_GetObjectItem(msg, "disconnect")))
		conn_close(c, 4000, "evicted");
}

void
ctl_handle(const char *text, size_t len)
{
	size_t used;
	cJSON *msg = json_parse(text, len, &used);
	const char *cmd, *node;

	if (msg == NULL)
		return;
	cmd = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "cmd"));
	if (cmd == NULL)
		;
	else if (strcmp(cmd, "evict") == 0)
		ctl_evict(msg);
	else if (strcmp(cmd, "canary") == 0) {
		node = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "node"));
		if (node != NULL && strcmp(node, node_id) == 0)
			last_canary = mono_ms();
	}
	cJSON_Delete(msg);
}
