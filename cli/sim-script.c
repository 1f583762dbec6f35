/*
 * sim-script.c owns the `roomctl sim` script language: reading a script,
 * substituting $i, $n and $room, and parsing each line into a step. It
 * is pure (no I/O but reading the script) and unit tested; whether a frame
 * matches a step is sim-match.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "roomctl.h"

#define SIM_EXPECT_MS 5000		/* default `expect ... within` */
#define SIM_POLL_EVERY_MS 100		/* default `poll ... every` */

/* Whether c separates words on a script line. */
static int
sim_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Cut a comment off line, in place: '#' starts one at the start of the
 * line (after blanks) or after a blank outside a JSON string, so JSON
 * arguments and `send` frames may hold '#' inside their strings.
 */
static void
sim_strip_comment(char *line)
{
	char *p;
	int in_string = 0, prev_space = 1;

	for (p = line; *p != '\0'; p++) {
		if (in_string) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_string = 0;
			prev_space = 0;
			continue;
		}
		if (*p == '#' && prev_space) {
			*p = '\0';
			return;
		}
		if (*p == '"')
			in_string = 1;
		prev_space = sim_space((unsigned char)*p);
	}
}

/* Trim blanks at both ends, in place; returns the new start. */
static char *
sim_trim(char *s)
{
	size_t n;

	while (sim_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && sim_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/*
 * Read a script from path ("-": standard input) into its non-blank lines
 * with comments removed, keeping line numbers. Returns -1 and an
 * allocated cause when it cannot be read.
 */
int
sim_script_load(struct sim_script *s, const char *path, char **cause)
{
	struct buf b;
	FILE *f;
	char chunk[8192], *line, *next, *text;
	size_t n, alloc = 0;
	unsigned lineno = 0;

	memset(s, 0, sizeof *s);
	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		if (f != stdin)
			fclose(f);
		buf_free(&b);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	if (b.len > 0 && memchr(b.p, '\0', b.len) != NULL) {
		xasprintf(cause, "%s: not a text file", path);
		buf_free(&b);
		return -1;
	}

	s->name = xstrdup(strcmp(path, "-") == 0 ? "stdin" : path);
	for (line = b.p; line != NULL; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		sim_strip_comment(line);
		text = sim_trim(line);
		if (*text == '\0')
			continue;
		if (s->nlines == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			s->lines = xrealloc(s->lines, alloc * sizeof *s->lines);
		}
		s->lines[s->nlines].line = lineno;
		s->lines[s->nlines].text = xstrdup(text);
		s->nlines++;
	}
	buf_free(&b);
	return 0;
}

void
sim_script_free(struct sim_script *s)
{
	size_t i;

	for (i = 0; i < s->nlines; i++)
		free(s->lines[i].text);
	free(s->lines);
	free(s->name);
	memset(s, 0, sizeof *s);
}

/*
 * Substitute $i, $n and $room (also as ${i}, ${n}, ${room}; "$$" is a
 * dollar) into text; other $names are left as they are. The result is
 * allocated.
 */
static char *
sim_substitute(const char *text, const struct sim_vars *v)
{
	struct buf b;
	const char *p, *name;
	size_t n;
	int braced;

	buf_init(&b);
	for (p = text; *p != '\0'; p++) {
		if (*p != '$') {
			buf_addc(&b, *p);
			continue;
		}
		if (p[1] == '$') {
			buf_addc(&b, '$');
			p++;
			continue;
		}
		braced = p[1] == '{';
		name = p + 1 + braced;
		for (n = 0; isalnum((unsigned char)name[n]) || name[n] == '_';
		    n++)
			;
		if (braced && name[n] != '}')
			n = 0;
		if (n == 1 && name[0] == 'i')
			buf_printf(&b, "%u", v->i);
		else if (n == 1 && name[0] == 'n')
			buf_printf(&b, "%u", v->n);
		else if (n == 4 && strncmp(name, "room", 4) == 0)
			buf_adds(&b, v->room);
		else {
			buf_addc(&b, '$');
			continue;
		}
		p = name + n + braced - 1;
	}
	return buf_detach(&b);
}

/* Take the next blank-separated word of *sp, NUL-terminating it in place. */
static char *
sim_word(char **sp)
{
	char *s = *sp, *w;

	while (sim_space((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*sp = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && !sim_space((unsigned char)*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*sp = s;
	return w;
}

/*
 * Take the next `expect` argument: like a word, but blanks inside double
 * quotes, braces or brackets do not end it, so FIELD="two words" and
 * FIELD={"a": 1} are single arguments.
 */
static char *
sim_arg(char **sp)
{
	char *s = *sp, *w;
	int depth = 0, in_string = 0;

	while (sim_space((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*sp = s;
		return NULL;
	}
	w = s;
	for (; *s != '\0'; s++) {
		if (in_string) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '"')
				in_string = 0;
		} else if (*s == '"')
			in_string = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && depth > 0)
			depth--;
		else if (sim_space((unsigned char)*s) && depth == 0)
			break;
	}
	if (*s != '\0')
		*s++ = '\0';
	*sp = s;
	return w;
}

/* The rest of the line after the words taken, blanks trimmed; maybe "". */
static char *
sim_rest(char **sp)
{
	char *s = sim_trim(*sp);

	*sp = s + strlen(s);
	return s;
}

/* Whether text is one JSON value and nothing else. */
static int
sim_json_valid(const char *text)
{
	cJSON *j;

	j = cJSON_ParseWithOpts(text, NULL, 1);
	if (j == NULL)
		return 0;
	cJSON_Delete(j);
	return 1;
}

/* Parse one FIELD=VALUE, FIELD!=VALUE or FIELD=* argument of `expect`. */
static int
sim_parse_match(char *arg, struct sim_match *m, char **why)
{
	char *eq;

	memset(m, 0, sizeof *m);
	eq = strchr(arg, '=');
	if (eq == NULL || eq == arg) {
		xasprintf(why, "expected FIELD=VALUE, got '%s'", arg);
		return -1;
	}
	if (eq[-1] == '!') {
		m->kind = SIM_MATCH_NE;
		if (eq - 1 == arg) {
			xasprintf(why, "expected FIELD!=VALUE, got '%s'", arg);
			return -1;
		}
		m->path = xstrndup(arg, (size_t)(eq - 1 - arg));
	} else {
		m->kind = SIM_MATCH_EQ;
		m->path = xstrndup(arg, (size_t)(eq - arg));
	}
	m->value = xstrdup(eq + 1);
	if (m->kind == SIM_MATCH_EQ && strcmp(m->value, "*") == 0)
		m->kind = SIM_MATCH_ANY;
	else
		m->json = cJSON_ParseWithOpts(m->value, NULL, 1);
	if (m->path[0] == '.' || m->path[strlen(m->path) - 1] == '.' ||
	    strstr(m->path, "..") != NULL) {
		xasprintf(why, "bad field path '%s'", m->path);
		return -1;
	}
	return 0;
}

/*
 * Parse `TYPE [FIELD=VALUE ...] [within D]` of expect, or of poll (kw) after
 * its `until`, where `every D` may stand next to `within D` at the end.
 */
static int
sim_parse_expect(struct sim_step *st, const char *kw, char *s, char **why)
{
	char *arg, *d;
	uint64_t *ms;
	size_t alloc = 0;
	int keywords = 0;

	st->ms = SIM_EXPECT_MS;
	if ((arg = sim_word(&s)) == NULL) {
		xasprintf(why, "%s: missing frame type", kw);
		return -1;
	}
	st->a = xstrdup(arg);
	while ((arg = sim_arg(&s)) != NULL) {
		ms = NULL;
		if (strcmp(arg, "within") == 0)
			ms = &st->ms;
		else if (st->op == SIM_POLL && strcmp(arg, "every") == 0)
			ms = &st->every_ms;
		if (ms != NULL) {
			if ((d = sim_word(&s)) == NULL ||
			    parse_duration_ms(d, ms) != 0 ||
			    (ms == &st->every_ms && *ms == 0)) {
				xasprintf(why, "%s: %s needs a duration "
				    "(250ms, 2s, 1.5s, 1m)", kw, arg);
				return -1;
			}
			keywords = 1;
			continue;
		}
		if (keywords) {
			xasprintf(why, "%s: nothing but %s may follow "
			    "within DURATION", kw, st->op == SIM_POLL ?
			    "every DURATION" : "it");
			return -1;
		}
		if (st->nmatch == alloc) {
			alloc = alloc == 0 ? 4 : alloc * 2;
			st->match = xrealloc(st->match,
			    alloc * sizeof *st->match);
		}
		/* Count it first so a partial match is freed with the step. */
		if (sim_parse_match(arg, &st->match[st->nmatch++], why) != 0)
			return -1;
	}
	return 0;
}

/*
 * Parse `poll FRAME_JSON until TYPE [FIELD=VALUE ...] [every D] [within D]`:
 * FRAME is one JSON object (sim gives it a fresh ref every time it sends).
 */
static int
sim_parse_poll(struct sim_step *st, char *s, char **why)
{
	cJSON *j;
	char *frame, *word;

	st->every_ms = SIM_POLL_EVERY_MS;
	if ((frame = sim_arg(&s)) == NULL ||
	    (word = sim_word(&s)) == NULL || strcmp(word, "until") != 0) {
		xasprintf(why, "poll: expected FRAME_JSON until TYPE "
		    "[FIELD=VALUE ...]");
		return -1;
	}
	j = cJSON_ParseWithOpts(frame, NULL, 1);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		xasprintf(why, "poll: not a JSON object: %s", frame);
		return -1;
	}
	cJSON_Delete(j);
	st->arg = xstrdup(frame);
	return sim_parse_expect(st, "poll", s, why);
}

/* Parse one substituted line into st; on error *why says what is wrong. */
static int
sim_parse_step(struct sim_step *st, char *s, char **why)
{
	char *word, *rest, *kw;

	if ((kw = word = sim_word(&s)) == NULL) {
		xasprintf(why, "empty step");
		return -1;
	}
	if (strcmp(word, "connect") == 0) {
		st->op = SIM_CONNECT;
		if ((word = sim_word(&s)) != NULL)
			st->a = xstrdup(word);
		goto no_more;
	}
	if (strcmp(word, "join") == 0 || strcmp(word, "leave") == 0) {
		st->op = word[0] == 'j' ? SIM_JOIN : SIM_LEAVE;
		if ((word = sim_word(&s)) == NULL) {
			xasprintf(why, "%s: missing room",
			    st->op == SIM_JOIN ? "join" : "leave");
			return -1;
		}
		st->a = xstrdup(word);
		if (st->op == SIM_LEAVE)
			goto no_more;
		goto json_optional;
	}
	if (strcmp(word, "match") == 0) {
		uint64_t size;

		st->op = SIM_MATCH;
		if ((word = sim_word(&s)) != NULL)
			st->a = xstrdup(word);
		if (word == NULL || (word = sim_word(&s)) == NULL) {
			xasprintf(why, "match: expected POOL SIZE "
			    "[FILTER_JSON]");
			return -1;
		}
		if (parse_uint(word, 2, 1000, &size) != 0) {
			xasprintf(why, "match: SIZE must be an integer from 2 "
			    "to 1000, not '%s'", word);
			return -1;
		}
		st->b = xstrdup(word);
		rest = sim_rest(&s);
		if (*rest != '\0' && (*rest != '{' || !sim_json_valid(rest))) {
			xasprintf(why, "match: FILTER_JSON must be a JSON "
			    "object: %s", rest);
			return -1;
		}
		if (*rest != '\0')
			st->arg = xstrdup(rest);
		return 0;
	}
	if (strcmp(word, "publish") == 0) {
		st->op = SIM_PUBLISH;
		if ((word = sim_word(&s)) != NULL)
			st->a = xstrdup(word);
		if (word == NULL || (word = sim_word(&s)) == NULL) {
			xasprintf(why, "publish: expected ROOM EVENT "
			    "[DATA_JSON]");
			return -1;
		}
		st->b = xstrdup(word);
		goto json_optional;
	}
	if (strcmp(word, "state") == 0) {
		st->op = SIM_STATE;
		if ((word = sim_word(&s)) != NULL)
			st->a = xstrdup(word);
		if (word == NULL || (word = sim_word(&s)) == NULL ||
		    *sim_trim(s) == '\0') {
			xasprintf(why, "state: expected ROOM KEY VALUE_JSON");
			return -1;
		}
		st->b = xstrdup(word);
		goto json_optional;
	}
	if (strcmp(word, "send") == 0 || strcmp(word, "send-binary") == 0) {
		st->op = word[4] == '\0' ? SIM_SEND : SIM_SEND_BINARY;
		rest = sim_rest(&s);
		if (st->op == SIM_SEND && *rest == '\0') {
			xasprintf(why, "send: missing frame");
			return -1;
		}
		st->a = xstrdup(rest);
		return 0;
	}
	if (strcmp(word, "expect") == 0) {
		st->op = SIM_EXPECT;
		return sim_parse_expect(st, "expect", s, why);
	}
	if (strcmp(word, "poll") == 0) {
		st->op = SIM_POLL;
		return sim_parse_poll(st, s, why);
	}
	if (strcmp(word, "sleep") == 0 || strcmp(word, "stall") == 0) {
		st->op = *word == 's' && word[1] == 'l' ? SIM_SLEEP : SIM_STALL;
		if ((word = sim_word(&s)) == NULL ||
		    parse_duration_ms(word, &st->ms) != 0) {
			xasprintf(why, "%s: expected a duration (250ms, "
			    "2s, 1.5s, 1m)", st->op == SIM_SLEEP ? "sleep" :
			    "stall");
			return -1;
		}
		goto no_more;
	}
	if (strcmp(word, "barrier") == 0) {
		st->op = SIM_BARRIER;
		goto no_more;
	}
	if (strcmp(word, "disconnect") == 0) {
		st->op = SIM_DISCONNECT;
		goto no_more;
	}
	xasprintf(why, "unknown step '%s'", word);
	return -1;

json_optional:
	rest = sim_rest(&s);
	if (*rest == '\0')
		return 0;
	if (!sim_json_valid(rest)) {
		xasprintf(why, "%s: not valid JSON: %s", kw, rest);
		return -1;
	}
	st->arg = xstrdup(rest);
	return 0;

no_more:
	if (*sim_trim(s) != '\0') {
		xasprintf(why, "%s: unexpected argument '%s'", kw,
		    sim_rest(&s));
		return -1;
	}
	return 0;
}

/*
 * Turn the script into the steps of the client with variables v. Returns
 * -1 with an allocated cause "SCRIPT:LINE: reason" for the first bad line.
 */
int
sim_script_compile(const struct sim_script *s, const struct sim_vars *v,
    struct sim_step **stepsp, size_t *nstepsp, char **cause)
{
	struct sim_step *steps, *st;
	char *copy, *why = NULL;
	size_t i;

	steps = xcalloc(s->nlines != 0 ? s->nlines : 1, sizeof *steps);
	for (i = 0; i < s->nlines; i++) {
		st = &steps[i];
		st->line = s->lines[i].line;
		st->text = sim_substitute(s->lines[i].text, v);
		copy = xstrdup(st->text);
		if (sim_parse_step(st, copy, &why) != 0) {
			free(copy);
			xasprintf(cause, "%s:%u: %s", s->name, st->line, why);
			free(why);
			sim_steps_free(steps, i + 1);
			return -1;
		}
		free(copy);
	}
	*stepsp = steps;
	*nstepsp = s->nlines;
	return 0;
}

/* Free what one step holds, leaving it zeroed. */
static void
sim_step_clear(struct sim_step *st)
{
	for (size_t j = 0; j < st->nmatch; j++) {
		free(st->match[j].path);
		free(st->match[j].value);
		cJSON_Delete(st->match[j].json);
	}
	free(st->match);
	free(st->text);
	free(st->a);
	free(st->b);
	free(st->arg);
	memset(st, 0, sizeof *st);
}

void
sim_steps_free(struct sim_step *steps, size_t n)
{
	size_t i;

	if (steps == NULL)
		return;
	for (i = 0; i < n; i++)
		sim_step_clear(&steps[i]);
	free(steps);
}

/*
 * Compile the steps of lines from on again with new variables v (a match
 * step bound $room): steps holds one step per line of s, as
 * sim_script_compile made them. Returns -1 with an allocated cause for a
 * line that no longer parses; the steps from it on are then empty.
 */
int
sim_script_rebind(const struct sim_script *s, const struct sim_vars *v,
    struct sim_step *steps, size_t from, char **cause)
{
	struct sim_step *st;
	char *copy, *why = NULL;
	unsigned line;
	size_t i;

	for (i = from; i < s->nlines; i++) {
		st = &steps[i];
		sim_step_clear(st);
		line = s->lines[i].line;
		st->line = line;
		st->text = sim_substitute(s->lines[i].text, v);
		copy = xstrdup(st->text);
		if (sim_parse_step(st, copy, &why) != 0) {
			free(copy);
			xasprintf(cause, "%s:%u: %s", s->name, line, why);
			free(why);
			for (; i < s->nlines; i++)
				sim_step_clear(&steps[i]);
			return -1;
		}
		free(copy);
	}
	return 0;
}
