/*
 * supervise.c: --workers N. The supervisor starts N roomd workers on the
 * same port (each runs this binary again with --workers 1 --reuse-port
 * --node-id <id>-<k>, so each is a node of its own with its own Redis
 * connections), starts one again when it dies (with backoff), and passes
 * SIGTERM, SIGINT and SIGHUP on. It opens no socket: the kernel spreads
 * new connections over the workers' listeners (SO_REUSEPORT), and client
 * traffic never passes through it.
 *
 * Node ids: with --node-id ID the workers are ID-1 ... ID-N; without it
 * the supervisor picks one default id (host name and a random suffix) at
 * start, as a single roomd does. A worker started again keeps its id, and
 * its first registration removes its predecessor's members (node_lost).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "roomd.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 10000		/* a worker up this long resets its backoff */
#define STOP_KILL_MS 10000	/* SIGKILL workers still up after SIGTERM */

struct worker {
	pid_t pid;		/* 0: not running */
	unsigned k;		/* 1..N */
	char id[ID_MAX + 16];	/* config.c keeps it to ID_MAX */
	uint64_t started_ms;
	unsigned fails;		/* quick deaths in a row */
	uint64_t restart_ms;	/* when to start again; 0: not waiting */
};

static struct worker *workers;
static unsigned nworkers;
static sigset_t old_mask;

static void
base_node_id(char *out, size_t outlen)
{
	char host[40] = "roomd";
	unsigned char r[2] = { 0, 0 };

	if (cfg.node_id != NULL) {
		snprintf(out, outlen, "%s", cfg.node_id);
		return;
	}
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	for (char *p = host; *p != '\0'; p++) {
		if (!id_valid(p, 1))
			*p = '-';
	}
	if (getrandom(r, sizeof r, 0) != sizeof r)
		fatal("getrandom");
	snprintf(out, outlen, "%s-%02x%02x", host, r[0], r[1]);
}

/* Start worker w: this binary, the same arguments, and the overrides
 * (the command line's last value of an option wins). */
