#!/usr/bin/env bats
# roomctl.bats: the operator's subcommands (CLI.md "roomctl") against a real
# redis-server and two roomd nodes: nodes, rooms, inspect, evict, replay,
# publish and gc, in table and --json form, with their exit statuses, and
# every error as one "roomctl: " line.

load lib/common

bats_require_minimum_version 1.5.0

setup() {
	two_nodes
}

# ctl ARGS: roomctl against the test's Redis.
ctl() {
	"$ROOMCTL" --redis "$REDIS_URL" "$@"
}

# hold NAME URL ROOM [META]: a background client that joins ROOM and stays
# there until teardown stops it.
hold() {
	sim_bg "$1" --url "$2" "join $3 ${4:-}
sleep 35s"
}

# conn_by_meta ROOM WHO: the conn id of ROOM's member whose meta.who is WHO.
conn_by_meta() {
	ctl inspect "$1" --json |
	    jq -r --arg w "$2" '.members[] | select(.meta.who == $w) | .conn'
}

# gone PID: the process has exited (a zombie counts as gone).
gone() {
	! _alive "$1"
}

# sim_wait_bounded NAME SECONDS: wait for a background sim at most SECONDS,
# then as sim_wait.
sim_wait_bounded() {
	wait_for "$2" gone "${_SIM_PID[$1]}" || return 1
	sim_wait "$1"
}

# stop_bg PID: SIGTERM a background roomctl, wait (5 s at most) and set
# $status to its exit status.
stop_bg() {
	kill -TERM "$1"
	wait_for 5 gone "$1" || return 1
	status=0
	wait "$1" || status=$?
	unset '_PROC[$1]'
}

# node_counts_are CONNS ROOMS: node n1's heartbeat reports these counts.
node_counts_are() {
	ctl nodes --json |
	    jq -e ".[0].conns == $1 and .[0].rooms == $2" >/dev/null
}

# has_frame ROOM TEXT: some frame in ROOM's history contains TEXT.
has_frame() {
	room_frames "$1" | grep -qF "$2"
}

# kill_node NAME: roomd_kill, whose wait reports the SIGKILL as a failure.
kill_node() {
	roomd_kill "$1" || true
}

@test "nodes: both live nodes as a table and as JSON; dead ids left out" {
	redis_cli sadd roomd:nodes ghost >/dev/null
	run -0 ctl nodes
	assert_line --regexp '^ID +ADDR +CONNS +ROOMS +UPTIME +VERSION$'
	assert_line --regexp "^n1 +127\.0\.0\.1:$PORT_n1 +0 +0 +[0-9]+s +[0-9.]+$"
	assert_line --regexp "^n2 +127\.0\.0\.1:$PORT_n2 "
	refute_output --partial ghost

	hold a "$URL_n1" r1
	wait_for 10 members_are r1 1
	# --json before or after the command.
	for args in "--json nodes" "nodes --json"; do
		run -0 ctl $args
		run jq -c 'map(.id)' <<<"$output"
		assert_output '["n1","n2"]'
	done
	run -0 ctl nodes --json
	run jq -c '.[0] | [(.addr | type), (.version | type), (.pid | type),
	    (.started_at | type), (.conns | type), (.rooms | type)]' <<<"$output"
	assert_output '["string","string","number","number","number","number"]'
	# The heartbeat refreshes the counts every few seconds.
	wait_for 10 node_counts_are 1 1
}

@test "nodes: --prefix picks another deployment's nodes" {
	roomd_start n3 --prefix other:
	run -0 ctl --prefix other: nodes --json
	run jq -c 'map(.id)' <<<"$output"
	assert_output '["n3"]'
}

