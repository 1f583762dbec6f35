#!/usr/bin/env bats
# errors.bats: bad input (PROTOCOL.md "Requests and replies"). Malformed
# JSON, non-objects, unknown types, missing or wrong-typed fields, bad room
# ids, oversize frames and binary frames each get the error the spec names;
# after each the connection still answers a ping, and a watcher in the same
# room on the other node sees nothing but ordinary room frames.

load lib/common

setup() {
	case "$BATS_TEST_DESCRIPTION" in
	rate_limited*) two_nodes --max-frame 4096 --rate 5 ;;
	unavailable*) two_nodes --max-frame 4096; return ;;
	*) two_nodes --max-frame 4096 ;;
	esac
	W=$BATS_TEST_TMPDIR/watcher.jsonl
	T=$BATS_TEST_TMPDIR/offender.jsonl
	# The watcher sits in room "calm" on n2 until the offender (on n1)
	# publishes "done" there.
	sim_bg watcher --url "$URL_n2" --transcript "$W" - <<'EOF'
join calm
expect event event=done within 25s
EOF
	wait_for 10 members_are calm 1
	SCRIPT=
	REF=0
}

# bad CODE FRAME...: add script lines that send each FRAME with a fresh ref
# (inserted as its first field), expect an error with that ref and CODE,
# then check the connection still works with a ping.
bad() {
	local code=$1 f body
	shift
	for f in "$@"; do
		REF=$((REF + 1))
		body=${f#\{}
		if [ "$body" = "}" ]; then
			SCRIPT+="send {\"ref\":\"e$REF\"}"$'\n'
		else
			SCRIPT+="send {\"ref\":\"e$REF\",$body"$'\n'
		fi
		SCRIPT+="expect error ref=e$REF code=$code within 3s"$'\n'
		SCRIPT+="send {\"type\":\"ping\",\"ref\":\"p$REF\"}"$'\n'
		SCRIPT+="expect ok ref=p$REF within 3s"$'\n'
	done
}

# bad_noref CODE TEXT...: like bad, but TEXT is sent as it is and the error
# carries no ref.
bad_noref() {
	local code=$1 f
	shift
	for f in "$@"; do
		REF=$((REF + 1))
		SCRIPT+="send $f"$'\n'
		SCRIPT+="expect error code=$code within 3s"$'\n'
		SCRIPT+="send {\"type\":\"ping\",\"ref\":\"p$REF\"}"$'\n'
		SCRIPT+="expect ok ref=p$REF within 3s"$'\n'
	done
}

# offend: run $SCRIPT on n1 between joining "calm" and publishing "done"
# there; then check the offender got exactly one reply per ref and the
# watcher saw only ordinary frames.
offend() {
	sim --url "$URL_n1" --transcript "$T" "join calm
$SCRIPT
publish calm done
expect event event=done within 5s"
	assert_success
	run tx_jq "$T" 0 '[.[] | select(.type == "ok" or .type == "error")
	    | select(has("ref")) | .ref | tostring] | group_by(.)
	    | map(select(length > 1) | .[0])'
	assert_output '[]'
	watcher_calm
}

# watcher_calm: the watcher finished well and saw only welcome, its join
# reply, member frames and the "done" event.
watcher_calm() {
	sim_wait watcher
	assert_success
	run tx_jq "$W" 0 '[.[] | .type] - ["welcome", "ok", "member_joined", "member_left", "event"]'
	assert_output '[]'
	run tx_jq "$W" 0 '[.[] | select(.type == "event") | .event]'
	assert_output '["done"]'
}

@test "bad_json: text that is not JSON, then the connection goes on" {
	bad_noref bad_json 'not json' '{"type":"ping"' '{"type":"ping","ref":"garbage"}}' \
	    '{type:"ping"}' "{'type':'ping'}" '}{'
	offend
	run tx_jq "$T" 0 '[.[] | select(.type == "error") | has("ref")] | unique'
	assert_output '[false]'
}

@test "bad_json: JSON that is not an object" {
	bad_noref bad_json '[1,2,3]' '"ping"' '42' 'null' 'true' '[{"type":"ping","ref":"arr"}]'
	offend
	run tx_jq "$T" 0 '[.[] | select(.type == "error")] | length'
	assert_output 6
}

