#!/usr/bin/env bats
# client.bats: roomd.js, the client library (CLIENT.md), as roomd serves
# it: GET /roomd.js and /roomd.d.ts, then Node's test runner with the `ws`
# package drives the fetched library against real redis-server and roomd
# nodes (and, for what roomd cannot be made to send, a tiny fake server);
# tsc checks CLIENT.md's API, written out, against the served roomd.d.ts.
# The node tests are in tests/client/; each bats test runs one file, or the
# tests of one file whose names match a pattern.

load lib/common
load lib/hooks

setup_file() {
	# ws and typescript from the npm registry, kept under build/ (the
	# lockfile pins them); reinstalled only when the lockfile changes.
	local dir=$ROOT/build/client
	mkdir -p "$dir"
	if ! cmp -s "$ROOT/tests/client/package-lock.json" \
	    "$dir/package-lock.json" ||
	    [ ! -d "$dir/node_modules/ws" ] ||
	    [ ! -d "$dir/node_modules/typescript" ]; then
		cp "$ROOT/tests/client/package.json" \
		    "$ROOT/tests/client/package-lock.json" "$dir/"
		(cd "$dir" && timeout 120 npm ci --no-audit --no-fund \
		    --ignore-scripts >/dev/null 2>&1) || {
			echo "client.bats: npm ci failed" >&3
			return 1
		}
	fi
}

# node_test FILE [PATTERN]: run tests/client/FILE.test.mjs (only the tests
# whose names match PATTERN) against node n1 (and n2), with hooks; fail
# unless it passes and ran at least one test.
node_test() {
	local file=$ROOT/tests/client/$1.test.mjs args=()
	[ -n "${2:-}" ] && args=(--test-name-pattern "$2")
	export HTTP_n1=http://127.0.0.1:$PORT_n1 CLIENT_MODULES=$ROOT/build/client/node_modules
	export ROOMCTL REDIS_URL
	TMPDIR=$BATS_TEST_TMPDIR run_hooked 90 node --test --test-reporter=tap \
	    "${args[@]}" "$file"
	echo "$output"
	assert_success
	# Tests left out by the pattern report "# SKIP"; some must have run.
	[ "$(grep -cE '^ok [0-9]+ ' <<<"$output")" -gt \
	    "$(grep -cE '^ok [0-9]+ .*# SKIP' <<<"$output")" ]
}

lb_start() {
	LB_PORT=$(free_port)
	LB_ADDR=127.0.0.1:$LB_PORT NODE1=127.0.0.1:$PORT_n1 \
	    NODE2=127.0.0.1:$PORT_n2 haproxy -db -f "$ROOT/dist/haproxy.cfg" \
	    >"$BATS_TEST_TMPDIR/haproxy.log" 2>&1 3>&- &
	_PROC[$!]=haproxy
	export LB_URL=ws://127.0.0.1:$LB_PORT/ws
	wait_for 10 eval '[ "$(curl -s -o /dev/null -w %{http_code} --max-time 3 http://127.0.0.1:$LB_PORT/healthz)" = 200 ]'
}

@test "GET /roomd.js and /roomd.d.ts: types, the page's CSP, an ETag that gives 304" {
	two_nodes
	local h=$BATS_TEST_TMPDIR/h body=$BATS_TEST_TMPDIR/body f etag
	for f in roomd.js roomd.d.ts; do
		curl -sS --max-time 5 -D "$h" -o "$body" \
		    "http://127.0.0.1:$PORT_n1/$f"
		cmp "$body" "$ROOT/daemon/www/$f"
		run grep -i '^content-type:' "$h"
		case $f in
		*.js) assert_output --partial 'text/javascript; charset=utf-8' ;;
		*) assert_output --partial 'application/typescript' ;;
		esac
		run grep -i '^cache-control:' "$h"
		assert_output --partial no-cache
		run grep -i '^content-security-policy:' "$h"
		assert_output --partial "default-src 'none'"
		etag=$(grep -i '^etag:' "$h" | cut -d' ' -f2- | tr -d '\r')
		[[ "$etag" =~ ^\"[0-9a-f]{16}\"$ ]]
		# The same tag on the other node (same build), and 304 for it.
		run curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
		    -H "If-None-Match: $etag" "http://127.0.0.1:$PORT_n2/$f"
		assert_output 304
		run curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
		    -H 'If-None-Match: "0000000000000000"' \
		    "http://127.0.0.1:$PORT_n1/$f"
		assert_output 200
	done
}

@test "round trips on two nodes: join, publish, state, presence, history, rooms, leave" {
	two_nodes
	node_test roundtrip
}

@test "match, lock and unlock round trip" {
	two_nodes
	sim - <<'EOF2'
send {"type":"match","ref":"m","pool":"probe","size":2}
expect error ref=m code=unknown_type within 5s
EOF2
	[ "$status" -ne 0 ] || skip "server has no match yet"
	node_test match
}

@test "a node SIGKILLed behind haproxy: the receiver sees every acknowledged event once, in order" {
	two_nodes
	lb_start
	node_test failover
}

@test "Redis restarted mid-session: requests settle, then the rooms work again" {
	two_nodes
	node_test redis
}

@test "--history 10 trimmed below the client's seq: resync with fresh members and state" {
	two_nodes --history 10
	node_test resync
}

@test "roomctl evict --disconnect (4000): no reconnect" {
	two_nodes
	node_test stop
}

@test "with --auth-secret: a fresh token per reconnect; a 401 at the upgrade stops reconnecting" {
	export SECRET=client-bats-secret-0123456789abcdef
	two_nodes --auth-secret "$SECRET"
	node_test auth
}

@test "a request times out; in flight rejects disconnected; queued ones cross a reconnect" {
	two_nodes
	node_test requests
}

@test "no reconnect after close codes 4000, 4001, 4003, 1008 (fake server)" {
	two_nodes
	node_test fake 'no reconnect'
}

@test "reconnects with jittered, growing backoff and a fresh token each time (fake server)" {
	two_nodes
	node_test fake 'backoff'
}

@test "bad server frames are reported on error, the connection goes on (fake server)" {
	two_nodes
	node_test fake 'bad frames'
}

@test "a throwing handler stops neither other handlers nor frames (fake server)" {
	two_nodes
	node_test fake 'throwing handler'
}

@test "after a rejoin frames already seen are dropped; recovered lists the replay (fake server)" {
	two_nodes
	node_test fake 'already seen'
}

@test "a request times out against a server that does not answer, queued or sent (fake server)" {
	two_nodes
	node_test fake 'times out'
}

@test "a room refused on rejoin emits error and is dropped; the others rejoin (fake server)" {
	two_nodes
	node_test fake 'refused on rejoin'
}

@test "roomd.d.ts declares exactly what roomd.js exports" {
	two_nodes
	node_test dts
}

@test "CLIENT.md's API, written out in TypeScript, type-checks against the served roomd.d.ts" {
	two_nodes
	local d=$BATS_TEST_TMPDIR/ts
	mkdir -p "$d"
	curl -sS --max-time 5 -o "$d/roomd.d.ts" "http://127.0.0.1:$PORT_n1/roomd.d.ts"
	curl -sS --max-time 5 -o "$d/roomd.js" "http://127.0.0.1:$PORT_n1/roomd.js"
	cp "$ROOT/tests/client/example.ts" "$d/"
	cd "$d"
	run timeout 120 node "$ROOT/build/client/node_modules/typescript/bin/tsc" \
	    --noEmit --strict --target es2022 --module es2022 \
	    --moduleResolution bundler --lib es2022,dom example.ts roomd.d.ts
	assert_success
	assert_output ''
}