@test "rooms: by member count, public unless --all, --limit, both forms" {
	sim_bg a --clients 2 - <<'EOF'
send {"type":"join","room":"big","ref":"j","create":{"title":"Draft lobby","topic":"picks","max_members":4}}
expect ok ref=j
send {"type":"join","room":"hidden","ref":"k","create":{"visibility":"private","title":"secret"}}
expect ok ref=k
sleep 35s
EOF
	hold b "$URL_n2" small
	wait_for 10 members_are big 2
	wait_for 10 members_are hidden 2
	wait_for 10 members_are small 1

	run -0 ctl rooms
	assert_line --index 0 --regexp '^ROOM +MEMBERS +MAX +TITLE +TOPIC +VISIBILITY +CREATED +POOL +LOCKED$'
	assert_line --index 1 --regexp '^big +2 +4 +Draft lobby +picks +public +[0-9]{4}-'
	assert_line --index 2 --regexp '^small +1 +- +public +[0-9]{4}-'
	refute_output --partial hidden

	run -0 ctl rooms --json
	run jq -c 'map([.room, .members, .max_members, .title, .topic, .visibility])' <<<"$output"
	assert_output '[["big",2,4,"Draft lobby","picks","public"],["small",1,null,"","","public"]]'
	now=$(date +%s%3N)
	run -0 ctl --json rooms
	run jq '.[0].created_at | type == "number" and . > '"$now"' - 60000' <<<"$output"
	assert_output true

	run -0 ctl rooms --all --json
	run jq -c 'map(.room) | sort' <<<"$output"
	assert_output '["big","hidden","small"]'
	run -0 ctl rooms --all --json
	run jq -r '.[] | select(.room == "hidden") | .visibility' <<<"$output"
	assert_output private

	run -0 ctl rooms --limit 1 --json
	run jq -c 'map(.room)' <<<"$output"
	assert_output '["big"]'

	run -2 ctl rooms --limit 0
	assert_output --partial 'usage: roomctl rooms'
}

@test "inspect: details, members, state and the last N frames" {
	sim_bg a - <<'EOF'
send {"type":"join","room":"r1","ref":"j","meta":{"who":"a"},"create":{"title":"Quiz","max_members":10}}
expect ok ref=j
state r1 turn {"p":1}
publish r1 hello {"x":1}
publish r1 bye "done"
sleep 35s
EOF
	wait_for 10 has_frame r1 '"bye"'

	run -0 ctl inspect r1 --json
	json=$output
	run jq -c '[.room, .details.title, .details.visibility,
	    .details.max_members, (.details.created_at | type), .state,
	    .state_version, .details.state_version]' <<<"$json"
	assert_output '["r1","Quiz","public",10,"number",{"turn":{"p":1}},1,1]'
	run jq -c '.members | map([.meta.who, .node, .user, (.conn | type),
	    (.joined_at | type)])' <<<"$json"
	assert_output '[["a","n1",null,"string","number"]]'
	# Frames oldest first, each with its seq first, as replay prints them.
	run jq -c '.events | map(.type)' <<<"$json"
	assert_output '["member_joined","state_changed","event","event"]'
	run jq -r '.events[] | keys_unsorted[0]' <<<"$json"
	assert_output "$(printf 'seq\nseq\nseq\nseq')"
	jq '.events' <<<"$json" >"$BATS_TEST_TMPDIR/ev.json"
	check_seqs "$BATS_TEST_TMPDIR/ev.json"

	run -0 ctl inspect r1 --events 2 --json
	run jq -c '.events | map(.event)' <<<"$output"
	assert_output '["hello","bye"]'
	run -0 ctl inspect r1 --events 0 --json
	run jq -c '.events' <<<"$output"
	assert_output '[]'

	run -0 ctl inspect r1
	assert_line --regexp '^title +Quiz$'
	assert_line --regexp '^max_members +10$'
	assert_line --regexp '^state_version +1$'
	assert_line --regexp '^CONN +USER +NODE +JOINED +META$'
	assert_line --regexp ' +- +n1 +[0-9-]+ [0-9:]+ +\{"who":"a"\}$'
	assert_line --regexp '^turn +\{"p":1\}$'
	assert_line --regexp '^[0-9]+-[0-9]+ +.* +event +hello \{"x":1\}$'
	assert_line --regexp '^[0-9]+-[0-9]+ +.* +event +bye done$'
}

