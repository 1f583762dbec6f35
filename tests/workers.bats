#!/usr/bin/env bats
# workers.bats: --reuse-port and --workers N (CLI.md). The supervisor
# starts N workers on one port, each a node <id>-<k>; it starts one that
# dies again (with backoff), passes SIGHUP on and stops them all on
# SIGTERM, exiting 0. No process of a test outlives it.

load lib/common

# workers_start NAME N [roomd options]: a supervisor NAME with N workers
# (nodes NAME-1 ... NAME-N) on a free port; waits (10 s at most) until
# every worker has registered. Exports PORT_NAME and URL_NAME.
workers_start() {
	local name=$1 n=$2 port k
	shift 2
	port=$(free_port) || return 1
	roomd_spawn "$name" "$port" --listen "127.0.0.1:$port" \
	    --redis "$REDIS_URL" --node-id "$name" --workers "$n" "$@" ||
	    return 1
	for ((k = 1; k <= n; k++)); do
		wait_for 10 node_registered "$name-$k" || return 1
	done
}

# worker_pid NODE: the pid a worker registered under.
worker_pid() {
	redis_cli hget "roomd:node:$1" pid
}

# no_workers_left NAME: no roomd process runs as a worker of NAME.
no_workers_left() {
	! pgrep -f -- "--node-id $1-[0-9]" >/dev/null
}

# supervisor_stop NAME: SIGTERM the supervisor, wait (15 s at most) for it
# to exit and set ROOMD_STATUS.
supervisor_stop() {
	kill -TERM "${_ROOMD_PID[$1]}"
	roomd_wait_exit "$1" 150
}

@test "--workers 2: both workers registered, connections spread over both" {
	redis_start
	workers_start w 2
	run "$ROOMCTL" --redis "$REDIS_URL" --json nodes
	assert_success
	run jq -c --arg a "127.0.0.1:$PORT_w" \
	    'sort_by(.id) | map([.id, .addr == $a])' <<<"$output"
	assert_output '[["w-1",true],["w-2",true]]'
	# Two worker processes, children of the supervisor, on the same port.
	run pgrep -P "${_ROOMD_PID[w]}"
	assert_success
	assert_equal "${#lines[@]}" 2
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_w" --clients 24 --transcript "$T" - <<'EOF'
join r
barrier
publish r hi {"from":$i}
expect event event=hi data.from=0
expect event event=hi data.from=23
EOF
	assert_success
	run jq -r 'select(.dir == "in" and .frame.type == "welcome") |
	    .frame.node' "$T"
	run bash -c "sort -u <<<'$output' | tr '\n' ' '"
	assert_output 'w-1 w-2 '
	supervisor_stop w
	assert_equal "$ROOMD_STATUS" 0
	run no_workers_left w
	assert_success
}

