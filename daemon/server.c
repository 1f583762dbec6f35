/*
 * server.c: the libwebsockets side of roomd: one context on the shared
 * libuv loop, the /ws endpoint's connection lifecycle and message
 * assembly, and plain HTTP requests handed to http.c.
 */
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "roomd.h"
#include "backend.h"	/* backend: connect hook, HTTP API */

/*
 * lws gives every connection a receive buffer of this size for as long as
 * it is open: it is most of an idle connection's memory, so it is small,
 * and larger messages are assembled from pieces in receive().
 */
#define RX_CHUNK 512

/* The request line and headers of an upgrade, at most. */
#define HTTP_HEADERS_MAX (JWT_TOKEN_MAX + 8192)

/*
 * Sockets accepted that are not (yet) WebSocket connections: handshakes
 * under way and plain HTTP. They have their own bound besides lws's 10 s
 * handshake timeout, so idle sockets cannot pile up unbounded.
 */
#define PENDING_MIN 64
static size_t sockets;		/* accepted and not yet destroyed */
static struct log_limit pending_log;

/* A client connected at the TCP level: hang up at once when too many
 * sockets are still waiting to upgrade. Returns nonzero to hang up. */
static int
accept_filter(void)
{
	size_t pending = sockets > conn_count() ? sockets - conn_count() : 0;
	size_t bound = cfg.max_conns / 4 > PENDING_MIN ? cfg.max_conns / 4 :
	    PENDING_MIN;

	if (pending < bound)
		return 0;
	stats.refused++;
	log_warnx_limited(&pending_log, "refused a connection: %zu are "
	    "waiting to upgrade", pending);
	return 1;
}

/* A client that sends this many oversize frames in a row is closed. */
#define TOO_LARGE_MAX 5

struct session {
	struct conn *c;
	struct api_req *api;	/* backend: an HTTP API request being served */
};

static struct lws_context *ctx;
/* Flush after the loop's I/O callbacks, and before it sleeps (for what
 * timers queued). */
static uv_check_t flush_check;
static uv_prepare_t flush_prepare;

int server_callback(struct lws *, enum lws_callback_reasons, void *, void *,
    size_t);
static void flush_cb(uv_check_t *);
static void flush_prepare_cb(uv_prepare_t *);
static void keepalive_cb(uv_timer_t *);
static void heard_from(struct conn *);

/*
 * Keepalive: ping a client silent this long, hang up on one silent this
 * long. Done here with one timer for all, not with lws's retry policy,
 * whose per-connection timers sit in one sorted list that makes every new
 * connection cost O(connections).
 */
#define KEEPALIVE_PING_MS 20000
#define KEEPALIVE_HANGUP_MS 30000
static uv_timer_t keepalive_timer;

/* The welcome frame's text, into b. */
static void
welcome_text(struct conn *c, struct buf *b)
{
	buf_printf(b, "{\"type\":\"welcome\",\"conn\":\"%s\",\"node\":\"%s\","
	    "\"user\":", c->id, node_id);
	if (c->user != NULL)
		json_add_string(b, c->user, strlen(c->user));
	else
		buf_adds(b, "null");
	buf_printf(b, ",\"protocol\":%d,\"max_frame\":%llu}", ROOMD_PROTOCOL,
	    (unsigned long long)cfg.max_frame);
}

static void
send_welcome(struct conn *c)
{
	struct buf b;

	buf_init(&b);
	welcome_text(c, &b);
	conn_send_text(c, b.p, b.len);
	buf_free(&b);
}

/*
 * The welcome of a connection the connect hook let in: the reply with the
 * first ticket, so nothing said to the client comes before it.
 */
static void
send_welcome_ticket(struct conn *c, uint64_t ticket)
{
	struct buf b;

	buf_init(&b);
	welcome_text(c, &b);
	conn_reply_text(c, ticket, b.p, b.len);
	buf_free(&b);
}

/*
 * Refuse a frame over --max-frame with too_large; the connection goes on
 * unless it keeps doing it.
 */
static void
refuse_too_large(struct conn *c, size_t len)
{
	static const char why[] = "frames over max_frame";

	reply_error(c, conn_ticket(c), NULL, ERR_TOO_LARGE,
	    "frame of %zu bytes is over the limit of %llu bytes", len,
	    (unsigned long long)cfg.max_frame);
	if (++c->too_large_count >= TOO_LARGE_MAX)
		conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, why);
}