@test "inspect: unknown room exits 3, bad room id and options exit 2" {
	run -3 --separate-stderr ctl inspect nosuch
	assert_equal "$stderr" "roomctl: no room named 'nosuch'"
	assert_output ''
	run -2 --separate-stderr ctl inspect 'bad room'
	assert_equal "${stderr_lines[0]}" "roomctl: inspect: bad room id 'bad room'"
	assert_equal "${stderr_lines[1]}" "usage: roomctl inspect ROOM [--events N] [--json]"
	run -2 ctl inspect r1 --events many
	run -2 ctl inspect
	run -2 ctl inspect r1 --frobnicate
	run -0 --separate-stderr ctl inspect -h
	assert_output --partial 'usage: roomctl inspect ROOM'
	assert_equal "$stderr" ''
}

@test "publish: an event from roomctl reaches members on both nodes" {
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1
expect event event=go from.user=roomctl within 20s
expect event event=txt within 20s
expect event event=neg data=-5 within 20s
expect event event=none within 20s
EOF
	wait_for 10 members_are r1 1

	run -0 ctl publish r1 go '{"round": 2, "picks": ["a", "b"]}'
	assert_output --regexp '^[0-9]+-[0-9]+$'
	seq=$output
	run -0 ctl publish r1 txt 'hello world' --json
	run jq -c '[.room, (.seq | type)]' <<<"$output"
	assert_output '["r1","string"]'
	run -0 ctl publish r1 neg -5
	run -0 ctl publish r1 none
	sim_wait_bounded b 25
	assert_success

	run tx_jq "$TB" 0 'map(select(.type == "event"))[0] | [.seq, .room, .event, .data, .from]'
	assert_output "[\"$seq\",\"r1\",\"go\",{\"round\":2,\"picks\":[\"a\",\"b\"]},{\"conn\":null,\"user\":\"roomctl\"}]"
	run tx_jq "$TB" 0 'map(select(.type == "event") | .data)'
	assert_output '[{"round":2,"picks":["a","b"]},"hello world",-5,null]'
}

@test "publish: bad event name or room exits 2, unknown room exits 3" {
	run -2 --separate-stderr ctl publish r1 'bad event' x
	assert_equal "${stderr_lines[0]}" "roomctl: publish: bad event name 'bad event'"
	run -2 ctl publish 'r 1' ev
	run -2 ctl publish r1
	run -2 ctl publish r1 ev 1 2
	run -2 ctl publish r1 ev --bogus
	run -3 --separate-stderr ctl publish nosuch ev 1
	assert_equal "$stderr" "roomctl: no room named 'nosuch'"
	# Nothing was created by the refused publish.
	assert_equal "$(redis_cli exists 'roomd:room:{nosuch}' 'roomd:room:{nosuch}:events')" 0
}

@test "evict --conn: the member is told the reason and stays connected" {
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg a --transcript "$TA" - <<'EOF'
join r1 {"who":"a"}
expect evicted room=r1 reason=spam within 20s
send {"type":"presence","room":"r1","ref":"p"}
expect error ref=p code=not_member
join r2
EOF
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1 {"who":"b"}
expect member_left reason=evicted within 20s
EOF
	wait_for 10 members_are r1 2
	a=$(conn_by_meta r1 a)
	[ -n "$a" ]

	run -0 ctl evict r1 --conn "$a" --reason spam
	assert_line --index 0 --regexp '^CONN +USER +NODE$'
	assert_line --index 1 --regexp "^$a +- +n1$"
	assert_line --index 2 "evicted 1 member from room 'r1'"
	assert_equal "$(redis_cli hexists 'roomd:room:{r1}:members' "$a")" 0
	sim_wait_bounded a 25
	assert_success
	sim_wait_bounded b 25
	assert_success
	run tx_jq "$TB" 0 'map(select(.type == "member_left"))[0] | [.conn, .reason, .user]'
	assert_output "[\"$a\",\"evicted\",null]"
	run tx_jq "$TA" 0 'map(select(.type == "evicted"))'
	assert_output '[{"type":"evicted","room":"r1","reason":"spam"}]'
	# The evicted member's node dropped it before member_left, so it never
	# saw its own departure.
	run tx_jq "$TA" 0 'map(select(.type == "member_left")) | length'
	assert_output 0

	# Gone now: evicting it again finds nobody.
	run -3 --separate-stderr ctl evict r1 --conn "$a"
	assert_equal "$stderr" "roomctl: no member '$a' in room 'r1'"
}

