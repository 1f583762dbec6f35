/*
 * sim-send.c owns what a scripted `roomctl sim` client sends: the upgrade
 * (with its token), raw frames, the requests of join, leave, publish and
 * state steps, and poll frames, each with the next ref and a transcript
 * line.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim.h"

/* Append s to b percent-encoded, for a query value. */
static void
sim_add_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			buf_addc(b, *s);
		else
			buf_printf(b, "%%%02X", (unsigned char)*s);
	}
}

/* Open the WebSocket with token (NULL: none) in the query string. */
void
sim_send_connect(struct sim_client *c, const char *token)
{
	const struct ws_url *u = &c->url->url;
	struct buf b;

	buf_init(&b);
	buf_adds(&b, u->path);
	if (token != NULL && *token != '\0') {
		buf_adds(&b, strchr(u->path, '?') != NULL ? "&token=" :
		    "?token=");
		sim_add_escaped(&b, token);
	}
	free(c->path);
	c->path = buf_detach(&b);
	c->attempted = 1;
	c->by_us = 0;
	ws_client_connect(&c->ws, (const struct sockaddr *)&c->url->addr,
	    u->host, u->port, c->path);
}

/*
 * Send a frame, writing it to the transcript. Returns -1 when the client
 * is not connected (or the write failed: on_close follows).
 */
int
sim_send(struct sim_client *c, int opcode, const char *text, size_t len)
{
	if (!c->open || ws_client_send(&c->ws, opcode, text, len) != 0)
		return -1;
	if (opcode == WS_OP_BINARY) {
		char *copy = xstrndup(text, len);
		cJSON *s = cJSON_CreateString(copy);

		sim_transcript(c, "out", s, NULL, 0);
		cJSON_Delete(s);
		free(copy);
	} else
		sim_transcript(c, "out", NULL, text, len);
	return 0;
}

/* Send o (which is freed) as a text frame; returns as sim_send. */
static int
sim_send_json(struct sim_client *c, cJSON *o)
{
	char *text;
	int r;

	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		fatalx("out of memory");
	r = sim_send(c, WS_OP_TEXT, text, strlen(text));
	cJSON_free(text);
	return r;
}

/* Send join, match, leave, publish or state.set with the next ref. */
int
sim_send_request(struct sim_client *c, const struct sim_step *st)
{
	static const char *types[] = {
		[SIM_JOIN] = "join",
		[SIM_MATCH] = "match",
		[SIM_LEAVE] = "leave",
		[SIM_PUBLISH] = "publish",
		[SIM_STATE] = "state.set",
	};
	cJSON *o, *arg = NULL;

	if (st->arg != NULL && (arg = cJSON_Parse(st->arg)) == NULL)
		fatalx("%s: unparsable argument", __func__);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", types[st->op]);
	cJSON_AddNumberToObject(o, "ref", (double)++c->ref);
	if (st->op != SIM_MATCH)
		cJSON_AddStringToObject(o, "room", st->a);
	switch (st->op) {
	case SIM_MATCH:
		cJSON_AddStringToObject(o, "pool", st->a);
		cJSON_AddNumberToObject(o, "size", strtod(st->b, NULL));
		if (arg != NULL)
			cJSON_AddItemToObject(o, "filter", arg);
		break;
	case SIM_JOIN:
		if (arg != NULL)
			cJSON_AddItemToObject(o, "meta", arg);
		break;
	case SIM_PUBLISH:
		cJSON_AddStringToObject(o, "event", st->b);
		if (arg != NULL)
			cJSON_AddItemToObject(o, "data", arg);
		break;
	case SIM_STATE:
		cJSON_AddStringToObject(o, "key", st->b);
		cJSON_AddItemToObject(o, "value", arg);
		break;
	default:
		cJSON_Delete(arg);
		break;
	}
	return sim_send_json(c, o);
}

/* Send a poll step's frame once more, with the next ref in place of its own. */
int
sim_send_poll(struct sim_client *c, const struct sim_step *st)
{
	cJSON *o;

	if ((o = cJSON_Parse(st->arg)) == NULL)
		fatalx("%s: unparsable frame", __func__);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "ref");
	cJSON_AddNumberToObject(o, "ref", (double)++c->ref);
	return sim_send_json(c, o);
}
