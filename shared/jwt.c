/* jwt.c: HS256 JSON Web Tokens: verification, claims, grants and signing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "shared.h"

#define JWT_SIG_LEN 32		/* HMAC-SHA256 output */

/*
 * NumericDates outside +-2^53 cannot come from a real clock and would lose
 * precision as doubles; bounding them also keeps exp + leeway from
 * overflowing.
 */
#define JWT_TIME_MAX 9007199254740992.0

/* The only header jwt_sign writes: {"alg":"HS256","typ":"JWT"}. */
#define JWT_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* Set *cause (when the caller wants it) and return -1. */
static int
jwt_fail(char **cause, const char *why)
{
	if (cause != NULL)
		*cause = xstrdup(why);
	return -1;
}

/* Value of a base64url character, or -1 (padding and '+' '/' included). */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decode n bytes of unpadded base64url at s into a new NUL-terminated buffer
 * *out of *outlen bytes (the caller frees it). Return -1 on any character
 * outside the alphabet, an impossible length, or unused trailing bits that
 * are not zero: each byte string then has exactly one encoding, so a
 * signature cannot be altered without being rejected.
 */
static int
b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *p;
	uint32_t acc = 0;
	size_t i, bits = 0, o = 0;
	int v;

	if (n % 4 == 1)
		return -1;
	p = xmalloc(n / 4 * 3 + 3);
	for (i = 0; i < n; i++) {
		if ((v = b64url_value((unsigned char)s[i])) == -1) {
			free(p);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) {
		free(p);
		return -1;
	}
	p[o] = '\0';
	*out = p;
	*outlen = o;
	return 0;
}

/* Append n bytes at p to b as unpadded base64url. */
static void
b64url_encode(struct buf *b, const unsigned char *p, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t i, bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			buf_addc(b, alphabet[(acc >> bits) & 0x3f]);
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		buf_addc(b, alphabet[(acc << (6 - bits)) & 0x3f]);
}

/*
 * Compute HMAC-SHA256 of n bytes at data into md. Return 0, or -1 when the
 * secret is empty or too long for OpenSSL's int length.
 */
static int
jwt_hmac(const char *secret, size_t secretlen, const char *data, size_t n,
    unsigned char md[JWT_SIG_LEN])
{
	unsigned int mdlen = 0;

	if (secretlen == 0 || secretlen > INT_MAX)
		return -1;
	if (HMAC(EVP_sha256(), secret, (int)secretlen,
	    (const unsigned char *)data, n, md, &mdlen) == NULL ||
	    mdlen != JWT_SIG_LEN)
		return -1;
	return 0;
}

/*
 * Parse n decoded bytes at p (NUL-terminated) as one JSON object. Return it
 * (the caller deletes it) or NULL. NUL characters are refused, raw or as a
 * \u0000 escape, because cJSON would silently cut the string there: a
 * subject "alice\u0000x" would otherwise authenticate as "alice".
 */
static cJSON *
jwt_parse_object(const unsigned char *p, size_t n)
{
	cJSON *j;
	size_t i;

	if (memchr(p, '\0', n) != NULL)
		return NULL;
	/*
	 * In valid JSON a backslash only starts an escape inside a string,
	 * so skipping each escaped character is enough to find every \u.
	 * Invalid JSON is refused by cJSON below.
	 */
	for (i = 0; i + 1 < n; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] == 'u' && n - i >= 6 &&
		    memcmp(p + i + 2, "0000", 4) == 0)
			return NULL;
		i++;
	}
	j = cJSON_ParseWithOpts((const char *)p, NULL, 1);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/*
 * Find member name of obj into *item (NULL when absent). Return -1 when it
 * appears more than once: parsers disagree on which duplicate wins, and a
 * token that means different things to different readers is refused.
 */
