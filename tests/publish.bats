#!/usr/bin/env bats
# publish.bats: event frames (PROTOCOL.md "Room frames"): their fields, echo,
# delivery across nodes, and one order for every member under concurrent
# publishers on both nodes.

load lib/common

setup() {
	two_nodes
}

@test "event frame: room, seq, ts, event, data, from; ok seq matches" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1
expect event event=hi within 20s
EOF
	wait_for 10 members_are r1 1
	sim --transcript "$TA" - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"hi","data":{"x":[1,"two",{"three":3.5}],"u":"\u00fcn\u00ef \u20ac","t":true,"n":null},"ref":"P"}
expect ok ref=P
expect event event=hi data.x.1=two data.x.2.three=3.5
EOF
	assert_success
	sim_wait b
	assert_success
	a=$(conn_of "$TA" 0)
	now=$(date +%s%3N)
	for t in "$TA" "$TB"; do
		run tx_jq "$t" 0 'map(select(.type == "event"))[0]
		    | [.room, .event, .data, .from, (.seq | type), (.ts | type)]'
		assert_output "[\"r1\",\"hi\",{\"x\":[1,\"two\",{\"three\":3.5}],\"u\":\"ünï €\",\"t\":true,\"n\":null},{\"conn\":\"$a\",\"user\":null},\"string\",\"number\"]"
		run tx_jq "$t" 0 "map(select(.type == \"event\"))[0].ts | . > $now - 60000 and . <= $now + 1000"
		assert_output true
	done
	# The seq in A's ok reply is the seq both members saw.
	okseq=$(tx_jq "$TA" 0 'map(select(.ref == "P"))[0].seq')
	run tx_jq "$TA" 0 'map(select(.type == "event"))[0].seq'
	assert_output "$okseq"
	run tx_jq "$TB" 0 'map(select(.type == "event"))[0].seq'
	assert_output "$okseq"
}

@test "data of every JSON type arrives unchanged; absent data" {
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1
expect event event=end within 20s
EOF
	wait_for 10 members_are r1 1
	sim - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"d","data":"text"}
send {"type":"publish","room":"r1","event":"d","data":-12.5e3}
send {"type":"publish","room":"r1","event":"d","data":0}
send {"type":"publish","room":"r1","event":"d","data":false}
send {"type":"publish","room":"r1","event":"d","data":null}
send {"type":"publish","room":"r1","event":"d","data":[]}
send {"type":"publish","room":"r1","event":"d","data":{}}
send {"type":"publish","room":"r1","event":"d","data":"quote \" backslash \\ newline \n tab \t"}
send {"type":"publish","room":"r1","event":"d"}
publish r1 end
expect event event=end
EOF
	assert_success
	sim_wait b
	assert_success
	run tx_jq "$TB" 0 '[.[] | select(.type == "event" and .event == "d") | .data]'
	assert_output '["text",-12500,0,false,null,[],{},"quote \" backslash \\ newline \n tab \t",null]'
}

@test "data and state values go on as sent: every digit, no whitespace; cJSON-only numbers as JSON" {
	# What B on the other node receives, byte for byte: the client's own
	# number text (cJSON would print 12345678901234567890123 from a
	# double), its whitespace gone; 01 and 1. (cJSON reads them, JSON.parse
	# does not) as the numbers cJSON read.
	PYTHONPATH="$ROOT/tests/lib" run timeout 60 python3 - "$(port_of n1)" \
	    "$(port_of n2)" <<'EOF'
import sys, wsraw
a = wsraw.WS(int(sys.argv[1]))
b = wsraw.WS(int(sys.argv[2]))
for c, ref in ((b, "jb"), (a, "ja")):
    c.send_json({"type": "join", "room": "raw1", "ref": ref})
    assert c.reply(ref)[-1]["json"]["type"] == "ok", ref
a.send(wsraw.text('{"type":"publish","room":"raw1","event":"d","ref":"p1",'
                  '"data": { "big" : 12345678901234567890123 , "f": 1.50,'
                  ' "e":[ 1E+2, -0 ], "s" : "a  b\\" c" }}'),
       wsraw.text('{"type":"publish","room":"raw1","event":"d","ref":"p2",'
                  '"data":[01, 1.]}'),
       wsraw.text('{"type":"state.set","room":"raw1","key":"k","ref":"s1",'
                  '"value": {"v" :\t98765432109876543210}}'))
rs = a.reply("s1", timeout=10)
assert [f["json"]["type"] for f in rs if f["json"] and "ref" in f["json"]] \
    == ["ok", "ok", "ok"], rs
fr = b.collect(lambda f: f["op"] == "text" and
               f["json"].get("type") == "state_changed", timeout=10)
wsraw.show(fr)
texts = [f["text"] for f in fr if f["op"] == "text"]
ev = [t for t in texts if '"type":"event"' in t]
st = [t for t in texts if '"type":"state_changed"' in t]
assert len(ev) == 2 and len(st) == 1, texts
assert ('"data":{"big":12345678901234567890123,"f":1.50,"e":[1E+2,-0],'
        '"s":"a  b\\" c"}') in ev[0], ev[0]
assert '"data":[1,1]' in ev[1], ev[1]
assert '"value":{"v":98765432109876543210}' in st[0], st[0]
EOF
	assert_success
}

