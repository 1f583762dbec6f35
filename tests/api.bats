#!/usr/bin/env bats
# api.bats: the HTTP API (BACKEND.md "HTTP API"): every method through the
# same scripts as the WebSocket requests, the bearer key, 404 without one,
# errors as JSON with their statuses, bounded bodies and rate, and nothing
# written on bad input.

load lib/common
load lib/backend

API_KEY=api-key-for-tests

setup() {
	redis_start
	roomd_start n1 --api-key "$API_KEY"
}

# status: the last line of api's output; body: the rest.
status_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

# expect_error NAME METHOD BODY STATUS CODE: the call answers STATUS with
# {"code":CODE,"message":…}.
expect_error() {
	run api "$1" "$2" "$3"
	[ "$(status_of "$output")" = "$4" ] || {
		echo "expected $4, got: $output" >&2
		return 1
	}
	[ "$(body_of "$output" | jq -r '.code + " " + (.message | type)')" = "$5 string" ] || {
		echo "expected code $5, got: $output" >&2
		return 1
	}
}

# A member in room r1 on n1 until the file $BATS_TEST_TMPDIR/stop exists.
member_bg() {
	sim_bg m --transcript "$BATS_TEST_TMPDIR/m.jsonl" - <<EOF
join ${1:-r1} {"n":1}
expect event event=${2:-stop} within 20s
EOF
	wait_for 10 members_are "${1:-r1}" 1
}

@test "without --api-key every /api/ path is 404" {
	roomd_start n2
	for p in publish rooms nope ""; do
		run api n2 "$p" '{}'
		[ "$(status_of "$output")" = 404 ]
		body_of "$output" | jq -e '.code == "not_found"'
	done
	run http_code n2 /api
	assert_output 404
}

@test "a wrong or missing key is 401, compared in full" {
	API_KEY=wrong expect_error n1 rooms '{}' 401 unauthorized
	API_KEY= expect_error n1 rooms '{}' 401 unauthorized
	API_KEY=${API_KEY}x expect_error n1 rooms '{}' 401 unauthorized
	API_KEY=${API_KEY%?} expect_error n1 rooms '{}' 401 unauthorized
	run curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' \
	    -H "Authorization: Basic $API_KEY" \
	    "http://127.0.0.1:$(port_of n1)/api/rooms"
	assert_output 401
	run api n1 rooms '{}'
	[ "$(status_of "$output")" = 200 ]
}

@test "the key from --api-key-file and ROOMD_API_KEY" {
	printf 'filekey\n' >"$BATS_TEST_TMPDIR/key"
	roomd_start n2 --api-key-file "$BATS_TEST_TMPDIR/key"
	API_KEY=filekey run api n2 rooms '{}'
	[ "$(status_of "$output")" = 200 ]
	ROOMD_API_KEY=envkey roomd_start n3
	API_KEY=envkey run api n3 rooms '{}'
	[ "$(status_of "$output")" = 200 ]
	run "$ROOMD" --api-key a --api-key-file "$BATS_TEST_TMPDIR/key" \
	    --check-config
	assert_failure 2
}

@test "publish: from the api, seen by members, seq in the answer" {
	member_bg r1 stop
	run api n1 publish '{"room":"r1","event":"hello","data":{"x":[1,2]}}'
	[ "$(status_of "$output")" = 200 ]
	seq=$(body_of "$output" | jq -r .seq)
	[[ "$seq" =~ ^[0-9]+-[0-9]+$ ]]
	api n1 publish '{"room":"r1","event":"stop"}' >/dev/null
	sim_wait m
	assert_success
	run tx_jq "$BATS_TEST_TMPDIR/m.jsonl" 0 'map(select(.type == "event"))[0] | [.seq, .event, .data, .from]'
	assert_output "[\"$seq\",\"hello\",{\"x\":[1,2]},{\"conn\":null,\"user\":\"api\"}]"
}

@test "publish to several rooms: seqs, one per room; a missing room writes nothing" {
	member_bg r1 stop
	sim_bg m2 - <<'EOF'
join r2
expect event event=stop within 20s
EOF
	wait_for 10 members_are r2 1
	run api n1 publish '{"rooms":["r1","r2"],"event":"both","data":7}'
	[ "$(status_of "$output")" = 200 ]
	body_of "$output" | jq -e '.seqs | length == 2 and all(test("^[0-9]+-[0-9]+$"))'
	before=$(redis_cli xlen 'roomd:room:{r1}:events')
	expect_error n1 publish '{"rooms":["r1","nosuch"],"event":"x"}' 404 not_found
	[ "$(redis_cli xlen 'roomd:room:{r1}:events')" = "$before" ]
	expect_error n1 publish '{"rooms":[],"event":"x"}' 400 bad_request
	expect_error n1 publish '{"rooms":["r1","bad room"],"event":"x"}' 400 bad_request
	expect_error n1 publish '{"rooms":["r1"],"room":"r1","event":"x"}' 400 bad_request
	api n1 publish '{"rooms":["r1","r2"],"event":"stop"}' >/dev/null
	sim_wait m
	assert_success
	sim_wait m2
	assert_success
}

