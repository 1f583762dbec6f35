/* test_jwt.c: HS256 token verification, claims, patterns and grants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "shared.h"

#define SECRET "test-secret-0123456789abcdef0123"
#define NOW ((int64_t)1700000000)
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/*
 * Base64url written independently of jwt.c, so that the tests do not
 * share a bug with the code they check.
 */
static void
b64url(struct buf *b, const void *data, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		buf_addc(b, a[p[i] >> 2]);
		buf_addc(b, a[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		buf_addc(b, a[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
		buf_addc(b, a[p[i + 2] & 63]);
	}
	if (n - i == 1) {
		buf_addc(b, a[p[i] >> 2]);
		buf_addc(b, a[(p[i] & 3) << 4]);
	} else if (n - i == 2) {
		buf_addc(b, a[p[i] >> 2]);
		buf_addc(b, a[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		buf_addc(b, a[(p[i + 1] & 15) << 2]);
	}
}

/*
 * Build header.payload.signature from JSON texts, signed with secret, or
 * with an empty signature when secret is NULL. The caller frees it.
 */
static char *
make_token_n(const char *header, const char *payload, size_t plen,
    const char *secret)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b;

	buf_init(&b);
	b64url(&b, header, strlen(header));
	buf_addc(&b, '.');
	b64url(&b, payload, plen);
	if (secret != NULL) {
		assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
		    (const unsigned char *)b.p, b.len, md, &mdlen));
		assert_int_equal(mdlen, 32);
	}
	buf_addc(&b, '.');
	b64url(&b, md, mdlen);
	return buf_detach(&b);
}

static char *
make_token(const char *header, const char *payload, const char *secret)
{
	return make_token_n(header, payload, strlen(payload), secret);
}

/*
 * Verify token against SECRET at NOW and return the cause (the caller
 * frees it), or NULL when it was accepted. Checks that a refusal always
 * has a cause and leaves the claims empty.
 */
static char *
verify_cause(const char *token)
{
	struct jwt_claims c;
	char *cause = NULL;
	int rc;

	rc = jwt_verify(token, strlen(token), SECRET, strlen(SECRET), NOW, &c,
	    &cause);
	if (rc == 0) {
		assert_null(cause);
		jwt_claims_free(&c);
		return NULL;
	}
	assert_int_equal(rc, -1);
	assert_non_null(cause);
	assert_null(c.sub);
	assert_null(c.rooms);
	assert_null(c.publish);
	return cause;
}

/*
 * Assert that token is refused with exactly the reason want. The macros
 * report the caller's line, not this helper's.
 */
#define expect_refused(t, w) expect_refused_at(t, w, __FILE__, __LINE__)
#define expect_accepted(t) expect_accepted_at(t, __FILE__, __LINE__)
static void
expect_refused_at(const char *token, const char *want, const char *file,
    int line)
{
	char *cause;

	cause = verify_cause(token);
	if (cause == NULL) {
		print_error("accepted, wanted \"%s\": %s\n", want, token);
		_fail(file, line);
	}
	_assert_string_equal(cause, want, file, line);
	free(cause);
}

static void
expect_accepted_at(const char *token, const char *file, int line)
{
	char *cause;

	cause = verify_cause(token);
	if (cause != NULL) {
		print_error("refused (%s): %s\n", cause, token);
		_fail(file, line);
	}
}

/*
 * Sign payload with the standard header and SECRET, then check that it is
 * refused for the reason want, or accepted when want is NULL.
 */
#define expect_payload(p, w) expect_payload_at(p, w, __FILE__, __LINE__)
static void
expect_payload_at(const char *payload, const char *want, const char *file,
    int line)
{
	char *t, *cause;

	t = make_token(HS256, payload, SECRET);
	cause = verify_cause(t);
	free(t);
	if (want == NULL && cause == NULL)
		return;
	if (cause == NULL || want == NULL ||
	    strcmp(cause, want) != 0) {
		print_error("payload %s: got \"%s\", want \"%s\"\n", payload,
		    cause != NULL ? cause : "(accepted)",
		    want != NULL ? want : "(accepted)");
		free(cause);
		_fail(file, line);
	}
	free(cause);
}

static void
test_good(void **state)
{
	struct jwt_claims c;
	char *t, *cause = NULL;

	(void)state;
	t = make_token(HS256, "{\"sub\":\"alice\",\"exp\":1700000100,"
	    "\"nbf\":1699999000,\"iat\":1699999000,\"iss\":\"x\","
	    "\"rooms\":[\"lobby\",\"game-*\"],\"publish\":[\"chat.*\"],"
	    "\"admin\":false}", SECRET);
	assert_int_equal(jwt_verify(t, strlen(t), SECRET, strlen(SECRET), NOW,
	    &c, &cause), 0);
	assert_null(cause);
	assert_string_equal(c.sub, "alice");
	assert_int_equal(c.exp, 1700000100);
	assert_int_equal(c.has_rooms, 1);
	assert_int_equal(c.nrooms, 2);
	assert_string_equal(c.rooms[0], "lobby");
	assert_string_equal(c.rooms[1], "game-*");
	assert_null(c.rooms[2]);
	assert_int_equal(c.has_publish, 1);
	assert_int_equal(c.npublish, 1);
	assert_string_equal(c.publish[0], "chat.*");
	assert_null(c.publish[1]);
	assert_int_equal(c.admin, 0);
	jwt_claims_free(&c);
	jwt_claims_free(&c);	/* zeroed, so a second free is harmless */
	free(t);

	/* Minimal token: absent claims stay NULL, admin true is read. */
	t = make_token(HS256, "{\"exp\":1700000000,\"admin\":true,"
	    "\"sub\":\"\xc3\xa9ve\"}", SECRET);
	assert_int_equal(jwt_verify(t, strlen(t), SECRET, strlen(SECRET), NOW,
	    &c, NULL), 0);
	assert_string_equal(c.sub, "\xc3\xa9ve");
	assert_int_equal(c.exp, 1700000000);
	assert_null(c.rooms);
	assert_int_equal(c.has_rooms, 0);
	assert_null(c.publish);
	assert_int_equal(c.has_publish, 0);
	assert_int_equal(c.admin, 1);
	jwt_claims_free(&c);
	free(t);

	/* The header without typ, and empty arrays kept apart from absent. */
	t = make_token("{\"alg\":\"HS256\",\"kid\":\"k1\"}",
	    "{\"sub\":\"bob\",\"exp\":1700000000,\"rooms\":[],"
	    "\"publish\":[]}", SECRET);
	assert_int_equal(jwt_verify(t, strlen(t), SECRET, strlen(SECRET), NOW,
	    &c, NULL), 0);
	assert_non_null(c.rooms);
	assert_int_equal(c.has_rooms, 1);
	assert_int_equal(c.nrooms, 0);
	assert_non_null(c.publish);
	assert_int_equal(c.has_publish, 1);
	assert_int_equal(c.npublish, 0);
	jwt_claims_free(&c);
	free(t);
}

/* Tokens made elsewhere (Python's hmac; jwt.io's example) verify here. */
static void
test_interop(void **state)
{
	static const char py[] =
	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
	    "eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwicm9vbXMiOlsibG9iYnki"
	    "LCJnYW1lLSoiXSwicHVibGlzaCI6WyJjaGF0LioiXX0."
	    "5Hansso9jAFFAFoiqvFdspqAMeNrw5-07DNj5WsFoT0";
	static const char jwtio[] =
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
	    "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
	struct jwt_claims c;
	char *cause = NULL;

	(void)state;
	assert_int_equal(jwt_verify(py, strlen(py), "interop-secret", 14, NOW,
	    &c, &cause), 0);
	assert_string_equal(c.sub, "alice");
	assert_int_equal(c.exp, 2000000000);
	assert_int_equal(c.nrooms, 2);
	assert_string_equal(c.rooms[1], "game-*");
	assert_string_equal(c.publish[0], "chat.*");
	jwt_claims_free(&c);

	/* Its signature is good: the refusal is about the missing exp. */
	assert_int_equal(jwt_verify(jwtio, strlen(jwtio),
	    "your-256-bit-secret", 19, NOW, &c, &cause), -1);
	assert_string_equal(cause, "missing claim 'exp'");
	free(cause);
	assert_int_equal(jwt_verify(jwtio, strlen(jwtio),
	    "your-256-bit-secreT", 19, NOW, &c, &cause), -1);
	assert_string_equal(cause, "bad signature");
	free(cause);
}

static void
test_signature(void **state)
{
	static const char payload[] = "{\"sub\":\"alice\",\"exp\":1700000100}";
	struct buf b;
	char *t, *good, *dot2;

	(void)state;
	good = make_token(HS256, payload, SECRET);
	expect_accepted(good);
	dot2 = strrchr(good, '.');

	/* Wrong secret, including one that is a prefix of the right one. */
	t = make_token(HS256, payload, "other-secret");
	expect_refused(t, "bad signature");
	free(t);
	t = make_token(HS256, payload, "test-secret");
	expect_refused(t, "bad signature");
	free(t);

	/* Payload swapped for another, keeping the signature. */
	t = make_token(HS256, "{\"sub\":\"mallory\",\"exp\":1700000100}",
	    NULL);
	buf_init(&b);
	buf_add(&b, t, strlen(t) - 1);
	buf_adds(&b, dot2);
	expect_refused(b.p, "bad signature");
	buf_free(&b);
	free(t);

	/* One payload character flipped. */
	t = xstrdup(good);
	t[strlen(HS256) + 10] ^= 0x01;
	expect_refused(t, "bad signature");
	free(t);

	/* Header changed (an extra kid), keeping the signature. */
	t = make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}",
	    payload, NULL);
	buf_init(&b);
	buf_add(&b, t, strlen(t) - 1);
	buf_adds(&b, dot2);
	expect_refused(b.p, "bad signature");
	buf_free(&b);
	free(t);

	/* The right 32 bytes followed by more: still not the signature. */
	xasprintf(&t, "%sAAAA", good);
	expect_refused(t, "bad signature");
	free(t);

	/* Signature truncated to a whole number of bytes, or extended. */
	buf_init(&b);
	buf_add(&b, good, strlen(good) - 3);
	expect_refused(b.p, "bad signature");
	buf_adds(&b, "AAAAAAAA");
	expect_refused(b.p, "bad signature");
	buf_free(&b);

	/* Nothing is accepted with an empty secret. */
	{
		struct jwt_claims c;
		char *cause;

		assert_int_equal(jwt_verify(good, strlen(good), "", 0, NOW,
		    &c, &cause), -1);
		assert_string_equal(cause, "empty secret");
		free(cause);
	}
	free(good);
}

