#!/usr/bin/env bats
# http.bats: the plain HTTP side of roomd's port (CLI.md): GET /healthz (200
# with JSON while Redis answers and the node's own subscription delivers,
# 503 otherwise, 200 again after Redis is back), GET /metrics (Prometheus
# text whose counters follow what clients did), 404 for other paths.

load lib/common

@test "healthz: 200 with JSON naming the node while Redis answers" {
	two_nodes
	wait_for 5 healthz_is n1 200
	run http_body n1 /healthz
	assert_success
	run jq -c '[.status, .node, .redis]' <<<"$output"
	assert_output '["ok","n1",true]'
	run curl -s -o /dev/null -w '%{content_type}' --max-time 3 \
	    "http://127.0.0.1:$PORT_n2/healthz"
	assert_output --partial application/json
	wait_for 5 healthz_is n2 200
	run http_body n2 /healthz
	assert_success
	run jq -r .node <<<"$output"
	assert_output n2
}

@test "unknown paths get 404; /ws without an upgrade is not a 200" {
	two_nodes
	run http_code n1 /nope
	assert_output 404
	run http_code n1 /healthz/x
	assert_output 404
	run http_code n1 /metricsx
	assert_output 404
	run http_code n1 /ws
	refute_output 200
	refute_output 101
	refute_output 000
	# A WebSocket upgrade anywhere but /ws is refused.
	UPGRADE_PATH=/chat run upgrade_code n1
	assert_output 404
	run upgrade_code n1
	assert_output 101
	# The node still serves.
	sim - <<'EOF'
join r
EOF
	assert_success
}

@test "metrics: Prometheus text with every series, counters follow client traffic" {
	two_nodes
	M=$BATS_TEST_TMPDIR/m1.txt
	http_body n1 /metrics >"$M"
	for s in roomd_connections roomd_rooms roomd_frames_in_total \
	    roomd_frames_out_total roomd_bytes_in_total roomd_bytes_out_total \
	    roomd_redis_rtt_seconds roomd_slow_consumer_drops_total \
	    'roomd_requests_total{type="join"}' \
	    'roomd_requests_total{type="publish"}' \
	    'roomd_errors_total{code="not_member"}' \
	    'roomd_errors_total{code="bad_json"}'; do
		grep -qF "$s " "$M" || fail "no series $s in /metrics"
	done
	# Well-formed: every sample is NAME[{LABELS}] VALUE, and every metric
	# has HELP and TYPE lines.
	run grep -Ev '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$' "$M"
	assert_output ''
	run awk '
	    /^# TYPE / { type[$3] = $4 }
	    /^# HELP / { help[$3] = 1 }
	    /^[a-z]/ {
		n = $1; sub(/\{.*/, "", n)
		h = n; sub(/_(bucket|sum|count)$/, "", h)
		if (type[h] == "histogram") n = h
		if (!(n in type) || !(n in help)) print "no HELP or TYPE: " n
		if (type[n] != "counter" && type[n] != "gauge" &&
		    type[n] != "histogram")
			print "odd TYPE: " n
	    }' "$M"
	assert_output ''
	run metric n1 roomd_frames_in_total
	assert_output 0

	# Two clients hold a room on n1 while one on n2 publishes into it.
	sim_bg hold --clients 2 - <<'EOF'
join r
expect event event=go within 20s
EOF
	wait_for 10 members_are r 2
	[ "$(metric n1 roomd_connections)" = 2 ]
	[ "$(metric n1 roomd_rooms)" = 1 ]
	sim --url "$URL_n2" - <<'EOF'
join r
publish r go
EOF
	assert_success
	sim_wait hold
	assert_success
	sim - <<'EOF'
send {"type":"publish","room":"nope","event":"x","ref":"a"}
expect error ref=a code=not_member
send not json
expect error code=bad_json
send {"type":"ping","ref":"p"}
expect ok ref=p
EOF
	assert_success

	wait_for 5 eval '[ "$(metric n1 roomd_connections)" = 0 ]'
	run metric n1 roomd_rooms
	assert_output 0
	# join x2, publish, bad_json, ping: 5 frames in (a client sends
	# nothing else).
	run metric n1 roomd_frames_in_total
	assert_output 5
	run metric n1 'roomd_requests_total{type="join"}'
	assert_output 2
	run metric n1 'roomd_requests_total{type="publish"}'
	assert_output 1
	run metric n1 'roomd_requests_total{type="ping"}'
	assert_output 1
	run metric n1 'roomd_errors_total{code="not_member"}'
	assert_output 1
	run metric n1 'roomd_errors_total{code="bad_json"}'
	assert_output 1
	run metric n1 'roomd_errors_total{code="forbidden"}'
	assert_output 0
	# Out: 3 welcomes, 2 join oks, member_joined x3 and the event to each
	# of two, two errors and an ok: at least 13 frames.
	run metric n1 roomd_frames_out_total
	[ "$output" -ge 13 ]
	[ "$(metric n1 roomd_bytes_in_total)" -gt 50 ]
	[ "$(metric n1 roomd_bytes_out_total)" -gt 500 ]
	run metric n1 roomd_redis_rtt_seconds
	assert_output --regexp '^[0-9]+\.[0-9]+$'
	[ "$(awk '{ print ($1 > 0 && $1 < 5) }' <<<"$output")" = 1 ]
	run metric n1 roomd_slow_consumer_drops_total
	assert_output 0
	# n2 counted its own client only.
	run metric n2 'roomd_requests_total{type="join"}'
	assert_output 1
}

@test "healthz: 503 while Redis is down, 200 again once it is back" {
	two_nodes
	wait_for 5 healthz_is n1 200
	redis_stop
	wait_for 5 healthz_is n1 503
	run http_body n1 /healthz
	assert_success
	run jq -c '[.status, .node, .redis]' <<<"$output"
	assert_output '["unavailable","n1",false]'
	run metric n1 roomd_redis_up
	assert_output 0
	# A request needing Redis gets unavailable meanwhile.
	sim - <<'EOF'
send {"type":"join","room":"r","ref":"j"}
expect error ref=j code=unavailable
send {"type":"ping","ref":"p"}
expect ok ref=p
EOF
	assert_success
	redis_restart
	wait_for 15 healthz_is n1 200
	wait_for 5 healthz_is n2 200
	run http_body n1 /healthz
	assert_success
	run jq -c '[.status, .redis]' <<<"$output"
	assert_output '["ok",true]'
	run metric n1 roomd_redis_up
	assert_output 1
	grep -q 'connection lost' "$BATS_TEST_TMPDIR/n1.log"
}

@test "healthz: 503 while the node's own subscription does not deliver" {
	redis_start
	roomd_start n1
	wait_for 5 healthz_is n1 200
	# Pause writes, PUBLISH included: the connections stay up, but the
	# canary the node sends itself every second no longer comes back.
	redis_cli client pause 6500 write
	wait_for 8 healthz_is n1 503
	run http_body n1 /healthz
	assert_success
	run jq -c '[.status, .redis]' <<<"$output"
	assert_output '["unavailable",true]'
	# The pause ends by itself: healthy again.
	wait_for 8 healthz_is n1 200
}
