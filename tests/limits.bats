#!/usr/bin/env bats
# limits.bats: what roomd does to clients that ask too much (PROTOCOL.md
# "Requests and replies", CLI.md): --max-frame (too_large, then 1009 for a
# client that keeps at it), --max-conns (503 at the upgrade),
# --max-rooms-per-conn (too_many_rooms), --rate (rate_limited, then 1008),
# and the bounded send queue: a client that stops reading is closed with
# 4008 while the others in its room go on receiving.
#
# The keepalive (a ping after 20 s idle, a hangup after 30 s of silence)
# has its own file, keepalive.bats, so its half minute runs beside these.

load lib/common

# pad N: N "A"s.
pad() {
	local s
	printf -v s '%*s' "$1" ''
	printf '%s' "${s// /A}"
}

@test "max-frame: an oversize frame gets too_large without ref and the connection goes on" {
	two_nodes --max-frame 1024
	T=$BATS_TEST_TMPDIR/t.jsonl
	big="{\"type\":\"ping\",\"ref\":\"big\",\"pad\":\"$(pad 1100)\"}"
	fits="{\"type\":\"ping\",\"ref\":\"fits\",\"pad\":\"$(pad 960)\"}"
	sim --transcript "$T" - <<EOF
expect welcome max_frame=1024
send $big
expect error code=too_large
send $fits
expect ok ref=fits
join r
publish r after
expect event event=after
EOF
	assert_success
	# The error cannot name the ref of a frame that was not read.
	run tx_jq "$T" 0 '[.[] | select(.type == "error")] | map(has("ref"))'
	assert_output '[false]'
	run metric n1 'roomd_errors_total{code="too_large"}'
	assert_output 1
}

@test "max-frame: five oversize frames in a row close the connection with 1009" {
	two_nodes --max-frame 1024
	big="{\"type\":\"ping\",\"pad\":\"$(pad 2000)\"}"
	# Four, then a good frame: the count starts again.
	script=$(repeat 4 "send $big"; repeat 4 "expect error code=too_large")
	script+=$'\nsend {"type":"ping","ref":"p1"}\nexpect ok ref=p1\n'
	script+=$(repeat 4 "send $big"; repeat 4 "expect error code=too_large")
	script+=$'\nsend {"type":"ping","ref":"p2"}\nexpect ok ref=p2\n'
	script+=$(repeat 5 "send $big"; repeat 5 "expect error code=too_large")
	script+=$'\nexpect close code=1009 within 5s\n'
	sim "$script"
	assert_success
	# Others are not affected.
	sim --url "$URL_n2" - <<'EOF'
join r
send {"type":"ping","ref":"ok"}
expect ok ref=ok
EOF
	assert_success
}

@test "max-conns: the connection over the limit gets 503 at the upgrade" {
	redis_start
	roomd_start n1 --max-conns 2
	sim_bg hold --clients 2 - <<'EOF'
join r
expect event event=end within 20s
EOF
	wait_for 10 members_are r 2
	sim - <<'EOF'
expect refused status=503
EOF
	assert_success
	run upgrade_code n1
	assert_output 503
	# Plain HTTP is not a connection that counts.
	run http_code n1 /healthz
	assert_output 200
	run metric n1 roomd_connections
	assert_output 2
	"$ROOMCTL" --redis "$REDIS_URL" publish r end
	sim_wait hold
	assert_success
	wait_for 5 eval '[ "$(metric n1 roomd_connections)" = 0 ]'
	sim - <<'EOF'
expect welcome
join r
EOF
	assert_success
}

@test "max-rooms-per-conn: a join over the limit gets too_many_rooms" {
	two_nodes --max-rooms-per-conn 2
	sim - <<'EOF'
join a
join b
send {"type":"join","room":"c","ref":"c1"}
expect error ref=c1 code=too_many_rooms
send {"type":"join","room":"a","ref":"again"}
expect ok ref=again
send {"type":"leave","room":"a","ref":"l"}
expect ok ref=l
send {"type":"join","room":"c","ref":"c2"}
expect ok ref=c2
publish c ok
expect event event=ok
EOF
	assert_success
	run redis_cli exists 'roomd:room:{c}:events'
	assert_output 1
}