static void
worker_start(struct worker *w, int argc, char **argv)
{
	char **av;
	pid_t pid;
	int i;

	av = xcalloc((size_t)argc + 8, sizeof *av);
	for (i = 0; i < argc; i++)
		av[i] = argv[i];
	av[i++] = "--workers";
	av[i++] = "1";
	av[i++] = "--reuse-port";
	av[i++] = "--node-id";
	av[i++] = w->id;
	av[i] = NULL;
	pid = fork();
	if (pid < 0) {
		log_error("supervisor: cannot start worker %u: %s", w->k,
		    strerror(errno));
		free(av);
		w->restart_ms = mono_ms() + BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0) {
		/* The workers go when the supervisor does, even by SIGKILL. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execv("/proc/self/exe", av);
		execvp(argv[0], av);
		fprintf(stderr, "roomd: supervisor: cannot run %s: %s\n",
		    argv[0], strerror(errno));
		_exit(127);
	}
	free(av);
	w->pid = pid;
	w->started_ms = mono_ms();
	w->restart_ms = 0;
	log_info("supervisor: worker %u started: pid %d, node %s", w->k,
	    (int)pid, w->id);
}

static struct worker *
worker_by_pid(pid_t pid)
{
	for (unsigned i = 0; i < nworkers; i++) {
		if (workers[i].pid == pid)
			return &workers[i];
	}
	return NULL;
}

static unsigned
workers_running(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nworkers; i++)
		n += workers[i].pid != 0;
	return n;
}

static void
signal_all(int sig)
{
	for (unsigned i = 0; i < nworkers; i++) {
		if (workers[i].pid != 0)
			kill(workers[i].pid, sig);
	}
}

/* Reap every worker that ended; schedule its restart unless stopping. */
static int
reap(int stopping)
{
	struct worker *w;
	uint64_t now, up, delay;
	int status, bad = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((w = worker_by_pid(pid)) == NULL)
			continue;
		w->pid = 0;
		now = mono_ms();
		up = now - w->started_ms;
		/* Stopped as asked; SIGTERM before its handler was set up
		 * counts too. */
		if (stopping && ((WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0) || (WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGTERM))) {
			log_info("supervisor: worker %u (node %s) stopped",
			    w->k, w->id);
			continue;
		}
		if (WIFSIGNALED(status))
			log_warnx("supervisor: worker %u (pid %d, node %s) "
			    "killed by signal %d after %llu ms", w->k, (int)pid,
			    w->id, WTERMSIG(status), (unsigned long long)up);
		else
			log_warnx("supervisor: worker %u (pid %d, node %s) "
			    "exited with status %d after %llu ms", w->k,
			    (int)pid, w->id, WEXITSTATUS(status),
			    (unsigned long long)up);
		if (stopping) {
			bad = 1;
			continue;
		}
		w->fails = up >= STABLE_MS ? 0 : w->fails + 1;
		delay = BACKOFF_MIN_MS;
		for (unsigned f = 1; f < w->fails && delay < BACKOFF_MAX_MS;
		    f++)
			delay *= 2;
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		w->restart_ms = now + delay;
		log_info("supervisor: restarting worker %u in %llu ms", w->k,
		    (unsigned long long)delay);
	}
	return bad;
}

int
supervise_run(int argc, char **argv)
{
	struct timespec ts;
	siginfo_t si;
	sigset_t set;
	char base[ID_MAX + 1];
	uint64_t now, next, stop_deadline = 0;
	int sig, stopping = 0, bad = 0;
	unsigned i;

	nworkers = (unsigned)cfg.workers;
	workers = xcalloc(nworkers, sizeof *workers);
	base_node_id(base, sizeof base);	/* short enough: config.c */

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	signal(SIGPIPE, SIG_IGN);

	log_info("roomd %s supervisor: pid %d, %u workers on %s, nodes %s-1 "
	    "to %s-%u", ROOMD_VERSION, (int)getpid(), nworkers, cfg.listen,
	    base, base, nworkers);
	for (i = 0; i < nworkers; i++) {
		workers[i].k = i + 1;
		snprintf(workers[i].id, sizeof workers[i].id, "%s-%u", base,
		    i + 1);
		worker_start(&workers[i], argc, argv);
	}

	for (;;) {
		now = mono_ms();
		next = now + 1000;
		for (i = 0; i < nworkers && !stopping; i++) {
			struct worker *w = &workers[i];

			if (w->pid != 0 || w->restart_ms == 0)
				continue;
			if (w->restart_ms <= now)
				worker_start(w, argc, argv);
			else if (w->restart_ms < next)
				next = w->restart_ms;
		}
		if (stopping && workers_running() == 0)
			break;
		if (stopping && now >= stop_deadline) {
			log_warnx("supervisor: workers still up %d s after "
			    "SIGTERM: killing them", STOP_KILL_MS / 1000);
			signal_all(SIGKILL);
			bad = 1;
			stop_deadline = now + STOP_KILL_MS;
		}
		ts.tv_sec = (time_t)((next - now) / 1000);
		ts.tv_nsec = (long)((next - now) % 1000) * 1000000L;
		sig = sigtimedwait(&set, &si, &ts);
		if (sig < 0)
			continue;	/* timeout or EINTR */
		switch (sig) {
		case SIGCHLD:
			bad |= reap(stopping);
			break;
		case SIGHUP:
			log_info("supervisor: SIGHUP: passing it to %u workers",
			    workers_running());
			signal_all(SIGHUP);
			break;
		default:
			if (stopping)
				break;
			stopping = 1;
			stop_deadline = mono_ms() + STOP_KILL_MS;
			log_info("supervisor: shutting down on %s: stopping "
			    "%u workers", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			    workers_running());
			signal_all(SIGTERM);
			break;
		}
	}
	log_info("supervisor: every worker stopped");
	free(workers);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return bad ? 1 : 0;
}
