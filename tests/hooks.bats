#!/usr/bin/env bats
# hooks.bats: the connect and publish hooks (BACKEND.md) against a real back
# end (tests/lib/backend.py): every verdict, JWT and hook together, frames
# held before welcome, request order, and the faults: a back end that
# refuses, hangs, is slow, answers 500, non-JSON or 10 MB.

load lib/common
load lib/backend

SECRET=s3cret-for-tests

setup() {
	redis_start
	backend_start
}

# connect_node NAME [options]: a node whose connect hook is $BACKEND/connect.
connect_node() {
	local name=$1
	shift
	roomd_start "$name" --connect-url "$BACKEND/connect" --hook-timeout 1 "$@"
}

# publish_node NAME [options]: a node with the publish hook.
publish_node() {
	local name=$1
	shift
	roomd_start "$name" --publish-url "$BACKEND/publish" --hook-timeout 1 "$@"
}

# refused_with CODE: a client is closed with CODE and sees no welcome.
refused_with() {
	run sim --transcript "$BATS_TEST_TMPDIR/r.jsonl" - <<EOF
expect close code=$1 within 5s
EOF
	assert_success
	run tx_jq "$BATS_TEST_TMPDIR/r.jsonl" 0 'map(select(.type == "welcome")) | length'
	assert_output 0
}

@test "connect hook 200: the user it names, its meta as the default; the POST body" {
	backend_rules '{"/connect":{"json":{"user":"alice","meta":{"team":"red"}}}}'
	connect_node n1
	run sim --url "$URL_n1?room=lobby&x=1" --token opaque-session - <<'EOF'
expect welcome user=alice
join r1
expect member_joined member.user=alice member.meta.team=red
join r2 {"team":"blue"}
expect member_joined member.meta.team=blue
EOF
	assert_success
	run backend_requests /connect
	req=$(head -n1 <<<"$output")
	echo "$req"
	jq -e '.json | (.conn | type) == "string" and .node == "n1" and
	    .remote_addr == "127.0.0.1" and .path == "/ws" and
	    .query == {"room":"lobby","x":"1","token":"opaque-session"} and
	    .headers == {"user-agent":"roomctl/0.1.0"}' <<<"$req"
	# The headers it passes on, and only those.
	run upgrade_code n1 "" "Authorization: Bearer opaque" "Cookie: sid=1" \
	    "Origin: http://app.example" "X-Forwarded-For: 10.0.0.1" "X-Other: 1"
	assert_output 101
	wait_for 5 backend_count /connect 2
	run backend_requests /connect
	jq -e '.json.headers == {"authorization":"Bearer opaque","cookie":"sid=1",
	    "origin":"http://app.example","x-forwarded-for":"10.0.0.1"}' <<<"$(sed -n 2p <<<"$output")"
	wait_for 5 eval '[ "$(metric n1 '"'"'roomd_hook_calls_total{hook="connect",outcome="ok"}'"'"')" = 2 ]'
}

@test "connect hook grants: rooms, publish, admin" {
	backend_rules '{"/connect":{"json":{"user":"bob","rooms":["game-*"],"publish":["move"]}}}'
	connect_node n1
	run sim - <<'EOF'
expect welcome user=bob
send {"type":"join","room":"other","ref":1}
expect error ref=1 code=forbidden
join game-1
send {"type":"publish","room":"game-1","event":"chat","ref":2}
expect error ref=2 code=forbidden
send {"type":"publish","room":"game-1","event":"move","ref":3}
expect ok ref=3
EOF
	assert_success
}

@test "connect hook 401 and 403 close with 4001 and 4003, nothing said before" {
	connect_node n1
	backend_rules '{"/connect":{"status":401,"body":"no"}}'
	refused_with 4001
	backend_rules '{"/connect":{"status":403,"json":{}}}'
	refused_with 4003
	[ "$(metric n1 'roomd_hook_calls_total{hook="connect",outcome="rejected"}')" = 2 ]
}

@test "connect hook errors close with 1013: 500, non-JSON, no user, bad grants, 10 MB" {
	connect_node n1
	for rule in '{"status":500,"body":"oops"}' '{"status":200,"body":"not json"}' \
	    '{"json":{"name":"x"}}' '{"json":{"user":""}}' '{"json":{"user":"a","rooms":"x"}}' \
	    '{"json":{"user":"a","meta":[1]}}' '{"status":302,"json":{"user":"a"}}' \
	    '{"big":10485760}' '{"close":true}'; do
		backend_rules "{\"/connect\":$rule}"
		refused_with 1013
	done
	[ "$(metric n1 'roomd_hook_calls_total{hook="connect",outcome="error"}')" = 9 ]
	healthz_is n1 200
}

