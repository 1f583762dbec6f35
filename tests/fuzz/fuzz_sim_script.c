/*
 * fuzz_sim_script.c: libFuzzer harness for the `roomctl sim` script language
 * (cli/sim-script.c) and expect matching (cli/sim-match.c): the input is a
 * script file, read through sim_script_load from a memfd as `roomctl sim`
 * reads one, compiled for two clients with different variables, and every
 * expect and poll step is matched against a few frames. A refusal must say
 * which line and why; every compiled step must carry the fields its kind
 * needs, with its JSON argument valid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "roomctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int fd = -1;
static char path[64];
static cJSON *frames[4];

static const char *const frame_texts[] = {
	"{\"type\":\"joined\",\"ref\":1,\"room\":\"lobby\",\"seq\":\"1-0\","
	    "\"members\":[{\"conn\":\"c1\",\"meta\":{\"name\":\"a b\"}}]}",
	"{\"type\":\"event\",\"room\":\"r3\",\"event\":\"chat\","
	    "\"data\":{\"n\":1,\"a\":[1,2,{\"x\":null}]}}",
	"{\"type\":\"error\",\"code\":\"rate_limited\",\"ref\":\"x\"}",
	"[\"not\",\"an\",\"object\"]",
};

/* Check what one compiled step holds against what its kind needs. */
static void
check_step(const struct sim_step *st)
{
	cJSON *j;
	size_t i;

	if (st->text == NULL)
		abort();
	switch (st->op) {
	case SIM_JOIN:
	case SIM_LEAVE:
		if (st->a == NULL)
			abort();
		break;
	case SIM_PUBLISH:
	case SIM_STATE:
		if (st->a == NULL || st->b == NULL)
			abort();
		if (st->op == SIM_STATE && st->arg == NULL)
			abort();
		break;
	case SIM_SEND:
		if (st->a == NULL || st->a[0] == '\0')
			abort();
		break;
	case SIM_SEND_BINARY:
		if (st->a == NULL)
			abort();
		break;
	case SIM_POLL:
		if (st->arg == NULL || st->every_ms == 0)
			abort();
		/* FALLTHROUGH */
	case SIM_EXPECT:
		if (st->a == NULL)
			abort();
		for (i = 0; i < st->nmatch; i++)
			if (st->match[i].path == NULL ||
			    st->match[i].path[0] == '\0' ||
			    st->match[i].value == NULL)
				abort();
		for (i = 0; i < sizeof frames / sizeof frames[0]; i++) {
			if (sim_step_matches(st, frames[i]) &&
			    !cJSON_IsObject(frames[i]))
				abort();
		}
		if (sim_step_matches(st, NULL))
			abort();
		break;
	default:
		break;
	}
	if (st->arg != NULL && st->op != SIM_SEND_BINARY) {
		j = cJSON_ParseWithOpts(st->arg, NULL, 1);
		if (j == NULL || (st->op == SIM_POLL && !cJSON_IsObject(j)))
			abort();
		cJSON_Delete(j);
	}
}

/* Compile s for one client with v; a refusal names the script and line. */
static void
compile(const struct sim_script *s, const struct sim_vars *v)
{
	struct sim_step *steps = NULL;
	char *cause = NULL;
	size_t n = 0, i, len;

	if (sim_script_compile(s, v, &steps, &n, &cause) == 0) {
		if (cause != NULL || n != s->nlines)
			abort();
		for (i = 0; i < n; i++)
			check_step(&steps[i]);
		sim_steps_free(steps, n);
		return;
	}
	len = strlen(s->name);
	if (cause == NULL || strncmp(cause, s->name, len) != 0 ||
	    cause[len] != ':')
		abort();
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sim_vars v1 = { 0, 1, "lobby" };
	static const struct sim_vars v2 = { 4294967295u, 7, "r$i${room}$$" };
	struct sim_script s;
	char *cause = NULL;
	size_t i;

	if (fd == -1) {
		if ((fd = memfd_create("fuzz.sim", 0)) == -1)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		for (i = 0; i < sizeof frames / sizeof frames[0]; i++)
			if ((frames[i] = cJSON_Parse(frame_texts[i])) == NULL)
				abort();
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();

	if (sim_script_load(&s, path, &cause) != 0) {
		/* Only a NUL byte makes a readable file unreadable. */
		if (cause == NULL || memchr(data, '\0', size) == NULL)
			abort();
		free(cause);
		return 0;
	}
	if (cause != NULL)
		abort();
	for (i = 0; i < s.nlines; i++)
		if (s.lines[i].text[0] == '\0' || s.lines[i].line == 0 ||
		    (i > 0 && s.lines[i].line <= s.lines[i - 1].line))
			abort();
	compile(&s, &v1);
	compile(&s, &v2);
	sim_script_free(&s);
	return 0;
}
