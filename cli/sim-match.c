/*
 * sim-match.c owns the matching of received frames against the TYPE and
 * FIELD=VALUE conditions of an `expect` or `poll` step of `roomctl sim`.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "roomctl.h"

/*
 * Follow a dotted path into j: object keys, or array indexes for numeric
 * segments of arrays. Returns NULL when some segment is missing.
 */
static const cJSON *
sim_lookup(const cJSON *j, const char *path)
{
	char seg[256], *end;
	const char *dot;
	size_t n;
	unsigned long idx;

	while (j != NULL) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		if (cJSON_IsArray(j)) {
			errno = 0;
			idx = strtoul(seg, &end, 10);
			if (n == 0 || *end != '\0' || errno != 0 ||
			    !isdigit((unsigned char)seg[0]) || idx > INT32_MAX)
				return NULL;
			j = cJSON_GetArrayItem(j, (int)idx);
		} else if (cJSON_IsObject(j))
			j = cJSON_GetObjectItemCaseSensitive(j, seg);
		else
			return NULL;
		if (dot == NULL)
			return j;
		path = dot + 1;
	}
	return NULL;
}

/* Whether field matches the VALUE of m: as plain text or as JSON. */
static int
sim_value_matches(const cJSON *field, const struct sim_match *m)
{
	if (cJSON_IsString(field) && strcmp(field->valuestring, m->value) == 0)
		return 1;
	/* Compared as values, so {"a": 1} matches {"a":1} and 1.0 matches 1. */
	return m->json != NULL && cJSON_Compare(field, m->json, 1);
}

/*
 * Whether frame (NULL for one that was not JSON) is what an `expect` step
 * waits for: its "type" is the step's TYPE ("*": any) and every
 * FIELD=VALUE holds.
 */
int
sim_step_matches(const struct sim_step *st, const cJSON *frame)
{
	const cJSON *type, *field;
	const struct sim_match *m;
	size_t i;

	if (!cJSON_IsObject(frame))
		return 0;
	type = cJSON_GetObjectItemCaseSensitive(frame, "type");
	if (!cJSON_IsString(type))
		return 0;
	if (strcmp(st->a, "*") != 0 && strcmp(type->valuestring, st->a) != 0)
		return 0;
	for (i = 0; i < st->nmatch; i++) {
		m = &st->match[i];
		field = sim_lookup(frame, m->path);
		switch (m->kind) {
		case SIM_MATCH_ANY:
			if (field == NULL)
				return 0;
			break;
		case SIM_MATCH_EQ:
			if (field == NULL || !sim_value_matches(field, m))
				return 0;
			break;
		case SIM_MATCH_NE:
			if (field != NULL && sim_value_matches(field, m))
				return 0;
			break;
		}
	}
	return 1;
}
