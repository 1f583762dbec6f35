/*
 * sim-run.c owns a scripted `roomctl sim` run from start to end: compiling
 * the script for every client before anything connects, setting up the
 * clients, the loop and the transcript, bounding the whole run, and
 * reporting its outcome. Running the steps is sim-client.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* The longest a client's steps may wait, to bound the whole run. */
static uint64_t
sim_bound_ms(const struct sim_client *c)
{
	const struct sim_step *st;
	uint64_t ms = SIM_CONNECT_MS;	/* the implicit connect */
	size_t i;

	for (i = 0; i < c->nsteps; i++) {
		st = &c->steps[i];
		switch (st->op) {
		case SIM_CONNECT:
			ms += SIM_CONNECT_MS;
			break;
		case SIM_JOIN:
		case SIM_MATCH:
			ms += SIM_JOIN_MS;
			break;
		case SIM_EXPECT:
		case SIM_POLL:
		case SIM_SLEEP:
		case SIM_STALL:
			ms += st->ms;
			break;
		case SIM_DISCONNECT:
			ms += SIM_DISCONNECT_MS;
			break;
		default:
			break;
		}
	}
	return ms;
}

/* Compile the script for every client, before anything connects. */
static int
sim_compile(struct sim *sim, const struct sim_script *script)
{
	struct sim_client *c;
	struct sim_vars v;
	char *cause;
	unsigned i;
	uint64_t ms;

	sim->script = script;
	for (i = 0; i < sim->n; i++) {
		c = &sim->clients[i];
		v.i = i;
		v.n = sim->n;
		v.room = sim->opts->room;
		if (sim_script_compile(script, &v, &c->steps, &c->nsteps,
		    &cause) != 0) {
			if (i == 0)
				cmd_error("%s", cause);
			else
				cmd_error("%s (client %u)", cause, i);
			free(cause);
			return -1;
		}
		ms = sim_bound_ms(c);
		if (ms > sim->guard_ms)
			sim->guard_ms = ms;
	}
	sim->guard_ms += SIM_SLACK_MS;
	return 0;
}

/* Free what the clients hold; the loop has ended (or never ran). */
static void
sim_free(struct sim *sim)
{
	struct sim_client *c;
	unsigned i;

	for (i = 0; i < sim->n; i++) {
		c = &sim->clients[i];
		sim_frames_free(c);
		sim_steps_free(c->steps, c->nsteps);
		free(c->path);
		ws_client_free(&c->ws);
	}
	free(sim->clients);
	free(sim->failure);
}

/*
 * Run the script on opts->clients clients. Returns EXIT_OK when every
 * client finished it, EXIT_FAIL on the first failure (reported on stderr),
 * EXIT_USAGE for a bad script or URL, before anything connects.
 */
int
sim_run(const struct sim_opts *opts, const struct sim_script *script)
{
	struct sim sim;
	struct sim_client *c;
	unsigned i;
	int rc = EXIT_OK;

	memset(&sim, 0, sizeof sim);
	sim.opts = opts;
	sim.n = opts->clients;
	sim.active = sim.n;
	sim.clients = xcalloc(sim.n, sizeof *sim.clients);
	for (i = 0; i < sim.n; i++) {
		c = &sim.clients[i];
		c->sim = &sim;
		c->index = i;
		TAILQ_INIT(&c->frames);
	}
	if (sim_compile(&sim, script) != 0) {
		sim_free(&sim);
		return EXIT_USAGE;
	}
	if ((rc = sim_loop_open(&sim.sl, opts)) != 0) {
		sim_free(&sim);
		return rc;
	}
	if (opts->transcript != NULL &&
	    (sim.transcript = fopen(opts->transcript, "w")) == NULL) {
		cmd_error("sim: %s: %s", opts->transcript, strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}

	uv_timer_init(&sim.sl.loop, &sim.kick);
	sim.kick.data = &sim;
	uv_timer_init(&sim.sl.loop, &sim.guard);
	sim.guard.data = &sim;
	uv_timer_start(&sim.guard, sim_guard_fired, sim.guard_ms, 0);
	for (i = 0; i < sim.n; i++) {
		c = &sim.clients[i];
		c->url = &sim.sl.urls[i % sim.sl.nurls];
		ws_client_init(&c->ws, &sim.sl.loop, &sim_ws_cb, c);
		uv_timer_init(&sim.sl.loop, &c->timer);
		c->timer.data = c;
	}

	sim.t0 = mono_ms();
	for (i = 0; i < sim.n && !sim.stopping; i++)
		sim_client_run(&sim.clients[i]);
	uv_run(&sim.sl.loop, UV_RUN_DEFAULT);

	if (sim.failure != NULL) {
		cmd_error("sim: %s", sim.failure);
		rc = EXIT_FAIL;
	}
	if (sim.transcript != NULL && fclose(sim.transcript) != 0) {
		cmd_error("sim: %s: %s", opts->transcript, strerror(errno));
		rc = EXIT_FAIL;
	}
out:
	sim_loop_close(&sim.sl);
	sim_free(&sim);
	return rc;
}
