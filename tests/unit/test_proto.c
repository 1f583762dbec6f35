/* test_proto.c: ids, sequence numbers, JSON strings, key names and scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cJSON.h>
#include <openssl/evp.h>

#include "shared.h"

static void
check_id(const char *s, int want)
{
	int got = id_valid(s, strlen(s));

	if (got != want)
		print_error("id_valid(\"%s\") = %d, want %d\n", s, got, want);
	assert_int_equal(got, want);
}

static void
test_id_valid(void **state)
{
	static const char *const good[] = { "a", "Z", "0", "room-1",
		"room_1", "room.1", "room:1", "a-b_c.d:e", "-", "_", ".",
		":", "ABCxyz0123456789", "..", "1732270000000-0" };
	static const char *const bad[] = { "", " ", "a b", "a/b", "a\\b",
		"a\"b", "a{b", "a}b", "a*b", "a\tb", "a\nb", "caf\xc3\xa9",
		"a@b", "a#b", "a,b", "a+b", "a=b", "a?b", "a%b", " a", "a " };
	char buf[ID_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		check_id(good[i], 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_id(bad[i], 0);

	/* 64 characters is the limit. */
	memset(buf, 'x', sizeof buf);
	buf[ID_MAX] = '\0';
	check_id(buf, 1);
	buf[ID_MAX] = 'x';
	buf[ID_MAX + 1] = '\0';
	check_id(buf, 0);

	/* The length argument rules, not the NUL. */
	assert_int_equal(id_valid("abc def", 3), 1);
	assert_int_equal(id_valid("abc", 0), 0);
	assert_int_equal(id_valid("a\0b", 3), 0);
	assert_int_equal(id_valid(NULL, 0), 0);
}

static void
test_seq_parse(void **state)
{
	static const struct {
		const char *s;
		int ok;
		uint64_t ms, n;
	} cases[] = {
		{ "1732270000000-0", 0, 1732270000000ULL, 0 },
		{ "0-0", 0, 0, 0 },
		{ "0-1", 0, 0, 1 },
		{ "9-10", 0, 9, 10 },
		{ "007-08", 0, 7, 8 },
		{ "18446744073709551615-18446744073709551615", 0,
		    UINT64_MAX, UINT64_MAX },
		{ "18446744073709551616-0", -1, 0, 0 },
		{ "0-18446744073709551616", -1, 0, 0 },
		{ "99999999999999999999-0", -1, 0, 0 },
		{ "", -1, 0, 0 },
		{ "1", -1, 0, 0 },
		{ "1732270000000", -1, 0, 0 },
		{ "1-", -1, 0, 0 },
		{ "-1", -1, 0, 0 },
		{ "-", -1, 0, 0 },
		{ "1--1", -1, 0, 0 },
		{ "1-1-1", -1, 0, 0 },
		{ "+1-0", -1, 0, 0 },
		{ "1-+0", -1, 0, 0 },
		{ " 1-0", -1, 0, 0 },
		{ "1-0 ", -1, 0, 0 },
		{ "1 -0", -1, 0, 0 },
		{ "1-0\n", -1, 0, 0 },
		{ "a-0", -1, 0, 0 },
		{ "1-0x", -1, 0, 0 },
		{ "0x1-0", -1, 0, 0 },
		{ "1.5-0", -1, 0, 0 },
		{ "*", -1, 0, 0 },
		{ "$", -1, 0, 0 },
	};
	struct seq seq;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seq.ms = seq.n = 12345;
		rc = seq_parse(cases[i].s, strlen(cases[i].s), &seq);
		if (rc != cases[i].ok)
			print_error("seq_parse(\"%s\") = %d, want %d\n",
			    cases[i].s, rc, cases[i].ok);
		assert_int_equal(rc, cases[i].ok);
		if (rc == 0) {
			assert_int_equal(seq.ms, cases[i].ms);
			assert_int_equal(seq.n, cases[i].n);
		} else {
			/* Failure leaves the output alone. */
			assert_int_equal(seq.ms, 12345);
			assert_int_equal(seq.n, 12345);
		}
	}

	/* Only len bytes are read. */
	assert_int_equal(seq_parse("5-6junk", 3, &seq), 0);
	assert_int_equal(seq.ms, 5);
	assert_int_equal(seq.n, 6);
	assert_int_equal(seq_parse("5-6", 2, &seq), -1);
	assert_int_equal(seq_parse("5-6", 0, &seq), -1);
}