/*
 * Assemble a message from what lws hands over (a message may come in
 * several pieces) and handle it when complete. Returns 0: closing, when
 * needed, is queued behind what the client is owed.
 */
static int
receive(struct lws *wsi, struct conn *c, const char *in, size_t len)
{
	static const char why[] = "binary frames are not accepted";
	int final;

	stats.bytes_in += len;
	if (lws_frame_is_binary(wsi)) {
		conn_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, why);
		return 0;
	}
	final = lws_is_final_fragment(wsi) &&
	    lws_remaining_packet_payload(wsi) == 0;
	if (final && c->rxlen == 0 && !c->rx_discard) {
		/* The common case: the whole message at once, no copy. */
		stats.frames_in++;
		if (len > cfg.max_frame) {
			refuse_too_large(c, len);
			return 0;
		}
		c->too_large_count = 0;
		request_handle(c, in, len);
		return 0;
	}
	if (!c->rx_discard) {
		if (c->rxlen + len > cfg.max_frame) {
			free(c->rx);
			c->rx = NULL;
			c->rx_discard = 1;
		} else {
			c->rx = xrealloc(c->rx, c->rxlen + len + 1);
			memcpy(c->rx + c->rxlen, in, len);
		}
		c->rxlen += len;
	} else
		c->rxlen += len;
	if (!final)
		return 0;
	stats.frames_in++;
	if (c->rx_discard) {
		size_t n = c->rxlen;

		c->rxlen = 0;
		c->rx_discard = 0;
		refuse_too_large(c, n);
		return 0;
	}
	c->too_large_count = 0;
	request_handle(c, c->rx, c->rxlen);
	free(c->rx);
	c->rx = NULL;
	c->rxlen = 0;
	return 0;
}

/* Answer an upgrade request with an HTTP error instead. Returns 1. */
static int
refuse_upgrade(struct lws *wsi, unsigned int status, const char *why)
{
	stats.refused++;
	log_info("refused an upgrade: %u %s", status, why);
	lws_return_http_status(wsi, status, why);
	return 1;
}

/*
 * Read and verify the client's token, from ?token= or an Authorization:
 * Bearer header. Returns 0 with the claims filled, or -1 with *cause set.
 */
static int
authenticate(struct lws *wsi, struct jwt_claims *claims, char **cause)
{
	char buf[JWT_TOKEN_MAX + 16];
	const char *tok;
	int n;

	tok = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
	if (tok == NULL) {
		n = lws_hdr_copy(wsi, buf, sizeof buf,
		    WSI_TOKEN_HTTP_AUTHORIZATION);
		if (n <= 0) {
			*cause = xstrdup(n < 0 ? "token too long" :
			    "a token is required");
			return -1;
		}
		if (strncasecmp(buf, "Bearer ", 7) != 0) {
			*cause = xstrdup("authorization must be Bearer");
			return -1;
		}
		for (tok = buf + 7; *tok == ' '; tok++)
			;
	}
	return jwt_verify(tok, strlen(tok), cfg.auth_secret,
	    strlen(cfg.auth_secret), (int64_t)(time_ms() / 1000), claims,
	    cause);
}

/*
 * Decide on an upgrade before the WebSocket opens: only /ws, only while
 * running, under --max-conns, and with a good token when roomd has a
 * secret. Returns 0 to go on, 1 when refused.
 */
static int
check_upgrade(struct lws *wsi)
{
	char uri[256], *cause = NULL;
	struct jwt_claims claims;
	int rc;

	if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
	    strcmp(uri, "/ws") != 0)
		return refuse_upgrade(wsi, HTTP_STATUS_NOT_FOUND,
		    "WebSockets are served at /ws");
	if (shutting_down)
		return refuse_upgrade(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "shutting down");
	if (conn_count() >= cfg.max_conns)
		return refuse_upgrade(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "too many connections");
	if (cfg.auth_secret == NULL || hook_connect_wanted(wsi))
		return 0;	/* backend: no token goes to the connect hook */
	if (authenticate(wsi, &claims, &cause) != 0) {
		rc = refuse_upgrade(wsi, HTTP_STATUS_UNAUTHORIZED, cause);
		free(cause);
		return rc;
	}
	jwt_claims_free(&claims);
	return 0;
}

