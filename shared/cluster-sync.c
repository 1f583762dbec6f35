/*
 * cluster-sync.c owns the blocking Redis Cluster client roomctl uses: a
 * slot map read from the first seed that answers, one hiredis connection
 * per node dialled when first needed, and commands that follow MOVED and
 * ASK, wait out TRYAGAIN/CLUSTERDOWN/LOADING and reload scripts on
 * NOSCRIPT, with the same pure helpers (cluster.c) as the async router.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "shared.h"
#include "cluster.h"

#define SYNC_TRIES 12
#define SYNC_RETRY_MS 50
#define SYNC_RETRY_MAX_MS 1000

struct sync_conn {
	struct cluster_addr a;
	redisContext *c;
};

struct cluster_sync {
	char *password;
	struct timeval tv;
	struct cluster_addr *seeds;
	size_t nseeds;
	struct cluster_map map;
	struct sync_conn *conns;
	size_t nconns;
};

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
conn_drop(struct cluster_sync *cs, const struct cluster_addr *a)
{
	for (size_t i = 0; i < cs->nconns; i++)
		if (cs->conns[i].c != NULL && cs->conns[i].a.port == a->port &&
		    strcmp(cs->conns[i].a.host, a->host) == 0) {
			redisFree(cs->conns[i].c);
			cs->conns[i].c = NULL;
		}
}

/* A connection to a (authenticated), or NULL with *cause set. */
static redisContext *
conn_get(struct cluster_sync *cs, const struct cluster_addr *a, char **cause)
{
	struct sync_conn *sc = NULL;
	redisReply *r;

	for (size_t i = 0; i < cs->nconns; i++)
		if (cs->conns[i].a.port == a->port &&
		    strcmp(cs->conns[i].a.host, a->host) == 0)
			sc = &cs->conns[i];
	if (sc != NULL && sc->c != NULL)
		return sc->c;
	if (sc == NULL) {
		cs->conns = xrealloc(cs->conns, (cs->nconns + 1) *
		    sizeof *cs->conns);
		sc = &cs->conns[cs->nconns++];
		sc->a = *a;
		sc->c = NULL;
	}
	sc->c = redisConnectWithTimeout(a->host, a->port, cs->tv);
	if (sc->c == NULL || sc->c->err) {
		if (cause != NULL)
			xasprintf(cause, "%s:%d: %s", a->host, a->port,
			    sc->c != NULL ? sc->c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(sc->c, cs->tv);
	if (cs->password != NULL) {
		r = redisCommand(sc->c, "AUTH %s", cs->password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			if (cause != NULL)
				xasprintf(cause, "%s:%d: %s", a->host, a->port,
				    r != NULL ? r->str : sc->c->errstr);
			if (r != NULL)
				freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	return sc->c;
fail:
	if (sc->c != NULL)
		redisFree(sc->c);
	sc->c = NULL;
	return NULL;
}

/* Read the map from the masters known, then the seeds. Returns 0 or -1. */
static int
map_load(struct cluster_sync *cs, char **cause)
{
	struct cluster_addr *cand;
	size_t ncand = cs->map.nmasters + cs->nseeds;
	struct cluster_map m;
	redisContext *c;
	redisReply *r;
	char *why = NULL;
	int ok = -1;

	cand = xcalloc(ncand, sizeof *cand);
	if (cs->map.nmasters > 0)
		memcpy(cand, cs->map.masters, cs->map.nmasters * sizeof *cand);
	memcpy(cand + cs->map.nmasters, cs->seeds, cs->nseeds * sizeof *cand);
	for (size_t i = 0; i < ncand && ok != 0; i++) {
		free(why);
		why = NULL;
		if ((c = conn_get(cs, &cand[i], &why)) == NULL)
			continue;
		r = redisCommand(c, "CLUSTER SLOTS");
		if (r == NULL) {
			xasprintf(&why, "%s:%d: %s", cand[i].host, cand[i].port,
			    c->errstr);
			conn_drop(cs, &cand[i]);
			continue;
		}
		cluster_map_init(&m);
		if (cluster_map_parse_slots(r, cand[i].host, &m, &why) == 0 &&
		    m.nmasters > 0) {
			cluster_map_free(&cs->map);
			cs->map = m;
			ok = 0;
		} else {
			if (why == NULL)
				xasprintf(&why, "%s:%d: %s", cand[i].host,
				    cand[i].port, r->type == REDIS_REPLY_ERROR ?
				    r->str : "no slots served");
			cluster_map_free(&m);
		}
		freeReplyObject(r);
	}
	free(cand);
	if (ok != 0 && cause != NULL)
		xasprintf(cause, "no cluster node gave a slot map (%s)",
		    why != NULL ? why : "no nodes");
	free(why);
	return ok;
}

/*
 * Connect to the cluster of seeds and read its slot map. Returns NULL
 * with *cause set when the seeds do not parse or no seed answers.
 */
struct cluster_sync *
cluster_sync_open(const char *seeds, const char *password,
    struct timeval timeout, char **cause)
{
	struct cluster_sync *cs = xcalloc(1, sizeof *cs);

	cluster_map_init(&cs->map);
	cs->tv = timeout;
	if (password != NULL && password[0] != '\0')
		cs->password = xstrdup(password);
	if (cluster_seeds_parse(seeds, &cs->seeds, &cs->nseeds, cause) != 0 ||
	    map_load(cs, cause) != 0) {
		cluster_sync_close(cs);
		return NULL;
	}
	return cs;
}

void
cluster_sync_close(struct cluster_sync *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->nconns; i++)
		if (cs->conns[i].c != NULL)
			redisFree(cs->conns[i].c);
	free(cs->conns);
	cluster_map_free(&cs->map);
	free(cs->seeds);
	free(cs->password);
	free(cs);
}

/*
 * Run argv at a (or the slot's master when a is NULL), following the
 * cluster until a final reply: see cluster.h. source non-NULL: argv is an
 * EVALSHA of that script. Returns the reply (an error reply included),
 * which the caller frees, or NULL with *cause set.
 */
static redisReply *
run(struct cluster_sync *cs, const struct cluster_addr *fixed,
    unsigned slot, const char *source, int argc, const char **argv,
    const size_t *lens, char **cause)
{
	struct cluster_addr at, ask;
	enum cluster_err class;
	int asking = 0, reloaded = 0;
	uint64_t backoff = SYNC_RETRY_MS;
	redisContext *c;
	redisReply *r = NULL;
	char last[256] = "";	/* why the last failed try failed */
	unsigned s;

	for (int tries = 0; tries < SYNC_TRIES; tries++) {
		if (r != NULL)
			freeReplyObject(r);
		r = NULL;
		if (asking)
			at = ask;
		else if (fixed != NULL)
			at = *fixed;
		else if (cs->map.slot[slot] >= 0)
			at = cs->map.masters[cs->map.slot[slot]];
		else {
			if (map_load(cs, cause) != 0)
				return NULL;
			if (cs->map.slot[slot] < 0)
				goto wait;
			continue;
		}
		if ((c = conn_get(cs, &at, cause)) == NULL)
			goto lost;
		if (asking) {
			redisReply *a = redisCommand(c, "ASKING");

			if (a != NULL)
				freeReplyObject(a);
		}
		asking = 0;
		r = redisCommandArgv(c, argc, argv, lens);
		if (r == NULL) {
			if (cause != NULL)
				xasprintf(cause, "%s:%d: %s", at.host, at.port,
				    c->errstr);
			conn_drop(cs, &at);
			return NULL;	/* it may have run: do not repeat */
		}
		if (r->type != REDIS_REPLY_ERROR || fixed != NULL)
			return r;
		switch ((class = cluster_err_class(r->str, r->len))) {
		case CLUSTER_ERR_MOVED:
		case CLUSTER_ERR_ASK:
			if (cluster_redirect_parse(r->str, r->len, &s, &ask) != 0)
				return r;
			if (ask.host[0] == '\0')
				snprintf(ask.host, sizeof ask.host, "%s",
				    at.host);
			/* MOVED: the slot is there now; ASK: once, there. */
			if (class == CLUSTER_ERR_MOVED)
				cs->map.slot[s] = (int16_t)cluster_map_add(
				    &cs->map, ask.host, ask.port);
			else
				asking = 1;
			continue;
		case CLUSTER_ERR_NOSCRIPT:
			if (source == NULL || reloaded)
				return r;
			reloaded = 1;
			freeReplyObject(r);
			r = redisCommand(c, "SCRIPT LOAD %s", source);
			continue;
		case CLUSTER_ERR_RETRY:
			goto wait;
		case CLUSTER_ERR_OTHER:
			return r;
		}
		continue;
lost:
		/* Nothing was sent: the map may be stale (failover). */
		conn_drop(cs, &at);
wait:
		sleep_ms(backoff);
		backoff = backoff * 2 > SYNC_RETRY_MAX_MS ? SYNC_RETRY_MAX_MS :
		    backoff * 2;
		if (fixed == NULL)
			(void)map_load(cs, NULL);
		if (cause != NULL && *cause != NULL) {
			snprintf(last, sizeof last, "%s", *cause);
			free(*cause);
			*cause = NULL;
		}
	}
	if (r != NULL)
		return r;
	if (cause != NULL && *cause == NULL)
		xasprintf(cause, "cluster: gave up after %d tries%s%s",
		    SYNC_TRIES, last[0] != '\0' ? ": " : "", last);
	return NULL;
}

/*
 * One command on the master of key's slot; key NULL: argv[1] is the key,
 * as in cluster_command (a command with no argument goes to slot 0's).
 */
redisReply *
cluster_sync_command(struct cluster_sync *cs, const char *key, size_t keylen,
    int argc, const char **argv, const size_t *lens, char **cause)
{
	unsigned slot = 0;

	if (cause != NULL)
		*cause = NULL;
	if (key != NULL)
		slot = cluster_key_slot(key, keylen);
	else if (argc > 1)
		slot = cluster_key_slot(argv[1], lens != NULL ? lens[1] :
		    strlen(argv[1]));
	return run(cs, NULL, slot, NULL, argc, argv, lens, cause);
}

/* EVALSHA on the shard of the first key, loading source on NOSCRIPT. */
redisReply *
cluster_sync_script(struct cluster_sync *cs, const char *sha,
    const char *source, int nkeys, int nargs, const char **argv,
    const size_t *lens, char **cause)
{
	const char **av;
	size_t *ln;
	redisReply *r;
	char nk[16];
	int argc;

	if (cause != NULL)
		*cause = NULL;
	argc = cluster_evalsha_args(sha, nkeys, nargs, argv, lens, nk, &av,
	    &ln);
	r = run(cs, NULL, nkeys > 0 ? cluster_key_slot(av[3], ln[3]) : 0,
	    source, argc, av, ln, cause);
	free(av);
	free(ln);
	return r;
}

/* How many masters the map has (for listings merged across shards). */
size_t
cluster_sync_nmasters(const struct cluster_sync *cs)
{
	return cs->map.nmasters;
}

/* One command on master i of the map (SCAN, KEYS...): no redirects. */
redisReply *
cluster_sync_command_on(struct cluster_sync *cs, size_t i, int argc,
    const char **argv, const size_t *lens, char **cause)
{
	if (cause != NULL)
		*cause = NULL;
	if (i >= cs->map.nmasters) {
		if (cause != NULL)
			xasprintf(cause, "no master %zu", i);
		return NULL;
	}
	return run(cs, &cs->map.masters[i], 0, NULL, argc, argv, lens, cause);
}
