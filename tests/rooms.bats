#!/usr/bin/env bats
# rooms.bats: join and leave, member frames, room details and the `rooms`
# listing, max_members (also under a join race across both nodes),
# max_rooms_per_conn, and closing empty rooms (--empty-ttl).

load lib/common

@test "join reply: room, seq, members with the joiner, state, state_version" {
	two_nodes
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
send {"type":"join","room":"r1","ref":"j"}
expect ok ref=j room=r1 members.0.node=n1 state_version=0
EOF
	assert_success
	me=$(conn_of "$T" 0)
	run tx_jq "$T" 0 'map(select(.ref == "j"))[0]
	    | [(.seq | type), (.members | length), .members[0].conn,
	       .members[0].user, .members[0].meta, (.members[0].joined_at | type),
	       .state, .state_version, has("recovered")]'
	assert_output "[\"string\",1,\"$me\",null,{},\"number\",{},0,false]"
}

@test "member_joined and member_left (reason leave) reach the other node" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg a --url "$URL_n1" --transcript "$TA" - <<'EOF'
join r1
expect member_left reason=leave within 20s
EOF
	wait_for 10 members_are r1 1
	sim --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1 {"side":"red"}
send {"type":"leave","room":"r1","ref":"L"}
expect ok ref=L room=r1
send {"type":"publish","room":"r1","event":"e","ref":"P"}
expect error ref=P code=not_member
EOF
	assert_success
	sim_wait a
	assert_success
	a=$(conn_of "$TA" 0)
	b=$(conn_of "$TB" 0)
	run tx_jq "$TA" 0 '[.[] | select(.room == "r1" and .type != "ok")
	    | [.type, .member.conn // .conn, .member.node // .reason,
	       .member.meta.side // .user]]'
	assert_output "[[\"member_joined\",\"$a\",\"n1\",null],[\"member_joined\",\"$b\",\"n2\",\"red\"],[\"member_left\",\"$b\",\"leave\",null]]"
	# Every room frame carries room, seq and ts.
	run tx_jq "$TA" 0 '[.[] | select(.type == "member_joined" or .type == "member_left")
	    | [(.seq | type), (.ts | type)]] | unique'
	assert_output '[["string","number"]]'
}

@test "joining a room twice is not an error and sends no second member_joined" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --transcript "$TA" - <<'EOF'
join r1
expect event event=end within 20s
EOF
	wait_for 10 members_are r1 1
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --transcript "$T" - <<'EOF'
join r1
send {"type":"join","room":"r1","ref":"again"}
expect ok ref=again room=r1
publish r1 end
expect event event=end
EOF
	assert_success
	sim_wait a
	assert_success
	run tx_jq "$TA" 0 '[.[] | select(.type == "member_joined")] | length'
	assert_output 2
	run tx_jq "$T" 0 '[.[] | select(.type == "member_joined")] | length'
	assert_output 1
	run tx_jq "$T" 0 'map(select(.ref == "again"))[0].members | length'
	assert_output 2
}

@test "a rejoined room is open again" {
	two_nodes
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
join r1
send {"type":"leave","room":"r1","ref":"L"}
expect ok ref=L
send {"type":"join","room":"r1","ref":"J"}
expect ok ref=J
publish r1 back
expect event event=back
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.ref == "J"))[0].members | length'
	assert_output 1
}