@test "publish errors: missing room, bad ids, wrong types; nothing written" {
	member_bg r1 stop
	before=$(redis_cli xlen 'roomd:room:{r1}:events')
	expect_error n1 publish '{"room":"nosuch","event":"x"}' 404 not_found
	expect_error n1 publish '{"event":"x"}' 400 bad_request
	expect_error n1 publish '{"room":"r1"}' 400 bad_request
	expect_error n1 publish '{"room":5,"event":"x"}' 400 bad_request
	expect_error n1 publish '{"room":"r1","event":"bad event"}' 400 bad_request
	expect_error n1 publish '{"room":"r1","event":"x",' 400 bad_json
	expect_error n1 publish '[1,2]' 400 bad_json
	expect_error n1 publish '"text"' 400 bad_json
	expect_error n1 publish '{"room":"r1","event":"x"} trailing' 400 bad_json
	expect_error n1 nosuch '{"room":"r1"}' 404 not_found
	[ "$(redis_cli xlen 'roomd:room:{r1}:events')" = "$before" ]
	# The API never creates a room.
	[ "$(redis_cli exists 'roomd:room:{nosuch}')" = 0 ]
	api n1 publish '{"room":"r1","event":"stop"}' >/dev/null
	sim_wait m
}

@test "bodies over --max-frame are 413; the node goes on" {
	roomd_start n2 --api-key "$API_KEY" --max-frame 1024
	big=$(head -c 2000 /dev/zero | tr '\0' 'a')
	expect_error n2 publish "{\"room\":\"r1\",\"event\":\"x\",\"data\":\"$big\"}" 413 too_large
	head -c 10000000 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/huge"
	run curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $API_KEY" --data-binary \
	    "@$BATS_TEST_TMPDIR/huge" "http://127.0.0.1:$(port_of n2)/api/rooms"
	assert_output 413
	run api n2 rooms '{}'
	[ "$(status_of "$output")" = 200 ]
	healthz_is n2 200
}

@test "state.set, state.get, conflict, presence, history, info" {
	member_bg r1 stop
	run api n1 state.set '{"room":"r1","key":"turn","value":{"p":1}}'
	[ "$(status_of "$output")" = 200 ]
	body_of "$output" | jq -e '.state_version == 1'
	expect_error n1 state.set '{"room":"r1","key":"turn","value":2,"if_version":0}' 409 conflict
	run api n1 state.set '{"room":"r1","key":"turn","value":2,"if_version":1}'
	body_of "$output" | jq -e '.state_version == 2'
	expect_error n1 state.set '{"room":"r1","key":"turn"}' 400 bad_request
	expect_error n1 state.set '{"room":"r1","value":1}' 400 bad_request
	expect_error n1 state.set '{"room":"r1","key":"k","value":1,"if_version":"x"}' 400 bad_request
	expect_error n1 state.set '{"room":"nosuch","key":"k","value":1}' 404 not_found
	run api n1 state.get '{"room":"r1"}'
	body_of "$output" | jq -e '.state == {"turn":2} and .state_version == 2'
	run api n1 presence '{"room":"r1"}'
	body_of "$output" | jq -e '.members | length == 1 and .[0].meta == {"n":1}'
	run api n1 history '{"room":"r1","limit":2}'
	body_of "$output" | jq -e '.events | length == 2 and .[1].type == "state_changed" and .[1].by == {"conn":null,"user":"api"}'
	expect_error n1 history '{"room":"r1","since":"x"}' 400 bad_request
	run api n1 info '{"room":"r1"}'
	body_of "$output" | jq -e '.room == "r1" and .members == 1 and (.seq | test("-")) and .visibility == "public"'
	for m in state.get presence history info; do
		expect_error n1 "$m" '{"room":"nosuch"}' 404 not_found
		expect_error n1 "$m" '{}' 400 bad_request
	done
	api n1 publish '{"room":"r1","event":"stop"}' >/dev/null
	sim_wait m
}

@test "rooms lists rooms; visibility and limit are checked" {
	member_bg r1 stop
	run api n1 rooms '{"limit":10}'
	body_of "$output" | jq -e '.rooms | map(.room) == ["r1"]'
	run api n1 rooms '{"visibility":"all"}'
	body_of "$output" | jq -e '.rooms | length == 1'
	expect_error n1 rooms '{"visibility":"secret"}' 400 bad_request
	expect_error n1 rooms '{"limit":0}' 400 bad_request
	api n1 publish '{"room":"r1","event":"stop"}' >/dev/null
	sim_wait m
}

