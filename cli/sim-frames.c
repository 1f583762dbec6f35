/*
 * sim-frames.c owns what a scripted `roomctl sim` client received: the
 * queue of frames no step consumed yet (bounded by the caller), the
 * transcript of everything sent and received, and the listing of queued
 * frames in a failure message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim.h"

#define SIM_SHOW_FRAMES 5		/* frames listed in a failure */
#define SIM_SHOW_CHARS 300		/* of each of them */

/* Write one transcript line for a frame; json may be NULL (then text). */
void
sim_transcript(struct sim_client *c, const char *dir, const cJSON *json,
    const char *text, size_t len)
{
	struct sim *sim = c->sim;
	cJSON *o, *parsed = NULL;
	char *line, *copy;

	if (sim->transcript == NULL)
		return;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "client", c->index);
	cJSON_AddStringToObject(o, "dir", dir);
	cJSON_AddNumberToObject(o, "t", (double)(mono_ms() - sim->t0));
	if (json == NULL)
		json = parsed = cJSON_ParseWithLength(text, len);
	if (json != NULL)
		cJSON_AddItemReferenceToObject(o, "frame", (cJSON *)json);
	else {
		copy = xstrndup(text, len);
		cJSON_AddStringToObject(o, "frame", copy);
		free(copy);
	}
	line = cJSON_PrintUnformatted(o);
	if (line == NULL)
		fatalx("out of memory");
	fprintf(sim->transcript, "%s\n", line);
	cJSON_free(line);
	cJSON_Delete(o);
	cJSON_Delete(parsed);
}

/* Queue a frame; json (which the queue then owns) is parsed if NULL. */
struct sim_frame *
sim_frame_push(struct sim_client *c, const char *text, size_t len,
    cJSON *json, int binary)
{
	struct sim_frame *f;

	f = xmalloc(sizeof *f + len + 1);
	memcpy(f->text, text, len);
	f->text[len] = '\0';
	f->len = len;
	if (json == NULL && !binary)
		json = cJSON_ParseWithLength(text, len);
	f->json = json;
	TAILQ_INSERT_TAIL(&c->frames, f, entry);
	c->nframes++;
	c->frame_bytes += len;
	return f;
}

/* Unlink and free a frame that was consumed. */
void
sim_frame_drop(struct sim_client *c, struct sim_frame *f)
{
	TAILQ_REMOVE(&c->frames, f, entry);
	c->nframes--;
	c->frame_bytes -= f->len;
	cJSON_Delete(f->json);
	free(f);
}

/* Free every frame still queued. */
void
sim_frames_free(struct sim_client *c)
{
	struct sim_frame *f;

	while ((f = TAILQ_FIRST(&c->frames)) != NULL)
		sim_frame_drop(c, f);
}

/* Queue a frame roomd did not send (refused, close) so `expect` sees it. */
struct sim_frame *
sim_frame_pseudo(struct sim_client *c, cJSON *o)
{
	struct sim_frame *f;
	char *text;

	text = cJSON_PrintUnformatted(o);
	if (text == NULL)
		fatalx("out of memory");
	f = sim_frame_push(c, text, strlen(text), o, 0);
	sim_transcript(c, "in", o, NULL, 0);
	cJSON_free(text);
	return f;
}

/* Append the frames still queued, newest SIM_SHOW_FRAMES, to a message. */
void
sim_frames_describe(const struct sim_client *c, struct buf *b)
{
	const struct sim_frame *f;
	size_t skip, i = 0, n;

	if (c->nframes == 0) {
		buf_adds(b, "; got nothing");
		return;
	}
	buf_adds(b, "; got instead: ");
	skip = c->nframes > SIM_SHOW_FRAMES ? c->nframes - SIM_SHOW_FRAMES : 0;
	if (skip > 0)
		buf_printf(b, "(%zu earlier) ", skip);
	TAILQ_FOREACH(f, &c->frames, entry) {
		if (i++ < skip)
			continue;
		n = f->len;
		if (n > SIM_SHOW_CHARS) {
			n = SIM_SHOW_CHARS;
			/* Do not cut a UTF-8 sequence in two. */
			while (n > 0 && ((unsigned char)f->text[n] & 0xc0) ==
			    0x80)
				n--;
		}
		buf_add(b, f->text, n);
		if (n < f->len)
			buf_adds(b, "...");
		if (i < c->nframes)
			buf_adds(b, ", ");
	}
}

/* Consume the first queued frame matching an expect step, if any. */
int
sim_frames_take(struct sim_client *c, const struct sim_step *st)
{
	struct sim_frame *f;

	TAILQ_FOREACH(f, &c->frames, entry) {
		if (sim_step_matches(st, f->json)) {
			sim_frame_drop(c, f);
			return 1;
		}
	}
	return 0;
}

/*
 * The frame's ref: 1 with a whole number (the refs sim makes) in *ref, 0
 * when it has no ref, -1 for any other ref.
 */
int
sim_frame_ref(const struct sim_frame *f, long long *ref)
{
	const cJSON *it;

	it = cJSON_GetObjectItemCaseSensitive(f->json, "ref");
	if (it == NULL)
		return 0;
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
	    it->valuedouble > 9e15)
		return -1;
	*ref = (long long)it->valuedouble;
	return (double)*ref == it->valuedouble ? 1 : -1;
}

/* Whether frame is an ok (not an error) reply. */
int
sim_frame_is_ok(const struct sim_frame *f)
{
	const cJSON *type;

	type = cJSON_GetObjectItemCaseSensitive(f->json, "type");
	return cJSON_IsString(type) && strcmp(type->valuestring, "ok") == 0;
}
