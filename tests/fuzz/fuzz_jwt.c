/*
 * fuzz_jwt.c: libFuzzer harness for token verification (shared/jwt.c).
 * The first byte picks what the rest is: a token verified as given, which
 * reaches the splitting, base64url and header checks; or a payload signed
 * with the harness's secret and then verified, which reaches the claims
 * parser behind the signature. Verified claims go through the pattern
 * checks roomd makes on join and publish.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

#define SECRET "fuzz-secret"
#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What jwt_verify promises about the claims of a token it accepts. */
static void
claims_check(const struct jwt_claims *c)
{
	size_t i;

	if (c->sub == NULL || *c->sub == '\0' || strlen(c->sub) > JWT_SUB_MAX)
		abort();
	if (c->exp + JWT_LEEWAY_S < NOW)
		abort();	/* expired tokens are refused */
	if (c->nrooms > JWT_PATTERNS_MAX || c->npublish > JWT_PATTERNS_MAX)
		abort();
	if ((c->rooms != NULL) != (c->has_rooms != 0) ||
	    (c->publish != NULL) != (c->has_publish != 0))
		abort();
	for (i = 0; i < c->nrooms; i++) {
		if (strlen(c->rooms[i]) > JWT_PATTERN_MAX)
			abort();
	}
	for (i = 0; i < c->npublish; i++) {
		if (strlen(c->publish[i]) > JWT_PATTERN_MAX)
			abort();
	}
	if ((c->rooms != NULL && c->rooms[c->nrooms] != NULL) ||
	    (c->publish != NULL && c->publish[c->npublish] != NULL))
		abort();	/* vectors are NULL-terminated */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims c;
	char *token = NULL, *payload, *cause = NULL;
	size_t len;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		/* A token exactly as a client sends it, not NUL-terminated. */
		len = size - 1;
		token = malloc(len > 0 ? len : 1);
		memcpy(token, data + 1, len);
	} else {
		payload = malloc(size);
		memcpy(payload, data + 1, size - 1);
		payload[size - 1] = '\0';
		token = jwt_sign(payload, SECRET, strlen(SECRET));
		free(payload);
		if (token == NULL)
			return 0;
		len = strlen(token);
	}
	if (jwt_verify(token, len, SECRET, strlen(SECRET), NOW, &c,
	    &cause) == 0) {
		claims_check(&c);
		(void)jwt_may_join(&c, "lobby");
		(void)jwt_may_join(&c, c.sub);
		(void)jwt_may_publish(&c, "chat");
		(void)jwt_may_write(&c);
		jwt_claims_free(&c);
	} else if (cause == NULL)
		abort();	/* a refusal always says why */
	free(cause);
	free(token);
	return 0;
}
