/* url.c: parsing of Redis URLs, WebSocket URLs and HOST:PORT addresses. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

/*
 * Return the '@' ending the userinfo of the URL whose authority starts at
 * auth, or the end of the string if there is none. The last '@' before any
 * query counts, so a password may contain '@' and '/' unescaped.
 */
static const char *
url_userinfo_end(const char *auth)
{
	const char *limit, *at = NULL;

	limit = auth + strcspn(auth, "?");
	for (; auth < limit; auth++) {
		if (*auth == '@')
			at = auth;
	}
	return (at != NULL) ? at : limit + strlen(limit);
}

/*
 * Copy s as it may be shown in an error message: the password of a Redis
 * URL (userinfo, or a password= query parameter) becomes "***", because
 * causes end up on terminals and in logs.
 */
static char *
url_redact(const char *s)
{
	struct buf b;
	const char *auth, *at, *colon, *q, *v;

	buf_init(&b);
	auth = strstr(s, "://");
	if (auth == NULL) {
		buf_adds(&b, s);
		return buf_detach(&b);
	}
	auth += 3;
	at = url_userinfo_end(auth);
	if (*at == '@') {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon != NULL)
			buf_add(&b, s, (size_t)(colon + 1 - s));
		else
			buf_add(&b, s, (size_t)(auth - s));
		buf_adds(&b, "***");
		s = at;
	}
	/* Hide the value of any password= query parameter too. */
	while ((q = strstr(s, "password=")) != NULL) {
		v = q + strlen("password=");
		buf_add(&b, s, (size_t)(v - s));
		buf_adds(&b, "***");
		s = v + strcspn(v, "&#");
	}
	buf_adds(&b, s);
	return buf_detach(&b);
}

/* Set *cause to "bad WHAT url 'URL': WHY", with any password hidden. */
static int
url_error(char **cause, const char *what, const char *url, const char *why)
{
	char *shown;

	if (cause != NULL) {
		shown = url_redact(url);
		xasprintf(cause, "bad %s '%s': %s", what, shown, why);
		free(shown);
	}
	return -1;
}

/* Return the value of hex digit c, or -1. */
static int
url_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Undo %XX escapes of n bytes at s into out (outlen including the NUL).
 * Return 0, or -1 if an escape is malformed, it decodes to NUL or it does
 * not fit.
 */
