#!/usr/bin/env bats
# browser.bats: roomd's page at / in Debian's headless Chromium, driven by
# playwright-core: two pages on two nodes in one room see each other's
# presence and events, what strangers write is shown as text, and a page
# survives its node's restart, showing the frames it recovered.

load lib/common
load lib/hooks

setup_file() {
	# playwright-core from the npm registry, kept under build/ (the
	# lockfile pins it); reinstalled only when the lockfile changes.
	local dir=$ROOT/build/browser
	mkdir -p "$dir"
	if ! cmp -s "$ROOT/tests/browser/package-lock.json" \
	    "$dir/package-lock.json" ||
	    [ ! -d "$dir/node_modules/playwright-core" ]; then
		cp "$ROOT/tests/browser/package.json" \
		    "$ROOT/tests/browser/package-lock.json" "$dir/"
		(cd "$dir" && timeout 120 npm ci --no-audit --no-fund \
		    --ignore-scripts >/dev/null 2>&1) || {
			echo "browser.bats: npm ci failed" >&3
			return 1
		}
	fi
}

@test "the page is served at / with its script and style, under a strict CSP" {
	two_nodes
	run curl -sS -i --max-time 5 "http://127.0.0.1:$PORT_n1/"
	assert_success
	assert_output --partial "200 OK"
	assert_output --partial "content-security-policy: default-src 'none'"
	assert_output --partial '<script type="module" src="/app.js"'
	run curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' \
	    "http://127.0.0.1:$PORT_n1/app.js"
	assert_output "200 text/javascript; charset=utf-8"
	run curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$PORT_n1/app.css"
	assert_output "200"
}

@test "two browser pages on two nodes see each other's presence and events" {
	two_nodes
	NODE_PATH=$ROOT/build/browser/node_modules \
	    SHOT=$BATS_TEST_TMPDIR/page.png \
	    run timeout 90 node "$ROOT/tests/browser/two-nodes.js" \
	    "http://127.0.0.1:$PORT_n1" "http://127.0.0.1:$PORT_n2" web
	assert_success
	assert_output "ok"
	[ -s "$BATS_TEST_TMPDIR/page.png" ]
}

@test "a page survives its node's restart and shows the frames it recovered" {
	two_nodes
	NODE_PATH=$ROOT/build/browser/node_modules \
	    SHOT=${BROWSER_SHOT:-$BATS_TEST_TMPDIR/page.png} \
	    run_hooked 100 node "$ROOT/tests/browser/two-nodes.js" \
	    "http://127.0.0.1:$PORT_n1" "http://127.0.0.1:$PORT_n2" web
	echo "$output"
	assert_success
	assert_output "ok"
}

@test "the README's In the browser example joins, shows members and publishes" {
	two_nodes
	NODE_PATH=$ROOT/build/browser/node_modules \
	    run timeout 60 node "$ROOT/tests/browser/readme-example.js" \
	    "$ROOT/README.md" "127.0.0.1:$PORT_n1"
	assert_success
	assert_output "ok"
}

@test "a 401 at the upgrade, hidden from the browser's WebSocket: the page does not reconnect" {
	redis_start
	roomd_start n1 --auth-secret browser-bats-secret-0123456789abcdef
	NODE_PATH=$ROOT/build/browser/node_modules \
	    run timeout 60 node "$ROOT/tests/browser/unauthorized.js" \
	    "http://127.0.0.1:$PORT_n1"
	assert_success
	assert_output "ok"
}
