#!/usr/bin/env bats
# load.bats: `roomctl sim` load mode (CLI.md "roomctl sim"): clients spread
# over rooms and both nodes publish at a rate; the counts add up (every
# publish reaches every member of its room on both nodes), in text and in
# JSON; idle mode (--rate 0); failures to connect exit 1; bad options exit 2.

load lib/common

setup() {
	two_nodes
}

# load_run ARGS: roomctl sim in load mode over both nodes, 30 s guard.
load_run() {
	run timeout 30 "$ROOMCTL" sim --url "$URL_n1,$URL_n2" "$@"
}

# field NAME: the number after NAME in load mode's text report.
field() {
	awk -v k="$1" '$1 == k { print $2; exit }' <<<"$output"
}

@test "load over two nodes: every publish reaches every member (text)" {
	load_run --clients 40 --rooms 4 --rate 5 --duration 2
	assert_success
	assert_output --regexp 'latency ms +p50 [0-9.]+ +p90 [0-9.]+ +p99 [0-9.]+ +max [0-9.]+'
	# 40 clients x 5/s x 2 s; rooms of 10, so 10 deliveries a publish.
	[ "$(field sent)" = 400 ]
	[ "$(field expected)" = 4000 ]
	[ "$(field delivered)" = 4000 ]
	[ "$(field lost)" = 0 ]
	[ "$(field errors)" = 0 ]
	[ "$(field delivered/s)" = 2000 ]
}

@test "load over two nodes: the counts add up in --json" {
	load_run --clients 40 --rooms 4 --rate 5 --duration 2 --json
	assert_success
	jq -e '
	    .clients == 40 and .rooms == 4 and .rate == 5 and .duration == 2
	    and .sent == 400 and .expected == 4000 and .delivered == 4000
	    and .lost == 0 and .loss_pct == 0 and .errors == 0
	    and .delivered_per_s == 2000
	    and .p50_ms > 0 and .p50_ms <= .p90_ms and .p90_ms <= .p99_ms
	    and .p99_ms <= .max_ms' <<<"$output"
}

@test "every load room has members on both nodes" {
	# In the background (sim_bg is for scripts), tracked for teardown.
	timeout 30 "$ROOMCTL" --json sim --url "$URL_n1,$URL_n2" --clients 8 \
	    --rooms 2 --rate 0 --duration 3 >"$BATS_TEST_TMPDIR/idle.json" &
	_PROC[$!]="sim idle"
	local pid=$!
	wait_for 10 members_are load-0 4
	wait_for 10 members_are load-1 4
	for room in load-0 load-1; do
		run redis_cli hvals "roomd:room:{$room}:members"
		assert_output --partial '"node":"n1"'
		assert_output --partial '"node":"n2"'
	done
	wait "$pid"
	unset '_PROC[$pid]'
	# Idle: nothing published, nothing lost.
	jq -e '.sent == 0 and .expected == 0 and .delivered == 0 and
	    .lost == 0 and .errors == 0' "$BATS_TEST_TMPDIR/idle.json"
}

@test "a fractional rate spreads sends over the duration" {
	load_run --clients 4 --rooms 1 --rate 0.5 --duration 2 --json
	assert_success
	# One send per client in 2 s at 0.5/s, each to all 4 members.
	jq -e '.sent == 4 and .expected == 16 and .delivered == 16' <<<"$output"
}

@test "a node that cannot be reached exits 1 and says which client" {
	port=$(free_port)
	run timeout 30 "$ROOMCTL" sim --url "$URL_n1,ws://127.0.0.1:$port/ws" \
	    --clients 4 --rooms 1 --rate 1 --duration 1
	assert_failure 1
	assert_output --regexp "roomctl: sim: client [13] \(ws://127.0.0.1:$port/ws\)"
}

@test "load mode needs --rooms, --rate and --duration" {
	run "$ROOMCTL" sim --clients 2 --rooms 1 --duration 1
	assert_failure 2
	assert_output --partial 'needs --rooms, --rate and --duration'
	run "$ROOMCTL" sim --clients 2 --rooms 1 --rate -1 --duration 1
	assert_failure 2
	run "$ROOMCTL" sim --clients 2 --rooms 1 --rate 1 --duration 0
	assert_failure 2
}