@test "unknown_type: a type the server does not know" {
	bad unknown_type '{"type":"fly"}' '{"type":"JOIN","room":"x"}' \
	    '{"type":"state.delete","room":"calm","key":"k"}' '{"type":"welcome"}' \
	    '{"type":"ok"}' '{"type":"pong"}'
	offend
}

@test "bad_request: missing or wrong-typed type and ref" {
	bad bad_request '{}' '{"type":5}' '{"type":null}' '{"type":["ping"]}' \
	    '{"type":{"a":1}}'
	# A ref that is neither a string nor a number.
	for r in '{"a":1}' '[1]' 'true'; do
		SCRIPT+="send {\"type\":\"ping\",\"ref\":$r}"$'\n'
		SCRIPT+="expect error code=bad_request within 3s"$'\n'
	done
	SCRIPT+='send {"type":"ping","ref":"after"}'$'\n''expect ok ref=after'$'\n'
	offend
}

@test "bad_request: join with missing or wrong-typed fields" {
	bad bad_request '{"type":"join"}' '{"type":"join","room":5}' \
	    '{"type":"join","room":null}' '{"type":"join","room":["a"]}' \
	    '{"type":"join","room":"j1","meta":"side=red"}' \
	    '{"type":"join","room":"j2","meta":[1]}' \
	    '{"type":"join","room":"j3","meta":5}' \
	    '{"type":"join","room":"j4","since":5}' \
	    '{"type":"join","room":"j5","since":"yesterday"}' \
	    '{"type":"join","room":"j6","create":"yes"}' \
	    '{"type":"join","room":"j7","create":{"visibility":"secret"}}' \
	    '{"type":"join","room":"j8","create":{"max_members":"5"}}' \
	    '{"type":"join","room":"j9","create":{"max_members":-1}}' \
	    '{"type":"join","room":"j10","create":{"max_members":1.5}}' \
	    '{"type":"join","room":"j11","create":{"title":5}}' \
	    '{"type":"join","room":"j12","create":{"topic":{}}}'
	offend
	# None of those rooms came into being.
	run redis_cli --raw keys 'roomd:room:{j*'
	assert_output ''
}

@test "bad_request: leave, state.get, presence without a valid room" {
	bad bad_request '{"type":"leave"}' '{"type":"leave","room":[]}' \
	    '{"type":"state.get"}' '{"type":"state.get","room":7}' \
	    '{"type":"presence"}' '{"type":"presence","room":false}' \
	    '{"type":"history"}'
	offend
}

@test "bad_request: publish with missing or wrong-typed fields" {
	long=$(printf 'e%.0s' {1..65})
	bad bad_request '{"type":"publish","event":"e"}' \
	    '{"type":"publish","room":"calm"}' \
	    '{"type":"publish","room":"calm","event":5}' \
	    '{"type":"publish","room":"calm","event":null}' \
	    '{"type":"publish","room":"calm","event":""}' \
	    '{"type":"publish","room":"calm","event":"has space"}' \
	    '{"type":"publish","room":"calm","event":"a/b"}' \
	    "{\"type\":\"publish\",\"room\":\"calm\",\"event\":\"$long\"}" \
	    '{"type":"publish","room":"calm","event":"e","echo":"yes"}' \
	    '{"type":"publish","room":"calm","event":"e","echo":1}'
	offend
	# Nothing of that reached the room's history.
	run room_events calm
	assert_output '"done"'
}

@test "bad_request: state.set with missing or wrong-typed fields" {
	bad bad_request '{"type":"state.set","key":"k","value":1}' \
	    '{"type":"state.set","room":"calm","value":1}' \
	    '{"type":"state.set","room":"calm","key":5,"value":1}' \
	    '{"type":"state.set","room":"calm","key":null,"value":1}' \
	    '{"type":"state.set","room":"calm","key":"k"}' \
	    '{"type":"state.set","room":"calm","key":"k","value":1,"if_version":"0"}' \
	    '{"type":"state.set","room":"calm","key":"k","value":1,"if_version":1.5}'
	offend
	run redis_cli hlen 'roomd:room:{calm}:state'
	assert_output 0
}

