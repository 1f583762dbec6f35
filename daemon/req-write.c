/*
 * req-write.c: the requests that write a room frame: publish (the append
 * script) and state.set (the state_set script).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "roomd.h"
#include "backend.h"	/* backend: the publish hook */

#define KEY_MAX 128

/*
 * The JSON text of a field's value (it, never NULL) for the caller to
 * free, checked against --max-frame; NULL after replying too_large. The
 * value goes on as the client sent it, less its whitespace (cheaper than
 * printing cJSON's reading, and numbers keep every digit); text that is
 * JSON only to cJSON (01, 1.) is printed from cJSON's reading.
 */
static char *
req_json_value(struct req *r, cJSON *it, const char *name)
{
	const char *v;
	size_t vlen = 0;
	char *json;

	if (json_member_span(r->text, r->len, name, &v, &vlen) != 0)
		v = NULL;
	json = json_value_text(v, vlen, it);
	if (strlen(json) > cfg.max_frame) {
		req_error(r, ERR_TOO_LARGE, "field '%s' is over %llu bytes",
		    name, (unsigned long long)cfg.max_frame);
		free(json);
		return NULL;
	}
	return json;
}

/*
 * Write one member's event with the append script; the reply answers
 * ticket (ref: JSON text or NULL, copied). who is the member's conn id, or
 * NULL for an admin writing without membership. Called by req_publish,
 * and by the publish hook once the back end let the event through.
 */
static void
req_publish_write(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, const char *event, const char *data_json, int echo,
    const char *who)
{
	struct req r = { .c = c, .ticket = ticket, .room = room };
	struct buf body;
	struct script_args sa;

	r.ref = ref != NULL ? xstrdup(ref) : NULL;
	/* from comes first: nodes look for from.conn to honour echo=false. */
	buf_init(&body);
	buf_adds(&body, ",\"from\":");
	req_actor(&body, c);
	buf_printf(&body, ",\"event\":\"%s\",\"data\":%s", event,
	    data_json != NULL ? data_json : "null");
	script_append_args(&sa, &(struct script_append){
		.prefix = cfg.prefix,
		.room = room,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.type = "event",
		.body = body.p,
		.conn = who,
		.noecho = !echo,
		.must_exist = who == NULL,	/* an admin: it must exist */
	});
	req_script(&r, &sa, SHAPE_APPEND, reply_fields_published);
	buf_free(&body);
	free(r.ref);
}

static void
req_publish(struct req *r)
{
	const char *event, *who;
	char *data_json = NULL;
	cJSON *data;
	int echo = 1;

	if (req_field_id(r, "event", &event) < 0 ||
	    req_field_bool(r, "echo", &echo) < 0)
		return;
	if (r->c->claims != NULL && !jwt_may_publish(r->c->claims, event)) {
		req_error(r, ERR_FORBIDDEN, "not allowed to publish '%s'",
		    event);
		return;
	}
	data = cJSON_GetObjectItemCaseSensitive(r->root, "data");
	if (data != NULL && (data_json = req_json_value(r, data,
	    "data")) == NULL)
		return;
	if (req_need_member(r, &who) < 0) {
		free(data_json);
		return;
	}
	/* backend: the publish hook decides first, and writes in order. */
	if (hook_publish_matches(event))
		hook_publish_start(r->c, r->ticket, r->ref, r->room, event,
		    data_json, echo, who, req_publish_write);
	else
		req_publish_write(r->c, r->ticket, r->ref, r->room, event,
		    data_json, echo, who);
	free(data_json);
}

static void
req_state_set(struct req *r)
{
	const char *key, *who;
	char *value_json;
	cJSON *value;
	long long v = 0;
	int rc;
	struct buf by;
	struct script_args sa;

	if (req_field_string(r, "key", 1, &key) < 0)
		return;
	if (r->c->claims != NULL && !jwt_may_write(r->c->claims)) {
		req_error(r, ERR_FORBIDDEN, "spectators may not change state");
		return;
	}
	if (strlen(key) > KEY_MAX) {
		req_error(r, ERR_TOO_LARGE, "field 'key' is over %d bytes",
		    KEY_MAX);
		return;
	}
	if (*key == '\0') {
		req_error(r, ERR_BAD_REQUEST, "field 'key' must not be empty");
		return;
	}
	value = cJSON_GetObjectItemCaseSensitive(r->root, "value");
	if (value == NULL) {
		req_error(r, ERR_BAD_REQUEST, "missing field 'value'");
		return;
	}
	if ((rc = req_field_int(r, r->root, "if_version", 0, INT64_MAX / 2,
	    &v)) < 0)
		return;
	if ((value_json = req_json_value(r, value, "value")) == NULL)
		return;
	if (req_need_member(r, &who) < 0) {
		free(value_json);
		return;
	}
	buf_init(&by);
	req_actor(&by, r->c);
	script_state_set_args(&sa, &(struct script_state_set){
		.prefix = cfg.prefix,
		.room = r->room,
		.maxlen = cfg.history,
		.ttl = cfg.room_ttl,
		.conn = who,
		.key = key,
		.value = value_json,
		.has_if_version = rc == 1,
		.if_version = v,
		.by = by.p,
		.max_state = cfg.max_state,
	});
	req_script(r, &sa, SHAPE_STATE_SET, reply_fields_state_set);
	free(value_json);
	buf_free(&by);
}

const struct req_entry req_publish_entry = { REQ_PUBLISH, req_publish, 1, 1 };
const struct req_entry req_state_set_entry =
    { REQ_STATE_SET, req_state_set, 1, 1 };