static int
cmp_strings(const char *a, const char *b)
{
	struct seq sa, sb;

	assert_int_equal(seq_parse(a, strlen(a), &sa), 0);
	assert_int_equal(seq_parse(b, strlen(b), &sb), 0);
	return seq_cmp(&sa, &sb);
}

static void
test_seq_cmp(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "9-0", "10-0", -1 },		/* numeric, not textual */
		{ "1-2", "1-10", -1 },
		{ "1-10", "1-2", 1 },
		{ "10-0", "9-0", 1 },
		{ "1-0", "1-0", 0 },
		{ "01-0", "1-00", 0 },
		{ "1-999", "2-0", -1 },		/* ms first */
		{ "2-0", "1-999", 1 },
		{ "1732270000000-0", "1732270000000-1", -1 },
		{ "0-0", "18446744073709551615-18446744073709551615", -1 },
		{ "18446744073709551615-1", "18446744073709551615-0", 1 },
	};
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = cmp_strings(cases[i].a, cases[i].b);
		if (got != cases[i].want)
			print_error("seq_cmp(%s, %s) = %d, want %d\n",
			    cases[i].a, cases[i].b, got, cases[i].want);
		assert_int_equal(got, cases[i].want);
	}
}

static void
check_json(const char *in, size_t len, const char *want)
{
	struct buf b;
	cJSON *j;

	buf_init(&b);
	buf_adds(&b, "x");	/* it appends */
	json_add_string(&b, in, len);
	assert_string_equal(b.p + 1, want);
	assert_int_equal(b.len, strlen(want) + 1);

	/* Whatever goes in, a JSON parser reads the same bytes back. */
	j = cJSON_Parse(b.p + 1);
	assert_non_null(j);
	assert_true(cJSON_IsString(j));
	if (memchr(in, '\0', len) == NULL) {
		assert_int_equal(strlen(j->valuestring), len);
		assert_memory_equal(j->valuestring, in, len);
	}
	cJSON_Delete(j);
	buf_free(&b);
}

