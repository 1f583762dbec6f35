/* test_utf8.c: the one UTF-8 decoder (shared/utf8.c), RFC 3629 cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared.h"

struct utf8_case {
	const char *s;
	size_t n;		/* 0: strlen */
	int valid;
};

static void
test_valid_and_invalid(void **state)
{
	static const struct utf8_case cases[] = {
		{ "", 0, 1 },
		{ "plain ascii", 0, 1 },
		{ "\x7f", 0, 1 },
		{ "caf\xc3\xa9", 0, 1 },			/* é */
		{ "\xe2\x82\xac", 0, 1 },			/* € */
		{ "\xf0\x9f\x98\x80", 0, 1 },			/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 0, 1 },			/* U+10FFFF */
		{ "\xed\x9f\xbf", 0, 1 },			/* U+D7FF */
		{ "\xee\x80\x80", 0, 1 },			/* U+E000 */
		{ "a\0b", 3, 1 },				/* NUL is valid */
		{ "\x80", 0, 0 },				/* stray continuation */
		{ "\xbf", 0, 0 },
		{ "\xc0\x80", 0, 0 },				/* overlong NUL */
		{ "\xc1\xbf", 0, 0 },				/* overlong */
		{ "\xe0\x80\xaf", 0, 0 },			/* overlong / */
		{ "\xe0\x9f\xbf", 0, 0 },			/* overlong U+7FF */
		{ "\xf0\x8f\xbf\xbf", 0, 0 },			/* overlong U+FFFF */
		{ "\xed\xa0\x80", 0, 0 },			/* U+D800 */
		{ "\xed\xbf\xbf", 0, 0 },			/* U+DFFF */
		{ "\xf4\x90\x80\x80", 0, 0 },			/* U+110000 */
		{ "\xf5\x80\x80\x80", 0, 0 },
		{ "\xff", 0, 0 },
		{ "\xc3", 0, 0 },				/* cut short */
		{ "\xe2\x82", 0, 0 },
		{ "\xf0\x9f\x98", 0, 0 },
		{ "\xc3\x28", 0, 0 },				/* bad continuation */
		{ "\xe2\x28\xa1", 0, 0 },
		{ "ok \xc3\xa9 then \x80", 0, 0 },
	};
	size_t i, n;
	int got;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = cases[i].n != 0 ? cases[i].n : strlen(cases[i].s);
		got = utf8_valid(cases[i].s, n);
		if (got != cases[i].valid)
			fail_msg("case %zu: utf8_valid gave %d, want %d", i,
			    got, cases[i].valid);
	}
}

static void
test_seq_len(void **state)
{
	const unsigned char *s;

	(void)state;
	s = (const unsigned char *)"A";
	assert_int_equal(utf8_seq_len(s, 1), 1);
	s = (const unsigned char *)"\xc3\xa9z";
	assert_int_equal(utf8_seq_len(s, 3), 2);
	assert_int_equal(utf8_seq_len(s, 1), 0);	/* cut by n */
	s = (const unsigned char *)"\xe2\x82\xac";
	assert_int_equal(utf8_seq_len(s, 3), 3);
	assert_int_equal(utf8_seq_len(s, 2), 0);
	s = (const unsigned char *)"\xf0\x9f\x98\x80";
	assert_int_equal(utf8_seq_len(s, 4), 4);
	s = (const unsigned char *)"\xed\xa0\x80";
	assert_int_equal(utf8_seq_len(s, 3), 0);
	assert_int_equal(utf8_seq_len(s, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_invalid),
		cmocka_unit_test(test_seq_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
