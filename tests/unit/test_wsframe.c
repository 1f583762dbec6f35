/*
 * test_wsframe.c: roomctl's pure WebSocket framing (cli/wsframe.c): frames
 * encoded and masked, server frame headers and close payloads parsed, and
 * the upgrade reply checked. The file is compiled in, as the unit tests
 * link only shared/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/wsframe.c"

static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Encode n bytes and check the header, the mask and the masked payload. */
static void
check_encode(size_t n, const unsigned char *hdr, size_t hlen)
{
	unsigned char *in = calloc(1, n + 1);
	unsigned char *out = malloc(n + WS_FRAME_HEADER_MAX);
	size_t len, i;

	for (i = 0; i < n; i++)
		in[i] = (unsigned char)i;
	len = ws_frame_encode(out, WS_OP_TEXT, in, n, mask);
	assert_int_equal(len, hlen + 4 + n);
	assert_memory_equal(out, hdr, hlen);
	assert_memory_equal(out + hlen, mask, 4);
	for (i = 0; i < n; i++)
		if ((out[hlen + 4 + i] ^ mask[i & 3]) != in[i])
			fail_msg("byte %zu: %#x, want %#x", i,
			    out[hlen + 4 + i] ^ mask[i & 3], in[i]);
	free(in);
	free(out);
}

static void
test_encode(void **state)
{
	static const unsigned char h0[] = { 0x81, 0x80 };
	static const unsigned char h125[] = { 0x81, 0x80 | 125 };
	static const unsigned char h126[] = { 0x81, 0x80 | 126, 0, 126 };
	static const unsigned char h65535[] = { 0x81, 0x80 | 126, 0xff, 0xff };
	static const unsigned char h65536[] = { 0x81, 0x80 | 127, 0, 0, 0, 0,
		0, 1, 0, 0 };
	unsigned char out[32];

	(void)state;
	check_encode(0, h0, sizeof h0);
	check_encode(125, h125, sizeof h125);
	check_encode(126, h126, sizeof h126);
	check_encode(65535, h65535, sizeof h65535);
	check_encode(65536, h65536, sizeof h65536);
	/* The opcode goes in the low bits, FIN always set. */
	ws_frame_encode(out, WS_OP_PONG, "", 0, mask);
	assert_int_equal(out[0], 0x8a);
}

static void
test_parse_lengths(void **state)
{
	static const unsigned char f7[] = { 0x81, 5, 'h', 'e', 'l', 'l', 'o' };
	static const unsigned char f16[] = { 0x82, 126, 0x01, 0x00 };
	static const unsigned char f64[] = { 0x01, 127, 0, 0, 0, 1, 0, 0, 0, 0 };
	struct ws_frame f;

	(void)state;
	assert_int_equal(ws_frame_parse(f7, 0, &f), 0);
	assert_int_equal(ws_frame_parse(f7, 1, &f), 0);
	/* The header is known before the payload is in. */
	assert_int_equal(ws_frame_parse(f7, 2, &f), 1);
	assert_int_equal(f.fin, 1);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_int_equal(f.plen, 5);
	assert_int_equal(f.hlen, 2);
	assert_int_equal(ws_frame_parse(f16, 3, &f), 0);
	assert_int_equal(ws_frame_parse(f16, 4, &f), 1);
	assert_int_equal(f.opcode, WS_OP_BINARY);
	assert_int_equal(f.plen, 256);
	assert_int_equal(f.hlen, 4);
	assert_int_equal(ws_frame_parse(f64, 9, &f), 0);
	assert_int_equal(ws_frame_parse(f64, 10, &f), 1);
	assert_int_equal(f.fin, 0);
	assert_int_equal(f.plen, (uint64_t)1 << 32);
	assert_int_equal(f.hlen, 10);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		unsigned char b[4];
		const char *why;
	} cases[] = {
		{ { 0xc1, 0 }, "reserved bits set" },
		{ { 0x91, 0 }, "reserved bits set" },
		{ { 0x81, 0x80 }, "masked frame from the server" },
		{ { 0x83, 0 }, "unknown opcode" },
		{ { 0x8b, 0 }, "unknown opcode" },
		{ { 0x09, 0 }, "bad control frame" },	/* fragmented ping */
		{ { 0x88, 126, 0, 126 }, "bad control frame" },	/* > 125 */
	};
	struct ws_frame f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (ws_frame_parse(cases[i].b, 4, &f) != -1)
			fail_msg("case %zu: accepted", i);
		assert_int_equal(f.code, 1002);
		assert_string_equal(f.why, cases[i].why);
	}
}