@test "evict --disconnect closes the connection with 4000; --json" {
	hold b "$URL_n2" r1 '{"who":"b"}'
	sim_bg a - <<'EOF'
join r1 {"who":"a"}
expect evicted room=r1 reason=evicted within 20s
expect close code=4000 within 10s
EOF
	wait_for 10 members_are r1 2
	a=$(conn_by_meta r1 a)
	run -0 ctl evict r1 --conn "$a" --disconnect --json
	run jq -c . <<<"$output"
	assert_output "{\"room\":\"r1\",\"evicted\":[\"$a\"],\"closed\":false}"
	sim_wait_bounded a 25
	assert_success
	run -0 ctl replay r1 --count 1
	run jq -c '[.type, .conn, .reason]' <<<"$output"
	assert_output "[\"member_left\",\"$a\",\"evicted\"]"
}

@test "evict without --conn or --user removes everyone and the room closes" {
	sim_bg a - <<'EOF'
join r1
expect evicted room=r1 within 20s
EOF
	sim_bg b --url "$URL_n2" - <<'EOF'
join r1
expect evicted room=r1 within 20s
EOF
	wait_for 10 members_are r1 2
	run -0 ctl evict r1 --json
	run jq -c '[(.evicted | length), .closed]' <<<"$output"
	assert_output '[2,true]'
	sim_wait_bounded a 25
	assert_success
	sim_wait_bounded b 25
	assert_success
	members_are r1 0
	run -0 ctl rooms --all --json
	assert_output '[]'
	run -0 ctl replay r1 --count 3
	run jq -c '[.type, .reason]' <<<"$output"
	assert_output "$(printf '%s\n' '["member_left","evicted"]' '["member_left","evicted"]' '["room_closed","empty"]')"
	run -3 --separate-stderr ctl evict r1
	assert_equal "$stderr" "roomctl: no members in room 'r1'"
}

@test "evict: --user with no such user, no room, and usage errors" {
	hold a "$URL_n1" r1
	wait_for 10 members_are r1 1
	# Without auth every user is null, so no user name matches.
	run -3 --separate-stderr ctl evict r1 --user alice
	assert_equal "$stderr" "roomctl: no member 'alice' in room 'r1'"
	run -3 --separate-stderr ctl evict nosuch
	assert_equal "$stderr" "roomctl: no room named 'nosuch'"
	run -3 ctl evict nosuch --conn x
	run -2 ctl evict r1 --conn x --user y
	run -2 ctl evict r1 --conn
	run -2 ctl evict 'r/1'
	run -2 ctl evict
	members_are r1 1
}

@test "evict: a member of a dead node is removed all the same" {
	sim_bg b --url "$URL_n2" - <<'EOF'
join r1 {"who":"b"}
sleep 35s
EOF
	hold a "$URL_n1" r1 '{"who":"a"}'
	wait_for 10 members_are r1 2
	b=$(conn_by_meta r1 b)
	kill_node n2
	run -0 ctl evict r1 --conn "$b" --json
	run jq -c .evicted <<<"$output"
	assert_output "[\"$b\"]"
	members_are r1 1
	run -0 ctl replay r1 --count 1
	run jq -c '[.type, .conn, .reason]' <<<"$output"
	assert_output "[\"member_left\",\"$b\",\"evicted\"]"
}

