/*
 * hook-publish.c owns the publish hook (BACKEND.md, --publish-url and
 * --publish-events): an `event` whose name matches is shown to the back
 * end before it is written, and the answer decides whether it is written
 * as sent, with other data, or refused.
 *
 * Order: a connection's hooked publishes wait in one queue per connection.
 * Their hook calls run concurrently, but an event is written only once
 * every earlier hooked publish of the same connection has been written or
 * refused, and writes all go down one Redis connection, so they land in
 * the order sent. Replies keep request order through their tickets.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "roomd.h"
#include "backend.h"

enum verdict { V_WAITING, V_WRITE, V_REJECT, V_UNAVAILABLE };

/* One hooked publish; holds a reference on its connection. */
struct hook_publish {
	struct conn *c;
	uint64_t ticket;
	char *ref;		/* JSON text or NULL */
	char room[ID_MAX + 1];
	char event[ID_MAX + 1];
	char *data;		/* JSON text or NULL; replaced by the verdict */
	int echo;
	int admin;		/* written without membership (who NULL) */
	hook_write_fn write;	/* the request path's writer */
	enum verdict v;
	enum err_code code;
	char *message;
	struct hook_publish *next;
};

/* The hooked publishes of one connection, oldest first. */
struct hook_queue {
	char id[24];
	struct hook_publish *head, **tail;
};

static struct dict queues;
static int queues_init;

/*
 * Whether event matches a comma-separated list of patterns with '*'
 * wildcards (each pattern matches the whole name).
 */