/* The upgrade was checked: read the claims again for the connection. */
static void
attach_claims(struct lws *wsi, struct conn *c)
{
	char *cause = NULL;

	if (cfg.auth_secret == NULL)
		return;
	c->claims = xcalloc(1, sizeof *c->claims);
	if (authenticate(wsi, c->claims, &cause) != 0) {
		/* Cannot happen: the same headers passed a moment ago. */
		log_warnx("conn %s: token failed after the upgrade: %s", c->id,
		    cause);
		free(cause);
		free(c->claims);
		c->claims = NULL;
		conn_close(c, 1008, "unauthorized");
		return;
	}
	c->user = xstrdup(c->claims->sub);
}

/*
 * The protocol's callback: every event of every connection on /ws and of
 * plain HTTP. Not static only so that the request-path fuzzer
 * (tests/fuzz/fuzz_request.c) can drive it with lws stubbed.
 */
int
server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return check_upgrade(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		s->c = conn_new(wsi);
		log_debug("conn %s: open", s->c->id);
		if (hook_connect_wanted(wsi)) {	/* backend: connect hook */
			hook_connect_start(wsi, s->c, send_welcome_ticket);
			break;
		}
		attach_claims(wsi, s->c);
		send_welcome(s->c);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (s->c == NULL || s->c->closing || s->c->draining)
			break;
		heard_from(s->c);
		return receive(wsi, s->c, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		/* The answer to our close frame: no close to echo, hang up. */
		return s->c != NULL && s->c->close_sent;
	case LWS_CALLBACK_RECEIVE_PONG:
		if (s->c != NULL) {
			log_debug("conn %s: pong", s->c->id);
			heard_from(s->c);
		}
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (s->c != NULL && conn_write(s->c) < 0)
			return -1;
		break;
	case LWS_CALLBACK_CLOSED:
		if (s->c != NULL) {
			log_debug("conn %s: closed", s->c->id);
			join_conn_closed(s->c, "disconnect");
			conn_closed(s->c);
			s->c = NULL;
		}
		break;
	case LWS_CALLBACK_HTTP:
		if (strncmp(in, "/api/", 5) == 0 || strcmp(in, "/api") == 0)
			return api_http(wsi, in, &s->api);	/* backend */
		return http_serve(wsi, in);
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* The vhost's SSL_CTX, once, as lws sets it up. */
		tls_attach(user);
		break;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return accept_filter();
	case LWS_CALLBACK_WSI_CREATE:
		sockets++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		sockets--;
		break;
	/* backend: the HTTP API's request bodies and answers. */
	case LWS_CALLBACK_HTTP_BODY:
		return s != NULL && s->api != NULL ? api_body(s->api, in, len) :
		    0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return s != NULL && s->api != NULL ? api_body_done(wsi, s->api) :
		    0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return s != NULL && s->api != NULL ? api_writable(wsi, s->api) :
		    0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:	/* lws frees s after this */
	case LWS_CALLBACK_CLOSED_HTTP:
		if (s != NULL && s->api != NULL) {
			api_closed(s->api);
			s->api = NULL;
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "roomd.v1", server_callback, sizeof(struct session), RX_CHUNK, 0, NULL,
	    0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warnx("lws: %.*s", (int)n, line);
	else
		log_debug("lws: %.*s", (int)n, line);
}

int
server_start(void)
{
	struct lws_context_creation_info info;
	void *foreign[1] = { loop };
	const char *iface = cfg.listen_host;
	struct lws_vhost *vh;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&info, 0, sizeof info);
	info.port = cfg.listen_port;
	if (strcmp(iface, "*") == 0 || strcmp(iface, "0.0.0.0") == 0 ||
	    *iface == '\0')
		iface = NULL;
	info.iface = iface;
	info.protocols = protocols;
	/* An explicit vhost, so a port that cannot be bound is an error. */
	info.options = LWS_SERVER_OPTION_LIBUV |
	    LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (cfg.tls_cert != NULL) {
		/* tls.c checked both files already; it also takes over
		 * which pair each new handshake gets (SIGHUP). */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg.tls_cert;
		info.ssl_private_key_filepath = cfg.tls_key;
		info.ssl_options_set = (long)SSL_OP_NO_RENEGOTIATION;
		info.alpn = "http/1.1";
	}
	info.foreign_loops = foreign;
	info.count_threads = 1;
	info.fd_limit_per_thread = (unsigned int)(cfg.max_conns + 64);
	info.timeout_secs = 10;
	/* Room for the longest token roomd reads (JWT_TOKEN_MAX) and the
	 * other headers, so a long token gets its 401, not a hang-up. */
	info.max_http_header_data = HTTP_HEADERS_MAX;
	info.pt_serv_buf_size = 16384;
	ctx = lws_create_context(&info);
	if (ctx == NULL)
		return -1;
	reuse_port_arm(cfg.reuse_port);
	vh = lws_create_vhost(ctx, &info);
	reuse_port_arm(0);
	if (vh == NULL)
		return -1;	/* roomd exits; ctx stays reachable */
	if (cfg.tls_cert != NULL && !tls_attached()) {
		log_error("tls: libwebsockets did not hand over its SSL_CTX");
		return -1;
	}
	uv_timer_init(loop, &keepalive_timer);
	uv_timer_start(&keepalive_timer, keepalive_cb, 1000, 1000);
	uv_check_init(loop, &flush_check);
	uv_check_start(&flush_check, flush_cb);
	uv_prepare_init(loop, &flush_prepare);
	uv_prepare_start(&flush_prepare, flush_prepare_cb);
	log_info("listening on %s:%d (%s%s)", cfg.listen_host,
	    cfg.listen_port, cfg.tls_cert != NULL ? "wss, https" : "ws, http",
	    cfg.reuse_port ? ", port shared" : "");
	tls_start_log();
	return 0;
}

static void
flush_closed(uv_handle_t *h)
{
	(void)h;
}

void
server_stop(void)
{
	conn_flush_all();
	uv_timer_stop(&keepalive_timer);
	uv_close((uv_handle_t *)&keepalive_timer, flush_closed);
	uv_check_stop(&flush_check);
	uv_close((uv_handle_t *)&flush_check, flush_closed);
	uv_prepare_stop(&flush_prepare);
	uv_close((uv_handle_t *)&flush_prepare, flush_closed);
	if (ctx != NULL) {
		lws_context_destroy(ctx);
		ctx = NULL;
	}
}

struct keepalive_sweep {
	uint64_t now;
	struct lws **dead;	/* silent too long: hung up after the sweep */
	size_t ndead;
	size_t cap;
};

static void
keepalive_one(struct conn *c, void *arg)
{
	struct keepalive_sweep *k = arg;

	if (c->wsi == NULL)
		return;
	if (k->now - c->rx_ms >= KEEPALIVE_HANGUP_MS) {
		if (k->ndead == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 16;
			k->dead = xrealloc(k->dead, k->cap * sizeof *k->dead);
		}
		k->dead[k->ndead++] = c->wsi;
		log_info("conn %s: silent for %d s: hanging up", c->id,
		    KEEPALIVE_HANGUP_MS / 1000);
	} else if (k->now - c->rx_ms >= KEEPALIVE_PING_MS && !c->pinged &&
	    !c->closing) {
		c->pinged = 1;
		conn_send(c, frame_ping());
	}
}

static void
keepalive_cb(uv_timer_t *t)
{
	struct keepalive_sweep k = { .now = mono_ms() };

	(void)t;
	conn_each(keepalive_one, &k);
	/* A dead peer reads no close frame: hang up at once, now that the
	 * connection table is no longer being walked. */
	for (size_t i = 0; i < k.ndead; i++)
		lws_set_timeout(k.dead[i], PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_SYNC);
	free(k.dead);
}

/* Anything from the client proves it alive. */
static void
heard_from(struct conn *c)
{
	c->rx_ms = mono_ms();
	c->pinged = 0;
}

static void
flush_cb(uv_check_t *h)
{
	(void)h;
	conn_flush_all();
}

static void
flush_prepare_cb(uv_prepare_t *h)
{
	(void)h;
	conn_flush_all();
}
