/*
 * backend-metrics.c owns the /metrics series of the back-end features:
 * hook calls by hook and outcome, hook latency as a histogram, and the
 * HTTP API's requests; webhook series come from webhook.c.
 */
#include "roomd.h"
#include "backend.h"

static const char *const hook_names[HOOK_KINDS] = { "connect", "publish" };
static const char *const result_names[HOOK_RESULTS] = { "ok", "rejected",
	"error", "timeout" };
/* Latency bucket bounds, in milliseconds. */
static const uint64_t bounds_ms[] = { 1, 2, 5, 10, 25, 50, 100, 250, 500,
	1000, 2500, 5000, 10000 };
#define NBOUNDS (sizeof bounds_ms / sizeof bounds_ms[0])

static uint64_t calls[HOOK_KINDS][HOOK_RESULTS];
static uint64_t buckets[HOOK_KINDS][NBOUNDS];
static uint64_t count[HOOK_KINDS];
static uint64_t sum_ms[HOOK_KINDS];
uint64_t metrics_api_requests, metrics_api_refused;

/* Count one hook call with its outcome and how long it took. */
void
metrics_hook(enum hook_kind k, enum hook_result r, uint64_t ms)
{
	calls[k][r]++;
	count[k]++;
	sum_ms[k] += ms;
	for (size_t i = 0; i < NBOUNDS; i++) {
		if (ms <= bounds_ms[i])
			buckets[k][i]++;
	}
}

void
metrics_backend_render(struct buf *b)
{
	buf_adds(b, "# HELP roomd_hook_calls_total Hook calls by hook and "
	    "outcome.\n# TYPE roomd_hook_calls_total counter\n");
	for (int k = 0; k < HOOK_KINDS; k++)
		for (int r = 0; r < HOOK_RESULTS; r++)
			buf_printf(b, "roomd_hook_calls_total{hook=\"%s\","
			    "outcome=\"%s\"} %llu\n", hook_names[k],
			    result_names[r], (unsigned long long)calls[k][r]);
	buf_adds(b, "# HELP roomd_hook_duration_seconds Time from a hook "
	    "call to its answer.\n# TYPE roomd_hook_duration_seconds "
	    "histogram\n");
	for (int k = 0; k < HOOK_KINDS; k++) {
		for (size_t i = 0; i < NBOUNDS; i++)
			buf_printf(b, "roomd_hook_duration_seconds_bucket{hook="
			    "\"%s\",le=\"%g\"} %llu\n", hook_names[k],
			    (double)bounds_ms[i] / 1000.0,
			    (unsigned long long)buckets[k][i]);
		buf_printf(b, "roomd_hook_duration_seconds_bucket{hook=\"%s\","
		    "le=\"+Inf\"} %llu\n", hook_names[k],
		    (unsigned long long)count[k]);
		buf_printf(b, "roomd_hook_duration_seconds_sum{hook=\"%s\"} "
		    "%.3f\n", hook_names[k], (double)sum_ms[k] / 1000.0);
		buf_printf(b, "roomd_hook_duration_seconds_count{hook=\"%s\"} "
		    "%llu\n", hook_names[k], (unsigned long long)count[k]);
	}
	buf_printf(b, "# HELP roomd_api_requests_total HTTP API requests.\n"
	    "# TYPE roomd_api_requests_total counter\n"
	    "roomd_api_requests_total %llu\n",
	    (unsigned long long)metrics_api_requests);
	buf_printf(b, "# HELP roomd_api_rate_limited_total HTTP API requests "
	    "refused over the node's rate.\n"
	    "# TYPE roomd_api_rate_limited_total counter\n"
	    "roomd_api_rate_limited_total %llu\n",
	    (unsigned long long)metrics_api_refused);
	webhook_metrics(b);
}
