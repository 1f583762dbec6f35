#!/usr/bin/env bats
# shutdown.bats: SIGTERM and SIGINT (CLI.md): roomd stops accepting, closes
# its clients with 1001, removes its members (the other node's members see
# them leave with reason disconnect) and its node key, and exits 0.

load lib/common

@test "SIGTERM: clients get 1001, the other node sees them leave, exit 0" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TW=$BATS_TEST_TMPDIR/w.jsonl
	sim_bg a --clients 2 --transcript "$TA" - <<'EOF'
join r
expect close code=1001 within 15s
EOF
	sim_bg w --url "$URL_n2" --transcript "$TW" - <<'EOF'
join r
expect member_left reason=disconnect within 20s
expect member_left reason=disconnect within 5s
expect event event=end within 10s
EOF
	wait_for 10 members_are r 3
	SECONDS=0
	kill -TERM "${_ROOMD_PID[n1]}"
	roomd_wait_exit n1 50
	[ "$ROOMD_STATUS" -eq 0 ]
	# No client held it back: it did not wait out its grace period.
	[ "$SECONDS" -le 2 ]
	sim_wait a
	assert_success
	run tx_jq "$TA" 0 '[.[] | select(.type == "close") | .reason]'
	assert_output '["server shutting down"]'
	# Gone from Redis: its node key and its members.
	run node_gone n1
	assert_success
	wait_for 5 members_are r 1
	run redis_cli hvals 'roomd:room:{r}:members'
	assert_output --partial '"node":"n2"'
	refute_output --partial '"node":"n1"'
	grep -q 'shutting down on SIGTERM' "$BATS_TEST_TMPDIR/n1.log"
	# roomctl nodes lists n2 only.
	run "$ROOMCTL" --redis "$REDIS_URL" --json nodes
	assert_success
	run jq -c 'map(.id)' <<<"$output"
	assert_output '["n2"]'
	"$ROOMCTL" --redis "$REDIS_URL" publish r end
	sim_wait w
	assert_success
	# The two who left are the two n1 clients.
	run tx_jq "$TW" 0 '[.[] | select(.type == "member_left") | .conn] | sort'
	assert_output "$(printf '%s\n' "$(conn_of "$TA" 0)" "$(conn_of "$TA" 1)" |
	    jq -R . | jq -sc sort)"
}

@test "SIGINT does the same" {
	two_nodes
	sim_bg a - <<'EOF'
join r
expect close code=1001 within 15s
EOF
	sim_bg w --url "$URL_n2" - <<'EOF'
join r
expect member_left reason=disconnect within 20s
EOF
	wait_for 10 members_are r 2
	kill -INT "${_ROOMD_PID[n1]}"
	roomd_wait_exit n1 50
	[ "$ROOMD_STATUS" -eq 0 ]
	sim_wait a
	assert_success
	sim_wait w
	assert_success
	run node_gone n1
	assert_success
	grep -q 'shutting down on SIGINT' "$BATS_TEST_TMPDIR/n1.log"
}

@test "while it shuts down new connections are refused; a client that does not read is not waited for long" {
	two_nodes --rate 100000
	# s stops reading while 6 MB come its way: more than the socket
	# buffers hold, less than the slow-consumer bound. The node cannot get
	# its close frame out to s and waits out its grace period, refusing
	# newcomers meanwhile.
	sim_bg s - <<'EOF'
join r
stall 8s
expect close within 10s
EOF
	sim_bg h - <<'EOF'
join r
expect event event=mark within 20s
EOF
	wait_for 10 members_are r 2
	S=$BATS_TEST_TMPDIR/publisher.sim
	awk 'BEGIN {
		for (d = "A"; length(d) < 60000; d = d d)
			;
		d = substr(d, 1, 60000)
		print "join r"
		for (j = 0; j < 100; j++)
			printf "send {\"type\":\"publish\",\"room\":\"r\",\"event\":\"e\",\"echo\":false,\"data\":\"%s\"}\n", d
		print "publish r mark"
		print "expect member_left reason=disconnect within 20s"
	}' >"$S"
	run timeout 30 "$ROOMCTL" sim --url "$URL_n2" "$S"
	assert_success
	# h on n1 got it all: s's share is queued on n1.
	sim_wait h
	assert_success
	SECONDS=0
	kill -TERM "${_ROOMD_PID[n1]}"
	wait_for 3 eval '[ "$(upgrade_code n1)" = 503 ]'
	sim - <<'EOF'
expect refused status=503
EOF
	assert_success
	run roomd_exited n1
	assert_failure
	roomd_wait_exit n1 100
	[ "$ROOMD_STATUS" -eq 0 ]
	[ "$SECONDS" -le 6 ]
	run port_open "$PORT_n1"
	assert_failure
	run node_gone n1
	assert_success
	wait_for 5 members_are r 0
	sim_wait s
	assert_success
}

@test "SIGTERM while Redis is down: clients still get 1001 and roomd exits 0" {
	redis_start
	roomd_start n1
	sim_bg a - <<'EOF'
join r
expect close code=1001 within 15s
EOF
	wait_for 10 members_are r 1
	redis_stop
	wait_for 5 healthz_is n1 503
	kill -TERM "${_ROOMD_PID[n1]}"
	roomd_wait_exit n1 50
	[ "$ROOMD_STATUS" -eq 0 ]
	sim_wait a
	assert_success
}