static void
test_close_parse(void **state)
{
	static const struct {
		const char *p;
		size_t len;
		int ret, code;
	} cases[] = {
		{ "", 0, 0, 1005 },
		{ "\x03", 1, 1002, 0 },
		{ "\x03\xe8", 2, 0, 1000 },
		{ "\x03\xe8" "bye", 5, 0, 1000 },
		{ "\x03\xf3", 2, 0, 1011 },
		{ "\x0b\xb8", 2, 0, 3000 },
		{ "\x13\x87", 2, 0, 4999 },
		{ "\x03\xe7", 2, 1002, 0 },		/* 999 */
		{ "\x03\xec", 2, 1002, 0 },		/* 1004 */
		{ "\x03\xed", 2, 1002, 0 },		/* 1005 */
		{ "\x03\xee", 2, 1002, 0 },		/* 1006 */
		{ "\x03\xf4", 2, 1002, 0 },		/* 1012 */
		{ "\x0b\xb7", 2, 1002, 0 },		/* 2999 */
		{ "\x13\x88", 2, 1002, 0 },		/* 5000 */
		{ "\x03\xe8\xc3", 3, 1007, 0 },	/* cut UTF-8 */
		{ "\x03\xe8\xed\xa0\x80", 5, 1007, 0 },	/* surrogate */
	};
	const char *why;
	size_t i;
	int code, r;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		why = NULL;
		r = ws_close_parse((const unsigned char *)cases[i].p,
		    cases[i].len, &code, &why);
		if (r != cases[i].ret)
			fail_msg("case %zu: returned %d, want %d", i, r,
			    cases[i].ret);
		if (r == 0 && code != cases[i].code)
			fail_msg("case %zu: code %d, want %d", i, code,
			    cases[i].code);
		if (r != 0 && why == NULL)
			fail_msg("case %zu: no reason", i);
	}
}

static void
test_accept(void **state)
{
	char out[WS_ACCEPT_LEN + 1], key[WS_KEY_LEN + 1];
	unsigned char nonce[16];

	(void)state;
	/* RFC 6455 section 1.3. */
	ws_accept_make("dGhlIHNhbXBsZSBub25jZQ==", out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	memcpy(nonce, "the sample nonce", 16);
	ws_key_make(nonce, key);
	assert_string_equal(key, "dGhlIHNhbXBsZSBub25jZQ==");
}

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define OK_HEAD "HTTP/1.1 101 Switching Protocols\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

/* Parse reply as the whole buffer; returns what ws_handshake_parse did. */
static int
handshake(const char *reply, struct ws_handshake *h)
{
	return ws_handshake_parse(reply, strlen(reply), KEY, h);
}

static void
test_handshake(void **state)
{
	static const struct {
		const char *reply;
		const char *why;
	} bad[] = {
		{ "HTTP/1.1 401 Unauthorized\r\n\r\n", "upgrade refused: HTTP 401" },
		{ "SSH-2.0-OpenSSH\r\n\r\n", "bad upgrade reply" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		    "bad upgrade reply: no Connection: upgrade" },
		{ "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		    "bad upgrade reply: no Upgrade: websocket" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Connection: upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
		    "bad upgrade reply: wrong Sec-WebSocket-Accept" },
		{ OK_HEAD "Sec-WebSocket-Protocol: chat\r\n\r\n",
		    "server chose another subprotocol" },
		{ OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		    "server chose an extension we did not offer" },
		{ OK_HEAD "no colon here\r\n\r\n", "bad header in upgrade reply" },
	};
	struct ws_handshake h;
	char *big;
	size_t i;

	(void)state;
	assert_int_equal(handshake(OK_HEAD, &h), 0);	/* no blank line yet */
	assert_int_equal(handshake(OK_HEAD "\r\n", &h), 1);
	assert_int_equal(h.hlen, strlen(OK_HEAD "\r\n"));
	assert_int_equal(handshake(OK_HEAD "sec-websocket-protocol: roomd.v1"
	    "\r\n\r\n\x81\x02hi", &h), 1);
	assert_int_equal(h.hlen, strlen(OK_HEAD
	    "sec-websocket-protocol: roomd.v1\r\n\r\n"));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (handshake(bad[i].reply, &h) != -1)
			fail_msg("case %zu: accepted", i);
		assert_string_equal(h.why, bad[i].why);
	}
	assert_int_equal(handshake(bad[0].reply, &h), -1);
	assert_int_equal(h.status, 401);

	/* Headers that never end are refused past WS_HEADER_MAX. */
	big = malloc(WS_HEADER_MAX + 2);
	memset(big, 'x', WS_HEADER_MAX + 1);
	big[WS_HEADER_MAX + 1] = '\0';
	assert_int_equal(ws_handshake_parse(big, WS_HEADER_MAX, KEY, &h), 0);
	assert_int_equal(ws_handshake_parse(big, WS_HEADER_MAX + 1, KEY, &h),
	    -1);
	assert_string_equal(h.why, "upgrade reply too long");
	free(big);
}

static void
test_request(void **state)
{
	char out[1024];
	size_t n;

	(void)state;
	n = ws_handshake_request(out, sizeof out, "::1", 7700, "/ws?token=t",
	    KEY);
	assert_int_equal(n, strlen(out));
	assert_non_null(strstr(out, "GET /ws?token=t HTTP/1.1\r\n"));
	assert_non_null(strstr(out, "Host: [::1]:7700\r\n"));
	assert_non_null(strstr(out, "Sec-WebSocket-Key: " KEY "\r\n"));
	assert_non_null(strstr(out, "Sec-WebSocket-Protocol: roomd.v1\r\n"));
	assert_string_equal(out + n - 4, "\r\n\r\n");
	ws_handshake_request(out, sizeof out, "example.com", 80, "/", KEY);
	assert_non_null(strstr(out, "Host: example.com:80\r\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_close_parse),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