@test "bad_request: history and rooms with wrong-typed fields" {
	bad bad_request '{"type":"history","room":"calm","since":5}' \
	    '{"type":"history","room":"calm","since":"abc"}' \
	    '{"type":"history","room":"calm","limit":"10"}' \
	    '{"type":"history","room":"calm","limit":-1}' \
	    '{"type":"history","room":"calm","limit":2.5}' \
	    '{"type":"rooms","limit":"x"}' '{"type":"rooms","limit":-5}' \
	    '{"type":"rooms","visibility":"secret"}' '{"type":"rooms","visibility":5}'
	offend
}

@test "bad_request: room ids outside ^[A-Za-z0-9_.:-]{1,64}\$" {
	long=$(printf 'r%.0s' {1..65})
	for room in '' 'a b' 'a/b' "$long" 'caf\u00e9' 'café' '{x}' 'a*' 'a\nb' 'x"y'; do
		room=${room//\"/\\\"}
		bad bad_request "{\"type\":\"join\",\"room\":\"$room\"}"
	done
	bad bad_request '{"type":"publish","room":"a b","event":"e"}' \
	    '{"type":"state.set","room":"{x}","key":"k","value":1}' \
	    '{"type":"history","room":""}'
	offend
	# No room but "calm" came into being.
	run bash -c "redis-cli -p $REDIS_PORT --raw keys 'roomd:room:*' | grep -v '{calm}'"
	assert_output ''
}

@test "valid ids at the edges are accepted: 64 characters, every allowed sign" {
	long=$(printf 'r%.0s' {1..64})
	SCRIPT="send {\"type\":\"join\",\"room\":\"$long\",\"ref\":\"v1\"}
expect ok ref=v1 room=$long
send {\"type\":\"join\",\"room\":\"Az09_.:-\",\"ref\":\"v2\"}
expect ok ref=v2
send {\"type\":\"publish\",\"room\":\"Az09_.:-\",\"event\":\"e.v:t_1-X\",\"ref\":\"v3\"}
expect ok ref=v3
expect event event=e.v:t_1-X"
	offend
}

@test "too_large: a frame over --max-frame, without ref; the connection goes on" {
	pad=$(head -c 5000 /dev/zero | tr '\0' x)
	SCRIPT="send {\"type\":\"ping\",\"ref\":\"big\",\"pad\":\"$pad\"}
expect error code=too_large within 3s
send {\"type\":\"ping\",\"ref\":\"small\"}
expect ok ref=small within 3s
send {\"type\":\"publish\",\"room\":\"calm\",\"event\":\"big\",\"data\":\"$pad\",\"ref\":\"bigpub\"}
expect error code=too_large within 3s
send {\"type\":\"ping\",\"ref\":\"small2\"}
expect ok ref=small2 within 3s"
	offend
	run tx_jq "$T" 0 '[.[] | select(.type == "error") | [.code, has("ref")]]'
	assert_output '[["too_large",false],["too_large",false]]'
	run tx_jq "$T" 0 '[.[] | select(.ref == "big" or .ref == "bigpub")] | length'
	assert_output 0
}

@test "a frame just under --max-frame is accepted" {
	pad=$(head -c 3900 /dev/zero | tr '\0' x)
	SCRIPT="send {\"type\":\"ping\",\"ref\":\"near\",\"pad\":\"$pad\"}
expect ok ref=near within 3s"
	offend
}

@test "too_large: five oversize frames in a row close the connection with 1009" {
	pad=$(head -c 5000 /dev/zero | tr '\0' x)
	SCRIPT=$(repeat 5 "send {\"type\":\"ping\",\"pad\":\"$pad\"}")
	sim --url "$URL_n1" --transcript "$T" "join calm
$SCRIPT
expect close code=1009 within 5s"
	assert_success
	sim --url "$URL_n1" - <<'EOF'
join calm
publish calm done
expect event event=done
EOF
	assert_success
	watcher_calm
}

@test "too_large: meta over 1 KiB on join, key over 128 bytes on state.set" {
	meta=$(head -c 1100 /dev/zero | tr '\0' m)
	okmeta=$(head -c 900 /dev/zero | tr '\0' m)
	key=$(head -c 129 /dev/zero | tr '\0' k)
	okkey=$(head -c 128 /dev/zero | tr '\0' k)
	bad too_large "{\"type\":\"join\",\"room\":\"m1\",\"meta\":{\"pad\":\"$meta\"}}" \
	    "{\"type\":\"state.set\",\"room\":\"calm\",\"key\":\"$key\",\"value\":1}"
	SCRIPT+="send {\"type\":\"join\",\"room\":\"m2\",\"meta\":{\"pad\":\"$okmeta\"},\"ref\":\"okm\"}
expect ok ref=okm
send {\"type\":\"state.set\",\"room\":\"m2\",\"key\":\"$okkey\",\"value\":1,\"ref\":\"okk\"}
expect ok ref=okk"
	offend
	run redis_cli exists 'roomd:room:{m1}:members'
	assert_output 0
	run redis_cli hlen 'roomd:room:{calm}:state'
	assert_output 0
}

@test "binary frames are answered with close 1003; others are not disturbed" {
	sim --url "$URL_n1" --transcript "$T" - <<'EOF'
join calm
send-binary hello
expect close code=1003 within 3s
EOF
	assert_success
	sim --url "$URL_n2" - <<'EOF'
join calm
publish calm done
expect event event=done
EOF
	assert_success
	watcher_calm
}

@test "not_member: requests on a room the connection is not in" {
	bad not_member '{"type":"publish","room":"other","event":"e"}' \
	    '{"type":"state.set","room":"other","key":"k","value":1}' \
	    '{"type":"state.get","room":"other"}' \
	    '{"type":"presence","room":"other"}' \
	    '{"type":"history","room":"other"}'
	offend
}

@test "rate_limited: requests over --rate are refused and not carried out; the connection goes on" {
	# The poll waits until requests get through again; a second between
	# tries leaves tokens (--rate 5) for the ping and publish after it.
	SCRIPT="join busy
$(repeat 25 'send {"type":"publish","room":"busy","event":"burst","data":@k@,"ref":"r@k@"}')
poll {\"type\":\"ping\"} until ok every 1s within 8s
send {\"type\":\"ping\",\"ref\":\"after\"}
expect ok ref=after within 5s"
	offend
	run tx_jq "$T" 0 '[.[] | select((.ref | tostring) | startswith("r"))
	    | .type + ":" + (.code // "")] | group_by(.) | map([.[0], length])
	    | [length, (map(.[1]) | add)]'
	assert_output '[2,25]'
	run tx_jq "$T" 0 '[.[] | select((.ref | tostring) | startswith("r")) | .code // "ok"] | unique'
	assert_output '["ok","rate_limited"]'
	# The refused publishes were not carried out: the history holds
	# exactly the accepted ones.
	accepted=$(tx_jq "$T" 0 '[.[] | select(((.ref | tostring) | startswith("r")) and .type == "ok") | .ref[1:] | tonumber]')
	run bash -c "redis-cli -p $REDIS_PORT --raw xrange 'roomd:room:{busy}:events' - + | grep '^{' | jq -s -c '[.[] | select(.type == \"event\") | .data]'"
	assert_output "$accepted"
	n=$(jq length <<<"$accepted")
	assert_between "$n" 5 15 "publishes accepted"
}

@test "unavailable: requests that need Redis while it is down; the connection goes on" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim_bg o --transcript "$T" - <<'EOF'
join before
poll {"type":"publish","room":"before","event":"e"} until error code=unavailable every 200ms within 10s
send {"type":"join","room":"after","ref":"u1"}
expect error ref=u1 code=unavailable within 8s
send {"type":"publish","room":"before","event":"e","ref":"u2"}
expect error ref=u2 code=unavailable within 8s
send {"type":"ping","ref":"p"}
expect ok ref=p within 3s
EOF
	wait_for 10 members_are before 1
	kill -KILL "$REDIS_PID"
	sim_wait o
	assert_success
}
