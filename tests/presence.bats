#!/usr/bin/env bats
# presence.bats: who is in a room: the `presence` request, members in the
# join reply (with the joiner), member objects with meta and node, and
# member_joined / member_left frames across nodes.

load lib/common

setup() {
	two_nodes
}

@test "presence and the join reply list members of both nodes with their meta" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg a --url "$URL_n1" --transcript "$TA" - <<'EOF'
join lobby {"side":"red","name":"ann"}
expect member_joined member.meta.side=blue member.node=n2 within 20s
send {"type":"presence","room":"lobby","ref":"p"}
expect ok ref=p
expect event event=end within 20s
EOF
	wait_for 10 members_are lobby 1
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
send {"type":"join","room":"lobby","meta":{"side":"blue"},"ref":"j"}
expect ok ref=j
send {"type":"presence","room":"lobby","ref":"p"}
expect ok ref=p
sleep 2s
publish lobby end
expect event event=end
EOF
	wait_for 10 members_are lobby 2
	members=$(redis_cli --raw hvals 'roomd:room:{lobby}:members')
	sim_wait b
	assert_success
	sim_wait a
	assert_success
	a=$(conn_of "$TA" 0)
	b=$(conn_of "$TB" 0)
	want="[[\"$a\",null,\"n1\",{\"name\":\"ann\",\"side\":\"red\"},\"number\"],[\"$b\",null,\"n2\",{\"side\":\"blue\"},\"number\"]]"
	shape='map([.conn, .user, .node, (.meta | to_entries | sort_by(.key) | from_entries), (.joined_at | type)]) | sort_by(.[2])'
	# The join reply includes the joiner.
	run tx_jq "$TB" 0 "map(select(.ref == \"j\"))[0].members | $shape"
	assert_output "$want"
	run tx_jq "$TB" 0 "map(select(.ref == \"p\"))[0].members | $shape"
	assert_output "$want"
	run tx_jq "$TA" 0 "map(select(.ref == \"p\"))[0].members | $shape"
	assert_output "$want"
	# member_joined carries the same member object.
	run tx_jq "$TA" 0 "map(select(.type == \"member_joined\") | .member) | $shape"
	assert_output "$want"
	# Redis has the same members.
	run jq -s -c "$shape" <<<"$members"
	assert_output "$want"
}

@test "member_left with reason disconnect when a member closes its connection" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg a --transcript "$TA" - <<'EOF'
join lobby
expect member_left reason=disconnect within 20s
send {"type":"presence","room":"lobby","ref":"p"}
expect ok ref=p
EOF
	wait_for 10 members_are lobby 1
	sim --url "$URL_n2" --transcript "$TB" - <<'EOF'
join lobby {"x":1}
disconnect
EOF
	assert_success
	sim_wait a
	assert_success
	b=$(conn_of "$TB" 0)
	run tx_jq "$TA" 0 'map(select(.type == "member_left"))[0] | [.conn, .user, .reason, .room]'
	assert_output "[\"$b\",null,\"disconnect\",\"lobby\"]"
	a=$(conn_of "$TA" 0)
	run tx_jq "$TA" 0 'map(select(.ref == "p"))[0].members | map(.conn)'
	assert_output "[\"$a\"]"
}

@test "member_left with reason disconnect when a client vanishes without a close frame" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --transcript "$TA" - <<'EOF'
join lobby
expect member_left reason=disconnect within 20s
EOF
	wait_for 10 members_are lobby 1
	sim_bg b --url "$URL_n2" - <<'EOF'
join lobby
sleep 30s
EOF
	wait_for 10 members_are lobby 2
	# SIGKILL the client (not its timeout wrapper): the socket just closes.
	bpid=$(pgrep -P "${_SIM_PID[b]}" -f roomctl | head -n1)
	[ -n "$bpid" ]
	kill -KILL "$bpid"
	sim_wait a
	assert_success
}

@test "members who left are gone from presence on both nodes" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --url "$URL_n1" --transcript "$TA" - <<'EOF'
join lobby
expect member_left reason=leave within 20s
expect member_left reason=leave within 20s
expect event event=end within 20s
EOF
	wait_for 10 members_are lobby 1
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --clients 2 --transcript "$T" - <<'EOF'
join lobby
barrier
send {"type":"presence","room":"lobby","ref":"p3"}
expect ok ref=p3
barrier
send {"type":"leave","room":"lobby","ref":"l"}
expect ok ref=l
EOF
	assert_success
	run jq -s -c '[.[] | select(.dir == "in" and .frame.ref == "p3") | .frame.members | length]' "$T"
	assert_output '[3,3]'
	wait_for 5 members_are lobby 1
	T2=$BATS_TEST_TMPDIR/t2.jsonl
	sim --url "$URL_n2" --transcript "$T2" - <<'EOF'
join lobby
send {"type":"presence","room":"lobby","ref":"p"}
expect ok ref=p
publish lobby end
expect event event=end
EOF
	assert_success
	a=$(conn_of "$TA" 0)
	me=$(conn_of "$T2" 0)
	run tx_jq "$T2" 0 'map(select(.ref == "p"))[0].members | map(.conn) | sort'
	assert_output "$(printf '%s\n' "$a" "$me" | sort | jq -R . | jq -s -c .)"
	sim_wait a
	assert_success
}

@test "eight members over two nodes: every presence reply lists all eight, four per node" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 8 --url "$URL_n1,$URL_n2" --room crowd --transcript "$T" - <<'EOF'
join $room {"i":$i}
barrier
send {"type":"presence","room":"$room","ref":"p"}
expect ok ref=p
sleep 500ms
barrier
EOF
	assert_success
	run jq -s -c '[.[] | select(.dir == "in" and .frame.ref == "p") | .frame.members
	    | [length, (map(.node) | group_by(.) | map(length)), (map(.meta.i) | sort)]] | unique' "$T"
	assert_output '[[8,[4,4],[0,1,2,3,4,5,6,7]]]'
	# Each member saw its own member_joined and those of later joiners:
	# 8+7+...+1 frames in all, whatever the order of joins.
	run jq -s '[.[] | select(.dir == "in" and .frame.type == "member_joined")] | length' "$T"
	assert_output 36
}
