/*
 * curl_uv.c owns roomd's outgoing HTTP: one libcurl multi handle driven by
 * the daemon's libuv loop through the multi-socket API (a uv_poll per
 * socket curl opens, one uv_timer for curl's timeouts), so a slow or dead
 * back end never blocks the loop. Connections are reused across requests;
 * at most HTTP_CONNS_MAX are open and HTTP_QUEUE_MAX requests may be in
 * flight or waiting, beyond which http_post fails at once. Answers are
 * bounded to HTTP_BODY_MAX bytes.
 *
 * libcurl rather than lws's own client: lws 4.1's client has no bounded
 * connection pool or per-request timeout we can use, and sharing its
 * context with the server would mix client sockets into the server's
 * callbacks.
 */
#include <string.h>

#include <curl/curl.h>

#include "roomd.h"
#include "backend.h"

/* One socket curl asked us to watch; freed in its close callback. */
struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_sock *prev, *next;
};

/* One request; freed after its callback has run. */
struct http_req {
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	struct buf resp;
	int too_big;
	uint64_t started;
	http_cb cb;
	void *arg;
	char error[CURL_ERROR_SIZE];
	struct http_req *prev, *next;	/* every request out */
};

static CURLM *multi;
static uv_timer_t timer;
static struct http_sock *socks;
static struct http_req *reqs;
static size_t outstanding;
static int started;

static void check_done(void);

static void
sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
sock_forget(struct http_sock *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct http_sock *s = h->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, s->fd, flags, &running);
	check_done();
}

/* curl tells which sockets to watch for what. */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_sock *s = socketp;
	int events = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(multi, fd, NULL);
			sock_forget(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		if (uv_poll_init_socket(loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->next = socks;
		if (socks != NULL)
			socks->prev = s;
		socks = s;
		curl_multi_assign(multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, poll_cb);
	return 0;
}

static void
timer_fire(uv_timer_t *t)
{
	int running;

	(void)t;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

/* curl wants to be woken after timeout_ms (-1: never). */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	if (timeout_ms < 0)
		uv_timer_stop(&timer);
	else
		uv_timer_start(&timer, timer_fire, (uint64_t)timeout_ms, 0);
	return 0;
}

/* Collect the body, refusing to hold more than HTTP_BODY_MAX of it. */
static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;

	if (r->resp.len + len > HTTP_BODY_MAX) {
		r->too_big = 1;
		return 0;	/* curl aborts with CURLE_WRITE_ERROR */
	}
	buf_add(&r->resp, p, len);
	return len;
}

static void
req_free(struct http_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	buf_free(&r->resp);
	free(r);
	outstanding--;
}

/* Finish one request: tell its owner, then free it. */
static void
req_finish(struct http_req *r, CURLcode rc)
{
	struct http_reply rep;

	memset(&rep, 0, sizeof rep);
	rep.ms = mono_ms() - r->started;
	rep.body = r->resp.p != NULL ? r->resp.p : "";
	rep.len = r->resp.len;
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		rep.outcome = HTTP_FAILED;
		rep.error = "shutting down";
	} else if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		rep.outcome = HTTP_TOO_LARGE;
		rep.error = "the answer is over 64 KiB";
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		rep.outcome = HTTP_TIMEOUT;
		rep.error = "no answer in time";
	} else if (rc != CURLE_OK) {
		rep.outcome = HTTP_FAILED;
		rep.error = r->error[0] != '\0' ? r->error :
		    curl_easy_strerror(rc);
	} else {
		rep.outcome = HTTP_ANSWERED;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &rep.status);
	}
	r->cb(&rep, r->arg);
	req_free(r);
}

static void
check_done(void)
{
	CURLMsg *msg;
	int left;
	struct http_req *r;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		curl_multi_remove_handle(multi, msg->easy_handle);
		req_finish(r, msg->data.result);
	}
}

/* Set up the multi handle on the loop. Returns 0, or -1 when curl fails. */
int
http_start(void)
{
	if (started)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL)
		return -1;
	uv_timer_init(loop, &timer);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)HTTP_CONNS_MAX);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)HTTP_CONNS_MAX);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)HTTP_CONNS_MAX);
	started = 1;
	return 0;
}

static void
timer_closed(uv_handle_t *h)
{
	(void)h;
}

/*
 * Stop: every request still out is finished as failed (so its owner lets
 * go of what it holds), then the sockets and the timer are closed.
 */
void
http_stop(void)
{
	struct http_req *r;

	if (!started)
		return;
	while ((r = reqs) != NULL) {
		curl_multi_remove_handle(multi, r->easy);
		req_finish(r, CURLE_ABORTED_BY_CALLBACK);
	}
	curl_multi_cleanup(multi);
	multi = NULL;
	started = 0;
	while (socks != NULL)
		sock_forget(socks);
	uv_timer_stop(&timer);
	uv_close((uv_handle_t *)&timer, timer_closed);
}

size_t
http_outstanding(void)
{
	return outstanding;
}

/*
 * POST body (len bytes, copied) to url with extra headers (a NULL-ended
 * list of "Name: value", may be NULL), giving up after timeout_ms. cb runs
 * once, later, from the loop, never from inside this call. Returns 0, or
 * -1 when too many requests are out already or curl refuses the request;
 * then cb never runs.
 */
int
http_post(const char *url, const char *const *headers, const char *body,
    size_t len, uint64_t timeout_ms, http_cb cb, void *arg)
{
	struct http_req *r;

	if (!started || outstanding >= HTTP_QUEUE_MAX)
		return -1;
	r = xcalloc(1, sizeof *r);
	if ((r->easy = curl_easy_init()) == NULL) {
		free(r);
		return -1;
	}
	outstanding++;
	r->next = reqs;
	if (reqs != NULL)
		reqs->prev = r;
	reqs = r;
	buf_init(&r->resp);
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->cb = cb;
	r->arg = arg;
	r->started = mono_ms();
	r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	for (; headers != NULL && *headers != NULL; headers++)
		r->hdrs = curl_slist_append(r->hdrs, *headers);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "roomd/" ROOMD_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)HTTP_BODY_MAX);
	if (curl_multi_add_handle(multi, r->easy) != CURLM_OK) {
		req_free(r);
		return -1;
	}
	return 0;
}