int
hook_pattern_list_match(const char *patterns, const char *event)
{
	char pat[ID_MAX + 1];
	const char *p = patterns, *e;
	size_t n;

	if (patterns == NULL)
		return 0;
	while (*p != '\0') {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n > 0 && n < sizeof pat) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (jwt_pattern_match(pat, event))
				return 1;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/* Whether a member's publish of event goes to the hook. */
int
hook_publish_matches(const char *event)
{
	return cfg.publish_url != NULL &&
	    hook_pattern_list_match(cfg.publish_events, event);
}

static void
hp_free(struct hook_publish *hp)
{
	conn_unref(hp->c);
	free(hp->ref);
	free(hp->data);
	free(hp->message);
	free(hp);
}

/*
 * Carry out the verdicts at the head of c's queue, in order, stopping at
 * the first one still waiting. Frees the queue once it is empty.
 */
static void
drain(struct hook_queue *q)
{
	struct hook_publish *hp;

	while ((hp = q->head) != NULL && hp->v != V_WAITING) {
		q->head = hp->next;
		if (q->head == NULL)
			q->tail = &q->head;
		if (hp->c->wsi == NULL)
			;	/* gone: nobody to write for */
		else if (hp->v == V_WRITE)
			hp->write(hp->c, hp->ticket, hp->ref,
			    hp->room, hp->event, hp->data, hp->echo,
			    hp->admin ? NULL : hp->c->id);
		else if (hp->v == V_REJECT)
			reply_error(hp->c, hp->ticket, hp->ref, hp->code,
			    "%s", hp->message);
		else
			reply_error(hp->c, hp->ticket, hp->ref,
			    ERR_UNAVAILABLE, "the publish hook did not answer");
		hp_free(hp);
	}
	if (q->head == NULL) {
		dict_del(&queues, q->id, strlen(q->id));
		free(q);
	}
}

/*
 * Read a 200 answer into hp's verdict: {} as sent, {"data":X} replaced,
 * {"reject":{"code","message"}} refused. Returns the hook outcome.
 */
static enum hook_result
parse_verdict(struct hook_publish *hp, const char *body, size_t len,
    const char **why)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *rej, *it;
	enum hook_result res = HOOK_ERROR;
	const char *code;

	if (!cJSON_IsObject(root)) {
		*why = "the answer is not a JSON object";
		goto out;
	}
	rej = cJSON_GetObjectItemCaseSensitive(root, "reject");
	if (rej != NULL && !cJSON_IsNull(rej)) {
		it = cJSON_GetObjectItemCaseSensitive(rej, "code");
		code = cJSON_GetStringValue(it);
		if (!cJSON_IsObject(rej) || code == NULL ||
		    (strcmp(code, "forbidden") != 0 &&
		    strcmp(code, "bad_request") != 0 &&
		    strcmp(code, "conflict") != 0)) {
			*why = "'reject' needs a code: forbidden, bad_request "
			    "or conflict";
			goto out;
		}
		err_parse(code, &hp->code);
		it = cJSON_GetObjectItemCaseSensitive(rej, "message");
		if (cJSON_IsString(it)) {
			hp->message = xstrndup(it->valuestring, 256);
		} else
			hp->message = xstrdup("refused by the back end");
		hp->v = V_REJECT;
		res = HOOK_REJECTED;
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (it != NULL) {
		char *d = cJSON_PrintUnformatted(it);

		if (d == NULL || strlen(d) > cfg.max_frame) {
			*why = "the new 'data' is over --max-frame";
			free(d);
			goto out;
		}
		free(hp->data);
		hp->data = d;
	}
	hp->v = V_WRITE;
	res = HOOK_OK;
out:
	cJSON_Delete(root);
	return res;
}

static void
publish_done(const struct http_reply *rep, void *arg)
{
	struct hook_publish *hp = arg;
	struct hook_queue *q;
	enum hook_result res = HOOK_ERROR;
	const char *why = NULL;

	if (rep->outcome == HTTP_TIMEOUT) {
		res = HOOK_TIMEOUT;
		why = rep->error;
	} else if (rep->outcome != HTTP_ANSWERED)
		why = rep->error;
	else if (rep->status != 200)
		why = "the answer's status is not 200";
	else
		res = parse_verdict(hp, rep->body, rep->len, &why);
	metrics_hook(HOOK_PUBLISH, res, rep->ms);
	if (res == HOOK_ERROR || res == HOOK_TIMEOUT) {
		hp->v = V_UNAVAILABLE;
		log_warnx("conn %s: publish hook: %s (status %ld)", hp->c->id,
		    why, rep->status);
	}
	q = dict_get(&queues, hp->c->id, strlen(hp->c->id));
	if (q != NULL)
		drain(q);
}

/*
 * Show a member's publish to the back end; what it answers is carried out
 * in order with c's other hooked publishes, by write() when it lets the
 * event through. ref is copied. who is c's id, or NULL for an admin
 * writing without membership. Returns 0.
 */
int
hook_publish_start(struct conn *c, uint64_t ticket, const char *ref,
    const char *room, const char *event, const char *data_json, int echo,
    const char *who, hook_write_fn write)
{
	struct hook_publish *hp = xcalloc(1, sizeof *hp);
	struct hook_queue *q;
	struct buf b;

	if (!queues_init) {
		dict_init(&queues);
		queues_init = 1;
	}
	hp->c = c;
	conn_ref(c);
	hp->ticket = ticket;
	hp->ref = ref != NULL ? xstrdup(ref) : NULL;
	snprintf(hp->room, sizeof hp->room, "%s", room);
	snprintf(hp->event, sizeof hp->event, "%s", event);
	hp->data = data_json != NULL ? xstrdup(data_json) : NULL;
	hp->echo = echo;
	hp->admin = who == NULL;
	hp->write = write;
	if ((q = dict_get(&queues, c->id, strlen(c->id))) == NULL) {
		q = xcalloc(1, sizeof *q);
		snprintf(q->id, sizeof q->id, "%s", c->id);
		q->tail = &q->head;
		dict_put(&queues, q->id, q);
	}
	*q->tail = hp;
	q->tail = &hp->next;

	buf_init(&b);
	buf_adds(&b, "{\"room\":\"");
	buf_adds(&b, room);
	buf_adds(&b, "\",\"event\":\"");
	buf_adds(&b, event);
	buf_printf(&b, "\",\"data\":%s,\"from\":{\"conn\":\"%s\",\"user\":",
	    data_json != NULL ? data_json : "null", c->id);
	if (c->user != NULL)
		json_add_string(&b, c->user, strlen(c->user));
	else
		buf_adds(&b, "null");
	buf_printf(&b, "},\"node\":\"%s\"}", node_id);
	if (http_post(cfg.publish_url, NULL, b.p, b.len,
	    cfg.hook_timeout * 1000, publish_done, hp) != 0) {
		metrics_hook(HOOK_PUBLISH, HOOK_ERROR, 0);
		hp->v = V_UNAVAILABLE;
		drain(q);
	}
	buf_free(&b);
	return 0;
}
