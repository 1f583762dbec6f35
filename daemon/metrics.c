/*
 * metrics.c: the counters behind GET /metrics, rendered in the Prometheus
 * text format: connections, rooms, frames and bytes, requests by type,
 * errors by code, Redis round-trip time and slow-consumer drops.
 */
#include "cluster.h"
#include "roomd.h"
#include "backend.h"

static uint64_t errors_by_code[ERR_COUNT];
/* By enum req_type, and last those of no known type ("other"). */
static uint64_t requests_by_type[REQ_TYPE_COUNT + 1];

/* Count an error reply; codes are an enum, so none goes uncounted. */
void
metrics_error(enum err_code code)
{
	if ((unsigned)code < ERR_COUNT)
		errors_by_code[code]++;
}

/* Count a request of the type e (NULL: a type the table does not have). */
void
metrics_request(const struct req_entry *e)
{
	if (e != NULL && (unsigned)e->type < REQ_TYPE_COUNT)
		requests_by_type[e->type]++;
	else
		requests_by_type[REQ_TYPE_COUNT]++;
}

static void
metric(struct buf *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name,
	    type, name, (unsigned long long)v);
}

void
metrics_render(struct buf *b)
{
	metric(b, "roomd_connections", "gauge", "Open WebSocket connections.",
	    conn_count());
	metric(b, "roomd_connections_total", "counter",
	    "WebSocket connections accepted.", stats.conns_total);
	metric(b, "roomd_rooms", "gauge", "Rooms with members on this node.",
	    room_count());
	metric(b, "roomd_frames_in_total", "counter",
	    "Frames received from clients.", stats.frames_in);
	metric(b, "roomd_frames_out_total", "counter",
	    "Frames sent to clients.", stats.frames_out);
	metric(b, "roomd_bytes_in_total", "counter",
	    "Bytes received from clients.", stats.bytes_in);
	metric(b, "roomd_bytes_out_total", "counter",
	    "Bytes sent to clients.", stats.bytes_out);
	metric(b, "roomd_slow_consumer_drops_total", "counter",
	    "Connections closed because they did not read.",
	    stats.slow_consumers);
	metric(b, "roomd_refused_total", "counter",
	    "Connections refused at the upgrade (auth, limits).",
	    stats.refused);
	metric(b, "roomd_tls_reloads_total", "counter",
	    "Certificate reloads on SIGHUP that took effect.",
	    stats.tls_reloads);
	buf_adds(b, "# HELP roomd_requests_total Requests by type.\n"
	    "# TYPE roomd_requests_total counter\n");
	for (int i = 0; i <= REQ_TYPE_COUNT; i++)
		buf_printf(b, "roomd_requests_total{type=\"%s\"} %llu\n",
		    req_type_name((enum req_type)i),
		    (unsigned long long)requests_by_type[i]);
	buf_adds(b, "# HELP roomd_errors_total Error replies by code.\n"
	    "# TYPE roomd_errors_total counter\n");
	for (int i = 0; i < ERR_COUNT; i++)
		buf_printf(b, "roomd_errors_total{code=\"%s\"} %llu\n",
		    err_name((enum err_code)i),
		    (unsigned long long)errors_by_code[i]);
	buf_printf(b, "# HELP roomd_redis_up Whether both Redis connections "
	    "are up.\n# TYPE roomd_redis_up gauge\nroomd_redis_up %d\n",
	    store_ready());
	if (store_cluster()) {
		struct cluster_shard sh[64];
		size_t n = store_shards(sh, sizeof sh / sizeof sh[0]);

		buf_adds(b, "# HELP roomd_redis_shard_up Whether each Redis "
		    "Cluster master answers.\n# TYPE roomd_redis_shard_up "
		    "gauge\n");
		for (size_t i = 0; i < n && i < sizeof sh / sizeof sh[0]; i++)
			buf_printf(b, "roomd_redis_shard_up{shard=\"%s\"} %d\n",
			    sh[i].addr, sh[i].up != 0);
	}
	buf_printf(b, "# HELP roomd_redis_rtt_seconds Moving average of "
	    "script round trips.\n# TYPE roomd_redis_rtt_seconds gauge\n"
	    "roomd_redis_rtt_seconds %.6f\n", store_rtt_ms() / 1000.0);
	metrics_backend_render(b);	/* backend: hooks, API, webhooks */
}
