/*
 * cluster.c owns the pure parts of the Redis Cluster layer: key slots
 * (CRC16 with hash tags), the slot map read from a CLUSTER SLOTS reply,
 * the classes of cluster errors and the MOVED/ASK redirects they carry,
 * and seed lists. No I/O here, so the unit tests and both clients share it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "shared.h"
#include "cluster.h"

/*
 * CRC16-CCITT in its XMODEM form (polynomial 0x1021, initial value 0, no
 * reflection), the checksum Redis Cluster takes modulo 16384. Bitwise:
 * keys are short and a table would be one more thing to get wrong.
 */
uint16_t
cluster_crc16(const char *p, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) :
			    (uint16_t)(crc << 1);
	}
	return crc;
}

/*
 * The slot of a key. With a hash tag (the bytes between the first '{' and
 * the first '}' after it, when there is at least one) only the tag is
 * hashed, so "{R}:a" and "{R}:b" share a slot; "{}" or an unclosed '{'
 * hash the whole key.
 */
unsigned
cluster_key_slot(const char *key, size_t len)
{
	const char *open, *close;

	open = memchr(key, '{', len);
	if (open != NULL) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close != NULL && close > open + 1)
			return cluster_crc16(open + 1,
			    (size_t)(close - open - 1)) & (CLUSTER_SLOTS - 1);
	}
	return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
}

/*
 * A short hash tag whose slot is slot: "x{T}" lands where keys of that
 * slot do. The table is filled once, on first use, by trying tags in
 * order (all of 16384 slots are covered by four-character tags in about
 * 170k CRCs, a few milliseconds), so a tag is the same in every process.
 */
const char *
cluster_slot_tag(unsigned slot)
{
	static char tags[CLUSTER_SLOTS][8];
	static int filled;
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned left = CLUSTER_SLOTS, s;
	char t[8];

	if (!filled) {
		for (unsigned long n = 0; left > 0; n++) {
			size_t len = 0;

			for (unsigned long v = n; len == 0 || v > 0; v /= 36)
				t[len++] = digits[v % 36];
			s = cluster_crc16(t, len) & (CLUSTER_SLOTS - 1);
			if (tags[s][0] == '\0') {
				memcpy(tags[s], t, len);
				left--;
			}
		}
		filled = 1;
	}
	return tags[slot & (CLUSTER_SLOTS - 1)];
}

static int
has_prefix(const char *s, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	return len >= n && memcmp(s, pfx, n) == 0;
}

/* What an error reply asks the router to do. */
enum cluster_err
cluster_err_class(const char *err, size_t len)
{
	if (has_prefix(err, len, "MOVED "))
		return CLUSTER_ERR_MOVED;
	if (has_prefix(err, len, "ASK "))
		return CLUSTER_ERR_ASK;
	if (has_prefix(err, len, "TRYAGAIN") ||
	    has_prefix(err, len, "CLUSTERDOWN") ||
	    has_prefix(err, len, "LOADING"))
		return CLUSTER_ERR_RETRY;
	if (has_prefix(err, len, "NOSCRIPT"))
		return CLUSTER_ERR_NOSCRIPT;
	return CLUSTER_ERR_OTHER;
}

/*
 * Split "HOST:PORT" at its last colon (Redis writes IPv6 hosts without
 * brackets in redirects; brackets are accepted too). An empty host is
 * allowed: Redis sends one when it does not know its own address, and the
 * caller then uses the address it asked. Returns 0 or -1.
 */
static int
addr_split(const char *s, size_t len, struct cluster_addr *a)
{
	const char *colon = NULL;
	size_t hl;
	char *end, num[8];
	long port;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof a->host || len - hl < 2 ||
	    (size_t)(s + len - colon - 1) >= sizeof num)
		return -1;
	memcpy(num, colon + 1, (size_t)(s + len - colon - 1));
	num[s + len - colon - 1] = '\0';
	port = strtol(num, &end, 10);
	if (num[0] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	memcpy(a->host, s, hl);
	a->host[hl] = '\0';
	a->port = (int)port;
	return 0;
}

/*
 * Read "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381": the slot
 * and the address. Returns 0, or -1 when the text is neither.
 */
int
cluster_redirect_parse(const char *err, size_t len, unsigned *slot,
    struct cluster_addr *a)
{
	const char *p, *end = err + len, *sp;
	unsigned long v = 0;

	if (has_prefix(err, len, "MOVED "))
		p = err + 6;
	else if (has_prefix(err, len, "ASK "))
		p = err + 4;
	else
		return -1;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= CLUSTER_SLOTS)
			return -1;
	}
	if (p >= end || *p != ' ')
		return -1;
	p++;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp != NULL)
		end = sp;
	if (addr_split(p, (size_t)(end - p), a) != 0)
		return -1;
	*slot = (unsigned)v;
	return 0;
}

