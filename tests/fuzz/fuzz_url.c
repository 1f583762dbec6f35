/*
 * fuzz_url.c: libFuzzer harness for URL and address parsing (shared/url.c):
 * the Redis URL of --redis, the WebSocket URL of roomctl sim --url and the
 * ADDR:PORT of --listen, on the same NUL-terminated input. What parses must
 * have a port in range and format for display.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redis_url r;
	struct ws_url w;
	char *s, *cause = NULL, host[256], out[1024];
	int port;

	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	memset(&r, 0, sizeof r);
	if (redis_url_parse(s, &r, &cause) == 0) {
		if (!r.is_unix && (r.port < 1 || r.port > 65535))
			abort();
		redis_url_format(&r, out, sizeof out);
	}
	free(cause);
	cause = NULL;

	if (ws_url_parse(s, &w, &cause) == 0) {
		if (w.path[0] != '/' || w.port < 1 || w.port > 65535)
			abort();
	}
	free(cause);
	cause = NULL;

	if (hostport_parse(s, host, sizeof host, &port, &cause) == 0) {
		if (port < 0 || port > 65535 || strlen(host) >= sizeof host)
			abort();
	}
	free(cause);
	free(s);
	return 0;
}
