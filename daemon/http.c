/*
 * http.c: the plain HTTP endpoints on roomd's port: /healthz for load
 * balancers, /metrics for Prometheus, the page at / with the client library
 * it uses (/roomd.js, /roomd.d.ts), and 404 for everything else. Kept off
 * the /ws path.
 */
#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

#include "roomd.h"

/* The page's files, generated from daemon/www/ by mk/embed.sh. */
extern const char www_index_html[], www_app_js[], www_app_css[],
    www_roomd_js[], www_roomd_d_ts[];
extern const unsigned long www_index_html_len, www_app_js_len,
    www_app_css_len, www_roomd_js_len, www_roomd_d_ts_len;

/*
 * The client library, served for other origins' pages too (module scripts
 * are fetched with CORS) and revalidated by ETag: a browser keeps its copy
 * and asks with If-None-Match, and gets 304 until roomd is upgraded. The
 * tag is a hash of the bytes, computed on the first request.
 */
struct http_asset {
	const char		*uri;
	const char		*type;
	const char		*body;
	const unsigned long	*len;
	char			 etag[24];	/* "\"<16 hex>\"", or empty */
};

static struct http_asset http_assets[] = {
	{ "/roomd.js", "text/javascript; charset=utf-8", www_roomd_js,
	    &www_roomd_js_len, "" },
	{ "/roomd.d.ts", "application/typescript; charset=utf-8",
	    www_roomd_d_ts, &www_roomd_d_ts_len, "" },
};

/*
 * The page runs only its own script and style and talks only WebSocket:
 * even if something a stranger wrote slipped into it, it could not run.
 */
static const char page_csp[] = "default-src 'none'; script-src 'self'; "
    "style-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

/*
 * Write a whole small response at once, then end the transaction. cache is
 * the Cache-Control value, etag an ETag or NULL, cors whether pages of
 * other origins may read it; every response gets the page's CSP, which
 * only matters to documents.
 */