@test "create sets room details; rooms lists public rooms by member count" {
	two_nodes
	sim_bg A --room A --clients 3 --url "$URL_n1,$URL_n2" - <<'EOF'
send {"type":"join","room":"A","ref":"j","create":{"title":"Alpha","topic":"t1","visibility":"public","max_members":10}}
expect ok ref=j
expect event event=end within 25s
EOF
	sim_bg B --room B --clients 2 --url "$URL_n2" - <<'EOF'
send {"type":"join","room":"B","ref":"j","create":{"title":"Beta","topic":"t2","visibility":"public"}}
expect ok ref=j
expect event event=end within 25s
EOF
	sim_bg C --room C --clients 1 - <<'EOF'
send {"type":"join","room":"C","ref":"j","create":{"title":"Gamma","topic":"t3","visibility":"public","max_members":1}}
expect ok ref=j
expect event event=end within 25s
EOF
	sim_bg P --room P --clients 4 --url "$URL_n1,$URL_n2" - <<'EOF'
send {"type":"join","room":"P","ref":"j","create":{"title":"Secret","visibility":"private"}}
expect ok ref=j
expect event event=end within 25s
EOF
	wait_for 10 members_are A 3
	wait_for 10 members_are B 2
	wait_for 10 members_are C 1
	wait_for 10 members_are P 4
	# On a cluster the index is written after each join's script, by
	# each node, and may trail the room until its next write (REDIS.md);
	# listings count each room's members themselves.
	if [ "$TEST_CLUSTER" != 1 ]; then
		run redis_cli zscore roomd:rooms A
		assert_output 3
	fi
	run redis_cli zscore roomd:rooms:public P
	assert_output ''

	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --transcript "$T" - <<'EOF'
send {"type":"rooms","ref":"s1"}
expect ok ref=s1
send {"type":"rooms","ref":"s2","limit":2}
expect ok ref=s2
send {"type":"rooms","ref":"s3","visibility":"private"}
expect ok ref=s3
send {"type":"join","room":"A","ref":"jA","create":{"title":"Changed","max_members":50}}
expect ok ref=jA
send {"type":"rooms","ref":"s4"}
expect ok ref=s4
publish A end
send {"type":"join","room":"B","ref":"jB"}
expect ok ref=jB
publish B end
send {"type":"join","room":"C","ref":"jC"}
expect error ref=jC code=room_full
send {"type":"join","room":"P","ref":"jP"}
expect ok ref=jP
publish P end
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.ref == "s1"))[0].rooms
	    | map([.room, .title, .topic, .members, .max_members, (.created_at | type)])'
	assert_output '[["A","Alpha","t1",3,10,"number"],["B","Beta","t2",2,null,"number"],["C","Gamma","t3",1,1,"number"]]'
	run tx_jq "$T" 0 'map(select(.ref == "s2"))[0].rooms | map(.room)'
	assert_output '["A","B"]'
	run tx_jq "$T" 0 'map(select(.ref == "s3"))[0].rooms | map(.room) | index("P") != null'
	assert_output true
	# create is ignored for an existing room.
	run tx_jq "$T" 0 'map(select(.ref == "s4"))[0].rooms | map(select(.room == "A"))[0]
	    | [.title, .members, .max_members]'
	assert_output '["Alpha",4,10]'
	for s in A B P; do
		sim_wait $s
		assert_success
	done
	# C's member never saw "end": C stayed full. Stop it.
	run redis_cli hget 'roomd:room:{A}' title
	assert_output Alpha
}

@test "room_full: the refused joiner keeps working and members notice nothing" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --transcript "$TA" - <<'EOF'
send {"type":"join","room":"small","ref":"j","create":{"max_members":2}}
expect ok ref=j
expect member_left within 20s
EOF
	wait_for 10 members_are small 1
	sim_bg b --url "$URL_n2" - <<'EOF'
join small
sleep 5s
EOF
	wait_for 10 members_are small 2
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --transcript "$T" - <<'EOF'
send {"type":"join","room":"small","ref":"j"}
expect error ref=j code=room_full
send {"type":"ping","ref":"p"}
expect ok ref=p
send {"type":"publish","room":"small","event":"e","ref":"x"}
expect error ref=x code=not_member
join elsewhere
EOF
	assert_success
	run members_are small 2
	assert_success
	sim_wait b
	assert_success
	sim_wait a
	assert_success
	# a saw itself and b join, b leave; nothing from the refused joiner.
	run tx_jq "$TA" 0 '[.[] | select(.room == "small") | .type]'
	assert_output '["ok","member_joined","member_joined","member_left"]'
}