static void
test_header(void **state)
{
	static const char payload[] = "{\"sub\":\"alice\",\"exp\":1700000100}";
	static const struct {
		const char *header;
		const char *want;
	} cases[] = {
		{ "{\"alg\":\"none\"}", "alg must be HS256" },
		{ "{\"alg\":\"none\",\"typ\":\"JWT\"}", "alg must be HS256" },
		{ "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "alg must be HS256" },
		{ "{\"alg\":\"RS256\"}", "alg must be HS256" },
		{ "{\"alg\":\"hs256\"}", "alg must be HS256" },
		{ "{\"alg\":\"HS256 \"}", "alg must be HS256" },
		{ "{\"alg\":\"HS256\\u0000\"}", "malformed header" },
		{ "{\"ALG\":\"HS256\"}", "alg must be HS256" },
		{ "{\"typ\":\"JWT\"}", "alg must be HS256" },
		{ "{\"alg\":null}", "alg must be HS256" },
		{ "{\"alg\":256}", "alg must be HS256" },
		{ "{\"alg\":[\"HS256\"]}", "alg must be HS256" },
		{ "{}", "alg must be HS256" },
		{ "{\"alg\":\"HS256\",\"alg\":\"none\"}",
		    "duplicate header parameter" },
		{ "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", "typ must be JWT" },
		{ "{\"alg\":\"HS256\",\"typ\":1}", "typ must be JWT" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
		    "unsupported header 'crit'" },
		{ "[\"alg\",\"HS256\"]", "malformed header" },
		{ "\"HS256\"", "malformed header" },
		{ "", "malformed header" },
		{ "{\"alg\":\"HS256\"", "malformed header" },
		{ "{\"alg\":\"HS256\"} {}", "malformed header" },
	};
	size_t i;
	char *t;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* Signed correctly: the header alone must cause the refusal. */
		t = make_token(cases[i].header, payload, SECRET);
		expect_refused(t, cases[i].want);
		free(t);
		t = make_token(cases[i].header, payload, NULL);
		expect_refused(t, cases[i].want);
		free(t);
	}
	t = make_token("{\"alg\":\"HS256\"}", payload, SECRET);
	expect_accepted(t);
	free(t);
}

