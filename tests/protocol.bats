#!/usr/bin/env bats
# protocol.bats: the connection itself (PROTOCOL.md "Connection", "Requests
# and replies"): welcome first, ping with and without ref, refs echoed with
# their JSON type, replies in request order, the roomd.v1 subprotocol.

load lib/common

setup() {
	redis_start
	roomd_start n1
}

@test "welcome is the first frame, with conn, node, user, protocol, max_frame" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
expect welcome node=n1 protocol=1 max_frame=65536 user=null
EOF
	assert_success
	run tx_jq "$T" 0 '.[0] | [.type, (.conn | type), .node, .user, .protocol, .max_frame]'
	assert_output '["welcome","string","n1",null,1,65536]'
	# conn is not empty
	run tx_jq "$T" 0 '.[0].conn | length > 0'
	assert_output true
}

@test "welcome reports --max-frame and each connection gets its own conn id" {
	roomd_start n2 --max-frame 4096
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --url "$URL_n2" --clients 3 --transcript "$T" - <<'EOF'
expect welcome node=n2 max_frame=4096
barrier
EOF
	assert_success
	run bash -c "jq -r 'select(.dir==\"in\" and .frame.type==\"welcome\") | .frame.conn' '$T' | sort -u | wc -l"
	assert_output 3
}

@test "ping without ref gets pong" {
	sim - <<'EOF'
send {"type":"ping"}
expect pong within 2s
EOF
	assert_success
}

@test "ping with a numeric ref gets ok with the same number" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
send {"type":"ping","ref":42}
expect ok ref=42 within 2s
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.type == "ok")) | .[0] | [(.ref | type), .ref, (keys | sort)]'
	assert_output '["number",42,["ref","type"]]'
}

@test "ping with a string ref gets ok with the same string" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
send {"type":"ping","ref":"42"}
send {"type":"ping","ref":"a b/c"}
expect ok ref="42" within 2s
expect ok within 2s
EOF
	assert_success
	run tx_jq "$T" 0 '[.[] | select(.type == "ok") | .ref]'
	assert_output '["42","a b/c"]'
}

@test "a request without ref gets no reply on success" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"quiet"}
send {"type":"state.set","room":"r1","key":"k","value":1}
send {"type":"ping","ref":"last"}
expect event event=quiet
expect state_changed key=k
expect ok ref=last
EOF
	assert_success
	# The only ok frames are the join's and the last ping's: none without ref.
	run tx_jq "$T" 0 '[.[] | select(.type == "ok" and (has("ref") | not))] | length'
	assert_output 0
	run tx_jq "$T" 0 '[.[] | select(.type == "error")] | length'
	assert_output 0
}

@test "replies come in request order across request types" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
send {"type":"join","room":"o1","ref":1}
send {"type":"ping","ref":2}
send {"type":"publish","room":"o1","event":"e","data":1,"ref":3}
send {"type":"state.set","room":"o1","key":"k","value":"v","ref":4}
send {"type":"state.get","room":"o1","ref":5}
send {"type":"presence","room":"o1","ref":6}
send {"type":"history","room":"o1","ref":7}
send {"type":"rooms","ref":8}
send {"type":"publish","room":"nope","event":"e","ref":9}
send {"type":"join","room":"o2","ref":10}
send {"type":"leave","room":"o2","ref":11}
send {"type":"fly","ref":12}
send {"type":"ping","ref":13}
expect ok ref=13 within 5s
EOF
	assert_success
	run tx_jq "$T" 0 '[.[] | select(.type == "ok" or .type == "error") | .ref]'
	assert_output '[1,2,3,4,5,6,7,8,9,10,11,12,13]'
	run tx_jq "$T" 0 '[.[] | select(.ref == 9 or .ref == 12) | .code]'
	assert_output '["not_member","unknown_type"]'
}

@test "many pipelined pings are answered in order" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	script=$(repeat 100 'send {"type":"ping","ref":@k@}')
	sim --transcript "$T" "$script
expect ok ref=99 within 5s"
	assert_success
	run tx_jq "$T" 0 '[.[] | select(.type == "ok") | .ref] == [range(100)]'
	assert_output true
}

@test "an error reply carries ref, code and a message" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --transcript "$T" - <<'EOF'
send {"type":"presence","room":"nowhere","ref":"x1"}
expect error ref=x1 code=not_member message=* within 2s
EOF
	assert_success
	run tx_jq "$T" 0 'map(select(.type == "error"))[0] | [.ref, .code, (.message | type)]'
	assert_output '["x1","not_member","string"]'
}

@test "the server selects the roomd.v1 subprotocol when offered" {
	exec 5<>"/dev/tcp/127.0.0.1/$PORT_n1"
	printf 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: roomd.v1\r\n\r\n' "$PORT_n1" >&5
	headers=
	while IFS= read -r -t 3 line <&5; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		headers+="$line"$'\n'
	done
	exec 5>&-
	run printf '%s' "$headers"
	assert_line --regexp '^HTTP/1\.1 101 '
	assert_line --regexp '^[Ss]ec-[Ww]eb[Ss]ocket-[Aa]ccept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=$'
	assert_line --regexp '^[Ss]ec-[Ww]eb[Ss]ocket-[Pp]rotocol: roomd\.v1$'
}

@test "a connection without a subprotocol is accepted too" {
	exec 5<>"/dev/tcp/127.0.0.1/$PORT_n1"
	printf 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' "$PORT_n1" >&5
	IFS= read -r -t 3 line <&5
	exec 5>&-
	[[ "$line" == "HTTP/1.1 101 "* ]]
}

@test "a bad request does not disturb another connection" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 2 --transcript "$T" - <<'EOF'
join $room
barrier
send {"type":"nonsense$i","ref":1}
expect error ref=1 code=unknown_type
publish $room hello {"from":$i}
expect event event=hello data.from=0
expect event event=hello data.from=1
EOF
	assert_success
}