@test "max_members under a concurrent join race over both nodes: exactly 5 get in" {
	two_nodes
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 10 --url "$URL_n1,$URL_n2" --room race --transcript "$T" - <<'EOF'
barrier
send {"type":"join","room":"$room","ref":"j","create":{"max_members":5}}
send {"type":"ping","ref":"p1"}
expect ok ref=p1 within 10s
barrier
send {"type":"presence","room":"$room","ref":"pr"}
send {"type":"ping","ref":"p2"}
expect ok ref=p2 within 10s
barrier
EOF
	assert_success
	run jq -s -c '[.[] | select(.dir == "in" and .frame.ref == "j")
	    | .frame.type + ":" + (.frame.code // "")] | group_by(.) | map([.[0], length])' "$T"
	assert_output '[["error:room_full",5],["ok:",5]]'
	# Every member saw 5 members; every refused one got not_member.
	run jq -s -c '[.[] | select(.dir == "in" and .frame.ref == "pr")
	    | (.frame.members | length | tostring) + (.frame.code // "")] | group_by(.) | map([.[0], length])' "$T"
	assert_output '[["0not_member",5],["5",5]]'
	run redis_cli hget 'roomd:room:{race}' max_members
	assert_output 5
}

@test "too_many_rooms with --max-rooms-per-conn 2" {
	two_nodes --max-rooms-per-conn 2
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
join a
join b
send {"type":"join","room":"c","ref":"c1"}
expect error ref=c1 code=too_many_rooms
send {"type":"ping","ref":"p"}
expect ok ref=p
send {"type":"join","room":"a","ref":"again"}
expect ok ref=again
send {"type":"leave","room":"a","ref":"L"}
expect ok ref=L
send {"type":"join","room":"c","ref":"c2"}
expect ok ref=c2 room=c
EOF
	assert_success
}

# room_keys_gone ROOM: none of the room's keys exist and it is not listed.
room_keys_gone() {
	[ "$(redis_cli exists "roomd:room:{$1}" "roomd:room:{$1}:members" \
	    "roomd:room:{$1}:state" "roomd:room:{$1}:events")" = 0 ] &&
	    [ -z "$(redis_cli zscore roomd:rooms "$1")" ] &&
	    [ -z "$(redis_cli zscore roomd:rooms:public "$1")" ]
}

@test "--empty-ttl 1: the last leave writes room_closed and the keys expire" {
	two_nodes --empty-ttl 1
	sim - <<'EOF'
send {"type":"join","room":"gone","ref":"j","create":{"visibility":"public"}}
expect ok ref=j
send {"type":"state.set","room":"gone","key":"k","value":1,"ref":"s"}
expect ok ref=s
send {"type":"leave","room":"gone","ref":"L"}
expect ok ref=L
EOF
	assert_success
	# The history ends with room_closed (unless it already expired).
	run bash -c "$REDIS_CLI --raw xrevrange 'roomd:room:{gone}:events' + - count 1 | grep '^{' | jq -r '[.type, (.reason | type)] | join(\" \")'"
	assert_output 'room_closed string'
	run redis_cli pttl 'roomd:room:{gone}:events'
	assert_success
	assert_between "$output" 1 1000 "pttl of the closed room's events"
	run redis_cli pttl 'roomd:room:{gone}'
	assert_success
	assert_between "$output" 1 1000 "pttl of the closed room"
	run redis_cli zscore roomd:rooms gone
	assert_output ''
	wait_for 4 room_keys_gone gone
}

@test "--empty-ttl 1: the last member disconnecting closes the room too" {
	two_nodes --empty-ttl 1
	sim --url "$URL_n2" - <<'EOF'
join gone2
publish gone2 x
expect event event=x
disconnect
EOF
	assert_success
	wait_for 3 bash -c "$REDIS_CLI --raw xrevrange 'roomd:room:{gone2}:events' + - count 1 | grep -q room_closed"
	wait_for 4 room_keys_gone gone2
}

@test "--empty-ttl 0: the room's keys are deleted at once" {
	two_nodes --empty-ttl 0
	sim - <<'EOF'
join gone
publish gone x
send {"type":"leave","room":"gone","ref":"L"}
expect ok ref=L
EOF
	assert_success
	wait_for 1 room_keys_gone gone
}

@test "a room with members on the other node does not close when one node's member leaves" {
	two_nodes --empty-ttl 0
	sim_bg a --url "$URL_n2" - <<'EOF'
join stay
expect event event=end within 20s
sleep 3s
EOF
	wait_for 10 members_are stay 1
	sim - <<'EOF'
join stay
send {"type":"leave","room":"stay","ref":"L"}
expect ok ref=L
join stay
publish stay end
expect event event=end
EOF
	assert_success
	wait_for 3 members_are stay 1
	run bash -c "$REDIS_CLI --raw xrange 'roomd:room:{stay}:events' - + | grep -c room_closed"
	assert_output 0
	sim_wait a
	assert_success
}
