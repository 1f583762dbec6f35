#!/usr/bin/env bats
# outage.bats: Redis outages (CLI.md, REDIS.md). roomd starts while Redis is
# down and serves what it can (`unavailable` for the rest) until Redis comes
# up; after Redis restarts empty, every node re-registers, resubscribes and
# writes its live members back, so rooms work again without clients
# reconnecting.

load lib/common

@test "roomd starts while Redis is down, answers unavailable, and works once Redis is up" {
	redis_port_pick
	port=$(free_port)
	roomd_spawn n1 "$port" --listen "127.0.0.1:$port" --redis "$REDIS_URL" \
	    --node-id n1
	run http_code n1 /healthz
	assert_output 503
	sim - <<'EOF'
expect welcome node=n1
send {"type":"join","room":"r","ref":"j"}
expect error ref=j code=unavailable
send {"type":"rooms","ref":"l"}
expect error ref=l code=unavailable
send {"type":"ping","ref":"p"}
expect ok ref=p
EOF
	assert_success
	grep -q 'cannot connect' "$BATS_TEST_TMPDIR/n1.log"

	redis_restart
	wait_for 15 node_registered n1
	wait_for 5 healthz_is n1 200
	roomd_start n2
	sim_bg b --url "$URL_n2" - <<'EOF'
join r
expect event event=hello from.user=null within 20s
EOF
	wait_for 10 members_are r 1
	sim - <<'EOF'
join r
publish r hello
expect event event=hello
EOF
	assert_success
	sim_wait b
	assert_success
}

@test "after Redis restarts empty, members are restored and rooms work without reconnecting" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg a --transcript "$TA" - <<'EOF'
join r {"side":"a"}
state r k "before"
expect event event=from-b within 30s
publish r from-a
expect event event=end within 10s
EOF
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r {"side":"b"}
expect event event=go within 30s
publish r from-b
expect event event=from-a within 10s
publish r end
EOF
	wait_for 10 members_are r 2
	redis_stop
	wait_for 5 healthz_is n1 503
	redis_restart
	# Both nodes write their members back, with their meta.
	wait_for 15 members_are r 2
	run redis_cli hvals 'roomd:room:{r}:members'
	assert_output --partial '"side":"a"'
	assert_output --partial '"side":"b"'
	assert_output --partial '"node":"n1"'
	assert_output --partial '"node":"n2"'
	wait_for 5 node_registered n1
	wait_for 5 node_registered n2
	wait_for 10 healthz_is n1 200
	wait_for 10 healthz_is n2 200
	# Both subscriptions are back: a frame written now reaches both.
	"$ROOMCTL" --redis "$REDIS_URL" publish r go
	sim_wait b
	assert_success
	sim_wait a
	assert_success
	# One connection each from start to end: no close, one welcome.
	run tx_jq "$TA" 0 '[.[] | select(.type == "welcome" or .type == "close")] | length'
	assert_output 1
	run tx_jq "$TB" 0 '[.[] | select(.type == "welcome" or .type == "close")] | length'
	assert_output 1
	# The room's history after the restart is in the new Redis.
	run room_events r
	assert_output --partial '"go"'
	assert_output --partial '"from-b"'
	assert_output --partial '"from-a"'
	assert_output --partial '"end"'
}

@test "a member who leaves while Redis is down is gone once Redis is back with its data" {
	two_nodes
	TW=$BATS_TEST_TMPDIR/w.jsonl
	sim_bg a - <<'EOF'
join r
expect event event=never within 30s
EOF
	sim_bg w --url "$URL_n2" --transcript "$TW" - <<'EOF'
join r
expect member_left reason=disconnect within 25s
sleep 5s
EOF
	wait_for 10 members_are r 2
	# Redis keeps what it has (a snapshot), goes away, and a's client
	# leaves meanwhile.
	redis_cli save >/dev/null
	redis_stop
	kill -TERM "${_SIM_PID[a]}"
	sim_wait a
	wait_for 5 eval '[ "$(metric n1 roomd_connections)" = 0 ]'
	redis_restart
	wait_for 10 healthz_is n1 200
	wait_for 10 members_are r 1
	sim_wait w
	assert_success
}
