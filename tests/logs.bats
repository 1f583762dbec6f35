#!/usr/bin/env bats
# logs.bats: roomd logs one line per event on stderr (CLI.md), as logfmt
# (--log-format text: time=... level=... msg="...") or as JSON objects
# (--log-format json), from --log-level up. Strings from outside (here: a
# room id and a reason arriving on the ctl channel) are escaped, so they
# can neither break a line nor forge a field.

load lib/common

LOGFMT='^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z level=(debug|info|warn|error) msg="([^"\\]|\\.)*"$'

# conn_on ROOM: the conn id of the one member of ROOM.
conn_on() {
	redis_cli hkeys "roomd:room:{$1}:members" | head -n1
}

# A Redis URL with a quote, a newline, a control byte and invalid UTF-8 in
# its path: roomd logs it, and it must not forge a field or a line.
EVIL_URL=$'unix:///nonexistent/a" level=error msg="forged\nx\x01y\xff.sock'

# session FORMAT: run node n1 with --log-format FORMAT at debug level
# through a client's life (join, an eviction whose reason holds a quote and
# a newline, a refused upgrade) and a SIGTERM; then node x, whose Redis URL
# is EVIL_URL, until it has failed to connect.
session() {
	local c port
	redis_start
	roomd_start n1 --log-format "$1" --log-level debug
	T=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --transcript "$T" - <<'EOF'
join r
expect evicted room=r within 20s
EOF
	wait_for 10 members_are r 1
	c=$(conn_on r)
	"$ROOMCTL" --redis "$REDIS_URL" evict r --conn "$c" \
	    --reason $'quote " and\nnewline' >/dev/null
	sim_wait a
	assert_success
	# The reason reaches the client exactly.
	run tx_jq "$T" 0 '.[] | select(.type == "evicted") | .reason'
	assert_output '"quote \" and\nnewline"'
	UPGRADE_PATH=/elsewhere run upgrade_code n1
	assert_output 404
	roomd_stop n1
	CONN=$c

	port=$(free_port)
	roomd_spawn x "$port" --listen "127.0.0.1:$port" --node-id x \
	    --log-format "$1" --redis "$EVIL_URL"
	wait_for 5 grep -q 'No such file' "$BATS_TEST_TMPDIR/x.log"
	roomd_stop x
}

@test "text logs are logfmt, one line per event, and escape what came from outside" {
	session text
	L=$BATS_TEST_TMPDIR/n1.log
	X=$BATS_TEST_TMPDIR/x.log
	# Every line is logfmt; nothing spilled onto a line of its own. (Bytes
	# that are not UTF-8 pass through the text format as they are: C
	# locale.)
	LC_ALL=C run grep -Evc "$LOGFMT" "$L" "$X"
	assert_output "$L:0
$X:0"
	run grep -c '^time=[^ ]* level=error' "$L" "$X"
	assert_output "$L:0
$X:0"
	# The events: start, listen, Redis, a connection, the eviction, a
	# refused upgrade, the signal, the end.
	grep -q 'level=info msg="roomd .* starting: node n1' "$L"
	grep -q 'level=info msg="listening on 127.0.0.1:' "$L"
	grep -q 'level=info msg="redis redis://127.0.0.1:[0-9]*/0: connected"' "$L"
	grep -q "level=debug msg=\"conn $CONN: open\"" "$L"
	grep -q "level=info msg=\"conn $CONN: evicted from room r\"" "$L"
	grep -q 'level=info msg="refused an upgrade: 404' "$L"
	run grep -c 'msg="shutting down on SIGTERM"' "$L"
	assert_output 1
	run grep -c 'msg="stopped"' "$L"
	assert_output 1
	# The URL stays inside its msg, escaped.
	run grep -aF 'forged' "$X"
	assert_output --partial 'starting: node x, redis unix:///nonexistent/a\" level=error msg=\"forged\nx\x01y'
	[ "${#lines[@]}" -eq 1 ]
	grep -q 'level=warn msg="redis: No such file or directory"' "$X"
}

@test "json logs: every line is a JSON object with time, level and msg" {
	session json
	L=$BATS_TEST_TMPDIR/n1.log
	X=$BATS_TEST_TMPDIR/x.log
	for f in "$L" "$X"; do
		# One object a line, each with exactly these three string
		# fields.
		run jq -c '[keys, (map(type) | unique)]' "$f"
		assert_success
		run sort -u <<<"$output"
		assert_output '[["level","msg","time"],["string"]]'
		run jq -s 'length' "$f"
		assert_output "$(wc -l <"$f")"
		run jq -r 'select(.level | IN("debug", "info", "warn", "error") | not)' "$f"
		assert_output ''
		run jq -r 'select(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$") | not)' "$f"
		assert_output ''
	done
	run jq -r 'select(.level == "debug") | .msg' "$L"
	assert_output --partial "conn $CONN: open"
	run jq -r 'select(.level == "info") | .msg' "$L"
	assert_output --partial "conn $CONN: evicted from room r"
	assert_output --partial 'refused an upgrade: 404'
	assert_output --partial 'shutting down on SIGTERM'
	# The URL comes back exactly, invalid UTF-8 replaced.
	ver=$("$ROOMD" --version | awk '{ print $2 }')
	run jq -c 'select(.msg | test("forged")) | .msg' "$X"
	assert_output '"roomd '"$ver"' starting: node x, redis unix:///nonexistent/a\" level=error msg=\"forged\nx\u0001y�.sock"'
	grep -qF '\ufffd' "$X"
}

@test "log-level: lines below it are left out" {
	redis_start
	roomd_start n1 --log-level warn
	roomd_start n2 --log-level info
	sim - <<'EOF'
join r
EOF
	assert_success
	# Redis goes away: a warning on both.
	redis_stop
	wait_for 5 grep -q 'level=warn msg="redis: connection lost' \
	    "$BATS_TEST_TMPDIR/n1.log"
	wait_for 5 grep -q 'level=warn msg="redis: connection lost' \
	    "$BATS_TEST_TMPDIR/n2.log"
	redis_restart
	run grep -Ec 'level=(debug|info)' "$BATS_TEST_TMPDIR/n1.log"
	assert_output 0
	run grep -c 'level=debug' "$BATS_TEST_TMPDIR/n2.log"
	assert_output 0
	run grep -c 'level=info msg="listening on' "$BATS_TEST_TMPDIR/n2.log"
	assert_output 1
}
