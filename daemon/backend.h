/*
 * backend.h: roomd's side of the application's back end (BACKEND.md): the
 * HTTP client on the loop, the connect and publish hooks, the HTTP API and
 * webhook delivery. Kept in its own header so these modules stay apart
 * from the request path they plug into.
 */
#ifndef ROOMD_BACKEND_H
#define ROOMD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct lws;
struct conn;
struct buf;

/* curl_uv.c: HTTP requests driven by libcurl from the one libuv loop. */
enum http_outcome {
	HTTP_ANSWERED,		/* a status and a body (any status) */
	HTTP_FAILED,		/* refused, reset, DNS, TLS, bad answer */
	HTTP_TIMEOUT,		/* no whole answer within the timeout */
	HTTP_TOO_LARGE,		/* the answer's body was over the bound */
};
struct http_reply {
	enum http_outcome outcome;
	long status;		/* HTTP_ANSWERED: the status */
	const char *body;	/* NUL-terminated; valid during the callback */
	size_t len;
	const char *error;	/* what went wrong, for the log */
	uint64_t ms;		/* from the call to the answer */
};
typedef void (*http_cb)(const struct http_reply *, void *);
#define HTTP_BODY_MAX (64 * 1024)	/* answers longer are an error */
#define HTTP_CONNS_MAX 32		/* connections at once per node */
#define HTTP_QUEUE_MAX 1024		/* requests in flight or waiting */
int http_start(void);
void http_stop(void);
int http_post(const char *url, const char *const *headers, const char *body,
    size_t len, uint64_t timeout_ms, http_cb, void *arg);
size_t http_outstanding(void);

/* hook-connect.c: welcome(c, ticket) sends c's welcome once let in. */
typedef void (*hook_welcome_fn)(struct conn *, uint64_t ticket);
int hook_connect_wanted(struct lws *);
void hook_connect_start(struct lws *, struct conn *, hook_welcome_fn);
const char *hook_default_meta(struct conn *);

/* hook-publish.c: write() writes an event the back end let through. */
typedef void (*hook_write_fn)(struct conn *, uint64_t ticket,
    const char *ref, const char *room, const char *event,
    const char *data_json, int echo, const char *who);
int hook_publish_matches(const char *event);
int hook_publish_start(struct conn *, uint64_t ticket, const char *ref,
    const char *room, const char *event, const char *data_json, int echo,
    const char *who, hook_write_fn);
int hook_pattern_list_match(const char *patterns, const char *event);

/* api.c */
struct api_req;
int api_http(struct lws *, const char *uri, struct api_req **);
int api_body(struct api_req *, const char *, size_t);
int api_body_done(struct lws *, struct api_req *);
int api_writable(struct lws *, struct api_req *);
void api_closed(struct api_req *);

/* webhook.c */
void webhook_start(void);
void webhook_store_ready(void);
void webhook_stop(void);
void webhook_metrics(struct buf *);

/* backend-metrics.c */
enum hook_kind { HOOK_CONNECT, HOOK_PUBLISH, HOOK_KINDS };
enum hook_result { HOOK_OK, HOOK_REJECTED, HOOK_ERROR, HOOK_TIMEOUT,
	HOOK_RESULTS };
void metrics_hook(enum hook_kind, enum hook_result, uint64_t ms);
void metrics_backend_render(struct buf *);
extern uint64_t metrics_api_requests, metrics_api_refused;

#endif
