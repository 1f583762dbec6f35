/*
 * sim.h: the private structs of `roomctl sim`'s scripted mode, shared by
 * its files, whose calls go one way: sim-run.c (set-up, teardown) ->
 * sim-client.c (running the steps, the WebSocket callbacks) -> sim-send.c
 * (frames out) -> sim-frames.c (frames in, the transcript).
 */
#ifndef ROOMCTL_SIM_H
#define ROOMCTL_SIM_H

#include <sys/queue.h>

#include <stdio.h>

#include "roomctl.h"

#define SIM_CONNECT_MS 5000		/* connect: upgraded or refused */
#define SIM_JOIN_MS 5000		/* join, match: the reply with our ref */
#define SIM_DISCONNECT_MS 3000		/* over wsclient's own 2s */
#define SIM_SLACK_MS 10000		/* added to the run's global bound */
/* Frames a client keeps for later expects: more fails it (a flood). */
#define SIM_KEEP_FRAMES 10000
#define SIM_KEEP_BYTES (64u << 20)	/* above roomd's 8 MiB queue, times a few */

/* What a client is waiting for before its next step. */
enum sim_wait {
	SIM_WAIT_NONE,
	SIM_WAIT_CONNECT,
	SIM_WAIT_JOIN,
	SIM_WAIT_EXPECT,
	SIM_WAIT_POLL,
	SIM_WAIT_SLEEP,
	SIM_WAIT_BARRIER,
	SIM_WAIT_DISCONNECT
};

/* A frame received and not consumed yet; freed when consumed or at exit. */
struct sim_frame {
	TAILQ_ENTRY(sim_frame) entry;
	struct cJSON *json;		/* NULL when not JSON */
	size_t len;
	char text[];			/* NUL-terminated */
};
TAILQ_HEAD(sim_frames, sim_frame);

struct sim;

/* One simulated client; the array of them is freed after the loop ends. */
struct sim_client {
	struct ws_client ws;
	struct sim *sim;
	unsigned index;
	const struct sim_url *url;
	struct sim_step *steps;
	size_t nsteps;
	size_t pc;			/* step running or next */
	long long ref;			/* last ref sent */
	enum sim_wait wait;
	long long wait_ref;		/* join: the reply's ref; poll: first */
	uint64_t deadline;		/* poll: mono_ms when it fails */
	int implicit;			/* this connect is no step */
	int attempted;			/* some connect was made */
	int open;			/* between on_open and on_close */
	int by_us;			/* we started the close */
	int ready;			/* to be run by the kick timer */
	int running;			/* inside sim_client_run */
	int done;			/* ran its last step */
	int stalled;			/* not reading: a stall step */
	uv_timer_t timer;		/* the wait's bound, or sleep */
	struct sim_frames frames;
	size_t nframes;
	size_t frame_bytes;		/* text of the frames kept */
	char *path;			/* the URL's path and token query */
};

/* A scripted run; sim_run owns it. */
struct sim {
	struct sim_loop sl;		/* the loop and the URLs */
	const struct sim_opts *opts;
	const struct sim_script *script;	/* the caller's */
	struct sim_client *clients;
	unsigned n;
	unsigned active;		/* clients not done */
	unsigned at_barrier;		/* clients waiting at the barrier */
	int stopping;
	char *failure;			/* first failure, or NULL */
	FILE *transcript;
	uint64_t t0;
	uv_timer_t kick;		/* runs the clients marked ready */
	uv_timer_t guard;		/* bounds the whole run */
	uint64_t guard_ms;
};

/* sim-client.c */
extern const struct ws_client_cb sim_ws_cb;
void sim_client_run(struct sim_client *);
void sim_kick(uv_timer_t *);
void sim_guard_fired(uv_timer_t *);

/* sim-send.c */
void sim_send_connect(struct sim_client *, const char *);
int sim_send(struct sim_client *, int, const char *, size_t);
int sim_send_request(struct sim_client *, const struct sim_step *);
int sim_send_poll(struct sim_client *, const struct sim_step *);

/* sim-frames.c */
void sim_transcript(struct sim_client *, const char *, const struct cJSON *,
    const char *, size_t);
struct sim_frame *sim_frame_push(struct sim_client *, const char *, size_t,
    struct cJSON *, int);
void sim_frame_drop(struct sim_client *, struct sim_frame *);
struct sim_frame *sim_frame_pseudo(struct sim_client *, struct cJSON *);
void sim_frames_free(struct sim_client *);
void sim_frames_describe(const struct sim_client *, struct buf *);
int sim_frames_take(struct sim_client *, const struct sim_step *);
int sim_frame_ref(const struct sim_frame *, long long *);
int sim_frame_is_ok(const struct sim_frame *);

#endif
