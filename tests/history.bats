#!/usr/bin/env bats
# history.bats: the `history` request (since, limit, the clamp at 1000) and
# recovery with `join ... since` on the other node: the missed frames, then
# recovered:true; or none and recovered:false once history was trimmed.

load lib/common

# stream_ids ROOM [START]: the room's stream ids after START (exclusive; all
# when absent), one per line.
stream_ids() {
	redis_cli --raw xrange "roomd:room:{$1}:events" "${2:+(}${2:--}" + |
	    grep -E '^[0-9]+-[0-9]+$'
}

@test "history: newest N without since, the first N after since, oldest first" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --transcript "$TA" - <<EOF
join h
$(repeat 10 'publish h e {"k":@k@}')
expect event event=e data.k=9
expect event event=end within 20s
EOF
	wait_for 10 bash -c "[ \"\$($REDIS_CLI xlen 'roomd:room:{h}:events')\" -ge 11 ]"
	mapfile -t ids < <(stream_ids h)
	[ ${#ids[@]} -eq 11 ]
	S=${ids[3]} # the event with k=2
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --transcript "$T" - <<EOF
join h
send {"type":"history","room":"h","ref":"s1"}
send {"type":"history","room":"h","limit":3,"ref":"s2"}
send {"type":"history","room":"h","since":"$S","limit":3,"ref":"s3"}
send {"type":"history","room":"h","since":"$S","ref":"s4"}
send {"type":"history","room":"h","since":"${ids[10]}","limit":5,"ref":"s5"}
expect ok ref=s5
publish h end
expect event event=end
EOF
	assert_success
	sim_wait a
	assert_success
	# 1: everything so far, including the reader's own member_joined.
	run tx_jq "$T" 0 'map(select(.ref == "s1"))[0].events | map(.type)'
	assert_output '["member_joined","event","event","event","event","event","event","event","event","event","event","member_joined"]'
	# 2: the newest three, oldest first.
	run tx_jq "$T" 0 'map(select(.ref == "s2"))[0].events | map(.type + ":" + (.data.k // "" | tostring))'
	assert_output '["event:8","event:9","member_joined:"]'
	# 3: the first three after since (exclusive).
	run tx_jq "$T" 0 'map(select(.ref == "s3"))[0].events | map(.data.k)'
	assert_output '[3,4,5]'
	run tx_jq "$T" 0 'map(select(.ref == "s3"))[0].events | map(.seq) | join(" ")'
	assert_output "\"${ids[4]} ${ids[5]} ${ids[6]}\""
	run tx_jq "$T" 0 'map(select(.ref == "s4"))[0].events | map(.data.k)'
	assert_output '[3,4,5,6,7,8,9,null]'
	# 5: after the last event only the reader's join.
	run tx_jq "$T" 0 'map(select(.ref == "s5"))[0].events | map(.type)'
	assert_output '["member_joined"]'
	# History frames are the frames members saw live.
	live=$(tx_jq "$TA" 0 'map(select(.type == "event" and .data.k == 4))[0]' | jq -S -c .)
	run bash -c "jq -c 'select(.dir == \"in\" and .frame.ref == \"s3\") | .frame.events[1]' '$T' | jq -S -c ."
	assert_output "$live"
}

@test "history: limit defaults to 100 and is clamped to 1000" {
	redis_start
	roomd_start n1 --rate 100000 --history 3000
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<EOF
join h
$(repeat 1100 'send {"type":"publish","room":"h","event":"e","data":@k@,"echo":false}')
send {"type":"history","room":"h","ref":"default"}
send {"type":"history","room":"h","limit":5000,"ref":"big"}
send {"type":"history","room":"h","limit":1000,"ref":"max"}
expect ok ref=max within 20s
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.ref == "default"))[0].events | [length, .[0].data, .[-1].data]'
	assert_output '[100,1000,1099]'
	run tx_jq "$T" 0 'map(select(.ref == "big"))[0].events | [length, .[0].data, .[-1].data]'
	assert_output '[1000,100,1099]'
	run tx_jq "$T" 0 'map(select(.ref == "max"))[0].events | length'
	assert_output 1000
}

