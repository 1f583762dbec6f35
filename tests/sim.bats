#!/usr/bin/env bats
# sim.bats: `roomctl sim` as a test driver (CLI.md "roomctl sim"): scripts
# refused before anything connects, failures naming client, line and what
# arrived, barrier, $i/$n/$room, the transcript, exit statuses, the poll
# step, and bounds against a hostile server.

load lib/common

setup() {
	two_nodes
}

# nothing_joined: the probe room that line 1 of a bad script would have
# joined does not exist, so no client connected and ran it.
nothing_joined() {
	run redis_cli exists 'roomd:room:{probe}:members' 'roomd:room:{probe}'
	assert_output 0
}

@test "a malformed script is refused before connecting, with FILE:LINE, exit 2" {
	local -a bad=(
		'frobnicate now'
		'join'
		'sleep soon'
		'expect'
		'expect ok within forever'
		'publish probe'
		'state probe key'
		'join probe {"side":'
		'barrier now'
		'poll {"type":"ping"}'
		'poll ping until ok'
		'poll [1] until ok'
		'poll {"type":"ping"} until'
		'poll {"type":"ping"} until ok every'
		'poll {"type":"ping"} until ok within 1s ref=1'
	)
	for line in "${bad[@]}"; do
		sim --clients 2 "join probe
# a comment

$line
publish probe never"
		assert_failure 2
		assert_output --partial "$SIM_SCRIPT:4"
		nothing_joined
	done
}

@test "a failing expect exits 1 naming the client, the line and what arrived" {
	sim --clients 2 --url "$URL_n1,$URL_n2" - <<'EOF'
# client 0 is on n1, client 1 on n2
expect welcome node=n1 within 1s
EOF
	assert_failure 1
	assert_output --regexp 'client 1'
	assert_output --regexp '(line 2|:2)'
	assert_output --partial '"node":"n2"'
	refute_output --regexp 'client 0[^-9]'
}

@test "expect gives up after its within duration" {
	start=$(date +%s%3N)
	sim - <<'EOF'
join r1
expect event event=never within 300ms
EOF
	end=$(date +%s%3N)
	assert_failure 1
	assert_output --partial member_joined
	[ $((end - start)) -lt 3000 ]
}

@test "frames that do not match stay queued for later expects" {
	sim - <<'EOF'
join r1
publish r1 a 1
publish r1 b 2
publish r1 c 3
expect event event=c data=3
expect event event=a
expect event event=b data=2
expect * room=r1 event=c within 300ms
EOF
	# The c event was consumed; "*" finds no other frame with event=c.
	assert_failure 1
	assert_output --regexp '(line 8|:8)'
	sim - <<'EOF'
join r1
publish r1 a {"x":"y"}
expect event event=a data.x!=z data.missing!=1 from.conn=* seq=*
expect * type=ok
EOF
	assert_success
}

@test "barrier: nobody passes until every client has arrived" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 4 --url "$URL_n1,$URL_n2" --transcript "$T" - <<'EOF'
join $room
sleep ${i}00ms
publish $room arrive
barrier
publish $room after
expect event event=after within 5s
EOF
	assert_success
	run jq -s '([.[] | select(.dir == "out" and .frame.event == "arrive") | .t] | max) as $a
	    | ([.[] | select(.dir == "out" and .frame.event == "after") | .t] | min) as $b
	    | [$a <= $b, ([.[] | select(.dir == "out" and .frame.event == "arrive")] | length)]' "$T"
	assert_output --regexp 'true,[[:space:]]*4'
	run jq -s '[.[] | select(.dir == "out" and .frame.event == "after")] | length' "$T"
	assert_output 4
}

@test "\$i, \$n, \$room and \${i} are substituted, \$\$ is a dollar" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 3 --room subst --transcript "$T" - <<'EOF'
join $room
publish $room sub {"i":$i,"n":$n,"r":"$room","b":"${i}x","d":"$$i"}
expect event event=sub data.i=$i data.n=3 data.r=subst room=$room within 5s
EOF
	assert_success
	for c in 0 1 2; do
		run tx_jq "$T" $c "map(select(.type == \"event\" and .data.i == $c))[0] | [.room, .data]"
		assert_output "[\"subst\",{\"i\":$c,\"n\":3,\"r\":\"subst\",\"b\":\"${c}x\",\"d\":\"\$i\"}]"
	done
}

@test "--room defaults to sim" {
	sim - <<'EOF'
join $room
expect ok within 1s
EOF
	# join consumed its ok; the only queued frame is member_joined.
	assert_failure 1
	sim - <<'EOF'
join $room
expect member_joined room=sim
EOF
	assert_success
}

@test "--transcript: JSON lines of every frame each client sent and received" {
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 2 --transcript "$T" - <<'EOF'
join tr
send {"type":"ping","ref":"x"}
expect ok ref=x
send not json
expect error code=bad_json
EOF
	assert_success
	# Every line is one JSON object with the four fields.
	run jq -c -e 'select((keys - ["client", "dir", "frame", "t"]) != [] or
	    (.client | type) != "number" or (.dir | IN("in", "out") | not) or
	    (.t | type) != "number")' "$T"
	assert_output ''
	for c in 0 1; do
		# welcome, the join's ok, the ping's ok, the error; member_joined
		# frames come in between.
		run tx_jq "$T" $c 'map(.type | select(. != "member_joined"))'
		assert_output '["welcome","ok","ok","error"]'
		run bash -c "jq -c --argjson c $c 'select(.client == \$c and .dir == \"out\") | .frame | if type == \"string\" then (fromjson? // .) else . end | if type == \"object\" then .type else . end' '$T'"
		assert_output $'"join"\n"ping"\n"not json"'
		# Times never go backwards.
		run jq -s --argjson c $c '[.[] | select(.client == $c) | .t] | . == sort' "$T"
		assert_output true
	done
}

