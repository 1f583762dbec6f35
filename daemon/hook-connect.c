/*
 * hook-connect.c owns the connect hook (BACKEND.md, --connect-url): a new
 * WebSocket connection that brought no token is described to the back end,
 * and its answer decides between a welcome with the user it names, 4001,
 * 4003 or 1013. Until then nothing is said on the connection and what the
 * client sends waits (counted toward its rate limit, since it went through
 * request_handle).
 */
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "roomd.h"
#include "backend.h"

#define META_MAX 1024

/* One hook call; holds a reference on its connection. */
struct connect_call {
	struct conn *c;
	uint64_t ticket;	/* the welcome's place among the replies */
	hook_welcome_fn welcome;
};

/* Whether the request carries a token: ?token= or Authorization: Bearer. */
static int
has_token(struct lws *wsi)
{
	char buf[JWT_TOKEN_MAX + 16];
	int n;

	if (lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf) != NULL)
		return 1;
	n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n < 0)
		return 1;	/* longer than a Basic header gets: a token */
	return n > 7 && strncasecmp(buf, "Bearer ", 7) == 0;
}

/*
 * Whether the connection on wsi goes to the connect hook: the hook is
 * configured and, when roomd also checks JWTs, the client brought none.
 */
int
hook_connect_wanted(struct lws *wsi)
{
	if (cfg.connect_url == NULL)
		return 0;
	if (cfg.auth_secret == NULL)
		return 1;
	return !has_token(wsi);
}

/* Add ,"name":"value" for a header the request carried. */
static void
add_header(struct buf *b, struct lws *wsi, enum lws_token_indexes t,
    const char *name, int *first)
{
	int n = lws_hdr_total_length(wsi, t);
	char *v;

	if (n <= 0)
		return;
	v = xmalloc((size_t)n + 1);
	if (lws_hdr_copy(wsi, v, n + 1, t) >= 0) {
		buf_printf(b, "%s\"%s\":", *first ? "" : ",", name);
		json_add_string(b, v, strlen(v));
		*first = 0;
	}
	free(v);
}

/* The query string's arguments as an object; a name given twice: the last. */
static void
add_query(struct buf *b, struct lws *wsi)
{
	char frag[1024], *eq;
	cJSON *q = cJSON_CreateObject();
	char *s;

	for (int i = 0; i < 64; i++) {
		if (lws_hdr_copy_fragment(wsi, frag, sizeof frag,
		    WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			break;
		if ((eq = strchr(frag, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = "";
		cJSON_DeleteItemFromObjectCaseSensitive(q, frag);
		cJSON_AddStringToObject(q, frag, eq);
	}
	s = cJSON_PrintUnformatted(q);
	buf_adds(b, s != NULL ? s : "{}");
	free(s);
	cJSON_Delete(q);
}

/* The hook's JSON array of strings as a NULL-ended vector, or -1. */
static int
grant_list(cJSON *arr, char ***out, size_t *n)
{
	cJSON *it;
	size_t i = 0, k = (size_t)cJSON_GetArraySize(arr);

	if (!cJSON_IsArray(arr) || k > JWT_PATTERNS_MAX)
		return -1;
	*out = xcalloc(k + 1, sizeof **out);
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) >
		    JWT_PATTERN_MAX) {
			for (size_t j = 0; j < i; j++)
				free((*out)[j]);
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i++] = xstrdup(it->valuestring);
	}
	*n = i;
	return 0;
}

/*
 * Read a 200 answer: {"user":"…"} with optional rooms, publish, admin and
 * meta. Fills claims (sub = user) and *meta (malloc'd JSON or NULL).
 * Returns 0, or -1 with *why saying what is wrong.
 */
static int
parse_grant(const char *body, size_t len, struct jwt_claims *cl, char **meta,
    const char **why)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *it;
	int rc = -1;

	memset(cl, 0, sizeof *cl);
	*meta = NULL;
	if (!cJSON_IsObject(root)) {
		*why = "the answer is not a JSON object";
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "user");
	if (!cJSON_IsString(it) || *it->valuestring == '\0' ||
	    strlen(it->valuestring) > JWT_SUB_MAX) {
		*why = "the answer has no string 'user' (1-256 bytes)";
		goto out;
	}
	cl->sub = xstrdup(it->valuestring);
	cl->exp = INT64_MAX / 4;	/* the hook's word lasts the connection */
	it = cJSON_GetObjectItemCaseSensitive(root, "rooms");
	if (it != NULL && !cJSON_IsNull(it)) {
		if (grant_list(it, &cl->rooms, &cl->nrooms) != 0) {
			*why = "'rooms' must be an array of patterns";
			goto out;
		}
		cl->has_rooms = 1;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "publish");
	if (it != NULL && !cJSON_IsNull(it)) {
		if (grant_list(it, &cl->publish, &cl->npublish) != 0) {
			*why = "'publish' must be an array of patterns";
			goto out;
		}
		cl->has_publish = 1;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "admin");
	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsBool(it)) {
			*why = "'admin' must be true or false";
			goto out;
		}
		cl->admin = cJSON_IsTrue(it);
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "meta");
	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsObject(it)) {
			*why = "'meta' must be an object";
			goto out;
		}
		*meta = cJSON_PrintUnformatted(it);
		if (strlen(*meta) > META_MAX) {
			*why = "'meta' is over 1 KiB";
			free(*meta);
			*meta = NULL;
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		jwt_claims_free(cl);
	cJSON_Delete(root);
	return rc;
}

