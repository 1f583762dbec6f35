/* test_dict.c: the string-keyed hash table of shared/dict.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared.h"

/* A value that holds its own key, as a connection or a room does. */
struct item {
	char key[32];
	int n;
	int seen;
};

static struct item *
item_new(const char *fmt, int n)
{
	struct item *it = calloc(1, sizeof *it);

	assert_non_null(it);
	snprintf(it->key, sizeof it->key, fmt, n);
	it->n = n;
	return it;
}

static void
test_dict_empty(void **state)
{
	struct dict d;

	(void)state;
	/* A zeroed table is empty and usable before dict_init. */
	memset(&d, 0, sizeof d);
	assert_null(dict_get(&d, "a", 1));
	assert_null(dict_del(&d, "a", 1));
	dict_each(&d, NULL, NULL);	/* never calls fn */
	dict_free(&d);

	dict_init(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.nb, 64);
	assert_null(dict_get(&d, "", 0));
	dict_free(&d);
	assert_null(d.b);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.nb, 0);
	dict_free(&d);		/* twice is fine */
}

static void
test_dict_put_get_del(void **state)
{
	struct dict d;
	struct item *a = item_new("room-%d", 1), *b = item_new("room-%d", 2);
	struct item *a2 = item_new("room-%d", 1), *e = item_new("%.0d", 0);

	(void)state;
	memset(&d, 0, sizeof d);
	dict_put(&d, a->key, a);	/* initialises on first put */
	dict_put(&d, b->key, b);
	assert_int_equal(d.n, 2);
	assert_ptr_equal(dict_get(&d, "room-1", 6), a);
	assert_ptr_equal(dict_get(&d, "room-2", 6), b);

	/* Lookups go by length, not by NUL: a prefix is another key. */
	assert_null(dict_get(&d, "room-1", 5));
	assert_null(dict_get(&d, "room-10", 7));
	assert_ptr_equal(dict_get(&d, "room-1xyz", 6), a);

	/* Putting a key again replaces the value and keeps the count. */
	dict_put(&d, a2->key, a2);
	assert_int_equal(d.n, 2);
	assert_ptr_equal(dict_get(&d, "room-1", 6), a2);

	/* The empty string is a key like any other. */
	assert_string_equal(e->key, "");
	dict_put(&d, e->key, e);
	assert_int_equal(d.n, 3);
	assert_ptr_equal(dict_get(&d, "", 0), e);

	assert_ptr_equal(dict_del(&d, "room-1", 6), a2);
	assert_int_equal(d.n, 2);
	assert_null(dict_get(&d, "room-1", 6));
	assert_null(dict_del(&d, "room-1", 6));
	assert_int_equal(d.n, 2);
	assert_ptr_equal(dict_get(&d, "room-2", 6), b);
	assert_ptr_equal(dict_del(&d, "", 0), e);
	assert_ptr_equal(dict_del(&d, "room-2", 6), b);
	assert_int_equal(d.n, 0);

	dict_free(&d);
	free(a);
	free(a2);
	free(b);
	free(e);
}

static void
count_item(void *val, void *arg)
{
	struct item *it = val;

	it->seen++;
	(*(int *)arg)++;
}

static void
test_dict_grow(void **state)
{
	enum { N = 5000 };
	struct item **items;
	struct dict d;
	int i, calls = 0;
	size_t nb;

	(void)state;
	items = calloc(N, sizeof *items);
	assert_non_null(items);
	dict_init(&d);
	for (i = 0; i < N; i++) {
		items[i] = item_new("conn-%d", i);
		dict_put(&d, items[i]->key, items[i]);
		assert_int_equal(d.n, (size_t)i + 1);
		/* Never more than one entry per bucket after a put. */
		assert_true(d.n <= d.nb);
	}
	nb = d.nb;
	assert_int_equal(nb & (nb - 1), 0);	/* a power of two */
	assert_true(nb >= N);
	for (i = 0; i < N; i++) {
		assert_ptr_equal(dict_get(&d, items[i]->key,
		    strlen(items[i]->key)), items[i]);
	}

	/* Every value is visited exactly once. */
	dict_each(&d, count_item, &calls);
	assert_int_equal(calls, N);
	for (i = 0; i < N; i++)
		assert_int_equal(items[i]->seen, 1);

	/* Deleting the even ones leaves the odd ones; buckets stay. */
	for (i = 0; i < N; i += 2) {
		assert_ptr_equal(dict_del(&d, items[i]->key,
		    strlen(items[i]->key)), items[i]);
	}
	assert_int_equal(d.n, N / 2);
	assert_int_equal(d.nb, nb);
	for (i = 0; i < N; i++) {
		void *want = (i % 2 == 1) ? items[i] : NULL;

		assert_ptr_equal(dict_get(&d, items[i]->key,
		    strlen(items[i]->key)), want);
	}
	calls = 0;
	dict_each(&d, count_item, &calls);
	assert_int_equal(calls, N / 2);

	dict_free(&d);
	for (i = 0; i < N; i++)
		free(items[i]);
	free(items);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dict_empty),
		cmocka_unit_test(test_dict_put_get_del),
		cmocka_unit_test(test_dict_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