@test "connect hook that hangs or refuses: 1013 within the timeout; others unaffected" {
	backend_rules '{"/connect":{"hang":true}}'
	connect_node n1
	start=$(date +%s%3N)
	refused_with 1013
	[ $(($(date +%s%3N) - start)) -lt 4000 ]
	[ "$(metric n1 'roomd_hook_calls_total{hook="connect",outcome="timeout"}')" = 1 ]
	roomd_start n2 --connect-url "$(refused_url)"
	refused_with_url() {
		run sim --url "$URL_n2" - <<'EOF'
expect close code=1013 within 5s
EOF
		assert_success
	}
	refused_with_url
	# A node without the hook is not slowed by n1's.
	roomd_start n3
	run sim --url "$URL_n3" - <<'EOF'
expect welcome
join r1
EOF
	assert_success
}

@test "a slow connect hook within the timeout: frames sent early wait, in order" {
	backend_rules '{"/connect":{"delay":0.5,"json":{"user":"carol"}}}'
	connect_node n1
	run sim --transcript "$BATS_TEST_TMPDIR/t.jsonl" - <<'EOF'
send {"type":"ping","ref":"a"}
send {"type":"join","room":"r1","ref":"b"}
send {"type":"publish","room":"r1","event":"e","ref":"c"}
expect ok ref=c within 5s
EOF
	assert_success
	run tx_jq "$BATS_TEST_TMPDIR/t.jsonl" 0 'map(select(.type == "welcome" or .type == "ok") | .type + ":" + (.ref // "" | tostring))'
	assert_output '["welcome:","ok:a","ok:b","ok:c"]'
}

@test "frames held before welcome count toward the rate limit" {
	backend_rules '{"/connect":{"delay":0.7,"json":{"user":"dave"}}}'
	connect_node n1 --rate 2
	frames=$(repeat 10 'send {"type":"ping","ref":@k@}')
	run sim --transcript "$BATS_TEST_TMPDIR/t.jsonl" - <<EOF
$frames
expect ok ref=0 within 5s
sleep 300ms
EOF
	assert_success
	run tx_jq "$BATS_TEST_TMPDIR/t.jsonl" 0 '.[0].type'
	assert_output '"welcome"'
	run tx_jq "$BATS_TEST_TMPDIR/t.jsonl" 0 'map(select(.code == "rate_limited")) | length > 0'
	assert_output true
}

@test "JWT and hook: a valid token skips the hook, a bad one is 401, none goes to it" {
	backend_rules '{"/connect":{"json":{"user":"from-hook"}}}'
	connect_node n1 --auth-secret "$SECRET"
	tok=$(mint "$SECRET" alice)
	run sim --token "$tok" - <<'EOF'
expect welcome user=alice
EOF
	assert_success
	[ "$(backend_requests /connect | wc -l)" = 0 ]
	run upgrade_code n1 "token=bad.token.here"
	assert_output 401
	run upgrade_code n1 "" "Authorization: Bearer $(mint other alice)"
	assert_output 401
	[ "$(backend_requests /connect | wc -l)" = 0 ]
	run sim - <<'EOF'
expect welcome user=from-hook
EOF
	assert_success
	[ "$(backend_requests /connect | wc -l)" = 1 ]
}

@test "publish hook {}: written as sent; the POST body" {
	publish_node n1
	run sim --transcript "$BATS_TEST_TMPDIR/t.jsonl" - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"chat","data":{"t":"hi"},"ref":1}
expect ok ref=1
expect event event=chat data.t=hi
EOF
	assert_success
	c=$(conn_of "$BATS_TEST_TMPDIR/t.jsonl" 0)
	run backend_requests /publish
	jq -e --arg c "$c" '.json == {"room":"r1","event":"chat","data":{"t":"hi"},"from":{"conn":$c,"user":null},"node":"n1"}' <<<"$output"
}

@test "publish hook {data}: written with the new data" {
	backend_rules '{"/publish":{"json":{"data":{"clean":true}}}}'
	publish_node n1
	run sim - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"chat","data":"bad word","ref":1}
expect ok ref=1
expect event event=chat data.clean=true
EOF
	assert_success
	room_events r1 | grep -q chat
	[ "$(room_frames r1 | jq -c 'select(.type == "event") | .data')" = '{"clean":true}' ]
}

@test "publish hook reject: the sender gets that error, nothing is written" {
	publish_node n1
	for code in forbidden bad_request conflict; do
		backend_rules "{\"/publish\":{\"json\":{\"reject\":{\"code\":\"$code\",\"message\":\"no $code\"}}}}"
		run sim - <<EOF
join r1
send {"type":"publish","room":"r1","event":"chat","ref":1}
expect error ref=1 code=$code message="no $code"
EOF
		assert_success
	done
	[ -z "$(room_events r1)" ]
	[ "$(metric n1 'roomd_hook_calls_total{hook="publish",outcome="rejected"}')" = 3 ]
}