@test "evict by user, by conn and everyone; reason and disconnect" {
	T=$BATS_TEST_TMPDIR/e.jsonl
	sim_bg a --transcript "$T" - <<'EOF'
join r1
expect evicted room=r1 reason=cheating within 20s
EOF
	wait_for 10 members_are r1 1
	a=$(redis_cli hkeys 'roomd:room:{r1}:members')
	sim_bg b --transcript "$BATS_TEST_TMPDIR/b.jsonl" - <<'EOF'
join r1
expect close code=4000 within 20s
EOF
	wait_for 10 members_are r1 2
	run api n1 evict "{\"room\":\"r1\",\"conn\":\"$a\",\"reason\":\"cheating\"}"
	[ "$(status_of "$output")" = 200 ]
	body_of "$output" | jq -e '.evicted == 1'
	sim_wait a
	assert_success
	run api n1 evict '{"room":"r1","user":"nobody"}'
	body_of "$output" | jq -e '.evicted == 0'
	run api n1 evict '{"room":"r1","disconnect":true}'
	body_of "$output" | jq -e '.evicted == 1'
	sim_wait b
	assert_success
	expect_error n1 evict '{"room":"nosuch"}' 404 not_found
	expect_error n1 evict '{"room":"r1","conn":"a","user":"b"}' 400 bad_request
	expect_error n1 evict '{"room":"r1","disconnect":"yes"}' 400 bad_request
}

@test "lock and unlock: room_locked frames by the api; a missing room writes nothing" {
	member_bg r1 stop
	run api n1 lock '{"room":"r1"}'
	[ "$(status_of "$output")" = 200 ]
	body_of "$output" | jq -e '.room == "r1"'
	# Locking a locked room is no error and writes nothing.
	run api n1 lock '{"room":"r1"}'
	[ "$(status_of "$output")" = 200 ]
	run api n1 info '{"room":"r1"}'
	body_of "$output" | jq -e '.locked == true'
	run api n1 unlock '{"room":"r1"}'
	[ "$(status_of "$output")" = 200 ]
	run api n1 info '{"room":"r1"}'
	body_of "$output" | jq -e '.locked == false'
	run room_frames r1
	[ "$(jq -c 'select(.type == "room_locked") | [.locked, .by]' <<<"$output" | tr '\n' ' ')" = '[true,{"conn":null,"user":"api"}] [false,{"conn":null,"user":"api"}] ' ]
	expect_error n1 lock '{"room":"nosuch"}' 404 not_found
	expect_error n1 unlock '{}' 400 bad_request
	[ "$(redis_cli exists 'roomd:room:{nosuch}')" = 0 ]
	api n1 publish '{"room":"r1","event":"stop"}' >/dev/null
	sim_wait m
}

@test "the node-wide API rate is bounded: 429 rate_limited" {
	roomd_start n2 --api-key "$API_KEY" --rate 1
	# 10 a second with bursts of 20: 60 at once cannot all pass.
	pids=()
	for i in $(seq 60); do
		api n2 rooms '{}' | tail -n1 >"$BATS_TEST_TMPDIR/code.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$BATS_TEST_TMPDIR"/code.* >"$BATS_TEST_TMPDIR/codes"
	grep -q '^429$' "$BATS_TEST_TMPDIR/codes"
	grep -q '^200$' "$BATS_TEST_TMPDIR/codes"
	[ "$(metric n2 roomd_api_rate_limited_total)" -gt 0 ]
}

@test "Redis down: 503 unavailable" {
	redis_stop
	wait_for 10 healthz_is n1 503
	expect_error n1 rooms '{}' 503 unavailable
	expect_error n1 publish '{"room":"r1","event":"x"}' 503 unavailable
}

@test "GET and kept-alive connections" {
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $API_KEY" \
	    "http://127.0.0.1:$(port_of n1)/api/rooms"
	assert_output 400
	# Three requests on one connection.
	u="http://127.0.0.1:$(port_of n1)/api/rooms"
	run curl -s -w '%{http_code}\n' -X POST -H "Authorization: Bearer $API_KEY" \
	    --data '{}' "$u" --next -X POST -H "Authorization: Bearer $API_KEY" \
	    --data '{"limit":1}' "$u" --next -X POST \
	    -H "Authorization: Bearer $API_KEY" --data 'x' "$u"
	grep -q '"rooms"' <<<"$output"
	grep -q 'bad_json' <<<"$output"
}