static int
url_unescape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	int c, hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			hi = url_hex(s[i + 1]);
			lo = url_hex(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * Check a host name or address taken from n bytes at s and copy it into
 * host. A bracketed IPv6 literal must parse as one; names are limited to
 * the characters DNS and /etc/hosts allow. Return 0 or -1.
 */
static int
url_host(const char *s, size_t n, int bracketed, char *host, size_t hostlen)
{
	char tmp[INET6_ADDRSTRLEN + 64];
	unsigned char addr[16];
	size_t i;
	char *pct;

	if (n == 0 || n >= hostlen)
		return -1;
	if (bracketed) {
		if (n >= sizeof tmp)
			return -1;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		/* A zone (fe80::1%eth0) is not part of the address. */
		if ((pct = strchr(tmp, '%')) != NULL)
			*pct = '\0';
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return -1;
	} else {
		for (i = 0; i < n; i++) {
			if (!strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789.-_",
				s[i]))
				return -1;
		}
	}
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

/*
 * Split an authority "host[:port]" or "[v6][:port]" (n bytes at s) into
 * host and *port; *port is left alone when none is given. Return NULL on
 * success or a static reason.
 */
static const char *
url_authority(const char *s, size_t n, char *host, size_t hostlen, int *port,
    int port_required)
{
	const char *hend, *p, *close;
	char portbuf[16];
	uint64_t v;

	if (n > 0 && s[0] == '[') {
		close = memchr(s, ']', n);
		if (close == NULL)
			return "missing ']' after IPv6 address";
		if (url_host(s + 1, (size_t)(close - s - 1), 1, host,
		    hostlen) != 0)
			return "bad IPv6 address";
		p = close + 1;
		if (p != s + n && *p != ':')
			return "expected ':' after ']'";
	} else {
		hend = memchr(s, ':', n);
		p = (hend != NULL) ? hend : s + n;
		if (hend != NULL &&
		    memchr(hend + 1, ':', (size_t)(s + n - hend - 1)) != NULL) {
			/* Say why when it looks like a bare IPv6 address. */
			for (close = s; close < s + n; close++) {
				if (!strchr("0123456789abcdefABCDEF:.", *close))
					return "bad host name";
			}
			return "an IPv6 address needs brackets, as in [::1]";
		}
		if (p == s)
			return "missing host";
		if (url_host(s, (size_t)(p - s), 0, host, hostlen) != 0)
			return "bad host name";
	}
	if (p == s + n) {
		if (port_required)
			return "missing port";
		return NULL;
	}
	p++;	/* the ':' */
	if ((size_t)(s + n - p) >= sizeof portbuf)
		return "port must be a number from 1 to 65535";
	memcpy(portbuf, p, (size_t)(s + n - p));
	portbuf[s + n - p] = '\0';
	if (parse_uint(portbuf, 1, 65535, &v) != 0)
		return "port must be a number from 1 to 65535";
	*port = (int)v;
	return NULL;
}

/*
 * The server part of a URL, from auth up to end (where its path, query or
 * fragment starts), into host and *port, the port optional; a '#' anywhere
 * after it is refused too. Return NULL on success or a static reason.
 */
static const char *
url_server(const char *auth, const char *end, char *host, size_t hostlen,
    int *port)
{
	if (strchr(end, '#') != NULL)
		return "unexpected '#' in url";
	return url_authority(auth, (size_t)(end - auth), host, hostlen, port,
	    0);
}

/* Parse a database number "N" (n bytes at s) into *db. */
static int
url_db(const char *s, size_t n, int *db)
{
	char tmp[16];
	uint64_t v;

	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (parse_uint(tmp, 0, INT_MAX, &v) != 0)
		return -1;
	*db = (int)v;
	return 0;
}

/*
 * Parse the query of a Redis URL: "db=N" and "password=P" joined by '&'.
 * Return NULL or a static reason.
 */
static const char *
url_redis_query(const char *q, struct redis_url *u)
{
	const char *end, *eq;
	size_t n;

	while (*q != '\0') {
		end = q + strcspn(q, "&");
		eq = memchr(q, '=', (size_t)(end - q));
		if (eq == NULL)
			return "expected NAME=VALUE in the query";
		n = (size_t)(eq - q);
		if (n == 2 && strncmp(q, "db", 2) == 0) {
			if (url_db(eq + 1, (size_t)(end - eq - 1), &u->db) != 0)
				return "db must be a number";
		} else if (n == 8 && strncmp(q, "password", 8) == 0) {
			if (url_unescape(eq + 1, (size_t)(end - eq - 1),
			    u->password, sizeof u->password) != 0)
				return "bad password";
		} else
			return "unknown query parameter (expected db or "
			       "password)";
		q = (*end == '&') ? end + 1 : end;
	}
	return NULL;
}

/*
 * Parse redis://[[user]:password@]host[:port][/db][?query] or
 * unix:///path[?db=N]. A user name is accepted and ignored (roomd AUTHs with
 * the password alone); userinfo without ':' is taken as the password, like
 * redis-cli does. Return 0, or -1 with *cause set (password hidden).
 */
int
redis_url_parse(const char *s, struct redis_url *u, char **cause)
{
	const char *what = "redis url", *auth, *end, *at, *colon, *why, *q;
	size_t n;

	memset(u, 0, sizeof *u);
	u->port = 6379;

	if (strncmp(s, "unix://", 7) == 0) {
		u->is_unix = 1;
		auth = s + 7;
		if (*auth != '/')
			return url_error(cause, what, s,
			    "expected unix:///absolute/path");
		n = strcspn(auth, "?#");
		if (n >= sizeof u->path)
			return url_error(cause, what, s,
			    "socket path too long");
		if (auth[n] == '#')
			return url_error(cause, what, s,
			    "unexpected '#' in url");
		memcpy(u->path, auth, n);
		u->path[n] = '\0';
		if (auth[n] == '?' &&
		    (why = url_redis_query(auth + n + 1, u)) != NULL)
			return url_error(cause, what, s, why);
		return 0;
	}
	if (strncmp(s, "rediss://", 9) == 0)
		return url_error(cause, what, s,
		    "rediss:// (TLS) is not supported");
	if (strncmp(s, "redis://", 8) != 0)
		return url_error(cause, what, s,
		    "expected redis:// or unix://");

	auth = s + 8;
	at = url_userinfo_end(auth);
	if (*at == '@') {
		colon = memchr(auth, ':', (size_t)(at - auth));
		q = (colon != NULL) ? colon + 1 : auth;
		if (url_unescape(q, (size_t)(at - q), u->password,
		    sizeof u->password) != 0)
			return url_error(cause, what, s, "bad password");
		auth = at + 1;
	}
	end = auth + strcspn(auth, "/?#");
	if ((why = url_server(auth, end, u->host, sizeof u->host,
	    &u->port)) != NULL)
		return url_error(cause, what, s, why);

	if (*end == '/') {
		q = end + 1;
		n = strcspn(q, "?");
		if (n > 0 && url_db(q, n, &u->db) != 0)
			return url_error(cause, what, s,
			    "database must be a number, as in /0");
		end = q + n;
	}
	if (*end == '?' && (why = url_redis_query(end + 1, u)) != NULL)
		return url_error(cause, what, s, why);
	return 0;
}

/* Write u for display, never including the password. */
void
redis_url_format(const struct redis_url *u, char *out, size_t outlen)
{
	if (u->is_unix) {
		if (u->db != 0)
			snprintf(out, outlen, "unix://%s?db=%d", u->path,
			    u->db);
		else
			snprintf(out, outlen, "unix://%s", u->path);
	} else if (strchr(u->host, ':') != NULL)
		snprintf(out, outlen, "redis://[%s]:%d/%d", u->host, u->port,
		    u->db);
	else
		snprintf(out, outlen, "redis://%s:%d/%d", u->host, u->port,
		    u->db);
}

/*
 * Parse ws://host[:port][/path[?query]]: port 80 and path "/" by default.
 * The host is stored without IPv6 brackets. Return 0, or -1 with *cause.
 */
int
ws_url_parse(const char *s, struct ws_url *u, char **cause)
{
	const char *what = "websocket url", *auth, *end, *why;
	size_t n;

	memset(u, 0, sizeof *u);
	u->port = 80;

	if (strncmp(s, "wss://", 6) == 0)
		return url_error(cause, what, s,
		    "wss:// is not supported; put TLS in front");
	if (strncmp(s, "ws://", 5) != 0)
		return url_error(cause, what, s,
		    "expected ws://host[:port][/path]");
	auth = s + 5;
	end = auth + strcspn(auth, "/?#@");
	if (*end == '@')
		return url_error(cause, what, s,
		    "user names and passwords are not supported");
	if ((why = url_server(auth, end, u->host, sizeof u->host,
	    &u->port)) != NULL)
		return url_error(cause, what, s, why);

	n = strlen(end);
	if (n + 2 > sizeof u->path)
		return url_error(cause, what, s, "path too long");
	for (auth = end; *auth != '\0'; auth++) {
		if ((unsigned char)*auth <= 0x20 || *auth == 0x7f)
			return url_error(cause, what, s,
			    "spaces and control characters must be escaped");
	}
	if (*end == '/')
		memcpy(u->path, end, n + 1);
	else
		snprintf(u->path, sizeof u->path, "/%s", end);
	return 0;
}

/*
 * Parse HOST:PORT, [V6]:PORT or *:PORT; the port is required. "*" and an
 * empty host mean every interface and come back as "0.0.0.0". Return 0, or
 * -1 with *cause.
 */
int
hostport_parse(const char *s, char *host, size_t hostlen, int *port,
    char **cause)
{
	char tmp[300];
	const char *why, *p = s;
	int v = 0;

	/* Spell "every interface" the way getaddrinfo and bind take it. */
	if ((s[0] == '*' && s[1] == ':') || s[0] == ':') {
		snprintf(tmp, sizeof tmp, "0.0.0.0%s", s + (s[0] == '*'));
		p = tmp;
	}
	if ((why = url_authority(p, strlen(p), host, hostlen, &v, 1)) != NULL) {
		if (cause != NULL)
			xasprintf(cause, "bad address '%s': %s (expected "
			    "HOST:PORT)", s, why);
		return -1;
	}
	*port = v;
	return 0;
}
