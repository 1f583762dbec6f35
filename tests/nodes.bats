#!/usr/bin/env bats
# nodes.bats: the life of nodes in Redis (REDIS.md). Live nodes are listed
# by `roomctl nodes`; a node that dies without a word (SIGKILL) stops its
# heartbeat, and once its key expires another node removes its members with
# member_left reason node_lost, closing rooms nobody is left in.

load lib/common

@test "roomctl nodes lists the live nodes with their address and connections" {
	two_nodes
	sim_bg hold --clients 2 - <<'EOF'
join r
expect event event=end within 20s
EOF
	wait_for 10 members_are r 2
	# The heartbeat (every 3 s) brings the connection count along.
	wait_for 10 eval '[ "$(redis_cli hget roomd:node:n1 conns)" = 2 ]'
	run "$ROOMCTL" --redis "$REDIS_URL" --json nodes
	assert_success
	run jq -c --arg a1 "127.0.0.1:$PORT_n1" --arg a2 "127.0.0.1:$PORT_n2" '
	    sort_by(.id) | map([.id, .addr == $a1 or .addr == $a2,
	        (.conns | tonumber), (.rooms | tonumber)])' <<<"$output"
	assert_output '[["n1",true,2,1],["n2",true,0,0]]'
	# Each has a TTL: it expires unless refreshed.
	ttl=$(redis_cli ttl roomd:node:n1)
	assert_between "$ttl" 1 10 "ttl of roomd:node:n1"
	"$ROOMCTL" --redis "$REDIS_URL" publish r end
	sim_wait hold
	assert_success
}

@test "a killed node's members leave with node_lost within 15 s; roomctl nodes drops it" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TW=$BATS_TEST_TMPDIR/w.jsonl
	# Two members on n1 in room r, one alone on n1 in room solo.
	sim_bg a --clients 2 --transcript "$TA" - <<'EOF'
join r
expect event event=never within 30s
EOF
	sim_bg solo - <<'EOF'
join solo
expect event event=never within 30s
EOF
	sim_bg w --url "$URL_n2" --transcript "$TW" - <<'EOF'
join r
expect member_left reason=node_lost within 20s
expect member_left reason=node_lost within 5s
publish r after
expect event event=after
EOF
	wait_for 10 members_are r 3
	wait_for 10 members_are solo 1
	SECONDS=0
	roomd_kill n1
	sim_wait w
	assert_success
	[ "$SECONDS" -le 16 ]
	# The members who left are the two on n1.
	run tx_jq "$TW" 0 '[.[] | select(.type == "member_left") | .conn] | sort'
	assert_output "$(printf '%s\n' "$(conn_of "$TA" 0)" "$(conn_of "$TA" 1)" |
	    jq -R . | jq -sc sort)"
	# The clients of the dead node saw their connection drop.
	sim_wait a
	assert_failure
	sim_wait solo
	# n1 is no longer listed.
	run node_gone n1
	assert_success
	run "$ROOMCTL" --redis "$REDIS_URL" --json nodes
	assert_success
	run jq -c 'map(.id)' <<<"$output"
	assert_output '["n2"]'
	# The room only n1 was in is closed.
	wait_for 5 eval '[ "$(redis_cli hlen "roomd:room:{solo}:members")" = 0 ]'
	run room_frames solo
	assert_output --partial '"reason":"node_lost"'
	assert_output --partial '"type":"room_closed"'
	run redis_cli zscore roomd:rooms solo
	assert_output ''
	grep -q 'node n1 is gone' "$BATS_TEST_TMPDIR/n2.log"
}

@test "roomctl gc removes the members of dead nodes when no node is left to do it" {
	two_nodes
	sim_bg a - <<'EOF'
join r
expect event event=never within 30s
EOF
	sim_bg b --url "$URL_n2" - <<'EOF'
join r
expect event event=never within 30s
EOF
	wait_for 10 members_are r 2
	roomd_kill n1
	roomd_kill n2
	# Their heartbeats expire in 10 s; make it now.
	redis_cli del roomd:node:n1 roomd:node:n2 >/dev/null
	run "$ROOMCTL" --redis "$REDIS_URL" --json gc
	assert_success
	run members_are r 0
	assert_success
	run room_frames r
	assert_output --partial '"reason":"node_lost"'
	assert_output --partial '"type":"room_closed"'
	run "$ROOMCTL" --redis "$REDIS_URL" --json nodes
	assert_output '[]'
	# Both lost their node: neither sim ends well.
	sim_wait a
	assert_failure
	sim_wait b
	assert_failure
}

@test "a node restarted with the same --node-id before its key expires still loses its old members" {
	two_nodes
	sim_bg a - <<'EOF'
join r
expect event event=never within 30s
EOF
	sim_bg w --url "$URL_n2" - <<'EOF'
join r
expect member_left reason=node_lost within 25s
EOF
	wait_for 10 members_are r 2
	roomd_kill n1
	sim_wait a
	assert_failure
	# Restarted at once, as a supervisor would.
	roomd_start n1
	sim_wait w
	assert_success
	run room_frames r
	assert_output --partial '"reason":"node_lost"'
}