static int
jwt_member(const cJSON *obj, const char *name, const cJSON **item)
{
	const cJSON *c;

	*item = NULL;
	cJSON_ArrayForEach(c, obj) {
		if (c->string == NULL || strcmp(c->string, name) != 0)
			continue;
		if (*item != NULL)
			return -1;
		*item = c;
	}
	return 0;
}

/* Check the decoded header: alg HS256 exactly, typ JWT if given, no crit. */
static int
jwt_check_header(const unsigned char *p, size_t n, char **cause)
{
	const cJSON *alg, *typ, *crit;
	cJSON *h;
	int rc = -1;

	if ((h = jwt_parse_object(p, n)) == NULL)
		return jwt_fail(cause, "malformed header");
	if (jwt_member(h, "alg", &alg) != 0 ||
	    jwt_member(h, "typ", &typ) != 0 ||
	    jwt_member(h, "crit", &crit) != 0)
		jwt_fail(cause, "duplicate header parameter");
	else if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
		jwt_fail(cause, "alg must be HS256");
	else if (typ != NULL &&
	    (!cJSON_IsString(typ) || strcmp(typ->valuestring, "JWT") != 0))
		jwt_fail(cause, "typ must be JWT");
	else if (crit != NULL)
		/* We understand no extensions, so none can be critical. */
		jwt_fail(cause, "unsupported header 'crit'");
	else
		rc = 0;
	cJSON_Delete(h);
	return rc;
}

/*
 * Read a NumericDate claim into *out, rounded down when round_up is 0 and
 * up otherwise, so a fractional exp or nbf is never stretched in the
 * client's favour. Return 0, 1 when the claim is absent, or -1.
 */
static int
jwt_time_claim(const cJSON *payload, const char *name, int round_up,
    int64_t *out, char **cause)
{
	const cJSON *item;
	char msg[64];
	double v;

	if (jwt_member(payload, name, &item) != 0) {
		snprintf(msg, sizeof msg, "duplicate claim '%s'", name);
		return jwt_fail(cause, msg);
	}
	if (item == NULL)
		return 1;
	if (!cJSON_IsNumber(item)) {
		snprintf(msg, sizeof msg, "claim '%s' must be a number", name);
		return jwt_fail(cause, msg);
	}
	v = item->valuedouble;
	if (!(v <= JWT_TIME_MAX && v >= -JWT_TIME_MAX)) {
		snprintf(msg, sizeof msg, "claim '%s' out of range", name);
		return jwt_fail(cause, msg);
	}
	/* Round by hand (the cast truncates) rather than pull in libm. */
	*out = (int64_t)v;
	if (round_up && (double)*out < v)
		(*out)++;
	else if (!round_up && (double)*out > v)
		(*out)--;
	return 0;
}

/*
 * Read the optional array of patterns called name into a new
 * NULL-terminated vector *out of *n strings; an empty array still gets a
 * vector, so out != NULL means "present". Return 0 or -1 (nothing
 * allocated).
 */
static int
jwt_patterns_claim(const cJSON *payload, const char *name, char ***out,
    size_t *n, int *present, char **cause)
{
	const cJSON *item, *c;
	char msg[80];
	char **v;
	size_t i, count;

	if (jwt_member(payload, name, &item) != 0) {
		snprintf(msg, sizeof msg, "duplicate claim '%s'", name);
		return jwt_fail(cause, msg);
	}
	if (item == NULL)
		return 0;
	snprintf(msg, sizeof msg, "claim '%s' must be an array of strings",
	    name);
	if (!cJSON_IsArray(item))
		return jwt_fail(cause, msg);
	count = 0;
	cJSON_ArrayForEach(c, item) {
		if (!cJSON_IsString(c))
			return jwt_fail(cause, msg);
		if (strlen(c->valuestring) > JWT_PATTERN_MAX) {
			snprintf(msg, sizeof msg, "pattern too long in '%s'",
			    name);
			return jwt_fail(cause, msg);
		}
		if (++count > JWT_PATTERNS_MAX) {
			snprintf(msg, sizeof msg, "too many patterns in '%s'",
			    name);
			return jwt_fail(cause, msg);
		}
	}
	v = xcalloc(count + 1, sizeof *v);
	i = 0;
	cJSON_ArrayForEach(c, item)
		v[i++] = xstrdup(c->valuestring);
	*out = v;
	*n = count;
	*present = 1;
	return 0;
}