@test "replay: JSON lines with seq first; --since, --until, --count" {
	hold a "$URL_n1" r1
	wait_for 10 members_are r1 1
	for k in 1 2 3 4 5; do
		run -0 ctl publish r1 e$k $k
		s[k]=$output
	done

	run -0 ctl replay r1
	assert_equal "${#lines[@]}" 6
	run jq -r 'keys_unsorted[0]' <<<"$output"
	[ "$(sort -u <<<"$output")" = seq ]
	run -0 ctl replay r1
	run jq -c '[.seq, .event]' <<<"${lines[1]}"
	assert_output "[\"${s[1]}\",\"e1\"]"
	run -0 ctl replay r1
	jq -s . <<<"$output" >"$BATS_TEST_TMPDIR/all.json"
	check_seqs "$BATS_TEST_TMPDIR/all.json"

	ev() { jq -r 'select(.type == "event") | .event' | paste -sd, -; }
	run -0 ctl replay r1 --since "${s[2]}"
	assert_equal "$(ev <<<"$output")" e3,e4,e5
	run -0 ctl replay r1 --since "${s[2]}" --count 2
	assert_equal "$(ev <<<"$output")" e3,e4
	run -0 ctl replay r1 --count 2
	assert_equal "$(ev <<<"$output")" e4,e5
	run -0 ctl replay r1 --until "${s[2]}" --count 2
	assert_equal "$(ev <<<"$output")" e1,e2
	run -0 ctl replay r1 --since "${s[1]}" --until "${s[3]}"
	assert_equal "$(ev <<<"$output")" e2,e3
	run -0 ctl replay r1 --since "${s[5]}"
	assert_output ''

	run -3 --separate-stderr ctl replay nosuch
	assert_equal "$stderr" "roomctl: no room named 'nosuch'"
	run -2 ctl replay r1 --since yesterday
	run -2 ctl replay r1 --count 0
	run -2 ctl replay r1 --speed -1
	run -2 ctl replay r1 --follow --until "${s[1]}"
}

@test "replay --follow prints new frames as they are written, stops on SIGTERM" {
	hold a "$URL_n1" r1
	wait_for 10 members_are r1 1
	run -0 ctl publish r1 old 1
	out=$BATS_TEST_TMPDIR/follow.out
	timeout 30 "$ROOMCTL" --redis "$REDIS_URL" replay r1 --follow --count 1 \
	    >"$out" 2>"$BATS_TEST_TMPDIR/follow.err" 3>&- &
	pid=$!
	_PROC[$pid]="replay --follow"
	wait_for 10 grep -q '"event":"old"' "$out"
	run -0 ctl publish r1 new '{"n":2}'
	wait_for 10 grep -q '"event":"new"' "$out"
	# Within about a second (the XREAD block), and with status 0.
	stop_bg "$pid"
	assert_success
	run jq -c '[.event, .data]' "$out"
	assert_output "$(printf '%s\n' '["old",1]' '["new",{"n":2}]')"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/follow.err")" ''
}

@test "replay --into publishes the event frames again, keeping their spacing" {
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim - <<'EOF'
join src
publish src a 1
sleep 300ms
publish src b {"two":2}
state src k 1
sleep 300ms
publish src c [3]
leave src
EOF
	assert_success
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join dst
expect event event=c within 20s
expect event event=c within 20s
EOF
	wait_for 10 members_are dst 1
	origin=$(ctl replay src | jq -c 'select(.type == "event") | .from' | sort -u)

	run -0 ctl replay src --into dst
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^[0-9]+-[0-9]+$'
	run -0 ctl replay src --into dst --speed 0 --json
	assert_equal "${#lines[@]}" 3
	run jq -c '[.room, (.seq | type), (.source_seq | type)]' <<<"${lines[0]}"
	assert_output '["dst","string","string"]'
	# a, b and c were 300 ms apart: at --speed 1 the copies are too, at
	# --speed 0 they are written at once.
	run -0 ctl replay dst
	run jq -sc 'map(select(.type == "event") | .ts) as $t
	    | [$t[1] - $t[0] >= 250, $t[2] - $t[1] >= 250,
	       $t[5] - $t[3] < 250]' <<<"$output"
	assert_output '[true,true,true]'

	sim_wait_bounded b 25
	assert_success
	run tx_jq "$TB" 0 'map(select(.type == "event") | [.event, .data])'
	assert_output '[["a",1],["b",{"two":2}],["c",[3]],["a",1],["b",{"two":2}],["c",[3]]]'
	# The original sender is kept, first among the fields after ts.
	run tx_jq "$TB" 0 'map(select(.type == "event") | .from) | unique | .[]'
	assert_output "$origin"
	run -0 ctl replay dst
	run jq -rs 'map(select(.type == "event"))[0] | keys_unsorted | .[0:6]
	    | join(",")' <<<"$output"
	assert_output seq,type,room,ts,from,event
	# Only events were copied: no state_changed in dst.
	run -0 ctl inspect dst --json
	run jq -c '.state' <<<"$output"
	assert_output '{}'
}