@test "a SIGKILLed worker: its members leave with node_lost, it is started again, the port keeps accepting" {
	redis_start
	workers_start w 2
	sim_bg held --url "$URL_w" --clients 12 - <<'EOF'
join r
expect event event=never within 30s
EOF
	wait_for 10 members_are r 12
	# Which worker each member is on: kill the one holding most.
	victim=$(redis_cli hvals "roomd:room:{r}:members" | jq -r .node |
	    sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
	on_victim=$(redis_cli hvals "roomd:room:{r}:members" |
	    jq -r --arg v "$victim" 'select(.node == $v) | .node' | wc -l)
	assert_between "$on_victim" 6 12 "members on $victim"
	old=$(worker_pid "$victim")
	kill -KILL "$old"
	# The port accepts at once, on the other worker.
	sim --url "$URL_w" - <<'EOF'
join other
EOF
	assert_success
	# /healthz may reach the new worker before it has heard from Redis
	# (503 then, as for any node starting): healthy again soon.
	wait_for 10 healthz_is w 200
	# The supervisor starts it again under its id; its first registration
	# removes the dead worker's members with node_lost.
	wait_for 10 eval '[ -n "$(worker_pid "$victim")" ] &&
	    [ "$(worker_pid "$victim")" != "$old" ]'
	# (the sim ends all its clients when those on the victim fail: the
	# rest leave with disconnect)
	wait_for 10 members_are r 0
	n=$(room_frames r | grep -c '"reason":"node_lost"' || true)
	assert_equal "$n" "$on_victim"
	run grep -c "killed by signal 9" "$BATS_TEST_TMPDIR/w.log"
	assert_output 1
	run grep -c "restarting worker" "$BATS_TEST_TMPDIR/w.log"
	assert_output 1
	sim_wait held
	assert_failure 1
	supervisor_stop w
	assert_equal "$ROOMD_STATUS" 0
	run no_workers_left w
	assert_success
}

@test "SIGTERM to the supervisor stops every worker gracefully: members leave with disconnect, exit 0" {
	redis_start
	workers_start w 2
	sim_bg held --url "$URL_w" --clients 8 - <<'EOF'
join r
expect event event=never within 30s
EOF
	wait_for 10 members_are r 8
	SECONDS=0
	supervisor_stop w
	assert_equal "$ROOMD_STATUS" 0
	[ "$SECONDS" -le 8 ]
	run no_workers_left w
	assert_success
	run members_are r 0
	assert_success
	n=$(room_frames r | grep -c '"reason":"disconnect"' || true)
	assert_equal "$n" 8
	n=$(room_frames r | grep -c node_lost || true)
	assert_equal "$n" 0
	run node_gone w-1
	assert_success
	run node_gone w-2
	assert_success
	grep -q "supervisor: every worker stopped" "$BATS_TEST_TMPDIR/w.log"
	sim_wait held
}

@test "SIGHUP to the supervisor reloads the certificate in every worker" {
	redis_start
	tls_ca
	tls_cert srv
	workers_start w 2 --tls-cert "$TLS_DIR/srv.pem" --tls-key "$TLS_DIR/srv.key"
	sim --url "$(wss_url w)" --ca "$TLS_DIR/ca.pem" --clients 6 - <<'EOF'
join r
EOF
	assert_success
	tls_cert next
	cp "$TLS_DIR/next.pem" "$TLS_DIR/srv.pem"
	cp "$TLS_DIR/next.key" "$TLS_DIR/srv.key"
	kill -HUP "${_ROOMD_PID[w]}"
	wait_for 5 eval '[ "$(grep -c "tls: reloaded certificate" "$BATS_TEST_TMPDIR/w.log")" = 2 ]'
	new=$(cert_fp "$TLS_DIR/srv.pem")
	for k in 1 2 3 4 5 6; do
		run served_fp "$PORT_w"
		assert_output "$new"
	done
	supervisor_stop w
	assert_equal "$ROOMD_STATUS" 0
}

@test "a worker that cannot start is retried with growing backoff" {
	redis_start
	port=$(free_port)
	# A listener without SO_REUSEPORT holds the port.
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(30)' "$port" 3>&- &
	holder=$!
	_PROC[$holder]="port holder"
	wait_for 5 port_open "$port"
	"$ROOMD" --listen "127.0.0.1:$port" --redis "$REDIS_URL" --node-id b \
	    --workers 1 --reuse-port >"$BATS_TEST_TMPDIR/alone.log" 2>&1 || true
	grep -q "cannot listen" "$BATS_TEST_TMPDIR/alone.log"
	roomd_spawn b "$port" --listen "127.0.0.1:$port" --redis "$REDIS_URL" \
	    --node-id b --workers 2
	wait_for 10 eval '[ "$(grep -c "restarting worker 1 in" "$BATS_TEST_TMPDIR/b.log")" -ge 4 ]'
	run grep -o "restarting worker 1 in [0-9]* ms" "$BATS_TEST_TMPDIR/b.log"
	assert_line --index 0 "restarting worker 1 in 100 ms"
	assert_line --index 1 "restarting worker 1 in 200 ms"
	assert_line --index 2 "restarting worker 1 in 400 ms"
	supervisor_stop b
	run no_workers_left b
	assert_success
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	unset '_PROC[$holder]'
}

@test "--reuse-port: two roomd processes share one port" {
	redis_start
	roomd_start n1 --reuse-port
	roomd_spawn n2 "$PORT_n1" --listen "127.0.0.1:$PORT_n1" \
	    --redis "$REDIS_URL" --node-id n2 --reuse-port
	wait_for 10 node_registered n2
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n1" --clients 24 --transcript "$T" - <<'EOF'
join r
EOF
	assert_success
	run jq -r 'select(.dir == "in" and .frame.type == "welcome") |
	    .frame.node' "$T"
	run bash -c "sort -u <<<'$output' | tr '\n' ' '"
	assert_output 'n1 n2 '
	# Without it, the port is not shared.
	run timeout 10 "$ROOMD" --listen "127.0.0.1:$PORT_n1" --redis "$REDIS_URL" \
	    --node-id n3
	assert_failure 1
	assert_output --partial "cannot listen on 127.0.0.1:$PORT_n1"
}

@test "without --node-id the workers share one generated id with -1, -2" {
	redis_start
	port=$(free_port)
	roomd_spawn g "$port" --listen "127.0.0.1:$port" --redis "$REDIS_URL" \
	    --workers 2
	wait_for 10 eval '[ "$("$ROOMCTL" --redis "$REDIS_URL" --json nodes | jq length)" = 2 ]'
	run bash -c '"$ROOMCTL" --redis "$REDIS_URL" --json nodes | jq -r ".[].id" | sort'
	assert_line --index 0 --regexp '^[A-Za-z0-9_.:-]+-[0-9a-f]{4}-1$'
	assert_line --index 1 "${lines[0]%-1}-2"
	supervisor_stop g
	assert_equal "$ROOMD_STATUS" 0
}

@test "--workers is checked like any option" {
	run "$ROOMD" --workers 0
	assert_failure 2
	assert_output --partial "--workers"
	run "$ROOMD" --workers 65
	assert_failure 2
	run "$ROOMD" --workers 2 --node-id "$(printf 'x%.0s' {1..62})"
	assert_failure 2
	assert_output --partial "too long"
}
