/*
 * sim.c owns what both modes of `roomctl sim` share: the --url list parsed
 * and resolved once for every client, the loop that runs them and its
 * teardown, and durations written the way scripts write them. Scripted
 * mode (sim-run.c) and load mode (sim-load.c) call it; it calls neither.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roomctl.h"

/*
 * Resolve host (a literal address without lookup) and port into ss, once,
 * before the loop runs: load mode connects thousands of times to one
 * address. Returns -1 and an allocated cause on failure.
 */
static int
sim_resolve(uv_loop_t *loop, const char *host, int port,
    struct sockaddr_storage *ss, char **cause)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct addrinfo hints, *ai;
	uv_getaddrinfo_t req;
	char service[16];
	int r;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof service, "%d", port);
	/* Without a callback uv_getaddrinfo runs synchronously. */
	r = uv_getaddrinfo(loop, &req, NULL, host, service, &hints);
	if (r != 0) {
		xasprintf(cause, "%s: %s", host, uv_strerror(r));
		return -1;
	}
	ai = req.addrinfo;
	if (ai == NULL || ai->ai_addrlen > sizeof *ss) {
		uv_freeaddrinfo(ai);
		xasprintf(cause, "%s: no address", host);
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	uv_freeaddrinfo(ai);
	return 0;
}

/*
 * Set up the loop for a run and parse and resolve every --url once, for all
 * the clients. Returns 0, or the exit status after saying what is wrong
 * (the loop is closed again then).
 */
int
sim_loop_open(struct sim_loop *sl, const struct sim_opts *o)
{
	char *cause;
	size_t i;
	int r;

	memset(sl, 0, sizeof *sl);
	if ((r = uv_loop_init(&sl->loop)) != 0)
		fatalx("uv_loop_init: %s", uv_strerror(r));
	sl->nurls = o->nurls;
	sl->urls = xcalloc(o->nurls, sizeof *sl->urls);
	for (i = 0; i < o->nurls; i++) {
		struct sim_url *u = &sl->urls[i];

		u->text = o->urls[i];
		if (ws_url_parse(u->text, &u->url, &cause) != 0) {
			r = EXIT_USAGE;
			goto fail;
		}
		if (sim_resolve(&sl->loop, u->url.host, u->url.port, &u->addr,
		    &cause) != 0) {
			r = EXIT_FAIL;
			goto fail;
		}
	}
	return 0;

fail:
	cmd_error("sim: %s", cause);
	free(cause);
	sim_loop_close(sl);
	return r;
}

/*
 * After uv_run: the loop must have no handle left (every client's and
 * timer's close callback has run). Frees the URLs.
 */
void
sim_loop_close(struct sim_loop *sl)
{
	if (uv_loop_close(&sl->loop) != 0)
		fatalx("sim: handles left open");
	free(sl->urls);
	sl->urls = NULL;
	sl->nurls = 0;
}

/* Format a duration the way scripts write it: 250ms, 5s, 1.5s. */
void
sim_duration_format(char *out, size_t len, uint64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(out, len, "%llus", (unsigned long long)(ms / 1000));
	else if (ms < 1000)
		snprintf(out, len, "%llums", (unsigned long long)ms);
	else
		snprintf(out, len, "%gs", (double)ms / 1000);
}