static int
http_respond_with(struct lws *wsi, unsigned int status, const char *type,
    const char *body, size_t len, const char *cache, const char *etag,
    int cors)
{
	unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
	unsigned char *end = hdr + sizeof hdr - 1;
	unsigned char *out;

	if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)cache, (int)strlen(cache), &p, end) ||
	    lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"x-content-type-options:",
	    (const unsigned char *)"nosniff", 7, &p, end) ||
	    lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"content-security-policy:",
	    (const unsigned char *)page_csp, (int)strlen(page_csp), &p, end) ||
	    (etag != NULL && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_HTTP_ETAG, (const unsigned char *)etag,
	    (int)strlen(etag), &p, end)) ||
	    (cors && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN,
	    (const unsigned char *)"*", 1, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (len > 0) {
		out = xmalloc(LWS_PRE + len + 1);
		memcpy(out + LWS_PRE, body, len);
		if (lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) !=
		    (int)len) {
			free(out);
			return -1;
		}
		free(out);
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A response nobody should keep: pages, health, metrics, errors. */
static int
http_respond(struct lws *wsi, unsigned int status, const char *type,
    const char *body, size_t len)
{
	return http_respond_with(wsi, status, type, body, len, "no-store",
	    NULL, 0);
}

/*
 * GET /ws without an upgrade: the status a refused upgrade had, for
 * clients that cannot see it (a browser's WebSocket only says 1006).
 * roomd.js asks this after a socket failed to open: 401 when roomd would
 * refuse the token, else 426. Only ?token= is read, as browsers cannot
 * give a WebSocket headers.
 */
static int
http_ws_probe(struct lws *wsi)
{
	static const char up[] = "a WebSocket upgrade is required\n";
	static const char un[] = "unauthorized\n";
	char buf[JWT_TOKEN_MAX + 16], *cause = NULL;
	struct jwt_claims claims;
	const char *tok;

	if (cfg.auth_secret != NULL) {
		tok = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
		if (tok == NULL || jwt_verify(tok, strlen(tok),
		    cfg.auth_secret, strlen(cfg.auth_secret),
		    (int64_t)(time_ms() / 1000), &claims, &cause) != 0) {
			free(cause);
			return http_respond_with(wsi, HTTP_STATUS_UNAUTHORIZED,
			    "text/plain", un, sizeof un - 1, "no-store", NULL, 1);
		}
		jwt_claims_free(&claims);
	}
	return http_respond_with(wsi, 426 /* Upgrade Required */,
	    "text/plain", up, sizeof up - 1, "no-store", NULL, 1);
}

/*
 * Serve one of http_assets: 304 when the client's If-None-Match names its
 * ETag, the body otherwise.
 */
static int
http_asset(struct lws *wsi, struct http_asset *a)
{
	char inm[256];
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	unsigned long i;

	if (a->etag[0] == '\0') {
		for (i = 0; i < *a->len; i++) {
			h ^= (unsigned char)a->body[i];
			h *= 1099511628211ULL;
		}
		snprintf(a->etag, sizeof a->etag, "\"%016llx\"",
		    (unsigned long long)h);
	}
	if (lws_hdr_copy(wsi, inm, sizeof inm,
	    WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0 &&
	    (strstr(inm, a->etag) != NULL || strcmp(inm, "*") == 0))
		return http_respond_with(wsi, HTTP_STATUS_NOT_MODIFIED,
		    a->type, "", 0, "no-cache", a->etag, 1);
	return http_respond_with(wsi, HTTP_STATUS_OK, a->type, a->body,
	    *a->len, "no-cache", a->etag, 1);
}

static int
http_healthz(struct lws *wsi)
{
	struct buf b;
	int ok = node_healthy(), rc;

	buf_init(&b);
	buf_printf(&b, "{\"status\":\"%s\",\"node\":\"%s\",\"redis\":%s,"
	    "\"conns\":%zu,\"rooms\":%zu}\n", ok ? "ok" : "unavailable",
	    node_id, store_ready() ? "true" : "false", conn_count(), room_count());
	rc = http_respond(wsi, ok ? HTTP_STATUS_OK :
	    HTTP_STATUS_SERVICE_UNAVAILABLE, "application/json", b.p, b.len);
	buf_free(&b);
	return rc;
}

/* A plain HTTP request for uri. Returns -1 to close the connection. */
int
http_serve(struct lws *wsi, const char *uri)
{
	static const char nf[] = "not found\n";

	struct buf b;
	size_t i;
	int rc;

	for (i = 0; i < sizeof http_assets / sizeof http_assets[0]; i++)
		if (strcmp(uri, http_assets[i].uri) == 0)
			return http_asset(wsi, &http_assets[i]);
	if (strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0)
		return http_respond(wsi, HTTP_STATUS_OK,
		    "text/html; charset=utf-8", www_index_html,
		    www_index_html_len);
	if (strcmp(uri, "/app.js") == 0)
		return http_respond(wsi, HTTP_STATUS_OK,
		    "text/javascript; charset=utf-8", www_app_js,
		    www_app_js_len);
	if (strcmp(uri, "/app.css") == 0)
		return http_respond(wsi, HTTP_STATUS_OK,
		    "text/css; charset=utf-8", www_app_css, www_app_css_len);
	if (strcmp(uri, "/healthz") == 0)
		return http_healthz(wsi);
	if (strcmp(uri, "/ws") == 0)
		return http_ws_probe(wsi);
	if (strcmp(uri, "/metrics") == 0) {
		buf_init(&b);
		metrics_render(&b);
		rc = http_respond(wsi, HTTP_STATUS_OK,
		    "text/plain; version=0.0.4", b.p, b.len);
		buf_free(&b);
		return rc;
	}
	return http_respond(wsi, HTTP_STATUS_NOT_FOUND, "text/plain", nf,
	    sizeof nf - 1);
}