static void
test_structure(void **state)
{
	static const char *three = "malformed token: need three parts";
	static const char *b64 = "malformed token: bad base64url";
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct buf b;
	const char *p;
	char *good, *t, *sig;
	size_t n;

	(void)state;
	good = make_token(HS256, "{\"sub\":\"alice\",\"exp\":1700000100}",
	    SECRET);
	n = strlen(good);
	sig = strrchr(good, '.') + 1;

	expect_refused("", three);
	expect_refused(".", three);
	expect_refused("..", "malformed header");
	expect_refused("...", three);
	expect_refused("abc", three);
	expect_refused("eyJhbGciOiJIUzI1NiJ9.e30", three);

	/* One part too many, or one missing. */
	xasprintf(&t, "%s.%s", good, sig);
	expect_refused(t, three);
	free(t);
	xasprintf(&t, "%s.", good);
	expect_refused(t, three);
	free(t);
	t = xstrndup(good, (size_t)(sig - 1 - good));
	expect_refused(t, three);
	free(t);

	/* Padding, the standard alphabet, blanks and stray bytes. */
	xasprintf(&t, "%s=", good);
	expect_refused(t, b64);
	free(t);
	xasprintf(&t, "%s==", good);
	expect_refused(t, b64);
	free(t);
	t = xstrdup(good);
	t[n - 5] = '+';
	expect_refused(t, b64);
	t[n - 5] = '/';
	expect_refused(t, b64);
	t[n - 5] = ' ';
	expect_refused(t, b64);
	t[n - 5] = '\xc3';
	expect_refused(t, b64);
	t[3] = '=';
	expect_refused(t, b64);
	free(t);
	xasprintf(&t, " %s", good);
	expect_refused(t, b64);
	free(t);
	xasprintf(&t, "%s\n", good);
	expect_refused(t, b64);
	free(t);

	/* A length no base64 text can have (4k + 1 characters). */
	assert_int_equal(strlen(sig), 43);
	xasprintf(&t, "%sAA", good);
	expect_refused(t, b64);
	free(t);

	/*
	 * The signature's last character carries 2 bits and 4 unused ones
	 * that must be zero: flipping one of those leaves the bytes alone,
	 * yet the token is refused, so signatures are not malleable.
	 */
	t = xstrdup(good);
	p = strchr(alphabet, t[n - 1]);
	assert_non_null(p);
	assert_int_equal((p - alphabet) & 3, 0);
	t[n - 1] = alphabet[(p - alphabet) | 1];
	expect_refused(t, b64);
	t[n - 1] = alphabet[(p - alphabet) | 2];
	expect_refused(t, b64);
	free(t);

	/* A NUL inside the length given: not a token. */
	buf_init(&b);
	buf_add(&b, good, n);
	b.p[10] = '\0';
	{
		struct jwt_claims c;
		char *cause;

		assert_int_equal(jwt_verify(b.p, n, SECRET, strlen(SECRET), NOW,
		    &c, &cause), -1);
		assert_string_equal(cause, b64);
		free(cause);

		/* The length is honoured: trailing bytes are not read. */
		buf_adds(&b, "garbage");
		memcpy(b.p, good, n);
		assert_int_equal(jwt_verify(b.p, n, SECRET, strlen(SECRET),
		    NOW, &c, &cause), 0);
		jwt_claims_free(&c);

		/* cause may be NULL when the caller does not want it. */
		assert_int_equal(jwt_verify("x", 1, SECRET, strlen(SECRET),
		    NOW, &c, NULL), -1);
	}
	buf_free(&b);

	/* Oversized tokens are refused before being looked at. */
	t = xmalloc(JWT_TOKEN_MAX + 2);
	memset(t, 'A', JWT_TOKEN_MAX + 1);
	t[JWT_TOKEN_MAX + 1] = '\0';
	expect_refused(t, "token too long");
	free(t);
	free(good);
}