static void
test_json_add_string(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "a\"b", "\"a\\\"b\"" },
		{ "a\\b", "\"a\\\\b\"" },
		{ "\\\"", "\"\\\\\\\"\"" },
		{ "line\nbreak", "\"line\\nbreak\"" },
		{ "\r\t\b\f", "\"\\r\\t\\b\\f\"" },
		{ "\x01\x1f", "\"\\u0001\\u001f\"" },
		{ "\x1b[31m", "\"\\u001b[31m\"" },
		{ "del\x7f", "\"del\x7f\"" },
		{ "/slash", "\"/slash\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"" },
		{ "</script>", "\"</script>\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_json(cases[i].in, strlen(cases[i].in), cases[i].want);

	/* An embedded NUL is escaped, not a terminator. */
	check_json("a\0b", 3, "\"a\\u0000b\"");
	/* Only len bytes are used. */
	check_json("abcdef", 3, "\"abc\"");
}

static void
test_json_add_string_long(void **state)
{
	struct buf b;
	char in[5000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof in; i++)
		in[i] = (i % 7 == 0) ? '"' : 'a';
	buf_init(&b);
	json_add_string(&b, in, sizeof in);
	assert_int_equal(b.len, sizeof in + 2 + (sizeof in + 6) / 7);
	assert_int_equal(b.p[b.len], '\0');
	buf_free(&b);
}

static void
test_json_type_name(void **state)
{
	cJSON *j;

	(void)state;
	assert_string_equal(json_type_name(cJSON_String), "string");
	assert_string_equal(json_type_name(cJSON_Number), "number");
	assert_string_equal(json_type_name(cJSON_Object), "object");
	assert_string_equal(json_type_name(cJSON_Array), "array");
	assert_string_equal(json_type_name(cJSON_True), "bool");
	assert_string_equal(json_type_name(cJSON_False), "bool");
	assert_string_equal(json_type_name(cJSON_NULL), "null");
	/* Flag bits cJSON keeps in type do not change the name. */
	assert_string_equal(json_type_name(cJSON_String | cJSON_IsReference),
	    "string");
	assert_string_equal(json_type_name(cJSON_String |
	    cJSON_StringIsConst), "string");

	j = cJSON_Parse("{\"a\":[1,\"x\",true,null,{}]}");
	assert_non_null(j);
	assert_string_equal(json_type_name(j->type), "object");
	assert_string_equal(json_type_name(j->child->type), "array");
	assert_string_equal(json_type_name(j->child->child->type), "number");
	assert_string_equal(json_type_name(j->child->child->next->type),
	    "string");
	cJSON_Delete(j);
}

/* The room scripts' keys, in the order every script declares them. */
static void
test_room_script_keys(void **state)
{
	static const char *const want[] = { "p:room:{r1}",
		"p:room:{r1}:members", "p:room:{r1}:state", "p:room:{r1}:events",
		"p:rooms", "p:rooms:public" };
	const char *argv[6];
	size_t lens[6];
	struct buf b;

	(void)state;
	buf_init(&b);
	key_room_script(&b, "p:", "r1", argv, lens, 6);
	for (int i = 0; i < 6; i++) {
		assert_string_equal(argv[i], want[i]);
		assert_int_equal(lens[i], strlen(want[i]));
	}
	buf_reset(&b);
	key_room_script(&b, "p:", "r1", argv, NULL, 4);
	assert_string_equal(argv[3], want[3]);
	buf_free(&b);
}

static void
test_keys(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	key_room(&b, "roomd:", "lobby", NULL);
	assert_string_equal(b.p, "roomd:room:{lobby}");
	buf_reset(&b);
	key_room(&b, "roomd:", "lobby", ":members");
	assert_string_equal(b.p, "roomd:room:{lobby}:members");
	buf_reset(&b);
	key_room(&b, "t1:", "a:b", ":events");
	assert_string_equal(b.p, "t1:room:{a:b}:events");

	/* Both append rather than reset. */
	buf_reset(&b);
	buf_adds(&b, "KEYS ");
	key_plain(&b, "roomd:", "rooms:public");
	buf_addc(&b, ' ');
	key_plain(&b, "roomd:", "node:n1");
	buf_addc(&b, ' ');
	key_room(&b, "roomd:", "r", ":state");
	assert_string_equal(b.p,
	    "KEYS roomd:rooms:public roomd:node:n1 roomd:room:{r}:state");
	buf_reset(&b);
	key_plain(&b, "p:", "ctl");
	assert_string_equal(b.p, "p:ctl");
	buf_free(&b);
}

/* Every request type has its PROTOCOL.md name, and only one type has it. */
static void
test_req_type_names(void **state)
{
	static const char *const names[REQ_TYPE_COUNT] = { "join", "leave",
		"publish", "state.set", "state.get", "presence", "history",
		"rooms", "ping", "match", "lock", "unlock" };
	int i, j;

	(void)state;
	for (i = 0; i < REQ_TYPE_COUNT; i++) {
		assert_string_equal(req_type_name((enum req_type)i), names[i]);
		for (j = i + 1; j < REQ_TYPE_COUNT; j++)
			assert_string_not_equal(req_type_name((enum req_type)i),
			    req_type_name((enum req_type)j));
	}
	assert_string_equal(req_type_name(REQ_TYPE_COUNT), "other");
}

static void
test_scripts(void **state)
{
	static const char *const names[SCRIPT_COUNT] = { "join", "leave",
		"append", "state_set", "read", "rooms", "restore", "gc",
		"match", "lock", "match_room", "match_pick",
		"pool_set" };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, k;
	char want[41];
	const char *src, *sha;
	int i, j;

	(void)state;
	for (i = 0; i < SCRIPT_COUNT; i++) {
		assert_string_equal(script_name((enum script_id)i), names[i]);
		src = script_source((enum script_id)i);
		assert_non_null(src);
		assert_true(strlen(src) > 0);

		assert_int_equal(EVP_Digest(src, strlen(src), md, &mdlen,
		    EVP_sha1(), NULL), 1);
		for (k = 0; k < mdlen; k++)
			snprintf(want + k * 2, 3, "%02x", md[k]);
		sha = script_sha((enum script_id)i);
		assert_string_equal(sha, want);
		/* Cached: the same answer, the same storage. */
		assert_ptr_equal(script_sha((enum script_id)i), sha);
	}
	/* Scripts are different, so their SHAs are. */
	for (i = 0; i < SCRIPT_COUNT; i++)
		for (j = i + 1; j < SCRIPT_COUNT; j++)
			assert_string_not_equal(script_sha((enum script_id)i),
			    script_sha((enum script_id)j));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_seq_parse),
		cmocka_unit_test(test_seq_cmp),
		cmocka_unit_test(test_json_add_string),
		cmocka_unit_test(test_json_add_string_long),
		cmocka_unit_test(test_json_type_name),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_room_script_keys),
		cmocka_unit_test(test_req_type_names),
		cmocka_unit_test(test_scripts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