@test "join with since on the other node replays exactly the missed frames, then recovered:true" {
	two_nodes
	TK=$BATS_TEST_TMPDIR/keeper.jsonl
	# The keeper holds the room open on n1 throughout.
	sim_bg keeper --url "$URL_n1" --transcript "$TK" - <<'EOF'
join rec
expect event event=fin within 25s
EOF
	wait_for 10 members_are rec 1
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim --url "$URL_n2" --transcript "$TB" - <<'EOF'
join rec
publish rec p1
expect event event=p1
disconnect
EOF
	assert_success
	S=$(tx_jq "$TB" 0 'map(select(.type == "event" and .event == "p1"))[0].seq' | jq -r .)
	sim --url "$URL_n1" - <<'EOF'
join rec
publish rec m1 1
publish rec m2 2
publish rec m3 3
expect event event=m3
EOF
	assert_success
	wait_for 10 members_are rec 1
	missed=$(stream_ids rec "$S" | jq -R . | jq -s -c .)
	TD=$BATS_TEST_TMPDIR/d.jsonl
	sim --url "$URL_n1" --transcript "$TD" - <<EOF
send {"type":"join","room":"rec","since":"$S","ref":"j"}
expect ok ref=j recovered=true
publish rec fin
expect event event=fin
EOF
	assert_success
	sim_wait keeper
	assert_success
	me=$(conn_of "$TD" 0)
	# The room frames before the ok reply, leaving out the joiner's own
	# member_joined (which may come before or after the reply).
	run tx_jq "$TD" 0 "(map(.ref == \"j\") | index(true)) as \$ok | .[:\$ok]
	    | map(select(.room == \"rec\" and .member.conn != \"$me\") | .seq)"
	assert_output "$missed"
	run tx_jq "$TD" 0 "(map(.ref == \"j\") | index(true)) as \$ok | .[:\$ok]
	    | map(select(.room == \"rec\" and .member.conn != \"$me\")
	    | .type + \":\" + (.event // .reason // \"\"))"
	assert_output '["member_left:disconnect","member_joined:","event:m1","event:m2","event:m3","member_left:disconnect"]'
	# Its own member_joined is the first room frame after the recovered ones.
	run tx_jq "$TD" 0 "map(select(.room == \"rec\" and .type != \"ok\" and .type != \"error\"))
	    | (map(.type == \"member_joined\" and .member.conn == \"$me\") | index(true)) as \$k
	    | .[:\$k] | map(.seq)"
	assert_output "$missed"
	# The replayed frames equal what the keeper saw live.
	run bash -c "diff <(jq -S -c 'select(.dir == \"in\" and .frame.room == \"rec\" and (.frame.seq as \$s | $missed | index(\$s)) != null) | .frame' '$TK') \
	    <(jq -S -c 'select(.dir == \"in\" and .frame.room == \"rec\" and (.frame.seq as \$s | $missed | index(\$s)) != null) | .frame' '$TD')"
	assert_success
}

@test "join with since the latest seq replays nothing and reports recovered:true" {
	two_nodes
	sim_bg keeper --url "$URL_n2" - <<'EOF'
join rec
publish rec x
expect event event=fin within 25s
EOF
	wait_for 10 bash -c "$REDIS_CLI --raw xrange 'roomd:room:{rec}:events' - + | grep -q '\"x\"'"
	S=$(stream_ids rec | tail -n1)
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<EOF
send {"type":"join","room":"rec","since":"$S","ref":"j"}
expect ok ref=j recovered=true
publish rec fin
expect event event=fin
EOF
	assert_success
	sim_wait keeper
	assert_success
	me=$(conn_of "$T" 0)
	run tx_jq "$T" 0 "(map(.ref == \"j\") | index(true)) as \$ok | .[:\$ok]
	    | map(select(.room == \"rec\" and .member.conn != \"$me\")) | length"
	assert_output 0
}

@test "join with since beyond trimmed history: no frames, recovered:false" {
	redis_start
	roomd_start n1 --history 5 --rate 100000
	roomd_start n2 --history 5 --rate 100000
	sim_bg keeper --url "$URL_n1" - <<'EOF'
join rec
expect event event=fin within 25s
EOF
	wait_for 10 members_are rec 1
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim --url "$URL_n2" --transcript "$TB" - <<'EOF'
join rec
publish rec p1
expect event event=p1
disconnect
EOF
	assert_success
	S=$(tx_jq "$TB" 0 'map(select(.type == "event" and .event == "p1"))[0].seq' | jq -r .)
	sim --url "$URL_n1" - <<EOF
join rec
$(repeat 400 'send {"type":"publish","room":"rec","event":"flood","data":@k@,"echo":false}')
send {"type":"ping","ref":"p"}
expect ok ref=p within 10s
EOF
	assert_success
	# History (MAXLEN ~ 5) no longer reaches back to S.
	first=$(stream_ids rec | head -n1)
	[ "$(printf '%s\n%s\n' "$S" "$first" | sort -t- -k1,1n -k2,2n | head -n1)" = "$S" ]
	[ "$first" != "$S" ]
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n1" --transcript "$T" - <<EOF
send {"type":"join","room":"rec","since":"$S","ref":"j"}
expect ok ref=j recovered=false
publish rec fin
expect event event=fin
EOF
	assert_success
	me=$(conn_of "$T" 0)
	run tx_jq "$T" 0 "(map(.ref == \"j\") | index(true)) as \$ok | .[:\$ok]
	    | map(select(.room == \"rec\" and .member.conn != \"$me\")) | length"
	assert_output 0
	run tx_jq "$T" 0 'map(select(.ref == "j"))[0] | [.recovered, (.state | type), (.state_version | type)]'
	assert_output '[false,"object","number"]'
	sim_wait keeper
	assert_success
}