static void
test_times(void **state)
{
	static const struct {
		const char *payload;
		const char *want;	/* NULL: accepted */
	} cases[] = {
		/* NOW is 1700000000; the leeway is 30 seconds. */
		{ "{\"sub\":\"a\",\"exp\":1700000100}", NULL },
		{ "{\"sub\":\"a\",\"exp\":1700000000}", NULL },
		{ "{\"sub\":\"a\",\"exp\":1699999970}", NULL },
		{ "{\"sub\":\"a\",\"exp\":1699999969}", "token expired" },
		{ "{\"sub\":\"a\",\"exp\":1699999969.9}", "token expired" },
		{ "{\"sub\":\"a\",\"exp\":1600000000}", "token expired" },
		{ "{\"sub\":\"a\",\"exp\":0}", "token expired" },
		{ "{\"sub\":\"a\",\"exp\":-5}", "token expired" },
		{ "{\"sub\":\"a\",\"exp\":1.7e9}", NULL },
		{ "{\"sub\":\"a\",\"exp\":1e300}", "claim 'exp' out of range" },
		{ "{\"sub\":\"a\",\"exp\":-1e300}",
		    "claim 'exp' out of range" },
		{ "{\"sub\":\"a\",\"exp\":1e16}",
		    "claim 'exp' out of range" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":1700000000}",
		    NULL },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":1700000030}",
		    NULL },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":1700000031}",
		    "token not yet valid" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":1700000030.1}",
		    "token not yet valid" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":1800000000}",
		    "token not yet valid" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":\"0\"}",
		    "claim 'nbf' must be a number" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":null}",
		    "claim 'nbf' must be a number" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_payload(cases[i].payload, cases[i].want);
}

