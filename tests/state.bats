#!/usr/bin/env bats
# state.bats: shared room state: state.set and state.get, state_changed
# frames on both nodes, if_version conflicts (also under a race across
# nodes), null deleting a key, state in the join reply.

load lib/common

setup() {
	two_nodes
}

@test "state.set: ok with state_version, state_changed to every member on both nodes" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join lobby
expect state_changed key=phase within 20s
EOF
	wait_for 10 members_are lobby 1
	sim --transcript "$TA" - <<'EOF'
join lobby
send {"type":"state.set","room":"lobby","key":"phase","value":{"name":"pick","turn":[1,2]},"ref":"s"}
expect ok ref=s state_version=1
expect state_changed key=phase value.name=pick state_version=1
send {"type":"state.get","room":"lobby","ref":"g"}
expect ok ref=g state_version=1 state.phase.turn.1=2
EOF
	assert_success
	sim_wait b
	assert_success
	a=$(conn_of "$TA" 0)
	for t in "$TA" "$TB"; do
		run tx_jq "$t" 0 'map(select(.type == "state_changed"))[0]
		    | [.room, .key, .value, .state_version, .by, (.seq | type), (.ts | type)]'
		assert_output "[\"lobby\",\"phase\",{\"name\":\"pick\",\"turn\":[1,2]},1,{\"conn\":\"$a\",\"user\":null},\"string\",\"number\"]"
	done
	run tx_jq "$TA" 0 'map(select(.ref == "g"))[0] | [.state, .state_version]'
	assert_output '[{"phase":{"name":"pick","turn":[1,2]}},1]'
	# Redis holds the value as JSON in the room's state hash.
	run bash -c "$REDIS_CLI --raw hget 'roomd:room:{lobby}:state' phase | jq -c ."
	assert_output '{"name":"pick","turn":[1,2]}'
}

@test "a later joiner on the other node gets state and state_version in the join reply" {
	sim_bg a - <<'EOF'
join lobby
send {"type":"state.set","room":"lobby","key":"a","value":1,"ref":"s1"}
send {"type":"state.set","room":"lobby","key":"b","value":"two","ref":"s2"}
send {"type":"state.set","room":"lobby","key":"a","value":3,"ref":"s3"}
expect ok ref=s3 state_version=3
expect event event=end within 20s
EOF
	wait_for 10 members_are lobby 1
	wait_for 10 bash -c "[ \"\$($REDIS_CLI hget 'roomd:room:{lobby}' state_version)\" = 3 ]"
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --transcript "$T" - <<'EOF'
send {"type":"join","room":"lobby","ref":"j"}
expect ok ref=j state_version=3 state.a=3 state.b=two
publish lobby end
expect event event=end
EOF
	assert_success
	sim_wait a
	assert_success
	run tx_jq "$T" 0 'map(select(.ref == "j"))[0] | [.state, .state_version]'
	assert_output '[{"a":3,"b":"two"},3]'
}

@test "if_version: a stale version gets conflict and changes nothing" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
join lobby
send {"type":"state.set","room":"lobby","key":"turn","value":"red","if_version":0,"ref":"s1"}
expect ok ref=s1 state_version=1
send {"type":"state.set","room":"lobby","key":"turn","value":"blue","if_version":0,"ref":"s2"}
expect error ref=s2 code=conflict
send {"type":"state.set","room":"lobby","key":"turn","value":"blue","if_version":5,"ref":"s3"}
expect error ref=s3 code=conflict
send {"type":"state.get","room":"lobby","ref":"s4"}
expect ok ref=s4 state.turn=red state_version=1
send {"type":"state.set","room":"lobby","key":"turn","value":"blue","if_version":1,"ref":"s5"}
expect ok ref=s5 state_version=2
send {"type":"state.set","room":"lobby","key":"other","value":true,"ref":"s6"}
expect ok ref=s6 state_version=3
send {"type":"ping","ref":"s7"}
expect ok ref=s7
expect state_changed key=other state_version=3
EOF
	assert_success
	run tx_jq "$T" 0 '[.[] | select(.type == "state_changed") | [.value, .state_version]]'
	assert_output '[["red",1],["blue",2],[true,3]]'
	run redis_cli hget 'roomd:room:{lobby}' state_version
	assert_output 3
}

@test "value null deletes the key" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
join lobby
send {"type":"state.set","room":"lobby","key":"k","value":1,"ref":"s1"}
send {"type":"state.set","room":"lobby","key":"keep","value":[],"ref":"s2"}
send {"type":"state.set","room":"lobby","key":"k","value":null,"ref":"s3"}
expect ok ref=s3 state_version=3
expect state_changed key=k value=null state_version=3
send {"type":"state.get","room":"lobby","ref":"s4"}
expect ok ref=s4 state_version=3
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.ref == "s4"))[0].state'
	assert_output '{"keep":[]}'
	run redis_cli hexists 'roomd:room:{lobby}:state' k
	assert_output 0
}

@test "every JSON type survives as a state value" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --transcript "$T" - <<'EOF'
join lobby
send {"type":"state.set","room":"lobby","key":"s","value":"x \" y","ref":"s1"}
send {"type":"state.set","room":"lobby","key":"n","value":-1.25,"ref":"s2"}
send {"type":"state.set","room":"lobby","key":"b","value":false,"ref":"s3"}
send {"type":"state.set","room":"lobby","key":"a","value":[1,[2],{"3":4}],"ref":"s4"}
send {"type":"state.set","room":"lobby","key":"o","value":{},"ref":"s5"}
send {"type":"state.set","room":"lobby","key":"z","value":0,"ref":"s6"}
send {"type":"state.get","room":"lobby","ref":"s7"}
expect ok ref=s7 state_version=6
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.ref == "s7"))[0].state | to_entries | sort_by(.key) | from_entries'
	assert_output '{"a":[1,[2],{"3":4}],"b":false,"n":-1.25,"o":{},"s":"x \" y","z":0}'
}

@test "if_version race over both nodes: exactly one of six wins" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 6 --url "$URL_n1,$URL_n2" --room duel --transcript "$T" - <<'EOF'
join $room
barrier
send {"type":"state.set","room":"$room","key":"winner","value":$i,"if_version":0,"ref":"s"}
send {"type":"ping","ref":"p"}
expect ok ref=p within 10s
expect state_changed key=winner within 10s
barrier
EOF
	assert_success
	run jq -s -c '[.[] | select(.dir == "in" and .frame.ref == "s")
	    | .frame.type + ":" + (.frame.code // "")] | group_by(.) | map([.[0], length])' "$T"
	assert_output '[["error:conflict",5],["ok:",1]]'
	# Everyone saw one state_changed with the winner's value.
	winner=$(jq -s '[.[] | select(.dir == "in" and .frame.ref == "s" and .frame.type == "ok") | .client][0]' "$T")
	run jq -s -c '[.[] | select(.dir == "in" and .frame.type == "state_changed") | .frame.value] | [length, unique]' "$T"
	assert_output "[6,[$winner]]"
}