@test "echo false: the sender gets the ok but not its own event" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1
expect event event=quiet within 20s
expect event event=loud within 20s
EOF
	wait_for 10 members_are r1 1
	sim --transcript "$TA" - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"quiet","echo":false,"ref":"q"}
expect ok ref=q seq=*
send {"type":"publish","room":"r1","event":"loud","echo":true,"ref":"l"}
expect ok ref=l
expect event event=loud
EOF
	assert_success
	sim_wait b
	assert_success
	run tx_jq "$TA" 0 '[.[] | select(.type == "event") | .event]'
	assert_output '["loud"]'
	run tx_jq "$TB" 0 '[.[] | select(.type == "event") | .event]'
	assert_output '["quiet","loud"]'
	# quiet is in the history all the same.
	run room_events r1
	assert_output $'"quiet"\n"loud"'
}

@test "frames go only to the room's members" {
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r2
expect event event=end within 20s
EOF
	wait_for 10 members_are r2 1
	sim - <<'EOF'
join r1
join r2
publish r1 private
expect event event=private
publish r2 end
expect event event=end
EOF
	assert_success
	sim_wait b
	assert_success
	run tx_jq "$TB" 0 '[.[] | select(.room == "r1")] | length'
	assert_output 0
}

@test "one order for everyone: 4 clients on two nodes publish 50 events each" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	script="join \$room
barrier
$(repeat 50 'publish $room tick {"p":$i,"k":@k@}')
$(for p in 0 1 2 3; do echo "expect event event=tick data.p=$p data.k=49 within 20s"; done)
barrier"
	sim --clients 4 --url "$URL_n1,$URL_n2" --room order --transcript "$T" "$script"
	assert_success
	for c in 0 1 2 3; do
		tx_jq "$T" $c '[.[] | select(.type == "event" and .event == "tick")]' \
		    >"$BATS_TEST_TMPDIR/ev$c"
		run jq 'length' "$BATS_TEST_TMPDIR/ev$c"
		assert_output 200
		run check_seqs "$BATS_TEST_TMPDIR/ev$c"
		assert_success
		# Each publisher's events in the order it sent them.
		run jq -c '[range(4) as $p | [.[] | select(.data.p == $p) | .data.k] == [range(50)]] | all' \
		    "$BATS_TEST_TMPDIR/ev$c"
		assert_output true
		# Its ok replies carry the seqs its own events got, in order.
		oks=$(tx_jq "$T" $c '[.[] | select(.type == "ok" and has("seq") and (has("members") | not)) | .seq]')
		run jq -c "[.[] | select(.data.p == $c) | .seq]" "$BATS_TEST_TMPDIR/ev$c"
		assert_output "$oks"
	done
	# The same sequence (seq and content) for every client.
	for c in 1 2 3; do
		run cmp "$BATS_TEST_TMPDIR/ev0" "$BATS_TEST_TMPDIR/ev$c"
		assert_success
	done
	# And the same order as the history in Redis.
	run bash -c "diff <(jq -c '.[].data' '$BATS_TEST_TMPDIR/ev0') \
	    <($REDIS_CLI --raw xrange 'roomd:room:{order}:events' - + | grep '^{' | jq -c 'select(.type == \"event\") | .data')"
	assert_success
}

@test "seq order holds across rooms a client shares with others on both nodes" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	script="join ra
join rb
barrier
$(repeat 30 'publish ra a {"p":$i,"k":@k@}
publish rb b {"p":$i,"k":@k@}')
$(for p in 0 1 2 3; do echo "expect event event=a data.p=$p data.k=29 within 20s"; echo "expect event event=b data.p=$p data.k=29 within 20s"; done)
barrier"
	sim --clients 4 --url "$URL_n2,$URL_n1" --transcript "$T" "$script"
	assert_success
	for c in 0 1 2 3; do
		for r in ra rb; do
			tx_jq "$T" $c "[.[] | select(.type == \"event\" and .room == \"$r\") | .seq]" \
			    >"$BATS_TEST_TMPDIR/$r.$c"
			run check_seqs "$BATS_TEST_TMPDIR/$r.$c"
			assert_success
			run jq length "$BATS_TEST_TMPDIR/$r.$c"
			assert_output 120
			run cmp "$BATS_TEST_TMPDIR/$r.0" "$BATS_TEST_TMPDIR/$r.$c"
			assert_success
		done
	done
}