static void
connect_done(const struct http_reply *rep, void *arg)
{
	struct connect_call *cc = arg;
	struct conn *c = cc->c;
	struct jwt_claims cl;
	const char *why = NULL;
	char *meta = NULL;
	enum hook_result res = HOOK_ERROR;

	if (rep->outcome == HTTP_TIMEOUT) {
		res = HOOK_TIMEOUT;
		why = rep->error;
	} else if (rep->outcome != HTTP_ANSWERED)
		why = rep->error;
	else if (rep->status == 401 || rep->status == 403)
		res = HOOK_REJECTED;
	else if (rep->status != 200)
		why = "the answer's status is not 200, 401 or 403";
	else if (parse_grant(rep->body, rep->len, &cl, &meta, &why) == 0)
		res = HOOK_OK;
	metrics_hook(HOOK_CONNECT, res, rep->ms);

	if (c->wsi == NULL || c->closing) {
		if (res == HOOK_OK) {
			jwt_claims_free(&cl);
			free(meta);
		}
		goto out;
	}
	switch (res) {
	case HOOK_OK:
		c->claims = xmalloc(sizeof *c->claims);
		*c->claims = cl;
		c->user = xstrdup(cl.sub);
		c->hook_meta = meta;
		cc->welcome(c, cc->ticket);
		defer_unblock(c);
		break;
	case HOOK_REJECTED:
		log_info("conn %s: the connect hook answered %ld", c->id,
		    rep->status);
		if (rep->status == 401)
			conn_close(c, 4001, "unauthorized");
		else
			conn_close(c, 4003, "forbidden");
		break;
	default:
		log_warnx("conn %s: connect hook: %s (status %ld)", c->id, why,
		    rep->status);
		conn_close(c, 1013, "try again later");
		break;
	}
out:
	conn_unref(c);
	free(cc);
}

/*
 * Ask the back end about connection c (just established on wsi), holding
 * its frames until the answer; welcome() sends the welcome if it lets c
 * in. When the request cannot even be sent (too many out), the
 * connection is closed with 1013 at once.
 */
void
hook_connect_start(struct lws *wsi, struct conn *c, hook_welcome_fn welcome)
{
	struct connect_call *cc;
	struct buf b;
	char addr[128] = "";
	int first = 1;

	/*
	 * Frames sent meanwhile wait (blocked), and the welcome takes the
	 * first reply ticket: rate_limited refusals of early frames come
	 * after it, and never if the connection is refused.
	 */
	defer_block(c);
	lws_get_peer_simple(wsi, addr, sizeof addr);
	if (strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.') != NULL)
		memmove(addr, addr + 7, strlen(addr + 7) + 1);	/* IPv4 */
	buf_init(&b);
	buf_printf(&b, "{\"conn\":\"%s\",\"node\":\"%s\",\"remote_addr\":",
	    c->id, node_id);
	json_add_string(&b, addr, strlen(addr));
	buf_adds(&b, ",\"path\":\"/ws\",\"query\":");
	add_query(&b, wsi);
	buf_adds(&b, ",\"headers\":{");
	add_header(&b, wsi, WSI_TOKEN_HTTP_AUTHORIZATION, "authorization",
	    &first);
	add_header(&b, wsi, WSI_TOKEN_HTTP_COOKIE, "cookie", &first);
	add_header(&b, wsi, WSI_TOKEN_ORIGIN, "origin", &first);
	add_header(&b, wsi, WSI_TOKEN_HTTP_USER_AGENT, "user-agent", &first);
	add_header(&b, wsi, WSI_TOKEN_X_FORWARDED_FOR, "x-forwarded-for",
	    &first);
	buf_adds(&b, "}}");
	cc = xcalloc(1, sizeof *cc);
	cc->c = c;
	cc->ticket = conn_ticket(c);
	cc->welcome = welcome;
	conn_ref(c);
	if (http_post(cfg.connect_url, NULL, b.p, b.len,
	    cfg.hook_timeout * 1000, connect_done, cc) != 0) {
		metrics_hook(HOOK_CONNECT, HOOK_ERROR, 0);
		log_warnx("conn %s: connect hook: too many requests out", c->id);
		conn_close(c, 1013, "try again later");
		conn_unref(c);
		free(cc);
	}
	buf_free(&b);
}

/* The member meta the connect hook gave c, for joins without one. */
const char *
hook_default_meta(struct conn *c)
{
	return c->hook_meta;
}