static void
test_claims(void **state)
{
	static const struct {
		const char *payload;
		const char *want;	/* NULL: accepted */
	} cases[] = {
		{ "{\"exp\":1700000100}", "missing claim 'sub'" },
		{ "{\"sub\":\"a\"}", "missing claim 'exp'" },
		{ "{}", "missing claim 'sub'" },
		{ "{\"sub\":7,\"exp\":1700000100}",
		    "claim 'sub' must be a non-empty string" },
		{ "{\"sub\":null,\"exp\":1700000100}",
		    "claim 'sub' must be a non-empty string" },
		{ "{\"sub\":\"\",\"exp\":1700000100}",
		    "claim 'sub' must be a non-empty string" },
		{ "{\"sub\":[\"a\"],\"exp\":1700000100}",
		    "claim 'sub' must be a non-empty string" },
		{ "{\"sub\":\"a\",\"sub\":\"b\",\"exp\":1700000100}",
		    "duplicate claim 'sub'" },
		{ "{\"sub\":\"a\\u0000b\",\"exp\":1700000100}",
		    "malformed payload" },
		{ "{\"sub\":\"a\\\\u0000b\",\"exp\":1700000100}", NULL },
		{ "{\"sub\":\"\xff\",\"exp\":1700000100}",
		    "claim 'sub' is not valid utf-8" },
		{ "{\"sub\":\"\xed\xa0\x80\",\"exp\":1700000100}",
		    "claim 'sub' is not valid utf-8" },
		{ "{\"sub\":\"\\u00e9\\ud83d\\ude00\",\"exp\":1700000100}",
		    NULL },
		{ "{\"sub\":\"a\",\"exp\":\"1700000100\"}",
		    "claim 'exp' must be a number" },
		{ "{\"sub\":\"a\",\"exp\":null}",
		    "claim 'exp' must be a number" },
		{ "{\"sub\":\"a\",\"exp\":true}",
		    "claim 'exp' must be a number" },
		{ "{\"sub\":\"a\",\"exp\":1,\"exp\":1700000100}",
		    "duplicate claim 'exp'" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":\"lobby\"}",
		    "claim 'rooms' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"a\",1]}",
		    "claim 'rooms' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":null}",
		    "claim 'rooms' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":{\"a\":\"b\"}}",
		    "claim 'rooms' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"publish\":\"*\"}",
		    "claim 'publish' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"publish\":[[\"x\"]]}",
		    "claim 'publish' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"x\"],"
		    "\"publish\":[null]}",
		    "claim 'publish' must be an array of strings" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"admin\":1}",
		    "claim 'admin' must be a bool" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"admin\":\"true\"}",
		    "claim 'admin' must be a bool" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"admin\":null}",
		    "claim 'admin' must be a bool" },
		{ "{\"sub\":\"a\",\"exp\":1700000100,\"admin\":false,"
		    "\"admin\":true}", "duplicate claim 'admin'" },
		/* Types are checked before times: the shape error wins. */
		{ "{\"sub\":\"a\",\"exp\":1,\"admin\":1}",
		    "claim 'admin' must be a bool" },
		/* Claims are case-sensitive. */
		{ "{\"Sub\":\"a\",\"exp\":1700000100}",
		    "missing claim 'sub'" },
		{ "[]", "malformed payload" },
		{ "null", "malformed payload" },
		{ "", "malformed payload" },
		{ "{\"sub\":\"a\",\"exp\":1700000100", "malformed payload" },
		{ "{\"sub\":\"a\",\"exp\":1700000100}x", "malformed payload" },
		{ "{\"sub\":\"a\",\"exp\":1700000100} ", NULL },
	};
	static const char nul[] = "{\"sub\":\"a\",\"exp\":1700000100}\0";
	struct buf b;
	size_t i;
	char *t;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_payload(cases[i].payload, cases[i].want);

	/* A raw NUL byte in the payload, correctly signed. */
	t = make_token_n(HS256, nul, sizeof nul - 1, SECRET);
	expect_refused(t, "malformed payload");
	free(t);

	/* sub: 256 bytes are fine, 257 are not. */
	buf_init(&b);
	buf_adds(&b, "{\"exp\":1700000100,\"sub\":\"");
	for (i = 0; i < JWT_SUB_MAX; i++)
		buf_addc(&b, 'u');
	buf_adds(&b, "\"}");
	expect_payload(b.p, NULL);
	b.len -= 2;
	buf_adds(&b, "u\"}");
	expect_payload(b.p, "claim 'sub' too long");
	buf_free(&b);
}