@test "rate: requests over --rate get rate_limited; the connection goes on" {
	two_nodes --rate 5
	T=$BATS_TEST_TMPDIR/t.jsonl
	script=$(repeat 20 'send {"type":"ping","ref":"p@k@"}')
	script+=$'\nexpect error code=rate_limited ref=p19\nsleep 1s\n'
	script+=$'send {"type":"ping","ref":"after"}\nexpect ok ref=after\n'
	sim --transcript "$T" "$script"
	assert_success
	# Every request got one reply, in order: ok up to the burst, then
	# rate_limited.
	run tx_jq "$T" 0 '[.[] | select(.ref != null and .ref != "after")]
	    | [(map(.ref) == [range(20) | "p\(.)"]),
	       (map(.type) | index("error") >= 5),
	       (map(.type) | .[index("error"):] | unique)]'
	assert_output '[true,true,["error"]]'
	run tx_jq "$T" 0 '[.[] | select(.type == "error") | .code] | unique'
	assert_output '["rate_limited"]'
}

@test "rate: a client far over --rate is closed with 1008; others go on" {
	# At --rate 1 a connection may make 10 requests more than the rate
	# allows (refilled at twice the rate) before it is closed. The 11th
	# request at once is the one that gets the client closed: a send after
	# the close would fail the script.
	two_nodes --rate 1
	sim_bg w --url "$URL_n2" - <<'EOF'
join r
expect member_left reason=disconnect within 20s
expect event event=still within 5s
EOF
	wait_for 10 members_are r 1
	script=$'send {"type":"join","room":"r","ref":"j"}\n'
	script+=$(repeat 10 'send {"type":"ping","ref":"p@k@"}')
	script+=$'\nexpect close code=1008 within 5s\n'
	sim "$script"
	assert_success
	grep -q 'closed for flooding' "$BATS_TEST_TMPDIR/n1.log"
	wait_for 5 members_are r 1
	sim - <<'EOF'
join r
publish r still
EOF
	assert_success
	sim_wait w
	assert_success
}

@test "slow consumer: a client that stops reading is closed with 4008, the others keep up" {
	two_nodes --rate 100000 --history 10
	TH=$BATS_TEST_TMPDIR/h.jsonl
	# A member on n1 publishes 20 batches of 20 events of 60 KB (24 MB in
	# all: far over the 8 MiB send queue and the socket buffers) and reads
	# each batch back before the next: it keeps up. Written by awk: bash
	# is slow at building 24 MB of text.
	S=$BATS_TEST_TMPDIR/publisher.sim
	awk 'BEGIN {
		for (d = "A"; length(d) < 60000; d = d d)
			;
		d = substr(d, 1, 60000)
		print "join big"
		for (k = 0; k < 20; k++) {
			for (j = 0; j < 20; j++)
				printf "publish big e \"%s\"\n", d
			printf "publish big b%d\nexpect event event=b%d within 10s\n", k, k
		}
	}' >"$S"
	# The staller reads nothing for a while, then finds its close.
	sim_bg staller - <<'EOF'
join big
stall 10s
expect close code=4008 within 10s
EOF
	wait_for 10 members_are big 1
	SECONDS=0
	run timeout 30 "$ROOMCTL" sim --url "$URL_n1" --transcript "$TH" "$S"
	assert_success
	# All that while the staller still stalled, and it was dropped.
	[ "$SECONDS" -lt 9 ]
	run metric n1 roomd_slow_consumer_drops_total
	assert_output 1
	run grep -c 'slow consumer' "$BATS_TEST_TMPDIR/n1.log"
	assert_output 1
	# The reader got every event, in order.
	run tx_jq "$TH" 0 '[.[] | select(.type == "event") | .event]
	    | [length, (map(select(. == "e")) | length), .[-1]]'
	assert_output '[420,400,"b19"]'
	# The staller got its close, and only then left the room.
	sim_wait staller
	assert_success
	wait_for 5 members_are big 0
}
