#!/usr/bin/env bats
# lb.bats: the README's two-node quick start works as written: haproxy with
# dist/haproxy.cfg in front of two nodes, no sticky sessions; clients that
# land on different nodes share a room.

load lib/common

lb_start() {
	LB_PORT=$(free_port)
	LB_ADDR=127.0.0.1:$LB_PORT NODE1=127.0.0.1:$PORT_n1 \
	    NODE2=127.0.0.1:$PORT_n2 haproxy -db -f "$ROOT/dist/haproxy.cfg" \
	    >"$BATS_TEST_TMPDIR/haproxy.log" 2>&1 3>&- &
	_PROC[$!]=haproxy
	LB_URL=ws://127.0.0.1:$LB_PORT/ws
	wait_for 10 eval '[ "$(curl -s -o /dev/null -w %{http_code} --max-time 3 http://127.0.0.1:$LB_PORT/healthz)" = 200 ]'
}

@test "haproxy -c accepts dist/haproxy.cfg" {
	LB_ADDR=127.0.0.1:1 NODE1=127.0.0.1:2 NODE2=127.0.0.1:3 \
	    run haproxy -c -f "$ROOT/dist/haproxy.cfg"
	assert_success
}

@test "clients through haproxy land on both nodes and share a room" {
	two_nodes
	lb_start
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$LB_URL" --clients 4 --room lb --transcript "$T" - <<'EOF'
join $room
barrier
publish $room hi {"from":$i}
expect event data.from=0 within 5s
expect event data.from=1 within 5s
expect event data.from=2 within 5s
expect event data.from=3 within 5s
EOF
	assert_success
	# Round robin spread them: both nodes said welcome.
	run jq -r 'select(.dir == "in" and .frame.type == "welcome") |
	    .frame.node' "$T"
	assert_output --partial n1
	assert_output --partial n2
}