@test "publish and replay --into pass data on as written: every digit of a number" {
	sim_bg a --url "$URL_n1" - <<'EOF'
join src
join dst
expect event event=end within 20s
EOF
	wait_for 10 members_are dst 1
	run -0 ctl publish src big '{"n": 12345678901234567890123, "f": 1.50}'
	run -0 ctl replay src
	assert_output --partial '"data":{"n":12345678901234567890123,"f":1.50}'
	run -0 ctl replay src --into dst --speed 0
	run -0 ctl replay dst
	assert_output --partial '"data":{"n":12345678901234567890123,"f":1.50}'
	run -0 ctl publish dst end
	sim_wait_bounded a 25
	assert_success
}

@test "replay --into: itself exits 2, unknown target exits 3; with --follow" {
	hold a "$URL_n1" src
	hold b "$URL_n2" dst
	wait_for 10 members_are src 1
	wait_for 10 members_are dst 1
	run -2 --separate-stderr ctl replay src --into src
	assert_equal "${stderr_lines[0]}" "roomctl: replay: --into must name another room"
	run -3 --separate-stderr ctl replay src --into nowhere
	assert_equal "$stderr" "roomctl: no room named 'nowhere'"
	run -3 ctl replay nowhere --into dst

	out=$BATS_TEST_TMPDIR/into.out
	timeout 30 "$ROOMCTL" --redis "$REDIS_URL" replay src --follow --count 1 \
	    --into dst --speed 0 >"$out" 2>&1 3>&- &
	pid=$!
	_PROC[$pid]="replay --into --follow"
	run -0 ctl publish src live '"x"'
	wait_for 10 has_frame dst '"event":"live"'
	stop_bg "$pid"
	assert_success
	run -0 room_frames dst
	run jq -c 'select(.type == "event") | [.event, .data, .from]' <<<"$output"
	assert_output '["live","x",{"conn":null,"user":"roomctl"}]'
}

@test "gc: members of a dead node leave with node_lost and the room closes" {
	sim_bg b --url "$URL_n2" - <<'EOF'
join r1
sleep 35s
EOF
	wait_for 10 members_are r1 1
	# Nobody else may collect first: n1 runs the same gc every 2 s.
	kill_node n2
	roomd_stop n1
	redis_cli del roomd:node:n2 >/dev/null
	run -0 ctl gc --json
	run jq -c '[(.dead_nodes | index("n2") != null), .members_removed,
	    .rooms_closed, .index_entries_dropped]' <<<"$output"
	assert_output '[true,1,1,0]'
	members_are r1 0
	run -0 ctl replay r1 --count 2
	run jq -c '[.type, .reason]' <<<"$output"
	assert_output "$(printf '%s\n' '["member_left","node_lost"]' '["room_closed","empty"]')"

	run -0 ctl gc
	assert_output '0 dead nodes, 0 members removed, 0 rooms closed, 0 index entries dropped'
	# A stale index entry of a room whose keys are gone.
	redis_cli zadd roomd:rooms 1 ghost >/dev/null
	run -0 ctl gc
	assert_output --regexp ', 1 index entry dropped$'
}

@test "unreachable redis: exit 1 and the address in the message" {
	single_redis_only "the unreachable address is given with --redis"
	port=$(free_port)
	run -1 --separate-stderr "$ROOMCTL" --redis "redis://127.0.0.1:$port/0" nodes
	assert_equal "$stderr" "roomctl: cannot connect to redis at redis://127.0.0.1:$port/0: Connection refused"
	ROOMCTL_REDIS="redis://:hunter2@127.0.0.1:$port/3" run -1 --separate-stderr "$ROOMCTL" rooms
	assert_output ''
	assert_regex "$stderr" "^roomctl: cannot connect to redis at redis://127\.0\.0\.1:$port/3: "
	[[ $stderr != *hunter2* ]]
	run -1 --separate-stderr "$ROOMCTL" --redis "unix://$BATS_TEST_TMPDIR/none.sock" gc
	assert_regex "$stderr" "^roomctl: cannot connect to redis at unix://$BATS_TEST_TMPDIR/none\.sock: "
	run -2 "$ROOMCTL" --redis "http://x" nodes
}