@test "publish hook faults: unavailable and nothing written" {
	publish_node n1
	for rule in '{"status":500}' '{"body":"not json"}' '{"json":[1]}' \
	    '{"json":{"reject":{"code":"internal"}}}' '{"json":{"reject":"x"}}' \
	    '{"big":10485760}' '{"hang":true}' '{"close":true}' '{"status":201,"json":{}}'; do
		backend_rules "{\"/publish\":$rule}"
		run sim - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"chat","ref":1}
expect error ref=1 code=unavailable within 4s
EOF
		assert_success
	done
	[ -z "$(room_events r1)" ]
	[ "$(metric n1 'roomd_hook_calls_total{hook="publish",outcome="timeout"}')" = 1 ]
	[ "$(metric n1 'roomd_hook_calls_total{hook="publish",outcome="error"}')" = 8 ]
	[ "$(metric n1 'roomd_hook_duration_seconds_count{hook="publish"}')" = 9 ]
	roomd_start n2 --publish-url "$(refused_url)"
	run sim --url "$URL_n2" - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"chat","ref":1}
expect error ref=1 code=unavailable
EOF
	assert_success
}

@test "--publish-events: only matching events go to the hook; API and roomctl bypass it" {
	backend_rules '{"/publish":{"json":{"reject":{"code":"forbidden","message":"no"}}}}'
	publish_node n1 --publish-events 'chat.*,vote' --api-key k
	sim_bg a - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"chat.msg","ref":1}
expect error ref=1 code=forbidden
send {"type":"publish","room":"r1","event":"vote","ref":2}
expect error ref=2 code=forbidden
send {"type":"publish","room":"r1","event":"move","ref":3}
expect ok ref=3
expect event event=chat.ctl within 10s
EOF
	wait_for 10 members_are r1 1
	wait_for 10 eval '[ -n "$(room_events r1)" ]'
	API_KEY=k run api n1 publish '{"room":"r1","event":"chat.api"}'
	[ "$(tail -n1 <<<"$output")" = 200 ]
	run "$ROOMCTL" --redis "$REDIS_URL" publish r1 chat.ctl '{}'
	assert_success
	sim_wait a
	assert_success
	[ "$(backend_requests /publish | wc -l)" = 2 ]
	run room_events r1
	assert_output "$(printf '"move"\n"chat.api"\n"chat.ctl"')"
}

@test "hooked publishes are written in the order sent; replies in request order" {
	# The first answers come slowest.
	backend_rules '{"/publish":[{"delay":0.6},{"delay":0.4},{"delay":0.2},{"delay":0.1},{}]}'
	publish_node n1 --publish-events 'h'
	run sim --transcript "$BATS_TEST_TMPDIR/t.jsonl" - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"h","data":1,"ref":"p1"}
send {"type":"publish","room":"r1","event":"h","data":2,"ref":"p2"}
send {"type":"publish","room":"r1","event":"u","data":3,"ref":"p3"}
send {"type":"publish","room":"r1","event":"h","data":4,"ref":"p4"}
send {"type":"publish","room":"r1","event":"h","data":5,"ref":"p5"}
send {"type":"publish","room":"r1","event":"h","data":6,"ref":"p6"}
expect ok ref=p6 within 5s
EOF
	assert_success
	run tx_jq "$BATS_TEST_TMPDIR/t.jsonl" 0 'map(select(.type == "ok" and (.ref | type) == "string") | .ref)'
	assert_output '["p1","p2","p3","p4","p5","p6"]'
	# The unhooked event may go ahead; the hooked ones keep their order.
	run room_frames r1
	[ "$(jq -c 'select(.type == "event" and .event == "h") | .data' <<<"$output" | tr '\n' ' ')" = "1 2 4 5 6 " ]
}

@test "a hanging publish hook holds only its own connection" {
	backend_rules '{"/publish":{"hang":true}}'
	publish_node n1 --publish-events 'slow' --hook-timeout 3
	sim_bg a - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"slow","ref":1}
expect error ref=1 code=unavailable within 6s
EOF
	run sim - <<'EOF'
join r1
send {"type":"publish","room":"r1","event":"fast","ref":1}
expect ok ref=1 within 1s
EOF
	assert_success
	sim_wait a
	assert_success
}

@test "over 1024 hook calls out: the rest fail at once with unavailable" {
	backend_rules '{"/publish":{"hang":true}}'
	publish_node n1 --rate 5000
	frames=$(repeat 1100 'send {"type":"publish","room":"r1","event":"e","ref":@k@}')
	run sim - <<EOF
join r1
$frames
expect error ref=1099 code=unavailable within 15s
EOF
	assert_success
	[ "$(metric n1 'roomd_hook_calls_total{hook="publish",outcome="timeout"}')" -le 1024 ]
	[ "$(metric n1 'roomd_hook_calls_total{hook="publish",outcome="error"}')" -ge 76 ]
	[ -z "$(room_events r1)" ]
	healthz_is n1 200
}
