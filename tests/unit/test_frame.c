/* test_frame.c: the daemon's encoded frames: WebSocket headers, close and
 * ping frames, and reading the seq that room frames carry first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "roomd.h"

/* Build a frame of n payload bytes and check its header. */
static void
check_text(size_t n, const unsigned char *hdr, size_t hlen)
{
	char *text = malloc(n + 1);
	struct frame *f;

	memset(text, 'x', n);
	f = frame_new(text, n);
	assert_int_equal(f->len, hlen + n);
	assert_memory_equal(f->data, hdr, hlen);
	assert_memory_equal(f->data + hlen, text, n);
	assert_int_equal(f->refs, 1);
	frame_unref(f);
	free(text);
}

static void
test_text_headers(void **state)
{
	static const unsigned char h0[] = { 0x81, 0 };
	static const unsigned char h125[] = { 0x81, 125 };
	static const unsigned char h126[] = { 0x81, 126, 0, 126 };
	static const unsigned char h65535[] = { 0x81, 126, 0xff, 0xff };
	static const unsigned char h65536[] = { 0x81, 127, 0, 0, 0, 0, 0, 1,
		0, 0 };

	(void)state;
	check_text(0, h0, sizeof h0);
	check_text(125, h125, sizeof h125);
	check_text(126, h126, sizeof h126);
	check_text(65535, h65535, sizeof h65535);
	check_text(65536, h65536, sizeof h65536);
}

static void
test_refs(void **state)
{
	struct frame *f = frame_new("{}", 2);

	(void)state;
	assert_ptr_equal(frame_ref(f), f);
	assert_int_equal(f->refs, 2);
	frame_unref(f);
	assert_int_equal(f->refs, 1);
	frame_unref(f);
	frame_unref(NULL);	/* harmless */
}

static void
test_close_and_ping(void **state)
{
	struct frame *f = frame_close(4008, "slow consumer");
	char longer[300];

	(void)state;
	assert_int_equal(f->len, 2 + 2 + 13);
	assert_int_equal(f->data[0], 0x88);
	assert_int_equal(f->data[1], 15);
	assert_int_equal(f->data[2], 4008 >> 8);
	assert_int_equal(f->data[3], 4008 & 0xff);
	assert_memory_equal(f->data + 4, "slow consumer", 13);
	frame_unref(f);

	/* A control frame carries at most 125 bytes: the reason is cut. */
	memset(longer, 'r', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	f = frame_close(1001, longer);
	assert_int_equal(f->data[1], 125);
	assert_int_equal(f->len, 2 + 125);
	frame_unref(f);

	f = frame_ping();
	assert_int_equal(f->data[0], 0x89);
	assert_true(f->data[1] > 0);	/* lws reports only non-empty pongs */
	assert_ptr_equal(frame_ping(), f);
}

static void
check_seq(const char *text, int want, uint64_t ms, uint64_t n, size_t end)
{
	struct seq s = { 0, 0 };
	size_t e = 0;
	int got = frame_parse_seq(text, strlen(text), &s, &e);

	if (got != want)
		print_error("frame_parse_seq(%s) = %d, want %d\n", text, got,
		    want);
	assert_int_equal(got, want);
	if (want == 0) {
		assert_int_equal(s.ms, ms);
		assert_int_equal(s.n, n);
		assert_int_equal(e, end);
	}
}

static void
test_parse_seq(void **state)
{
	(void)state;
	check_seq("{\"seq\":\"1732270000000-0\",\"type\":\"event\"}", 0,
	    1732270000000ULL, 0, 24);
	check_seq("{\"seq\":\"9-12\", \"type\":\"event\"}", 0, 9, 12, 13);
	check_seq("{\"seq\":\"1-0\"}", 0, 1, 0, 12);
	/* Not first, not a string, not a stream id, cut short. */
	check_seq("{\"type\":\"event\",\"seq\":\"1-0\"}", -1, 0, 0, 0);
	check_seq("{\"seq\":1}", -1, 0, 0, 0);
	check_seq("{\"seq\":\"1\"}", -1, 0, 0, 0);
	check_seq("{\"seq\":\"a-b\"}", -1, 0, 0, 0);
	check_seq("{\"seq\":\"1-0", -1, 0, 0, 0);
	check_seq("", -1, 0, 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_headers),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_close_and_ping),
		cmocka_unit_test(test_parse_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