/* The counts and lengths of patterns are bounded. */
static void
test_claim_bounds(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"r\"");
	for (i = 1; i < JWT_PATTERNS_MAX; i++)
		buf_adds(&b, ",\"r\"");
	buf_adds(&b, "]}");
	expect_payload(b.p, NULL);
	b.len -= 2;
	buf_adds(&b, ",\"r\"]}");
	expect_payload(b.p, "too many patterns in 'rooms'");
	buf_free(&b);

	buf_init(&b);
	buf_adds(&b, "{\"sub\":\"a\",\"exp\":1700000100,\"publish\":[\"");
	for (i = 0; i < JWT_PATTERN_MAX; i++)
		buf_addc(&b, '*');
	buf_adds(&b, "\"]}");
	expect_payload(b.p, NULL);
	b.len -= 3;
	buf_adds(&b, "*\"]}");
	expect_payload(b.p, "pattern too long in 'publish'");
	buf_free(&b);
}

static void
test_pattern(void **state)
{
	static const struct {
		const char *pattern;
		const char *s;
		int want;
	} cases[] = {
		{ "lobby", "lobby", 1 },
		{ "lobby", "lobby2", 0 },
		{ "lobby", "lobb", 0 },
		{ "lobby", "Lobby", 0 },
		{ "lobby", "", 0 },
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "game-*", "game-1", 1 },
		{ "game-*", "game-", 1 },
		{ "game-*", "game", 0 },
		{ "game-*", "xgame-1", 0 },
		{ "*-eu", "game-eu", 1 },
		{ "*-eu", "-eu", 1 },
		{ "*-eu", "game-eu2", 0 },
		{ "*-eu", "game-us", 0 },
		{ "a*b*c", "abc", 1 },
		{ "a*b*c", "aXbYc", 1 },
		{ "a*b*c", "abcabc", 1 },
		{ "a*b*c", "acb", 0 },
		{ "a*b*c", "abcb", 0 },
		{ "a*b*c", "aXXbXXcX", 0 },
		{ "*", "", 1 },
		{ "*", "anything:at.all", 1 },
		{ "**", "", 1 },
		{ "**", "x", 1 },
		{ "a**b", "ab", 1 },
		{ "a**b", "aXYb", 1 },
		{ "*a*", "a", 1 },
		{ "*a*", "bab", 1 },
		{ "*a*", "bbb", 0 },
		{ "*ab", "aab", 1 },
		{ "*ab", "abab", 1 },
		{ "*aab", "aaab", 1 },
		{ "a*", "a", 1 },
		{ "*a", "ba", 1 },
		{ "*a", "ab", 0 },
		{ "*.*", "chat.msg", 1 },
		{ "*.*", "chat", 0 },
		{ "chat.*", "chat.", 1 },
		{ "chat.*", "chat", 0 },
		{ "a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 1 },
		{ "a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
	};
	char *s, *p;
	size_t i, n = 100000, stars = 200;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (jwt_pattern_match(cases[i].pattern, cases[i].s) !=
		    cases[i].want)
			fail_msg("'%s' against '%s': want %d",
			    cases[i].pattern, cases[i].s, cases[i].want);
	}

	/*
	 * Many stars against a long subject. Backtracking into every star
	 * would take exponential time and never finish; this takes at most
	 * strlen(p) * strlen(s) steps.
	 */
	s = xmalloc(n + 1);
	memset(s, 'a', n);
	s[n] = '\0';
	p = xmalloc(stars * 2 + 2);
	for (i = 0; i < stars; i++) {
		p[2 * i] = '*';
		p[2 * i + 1] = 'a';
	}
	p[2 * stars] = 'b';
	p[2 * stars + 1] = '\0';
	assert_int_equal(jwt_pattern_match(p, s), 0);
	p[2 * stars] = '*';
	assert_int_equal(jwt_pattern_match(p, s), 1);
	p[2 * stars] = '\0';
	assert_int_equal(jwt_pattern_match(p, s), 1);
	s[n - 1] = 'b';
	assert_int_equal(jwt_pattern_match(p, s), 0);
	free(p);
	free(s);
}

