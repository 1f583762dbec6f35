#!/usr/bin/env bats
# backend.bats: what roomd-backend(7) promises as a whole: its example back
# end works as written, the back-end options are checked at start, and
# /metrics carries the back-end series. The parts have their own suites:
# api.bats, hooks.bats, webhooks.bats.

load lib/common
load lib/backend

# example_backend PORT: the Python back end of roomd-backend(7)'s EXAMPLES,
# as written there, on PORT instead of 8080.
example_backend() {
	sed -n '/^import hashlib/,/serve_forever()/p' "$ROOT/man/roomd-backend.7" |
	    sed 's/\\e/\\/g; s/\\-/-/g' | sed "s/8080/$1/"
}

@test "the example back end of roomd-backend(7) works as written" {
	redis_start
	port=$(free_port)
	example_backend "$port" >"$BATS_TEST_TMPDIR/example.py"
	grep -q 'serve_forever' "$BATS_TEST_TMPDIR/example.py"
	python3 -u "$BATS_TEST_TMPDIR/example.py" >"$BATS_TEST_TMPDIR/example.out" \
	    2>&1 3>&- &
	_PROC[$!]=example
	wait_for 5 port_open "$port"
	roomd_start n1 --connect-url "http://127.0.0.1:$port/connect" \
	    --publish-url "http://127.0.0.1:$port/publish" \
	    --webhook-url "http://127.0.0.1:$port/webhook" \
	    --webhook-secret webhook-secret --webhook-events '*'
	run sim --url "$URL_n1?user=alice" - <<'EOF'
expect welcome user=alice
join lobby
send {"type":"publish","room":"lobby","event":"news","data":"hi","ref":1}
expect ok ref=1
expect event event=news data=hi
EOF
	assert_success
	wait_for 30 grep -q '^room_closed lobby' "$BATS_TEST_TMPDIR/example.out" || {
		cat "$BATS_TEST_TMPDIR/example.out" "$BATS_TEST_TMPDIR/n1.log"
		return 1
	}
	run cat "$BATS_TEST_TMPDIR/example.out"
	assert_line --regexp '^room_created lobby None$'
	assert_line --regexp '^member_joined lobby [0-9]+-[0-9]+$'
	assert_line --regexp '^event lobby [0-9]+-[0-9]+$'
}

@test "back-end options are checked at start" {
	run "$ROOMD" --webhook-url http://127.0.0.1:1/x --check-config
	assert_failure 2
	assert_output --partial 'needs --webhook-secret'
	run "$ROOMD" --connect-url ftp://x --check-config
	assert_failure 2
	assert_output --partial 'http://'
	run "$ROOMD" --publish-url http:// --check-config
	assert_failure 2
	run "$ROOMD" --publish-events 'chat,,x' --check-config
	assert_failure 2
	run "$ROOMD" --webhook-events 'bad pattern' --check-config
	assert_failure 2
	run "$ROOMD" --hook-timeout 0 --check-config
	assert_failure 2
	run "$ROOMD" --webhook-retry 0 --check-config
	assert_failure 2
	run "$ROOMD" --webhook-secret a --webhook-secret-file /dev/null --check-config
	assert_failure 2
	printf 's3\n' >"$BATS_TEST_TMPDIR/wsecret"
	run "$ROOMD" --webhook-url http://127.0.0.1:1/x --webhook-secret-file \
	    "$BATS_TEST_TMPDIR/wsecret" --publish-events 'chat.*,move' \
	    --hook-timeout 10 --check-config
	assert_success
	ROOMD_CONNECT_URL=http://127.0.0.1:1/c run "$ROOMD" --listen 0.0.0.0:1 \
	    --check-config
	assert_success
}

@test "/metrics carries the back-end series" {
	redis_start
	roomd_start n1
	run http_body n1 /metrics
	for s in 'roomd_hook_calls_total{hook="connect",outcome="ok"}' \
	    'roomd_hook_calls_total{hook="publish",outcome="timeout"}' \
	    'roomd_hook_duration_seconds_bucket{hook="publish",le="+Inf"}' \
	    roomd_api_requests_total roomd_webhook_notices_queued_total \
	    roomd_webhook_notices_delivered_total roomd_webhook_notices_retried_total \
	    roomd_webhook_notices_dropped_total roomd_webhook_queue_depth; do
		grep -qF "$s " <<<"$output" || {
			echo "no $s"
			return 1
		}
	done
}