/* Fill out from the decoded payload; on error out may be half filled. */
static int
jwt_read_claims(const unsigned char *p, size_t n, int64_t now,
    struct jwt_claims *out, char **cause)
{
	const cJSON *sub, *admin;
	cJSON *payload;
	int64_t nbf;
	size_t sublen;
	int rc = -1, r, has_nbf;

	if ((payload = jwt_parse_object(p, n)) == NULL)
		return jwt_fail(cause, "malformed payload");

	if (jwt_member(payload, "sub", &sub) != 0) {
		jwt_fail(cause, "duplicate claim 'sub'");
		goto out;
	}
	if (sub == NULL) {
		jwt_fail(cause, "missing claim 'sub'");
		goto out;
	}
	if (!cJSON_IsString(sub) || *sub->valuestring == '\0') {
		jwt_fail(cause, "claim 'sub' must be a non-empty string");
		goto out;
	}
	sublen = strlen(sub->valuestring);
	if (sublen > JWT_SUB_MAX) {
		jwt_fail(cause, "claim 'sub' too long");
		goto out;
	}
	/* cJSON passes raw bytes through; sub is echoed in text frames. */
	if (!utf8_valid(sub->valuestring, sublen)) {
		jwt_fail(cause, "claim 'sub' is not valid utf-8");
		goto out;
	}

	if ((r = jwt_time_claim(payload, "exp", 0, &out->exp, cause)) == -1)
		goto out;
	if (r == 1) {
		jwt_fail(cause, "missing claim 'exp'");
		goto out;
	}
	if ((r = jwt_time_claim(payload, "nbf", 1, &nbf, cause)) == -1)
		goto out;
	has_nbf = (r == 0);

	if (jwt_member(payload, "admin", &admin) != 0) {
		jwt_fail(cause, "duplicate claim 'admin'");
		goto out;
	}
	if (admin != NULL && !cJSON_IsBool(admin)) {
		jwt_fail(cause, "claim 'admin' must be a bool");
		goto out;
	}
	if (jwt_patterns_claim(payload, "rooms", &out->rooms, &out->nrooms,
	    &out->has_rooms, cause) != 0 ||
	    jwt_patterns_claim(payload, "publish", &out->publish,
	    &out->npublish, &out->has_publish, cause) != 0)
		goto out;

	/* Times last, so a malformed token is reported as such first. */
	if (now > out->exp + JWT_LEEWAY_S) {
		jwt_fail(cause, "token expired");
		goto out;
	}
	if (has_nbf && nbf - JWT_LEEWAY_S > now) {
		jwt_fail(cause, "token not yet valid");
		goto out;
	}

	out->sub = xstrdup(sub->valuestring);
	out->admin = cJSON_IsTrue(admin);
	rc = 0;
out:
	cJSON_Delete(payload);
	return rc;
}

/*
 * Verify the len bytes of token (need not be NUL-terminated) as an HS256 JWT
 * signed with secret, valid at now (seconds since the epoch). Return 0 and
 * fill out (free it with jwt_claims_free), or -1 with *cause set to a
 * malloc'd reason (cause may be NULL) and out zeroed, needing no free.
 */