/* Verify payload (signed with SECRET) into c, which must succeed. */
static void
claims_of(const char *payload, struct jwt_claims *c)
{
	char *t, *cause = NULL;

	t = make_token(HS256, payload, SECRET);
	if (jwt_verify(t, strlen(t), SECRET, strlen(SECRET), NOW, c,
	    &cause) != 0)
		fail_msg("%s: %s", payload, cause);
	free(t);
}

static void
test_grants(void **state)
{
	struct jwt_claims c;

	(void)state;
	/* Absent rooms and publish: anything. */
	claims_of("{\"sub\":\"a\",\"exp\":1700000100}", &c);
	assert_int_equal(jwt_may_join(&c, "lobby"), 1);
	assert_int_equal(jwt_may_publish(&c, "chat"), 1);
	assert_int_equal(jwt_may_write(&c), 1);
	jwt_claims_free(&c);

	/* Patterns restrict. */
	claims_of("{\"sub\":\"a\",\"exp\":1700000100,"
	    "\"rooms\":[\"lobby\",\"game-*\"],"
	    "\"publish\":[\"chat.*\",\"move\"]}", &c);
	assert_int_equal(jwt_may_join(&c, "lobby"), 1);
	assert_int_equal(jwt_may_join(&c, "game-7"), 1);
	assert_int_equal(jwt_may_join(&c, "lobby2"), 0);
	assert_int_equal(jwt_may_join(&c, "games"), 0);
	assert_int_equal(jwt_may_publish(&c, "chat.msg"), 1);
	assert_int_equal(jwt_may_publish(&c, "move"), 1);
	assert_int_equal(jwt_may_publish(&c, "moved"), 0);
	assert_int_equal(jwt_may_publish(&c, "chat"), 0);
	assert_int_equal(jwt_may_write(&c), 1);
	jwt_claims_free(&c);

	/* Empty arrays: no room; a spectator, who may not write state. */
	claims_of("{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[],"
	    "\"publish\":[]}", &c);
	assert_int_equal(jwt_may_join(&c, "lobby"), 0);
	assert_int_equal(jwt_may_join(&c, ""), 0);
	assert_int_equal(jwt_may_publish(&c, "chat"), 0);
	assert_int_equal(jwt_may_write(&c), 0);
	jwt_claims_free(&c);

	/* A spectator only by publish: any room, still read-only. */
	claims_of("{\"sub\":\"a\",\"exp\":1700000100,\"publish\":[]}", &c);
	assert_int_equal(jwt_may_join(&c, "lobby"), 1);
	assert_int_equal(jwt_may_publish(&c, "chat"), 0);
	assert_int_equal(jwt_may_write(&c), 0);
	jwt_claims_free(&c);

	/* admin overrides every list, even empty ones. */
	claims_of("{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[],"
	    "\"publish\":[],\"admin\":true}", &c);
	assert_int_equal(jwt_may_join(&c, "lobby"), 1);
	assert_int_equal(jwt_may_publish(&c, "chat"), 1);
	assert_int_equal(jwt_may_write(&c), 1);
	jwt_claims_free(&c);

	/* admin false is no admin. */
	claims_of("{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"x\"],"
	    "\"publish\":[],\"admin\":false}", &c);
	assert_int_equal(jwt_may_join(&c, "lobby"), 0);
	assert_int_equal(jwt_may_join(&c, "x"), 1);
	assert_int_equal(jwt_may_write(&c), 0);
	jwt_claims_free(&c);
}

