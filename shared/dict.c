/*
 * dict.c: a small chained hash table from strings to pointers. Keys are
 * not copied: each key must live inside the value it maps to, as a
 * connection's id or a room's id does.
 */
#include <stdlib.h>
#include <string.h>

#include "shared.h"

static uint64_t
dict_hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void
dict_init(struct dict *d)
{
	d->nb = 64;
	d->n = 0;
	d->b = xcalloc(d->nb, sizeof *d->b);
}

void
dict_free(struct dict *d)
{
	for (size_t i = 0; i < d->nb; i++) {
		struct dict_entry *e = d->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(d->b);
	d->b = NULL;
	d->nb = d->n = 0;
}

static struct dict_entry **
dict_slot(struct dict *d, const char *key, size_t len)
{
	struct dict_entry **ep = &d->b[dict_hash(key, len) & (d->nb - 1)];

	for (; *ep != NULL; ep = &(*ep)->next) {
		if ((*ep)->len == len && memcmp((*ep)->key, key, len) == 0)
			break;
	}
	return ep;
}

/* Double the buckets when the load passes one entry per bucket. */
static void
dict_grow(struct dict *d)
{
	size_t nb = d->nb * 2;
	struct dict_entry **b = xcalloc(nb, sizeof *b);

	for (size_t i = 0; i < d->nb; i++) {
		struct dict_entry *e = d->b[i], *next;

		for (; e != NULL; e = next) {
			size_t j = dict_hash(e->key, e->len) & (nb - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(d->b);
	d->b = b;
	d->nb = nb;
}

void *
dict_get(struct dict *d, const char *key, size_t len)
{
	struct dict_entry *e;

	if (d->b == NULL)
		return NULL;
	e = *dict_slot(d, key, len);
	return e != NULL ? e->val : NULL;
}

/* Map key to val, replacing any earlier value. */
void
dict_put(struct dict *d, const char *key, void *val)
{
	size_t len = strlen(key);
	struct dict_entry **ep, *e;

	if (d->b == NULL)
		dict_init(d);
	ep = dict_slot(d, key, len);
	if (*ep != NULL) {
		(*ep)->key = key;
		(*ep)->val = val;
		return;
	}
	e = xmalloc(sizeof *e);
	e->key = key;
	e->len = len;
	e->val = val;
	e->next = NULL;
	*ep = e;
	if (++d->n > d->nb)
		dict_grow(d);
}

/* Remove key; returns the value it had, or NULL. */
void *
dict_del(struct dict *d, const char *key, size_t len)
{
	struct dict_entry **ep, *e;
	void *val;

	if (d->b == NULL)
		return NULL;
	ep = dict_slot(d, key, len);
	if ((e = *ep) == NULL)
		return NULL;
	*ep = e->next;
	val = e->val;
	free(e);
	d->n--;
	return val;
}

/* Call fn on every value; fn must not change the table. */
void
dict_each(struct dict *d, void (*fn)(void *, void *), void *arg)
{
	for (size_t i = 0; i < d->nb; i++) {
		for (struct dict_entry *e = d->b[i]; e != NULL; e = e->next)
			fn(e->val, arg);
	}
}