@test "a script from standard input" {
	run timeout 30 "$ROOMCTL" sim --url "$URL_n2" - <<'EOF'
expect welcome node=n2
EOF
	assert_success
}

@test "usage errors exit 2" {
	printf 'join r\n' >"$BATS_TEST_TMPDIR/ok.sim"
	run timeout 10 "$ROOMCTL" sim --clients abc --url "$URL_n1" "$BATS_TEST_TMPDIR/ok.sim"
	assert_failure 2
	run timeout 10 "$ROOMCTL" sim --url "$URL_n1"
	assert_failure 2
	run timeout 10 "$ROOMCTL" sim --no-such-option "$BATS_TEST_TMPDIR/ok.sim"
	assert_failure 2
	run timeout 10 "$ROOMCTL" sim --url "$URL_n1" "$BATS_TEST_TMPDIR/missing.sim"
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	assert_output --partial missing.sim
}

@test "a server close is the pseudo-frame close; the client may go on with another step" {
	sim - <<'EOF'
send-binary x
expect close code=1003 reason=*
EOF
	assert_success
}

@test "a refused upgrade is the pseudo-frame refused with its status" {
	roomd_start n3 --auth-secret test-secret-0123456789
	sim --url "$URL_n3" - <<'EOF'
expect refused status=401 within 3s
EOF
	assert_success
}

@test "a client that cannot connect fails the run with exit 1" {
	port=$(free_port)
	sim --url "ws://127.0.0.1:$port/ws" - <<'EOF'
join r
EOF
	assert_failure 1
	assert_output --partial "client 0"
}

@test "poll sends its frame until a reply matches, dropping the replies that do not" {
	sim - <<'EOF'
join r1
poll {"type":"state.get","room":"r1","ref":"mine"} until ok state.k=2 every 50ms within 1s
EOF
	# Nobody sets k: the poll times out, and its ok replies were dropped.
	assert_failure 1
	assert_output --regexp '(line 2|:2).*timed out after 1s; got instead: '
	refute_output --partial '"type":"ok"'
	sim_bg setter - <<'EOF'
join r1
sleep 300ms
state r1 k 2
EOF
	sim --transcript "$BATS_TEST_TMPDIR/t.jsonl" - <<'EOF'
join r1
poll {"type":"state.get","room":"r1"} until ok state.k=2 every 50ms within 10s
send {"type":"ping","ref":"after"}
expect ok ref=after
expect ok within 100ms
EOF
	assert_failure 1
	# The failing last line shows the frames kept: no state.get reply.
	assert_output --regexp '(line 6|:6)'
	refute_output --partial '"type":"ok"'
	sim_wait setter
	assert_success
	# Every poll frame went out with a fresh ref.
	tx_frames "$BATS_TEST_TMPDIR/t.jsonl" 0 out >"$BATS_TEST_TMPDIR/out.jsonl"
	run jq -s -c '[.[] | select(.type == "state.get") | .ref]
	    | (length > 1) and ((unique | length) == length)' "$BATS_TEST_TMPDIR/out.jsonl"
	assert_output true
}

# hostile MODE: start tests/lib/hostile-ws.py, a server that upgrades one
# client and then floods it (MODE frames or pings) and never reads, on a
# free loopback port; sets HOSTILE_URL.
hostile() {
	local pf=$BATS_TEST_TMPDIR/hostile.port
	python3 "$BATS_TEST_DIRNAME/lib/hostile-ws.py" "$1" "$pf" 3>&- &
	_PROC[$!]="hostile $1"
	wait_for 5 test -s "$pf"
	HOSTILE_URL="ws://127.0.0.1:$(cat "$pf")/ws"
}

# sim_rss SCRIPT_TEXT: `run` roomctl sim on SCRIPT_TEXT against HOSTILE_URL;
# the last output line is its peak memory, "maxrss_kb=N".
sim_rss() {
	printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/hostile.sim"
	run python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
print("maxrss_kb=%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r.returncode)' timeout 30 "$ROOMCTL" sim --url "$HOSTILE_URL" \
	    "$BATS_TEST_TMPDIR/hostile.sim"
}

# rss_max_kb: the peak memory allowed; a sanitizer build keeps shadow
# memory and freed memory in quarantine, so it gets more.
rss_max_kb() {
	if ldd "$ROOMCTL" | grep -q libasan; then echo 600000; else echo 100000; fi
}

# hostile_fails MODE REGEXP: against a hostile server in MODE, a client
# waiting 20 s fails at once with the message REGEXP, in bounded memory.
hostile_fails() {
	hostile "$1"
	start=$(date +%s)
	sim_rss 'expect never within 20s'
	assert_failure 1
	assert_line --index 0 --regexp "^roomctl: sim: client 0 \\(ws://127\\.0\\.0\\.1:[0-9]+/ws\\), line 1: expect never within 20s: $2"
	[ $(($(date +%s) - start)) -lt 15 ]
	rss=${lines[-1]#maxrss_kb=}
	[ "$rss" -lt "$(rss_max_kb)" ]
}

@test "a server flooding frames that no step takes fails the client, in bounded memory" {
	hostile_fails frames '10001 frames \([0-9]+ bytes\) came that no step took; more than 10000 frames or 64 MiB is a flood$'
}

@test "a server flooding pings and never reading the pongs fails the client, in bounded memory" {
	hostile_fails pings 'the server is not reading: more than 8 MiB waiting to be sent$'
}