static void
test_sign(void **state)
{
	static const char payload[] =
	    "{\"sub\":\"carol\",\"exp\":1700000100,\"rooms\":[\"r-*\"]}";
	struct jwt_claims c;
	char *t, *u, *cause = NULL;

	(void)state;
	t = jwt_sign(payload, SECRET, strlen(SECRET));
	assert_non_null(t);
	/* Same bytes as the independent construction above. */
	u = make_token(HS256, payload, SECRET);
	assert_string_equal(t, u);
	free(u);
	assert_null(strchr(t, '='));
	assert_int_equal(jwt_verify(t, strlen(t), SECRET, strlen(SECRET), NOW,
	    &c, &cause), 0);
	assert_string_equal(c.sub, "carol");
	assert_int_equal(c.exp, 1700000100);
	assert_int_equal(c.nrooms, 1);
	assert_string_equal(c.rooms[0], "r-*");
	jwt_claims_free(&c);
	assert_int_equal(jwt_verify(t, strlen(t), "x", 1, NOW, &c, &cause),
	    -1);
	assert_string_equal(cause, "bad signature");
	free(cause);
	free(t);

	/* Every payload length modulo 3 round-trips through base64url. */
	t = jwt_sign("{\"sub\":\"ab\",\"exp\":1700000100}", SECRET, 6);
	assert_int_equal(jwt_verify(t, strlen(t), SECRET, 6, NOW, &c, NULL),
	    0);
	assert_string_equal(c.sub, "ab");
	jwt_claims_free(&c);
	free(t);
	t = jwt_sign("{\"sub\":\"abc\",\"exp\":1700000100}", SECRET, 6);
	assert_int_equal(jwt_verify(t, strlen(t), SECRET, 6, NOW, &c, NULL),
	    0);
	assert_string_equal(c.sub, "abc");
	jwt_claims_free(&c);
	free(t);

	/* Binary secrets work: the length, not a NUL, ends them. */
	t = jwt_sign(payload, "k\0ey", 4);
	assert_int_equal(jwt_verify(t, strlen(t), "k\0ey", 4, NOW, &c, NULL),
	    0);
	jwt_claims_free(&c);
	assert_int_equal(jwt_verify(t, strlen(t), "k", 1, NOW, &c, NULL), -1);
	free(t);

	assert_null(jwt_sign(payload, "", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_interop),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_claim_bounds),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_sign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