@test "usage: -h on stdout, unknown options exit 2 with the usage on stderr" {
	for c in nodes rooms inspect evict replay publish gc; do
		run -0 --separate-stderr ctl $c --help
		assert_output --partial "usage: roomctl $c"
		assert_equal "$stderr" ''
		run -2 --separate-stderr ctl $c --no-such-option
		assert_output ''
		assert_regex "${stderr_lines[0]}" "^roomctl: $c: unknown option --no-such-option$"
		assert_regex "${stderr_lines[1]}" "^usage: roomctl $c"
	done
	run -0 ctl help
	for c in nodes rooms inspect evict replay publish gc; do
		assert_line --regexp "^  $c +"
	done
}

# cli_error STATUS ARGS...: run roomctl; it exits STATUS and its stderr is
# one "roomctl: ..." line (CLI.md), lowercase after the name, no logfmt.
cli_error() {
	local want=$1
	shift
	run --separate-stderr "$@"
	[ "$status" -eq "$want" ] || {
		echo "exit $status, want $want: $*: $stderr" >&2
		return 1
	}
	[ "${#stderr_lines[@]}" -eq 1 ] || {
		echo "not one line: $*: $stderr" >&2
		return 1
	}
	assert_regex "$stderr" '^roomctl: [^A-Z]'
	refute_regex "$stderr" '(^|[[:space:]])(time|level|msg)='
}

@test "every error roomctl prints is one 'roomctl: ' line, from commands, sim and shared code" {
	single_redis_only "the unreachable address is given with --redis"
	local port bad=$BATS_TEST_TMPDIR/bad.sim ok=$BATS_TEST_TMPDIR/ok.sim
	port=$(free_port)
	printf 'join\n' >"$bad"
	printf 'join r\n' >"$ok"
	cli_error 1 "$ROOMCTL" --redis "redis://127.0.0.1:$port/0" nodes
	redis_cli set 'roomd:room:{w}' x >/dev/null
	cli_error 1 ctl inspect w
	cli_error 1 ctl publish w e
	cli_error 3 ctl evict nowhere
	cli_error 2 "$ROOMCTL" sim --url "$URL_n1" "$bad"
	cli_error 1 "$ROOMCTL" sim --url "$URL_n1" "$BATS_TEST_TMPDIR/none.sim"
	cli_error 1 "$ROOMCTL" sim --url "ws://127.0.0.1:$port/ws" "$ok"
	cli_error 1 "$ROOMCTL" sim --url "$URL_n1" --transcript /nonexistent/t "$ok"
	cli_error 2 "$ROOMCTL" sim --url "ftp://x" "$ok"
	cli_error 1 "$ROOMCTL" sim --url "ws://127.0.0.1:$port/ws" --clients 2 \
	    --rooms 1 --rate 1 --duration 1
	# Usage errors: the first line is the error, the usage follows.
	run -2 --separate-stderr "$ROOMCTL" frobnicate
	assert_equal "${stderr_lines[0]}" "roomctl: unknown command 'frobnicate'"
	assert_regex "${stderr_lines[1]}" '^usage: roomctl '
	# Out of memory, reported by shared/util.c, then abort(). A sanitizer
	# build reserves more address space than any such limit allows.
	if ! ldd "$ROOMCTL" | grep -q libasan; then
		run --separate-stderr bash -c "ulimit -v 60000; exec '$ROOMCTL' sim --url '$URL_n1' --clients 100000 '$ok'"
		[ "$status" -ne 0 ]
		assert_regex "$stderr" '^roomctl: xcalloc: out of memory allocating [0-9]+ bytes'
		refute_regex "$stderr" 'level='
	fi
}