int
jwt_verify(const char *token, size_t len, const char *secret,
    size_t secretlen, int64_t now, struct jwt_claims *out, char **cause)
{
	unsigned char md[JWT_SIG_LEN], *header = NULL, *payload = NULL;
	unsigned char *sig = NULL;
	const char *dot1, *dot2, *end = token + len;
	size_t hlen, plen, slen;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (cause != NULL)
		*cause = NULL;
	if (secretlen == 0)
		return jwt_fail(cause, "empty secret");
	if (len > JWT_TOKEN_MAX)
		return jwt_fail(cause, "token too long");

	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1))) == NULL ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
		return jwt_fail(cause, "malformed token: need three parts");
	if (b64url_decode(token, (size_t)(dot1 - token), &header, &hlen) != 0 ||
	    b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload,
	    &plen) != 0 ||
	    b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), &sig,
	    &slen) != 0) {
		jwt_fail(cause, "malformed token: bad base64url");
		goto out;
	}

	if (jwt_check_header(header, hlen, cause) != 0)
		goto out;

	/* The payload is parsed only once it is known to be ours. */
	if (jwt_hmac(secret, secretlen, token, (size_t)(dot2 - token),
	    md) != 0) {
		jwt_fail(cause, "cannot compute hmac");
		goto out;
	}
	if (slen != JWT_SIG_LEN || CRYPTO_memcmp(sig, md, JWT_SIG_LEN) != 0) {
		jwt_fail(cause, "bad signature");
		goto out;
	}

	if (jwt_read_claims(payload, plen, now, out, cause) != 0) {
		jwt_claims_free(out);
		goto out;
	}
	rc = 0;
out:
	free(header);
	free(payload);
	free(sig);
	return rc;
}

static void
jwt_free_vector(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Free what jwt_verify put in c (not c itself) and zero it; safe twice. */
void
jwt_claims_free(struct jwt_claims *c)
{
	free(c->sub);
	jwt_free_vector(c->rooms, c->nrooms);
	jwt_free_vector(c->publish, c->npublish);
	memset(c, 0, sizeof *c);
}

/*
 * Return 1 if s matches pattern as a whole, where '*' matches any run of
 * characters, possibly empty; else 0. On a mismatch only the most recent
 * star is retried one character further, which is enough because an
 * earlier star can never do better than the later one: the time is
 * O(strlen(pattern) * strlen(s)) whatever the number of stars.
 */
int
jwt_pattern_match(const char *pattern, const char *s)
{
	const char *p = pattern, *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && *p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Return 1 if s matches one of the n patterns in v, else 0. */
static int
jwt_match_any(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (jwt_pattern_match(v[i], s))
			return 1;
	}
	return 0;
}

/* Return 1 if the token lets its holder join room: admin or rooms allow. */
int
jwt_may_join(const struct jwt_claims *c, const char *room)
{
	if (c->admin || !c->has_rooms)
		return 1;
	return jwt_match_any(c->rooms, c->nrooms, room);
}

/* Return 1 if the holder may publish event: admin, no claim, or a match. */
int
jwt_may_publish(const struct jwt_claims *c, const char *event)
{
	if (c->admin || !c->has_publish)
		return 1;
	return jwt_match_any(c->publish, c->npublish, event);
}

/*
 * Return 1 if the holder may write room state (state.set): everyone but
 * spectators, who carry an empty publish claim, unless they are admins.
 */
int
jwt_may_write(const struct jwt_claims *c)
{
	if (c->admin)
		return 1;
	return !(c->has_publish && c->npublish == 0);
}

/*
 * Sign the JSON text payload_json (used as given, not checked, so tests can
 * sign bad claims) under the header {"alg":"HS256","typ":"JWT"}. Return the
 * token, which the caller frees, or NULL when the secret is empty or too
 * long.
 */
char *
jwt_sign(const char *payload_json, const char *secret, size_t secretlen)
{
	unsigned char md[JWT_SIG_LEN];
	struct buf b;

	buf_init(&b);
	buf_adds(&b, JWT_HEADER_B64 ".");
	b64url_encode(&b, (const unsigned char *)payload_json,
	    strlen(payload_json));
	if (jwt_hmac(secret, secretlen, b.p, b.len, md) != 0) {
		buf_free(&b);
		return NULL;
	}
	buf_addc(&b, '.');
	b64url_encode(&b, md, sizeof md);
	return buf_detach(&b);
}
