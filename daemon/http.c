/*
 * http.c: the plain HTTP endpoints on roomd's port: /healthz for load
 * balancers, /metrics for Prometheus, and 404 for everything else. Kept off the /ws path.
 */
#include <string.h>

#include <libwebsockets.h>

#include "roomd.h"

/* The page's files, generated from daemon/www/ by mk/embed.sh. */
extern const char www_index_html[], www_app_js[], www_app_css[];
extern const unsigned long www_index_html_len, www_app_js_len,
    www_app_css_len;

/*
 * The page runs only its own script and style and talks only WebSocket:
 * even if something a stranger wrote slipped into it, it could not run.
 */
static const char page_csp[] = "default-src 'none'; script-src 'self'; "
    "style-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

/* Write a whole small response at once, then end the transaction. */
static int
http_respond(struct lws *wsi, unsigned int status, const char *type,
    const char *body, size_t len)
{
	unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
	unsigned char *end = hdr + sizeof hdr - 1;
	unsigned char *out;

	if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"x-content-type-options:",
	    (const unsigned char *)"nosniff", 7, &p, end) ||
	    (strncmp(type, "text/html", 9) == 0 &&
	    lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"content-security-policy:",
	    (const unsigned char *)page_csp, (int)strlen(page_csp), &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	out = xmalloc(LWS_PRE + len + 1);
	memcpy(out + LWS_PRE, body, len);
	if (lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) !=
	    (int)len) {
		free(out);
		return -1;
	}
	free(out);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
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
	int rc;

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