/* One seed, "HOST:PORT" or "[V6]:PORT", as the CLI gives it. */
int
cluster_addr_parse(const char *s, struct cluster_addr *a, char **cause)
{
	if (s[0] == '\0' || addr_split(s, strlen(s), a) != 0 ||
	    a->host[0] == '\0') {
		if (cause != NULL)
			xasprintf(cause, "bad cluster node '%s' (expected "
			    "HOST:PORT)", s);
		return -1;
	}
	return 0;
}

/*
 * "HOST:PORT[,HOST:PORT...]" into a new array the caller frees. Returns
 * 0, or -1 with *cause set when any part is not an address.
 */
int
cluster_seeds_parse(const char *s, struct cluster_addr **out, size_t *n,
    char **cause)
{
	struct cluster_addr *v = NULL;
	size_t nv = 0;
	char *copy, *tok, *save = NULL;

	copy = xstrdup(s);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		v = xrealloc(v, (nv + 1) * sizeof *v);
		if (cluster_addr_parse(tok, &v[nv], cause) != 0) {
			free(v);
			free(copy);
			return -1;
		}
		nv++;
	}
	free(copy);
	if (nv == 0) {
		if (cause != NULL)
			xasprintf(cause, "no cluster nodes in '%s'", s);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}

void
cluster_map_init(struct cluster_map *m)
{
	for (size_t i = 0; i < CLUSTER_SLOTS; i++)
		m->slot[i] = -1;
	m->masters = NULL;
	m->nmasters = 0;
}

void
cluster_map_free(struct cluster_map *m)
{
	free(m->masters);
	cluster_map_init(m);
}

/* The index of a master in the map, added when new. */
int
cluster_map_add(struct cluster_map *m, const char *host, int port)
{
	for (size_t i = 0; i < m->nmasters; i++)
		if (m->masters[i].port == port &&
		    strcmp(m->masters[i].host, host) == 0)
			return (int)i;
	m->masters = xrealloc(m->masters,
	    (m->nmasters + 1) * sizeof *m->masters);
	snprintf(m->masters[m->nmasters].host, sizeof m->masters->host, "%s",
	    host);
	m->masters[m->nmasters].port = port;
	return (int)m->nmasters++;
}

/*
 * Fill m (initialised by the caller) from a CLUSTER SLOTS reply:
 * [[start, end, [host, port, id, ...], replicas...], ...]. A master whose
 * host is empty or "?" is the node that answered (from_host). Returns 0,
 * or -1 with *cause set when the reply has another shape; m then holds
 * what was read so far, for cluster_map_free.
 */
int
cluster_map_parse_slots(const redisReply *r, const char *from_host,
    struct cluster_map *m, char **cause)
{
	const redisReply *e, *n;
	const char *host;
	long long a, b;
	int idx;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if (cause != NULL)
			xasprintf(cause, "CLUSTER SLOTS: not an array");
		return -1;
	}
	for (size_t i = 0; i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY)
			goto bad;
		a = e->element[0]->integer;
		b = e->element[1]->integer;
		n = e->element[2];
		if (a < 0 || b < a || b >= CLUSTER_SLOTS || n->elements < 2 ||
		    n->element[0]->type != REDIS_REPLY_STRING ||
		    n->element[1]->type != REDIS_REPLY_INTEGER ||
		    n->element[1]->integer < 1 ||
		    n->element[1]->integer > 65535)
			goto bad;
		host = n->element[0]->str;
		if (host[0] == '\0' || strcmp(host, "?") == 0)
			host = from_host;
		idx = cluster_map_add(m, host, (int)n->element[1]->integer);
		for (long long s = a; s <= b; s++)
			m->slot[s] = (int16_t)idx;
	}
	return 0;
bad:
	if (cause != NULL)
		xasprintf(cause, "CLUSTER SLOTS: unexpected entry shape");
	return -1;
}

/*
 * The command EVALSHA sha NKEYS, then nkeys keys and nargs arguments (argv,
 * with lens or by strlen), as *avp and *lnp for the caller to free; NKEYS
 * is written into nk, which they point at. Returns how many there are.
 */
int
cluster_evalsha_args(const char *sha, int nkeys, int nargs,
    const char **argv, const size_t *lens, char nk[16], const char ***avp,
    size_t **lnp)
{
	int argc = 3 + nkeys + nargs;
	const char **av;
	size_t *ln;

	snprintf(nk, 16, "%d", nkeys);
	av = xcalloc((size_t)argc, sizeof *av);
	ln = xcalloc((size_t)argc, sizeof *ln);
	av[0] = "EVALSHA";
	av[1] = sha;
	av[2] = nk;
	for (int i = 0; i < 3; i++)
		ln[i] = strlen(av[i]);
	for (int i = 0; i < nkeys + nargs; i++) {
		av[3 + i] = argv[i];
		ln[3 + i] = lens != NULL ? lens[i] : strlen(argv[i]);
	}
	*avp = av;
	*lnp = ln;
	return argc;
}
