/*
 * main.c: roomd's start and stop: settings, the one libuv loop that drives
 * libwebsockets and hiredis alike, the wiring of the store's events to the
 * modules that act on them, signals, and an orderly shutdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "roomd.h"
#include "backend.h"

#define SHUTDOWN_GRACE_MS 3000	/* for clients to go */
#define SHUTDOWN_HARD_MS 6000	/* for everything, even a wedged Redis */

struct config cfg;
struct stats stats;
uv_loop_t *loop;
char node_id[ID_MAX + 1];
uint64_t started_at;
int shutting_down;

static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t shutdown_timer, hard_timer;
static uint64_t shutdown_deadline;
static char ctl_channel[128];

/* The command connection answers (again): register, repair what Redis
 * may have lost or missed meanwhile. */
static void
on_store_ready(void)
{
	webhook_store_ready();	/* first: the scripts below may queue notices */
	node_register();
	recover_restore_all();
	join_retry_leaves();
	recover_catch_up_unsent();
}

/* The control channel's subscription is confirmed: send the canary now
 * (node_register sent one when the command connection came up, maybe
 * before the subscription listened) rather than at the next tick, so
 * /healthz says ok a round trip after start or a reconnect, not up to a
 * second later. */
static void
on_store_listening(void)
{
	node_canary();
}

/* A message on the subscription connection: a command or a room frame. */
static void
on_store_message(const char *ch, size_t chlen, const char *text, size_t len)
{
	if (chlen == strlen(ctl_channel) && memcmp(ch, ctl_channel, chlen) == 0)
		ctl_handle(text, len);
	else
		fanout_deliver(ch, chlen, text, len);
}

static const struct store_events store_events = {
	.ready = on_store_ready,
	.resubscribe = room_resubscribe_all,
	.listening = on_store_listening,
	.message = on_store_message,
	.subscribed = join_subscribed,
	.unsubscribed = room_unsubscribed,
	.lost = room_sub_lost,
};

static void
store_begin(void)
{
	struct buf b;

	buf_init(&b);
	key_plain(&b, cfg.prefix, "ctl");
	snprintf(ctl_channel, sizeof ctl_channel, "%s", b.p);
	buf_free(&b);
	store_start(&store_events, ctl_channel);
}

/* Default node id: the host name made id-safe plus a random suffix, so a
 * restarted node is a new node and its predecessor's members are cleaned. */
static void
default_node_id(void)
{
	char host[48] = "roomd";
	unsigned char r[2] = { 0, 0 };

	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	for (char *p = host; *p != '\0'; p++) {
		if (!id_valid(p, 1))
			*p = '-';
	}
	if (getrandom(r, sizeof r, 0) != sizeof r)
		fatal("getrandom");
	snprintf(node_id, sizeof node_id, "%s-%02x%02x", host, r[0], r[1]);
}

/* Only literal loopback addresses: a name could resolve anywhere. */
static int
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return strcmp(host, "localhost") == 0;
}

static void
handle_closed(uv_handle_t *h)
{
	(void)h;
}

/* Wait for clients to go (their leaves are sent as they close), then
 * leave Redis and let the loop run dry. */
static void
shutdown_poll(uv_timer_t *t)
{
	if (conn_count() > 0 && mono_ms() < shutdown_deadline)
		return;
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, handle_closed);
	node_stop();
	pace_stop();
	webhook_stop();		/* backend */
	server_stop();
	http_stop();		/* backend */
	store_stop();
	uv_close((uv_handle_t *)&sig_term, handle_closed);
	uv_close((uv_handle_t *)&sig_int, handle_closed);
	uv_close((uv_handle_t *)&sig_hup, handle_closed);
	uv_close((uv_handle_t *)&hard_timer, handle_closed);
}

/* Shutdown waits on Redis for the members' leaves; not forever. */
static void
hard_exit(uv_timer_t *t)
{
	(void)t;
	log_warnx("shutdown did not finish in %d s: exiting",
	    SHUTDOWN_HARD_MS / 1000);
	exit(0);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	/* A terminal's Ctrl-C and a parent like make or timeout often
	 * deliver the same request twice: shutdown is bounded anyway. */
	if (shutting_down)
		return;
	shutting_down = 1;
	uv_timer_init(loop, &hard_timer);
	uv_timer_start(&hard_timer, hard_exit, SHUTDOWN_HARD_MS, 0);
	uv_unref((uv_handle_t *)&hard_timer);
	log_info("shutting down on %s", signum == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	conn_close_all(1001, "server shutting down");
	shutdown_deadline = mono_ms() + SHUTDOWN_GRACE_MS;
	uv_timer_init(loop, &shutdown_timer);
	uv_timer_start(&shutdown_timer, shutdown_poll, 20, 20);
}

/* SIGHUP: read the certificate and key again, for new connections. */
static void
on_hup(uv_signal_t *h, int signum)
{
	(void)h;
	(void)signum;
	tls_reload();
}

int
main(int argc, char **argv)
{
	char *cause = NULL, where[300];
	int rc;

	rc = config_load(&cfg, argc, argv, &cause);
	if (rc == CONFIG_EXIT)
		return 0;
	if (rc != CONFIG_OK) {
		fprintf(stderr, "roomd: %s\n", cause);
		free(cause);
		return 2;
	}
	/* backend: a connect hook authenticates clients too. */
	if (cfg.auth_secret == NULL && cfg.connect_url == NULL &&
	    !cfg.insecure && !is_loopback(cfg.listen_host)) {
		fprintf(stderr, "roomd: refusing to listen on %s without "
		    "--auth-secret; give --insecure to allow anonymous clients\n",
		    cfg.listen);
		config_free(&cfg);
		return 2;
	}
	if (tls_check(&cause) != 0) {
		fprintf(stderr, "roomd: %s\n", cause);
		free(cause);
		config_free(&cfg);
		return 2;
	}
	if (cfg.check_config) {
		printf("roomd: configuration ok\n");
		tls_free();
		config_free(&cfg);
		return 0;
	}
	log_init("roomd", cfg.log_level, cfg.log_format);
	if (cfg.workers > 1) {
		tls_free();
		rc = supervise_run(argc, argv);
		config_free(&cfg);
		return rc;
	}
	if (cfg.node_id != NULL)
		snprintf(node_id, sizeof node_id, "%s", cfg.node_id);
	else
		default_node_id();
	started_at = time_ms();
	signal(SIGPIPE, SIG_IGN);

	loop = uv_default_loop();
	uv_signal_init(loop, &sig_term);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_init(loop, &sig_int);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_init(loop, &sig_hup);
	uv_signal_start(&sig_hup, on_hup, SIGHUP);

	if (cfg.redis_cluster != NULL)
		snprintf(where, sizeof where, "cluster %s", cfg.redis_cluster);
	else
		redis_url_format(&cfg.redis_url, where, sizeof where);
	log_info("roomd %s starting: node %s, redis %s", ROOMD_VERSION,
	    node_id, where);
	if (server_start() != 0) {
		log_error("cannot listen on %s", cfg.listen);
		config_free(&cfg);
		return 1;
	}
	if (http_start() != 0) {	/* backend: hooks and webhooks */
		log_error("cannot start the HTTP client (libcurl)");
		config_free(&cfg);
		return 1;
	}
	defer_init(request_run);
	store_begin();
	node_start();
	webhook_start();	/* backend */
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	log_info("stopped");
	tls_free();
	config_free(&cfg);
	return 0;
}
