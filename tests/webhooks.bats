#!/usr/bin/env bats
# webhooks.bats: webhook delivery (BACKEND.md "Webhooks") to a real back
# end (tests/lib/backend.py): the notices and their format, batches of at
# most 100, the signature, retries after 500 and after the back end was
# down, dropping after --webhook-retry, exactly one delivery with two
# nodes, a delivering node killed mid-batch, and seq order per room under
# concurrent publishers on both nodes. tests/run runs it on a cluster too,
# where each slot has its own stream (roomd.8): retired when idle, listed
# again by roomctl gc.

load lib/common
load lib/backend

WH_SECRET=webhook-secret-for-tests
API_KEY=k

setup() {
	redis_start
	backend_start
}

# wh_node NAME [options]: a node delivering to $BACKEND/wh.
wh_node() {
	local name=$1
	shift
	roomd_start "$name" --webhook-url "$BACKEND/wh" \
	    --webhook-secret "$WH_SECRET" --api-key "$API_KEY" "$@"
	wait_for 5 eval '[ "$(redis_cli exists roomd:webhooks:cfg)" = 1 ]'
}

# notices: every notice received so far, one compact JSON a line, in the
# order received (requests in order, notices in order within each).
notices() {
	jq -c 'select(.path == "/wh") | .json.notices[]' "$BACKEND_LOG"
}

# delivered_count N: at least N notices received.
delivered_count() {
	[ "$(notices | wc -l)" -ge "$1" ]
}

# leader_of A B: the one of nodes A and B that delivers.
leader_of() {
	local n
	for n in "$@"; do
		if [ "$(metric "$n" roomd_webhook_leader)" = 1 ]; then
			echo "$n"
			return 0
		fi
	done
	return 1
}

# api_publish NODE ROOM EVENT [DATA]
api_publish() {
	api "$1" publish "{\"room\":\"$2\",\"event\":\"$3\",\"data\":${4:-null}}" \
	    >/dev/null
}

# member ROOM: a client on n1 in ROOM until the event "stop" comes.
member() {
	sim_bg "m-$1" - <<EOF
join $1 {"who":"m"}
expect event event=stop within 60s
EOF
	wait_for 10 members_are "$1" 1
}

# first_notice: n1 delivering, a member in w1, and its event 1 delivered;
# STREAM is the slot stream (on a cluster) that it went through.
first_notice() {
	wh_node n1 --webhook-events '*'
	member w1
	api_publish n1 w1 e 1
	wait_for 10 eval 'notices | grep -q "\"data\":1"'
	STREAM=$(redis_cli smembers roomd:webhooks:streams)
	[ -n "$STREAM" ]
}

@test "notices: room_created, member frames, matching events; signed; one delivery id" {
	wh_node n1 --webhook-events 'chat.*,vote'
	member r1
	api_publish n1 r1 chat.msg '{"t":"hi"}'
	api_publish n1 r1 move 1
	api_publish n1 r1 vote 2
	api n1 state.set '{"room":"r1","key":"k","value":1}' >/dev/null
	api n1 lock '{"room":"r1"}' >/dev/null
	api_publish n1 r1 stop
	sim_wait m-r1
	assert_success
	wait_for 10 eval 'notices | grep -q room_closed'
	run notices
	echo "$output"
	run jq -s -c 'map(.type + ":" + (.event // ""))' <<<"$(notices)"
	assert_output '["room_created:","member_joined:","event:chat.msg","event:vote","room_locked:","member_left:","room_closed:"]'
	# Each exactly as members see it: the room's history has the same frames.
	for seq in $(notices | jq -r 'select(.seq) | .seq'); do
		[ "$(redis_cli --raw xrange 'roomd:room:{r1}:events' "$seq" "$seq" | grep -c '^{')" = 1 ]
	done
	notices | jq -s -e 'map(select(.type == "room_created"))[0] | .room == "r1" and .details.visibility == "public" and (.ts | type) == "number"'
	notices | jq -s -e 'map(select(.type == "event" and .event == "chat.msg"))[0] | .data == {"t":"hi"} and .from == {"conn":null,"user":"api"}'
	# Signature and delivery id of every request.
	jq -c 'select(.path == "/wh")' "$BACKEND_LOG" | while read -r req; do
		body=$(jq -j .body <<<"$req")
		want="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$WH_SECRET" -r | cut -d' ' -f1)"
		[ "$(jq -r '.headers["x-roomd-signature"]' <<<"$req")" = "$want" ]
		[ "$(jq -r '.headers["x-roomd-delivery"]' <<<"$req")" = "$(jq -r .json.delivery <<<"$req")" ]
	done
	[ "$(metric n1 roomd_webhook_notices_delivered_total)" = 7 ]
	wait_for 5 eval '[ "$(metric n1 roomd_webhook_queue_depth)" = 0 ]'
	[ "$(redis_cli xlen roomd:webhooks)" = 0 ]
}

@test "batches of at most 100 notices; roomctl writes queue notices too" {
	wh_node n1 --webhook-events '*'
	member r1
	for i in $(seq 250); do
		"$ROOMCTL" --redis "$REDIS_URL" publish r1 e "{\"i\":$i}" >/dev/null
	done
	api_publish n1 r1 stop
	sim_wait m-r1
	wait_for 20 delivered_count 255
	run jq -s 'map(select(.path == "/wh") | .json.notices | length) | max <= 100 and length >= 3' "$BACKEND_LOG"
	assert_output true
	run jq -s -c '[.[] | select(.type == "event" and .event == "e") | .data.i] == [range(1; 251)]' <<<"$(notices)"
	assert_output true
}

@test "a 500 is retried with the same delivery id, 1 s then 2 s later" {
	backend_rules '{"/wh":[{"status":500},{"status":503},{}]}'
	wh_node n1
	member r1
	wait_for 10 backend_count /wh 3
	run jq -r 'select(.path == "/wh") | .json.delivery' "$BACKEND_LOG"
	[ "$(sort -u <<<"$output" | wc -l)" = 1 ]
	run jq -s -c 'map(select(.path == "/wh") | .t) | [.[1] - .[0], .[2] - .[1]]' "$BACKEND_LOG"
	echo "$output"
	jq -e '.[0] >= 900 and .[0] < 1900 and .[1] >= 1900 and .[1] < 3500' <<<"$output"
	[ "$(metric n1 roomd_webhook_notices_retried_total)" -ge 2 ]
	wait_for 5 eval '[ "$(metric n1 roomd_webhook_notices_delivered_total)" = 2 ]'
	api_publish n1 r1 stop
	sim_wait m-r1
}

@test "a back end that was down gets every notice written meanwhile, in order" {
	wh_node n1 --webhook-events '*'
	member r1
	port=$BACKEND_PORT
	backend_stop
	for i in $(seq 30); do api_publish n1 r1 e "$i"; done
	sleep 2
	grep -q 'webhook: delivery .* failed' "$BATS_TEST_TMPDIR/n1.log"
	[ "$(metric n1 roomd_webhook_queue_depth)" -gt 0 ]
	for i in $(seq 31 40); do api_publish n1 r1 e "$i"; done
	backend_start "$port"
	wait_for 20 delivered_count 42
	run jq -s -c '[.[] | select(.type == "event") | .data] == [range(1; 41)]' <<<"$(notices)"
	assert_output true
	run jq -r 'select(.seq) | .seq' <<<"$(notices)"
	seqs_increasing <<<"$output"
	grep -q 'answers again' "$BATS_TEST_TMPDIR/n1.log"
	api_publish n1 r1 stop
	sim_wait m-r1
}

@test "dropped after --webhook-retry, with a log line and a metric" {
	backend_rules '{"/wh":{"status":500}}'
	wh_node n1 --webhook-retry 2
	member r1
	wait_for 10 grep -q 'webhook: dropped delivery' "$BATS_TEST_TMPDIR/n1.log"
	[ "$(metric n1 roomd_webhook_notices_dropped_total)" -ge 2 ]
	wait_for 5 eval '[ "$(redis_cli xlen roomd:webhooks)" = 0 ]'
	# Once it answers, later notices are delivered.
	backend_rules '{}'
	api_publish n1 r1 stop
	sim_wait m-r1
	wait_for 10 eval 'notices | grep -q room_closed'
}

@test "a hanging or huge answer is a failure; the node goes on" {
	backend_rules '{"/wh":[{"hang":true},{"big":10485760},{}]}'
	wh_node n1 --hook-timeout 1
	member r1
	wait_for 15 backend_count /wh 3
	wait_for 5 eval '[ "$(metric n1 roomd_webhook_notices_delivered_total)" = 2 ]'
	healthz_is n1 200
	api_publish n1 r1 stop
	sim_wait m-r1
}

@test "two nodes: each notice is delivered exactly once" {
	wh_node n1 --webhook-events '*'
	wh_node n2 --webhook-events '*'
	member r1
	for i in $(seq 60); do
		api_publish n1 r1 e "$i" &
		p1=$!
		api_publish n2 r1 e "$((i + 1000))" &
		p2=$!
		wait "$p1" "$p2"
	done
	api_publish n2 r1 stop
	sim_wait m-r1
	wait_for 20 eval 'notices | grep -q room_closed'
	sleep 1
	run bash -c "jq -r 'select(.path == \"/wh\") | .json.notices[] | .seq // .type' '$BACKEND_LOG' | sort | uniq -d"
	assert_output ''
	[ "$(notices | jq -r 'select(.type == "event")' | jq -s length)" = 121 ]
	# One node delivered it all.
	l=$(leader_of n1 n2)
	[ "$(metric "$l" roomd_webhook_notices_delivered_total)" = "$(notices | wc -l)" ]
}

@test "SIGKILL of the delivering node mid-batch: another node delivers that batch" {
	backend_rules '{"/wh":[{"hang":true},{}]}'
	wh_node n1 --webhook-events '*' --hook-timeout 2
	wait_for 10 leader_of n1
	wh_node n2 --webhook-events '*' --hook-timeout 2
	member r1
	for i in $(seq 5); do api_publish n2 r1 e "$i"; done
	wait_for 10 backend_count /wh 1
	first=$(jq -r 'select(.path == "/wh") | .json.delivery' "$BACKEND_LOG" | head -n1)
	roomd_kill n1
	for i in $(seq 6 10); do api_publish n2 r1 e "$i"; done
	wait_for 20 eval '[ "$(metric n2 roomd_webhook_leader)" = 1 ]'
	wait_for 20 eval 'notices | jq -s -e "map(select(.type == \"event\") | .data) | index(10) != null" >/dev/null'
	# The hung batch came again with its delivery id, then the rest.
	run jq -r 'select(.path == "/wh") | .json.delivery' "$BACKEND_LOG"
	[ "$(sed -n 2p <<<"$output")" = "$first" ]
	grep -q 'did not acknowledge' "$BATS_TEST_TMPDIR/n2.log"
	# Every event after the first delivery: once each, in order.
	run bash -c "jq -c 'select(.path == \"/wh\") | .json.notices[] | select(.type == \"event\") | .data' '$BACKEND_LOG' | tail -n 10 | tr '\n' ' '"
	assert_output '1 2 3 4 5 6 7 8 9 10 '
	api_publish n2 r1 stop
	sim_wait m-r1
}

@test "order per room under concurrent publishers on both nodes" {
	wh_node n1 --webhook-events '*'
	wh_node n2 --webhook-events '*'
	for r in ra rb rc; do member "$r"; done
	for c in 1 2 3 4; do
		node=n$((c % 2 + 1))
		sim_bg "p$c" --url "$(eval echo "\$URL_$node")" - <<EOF
join ra
join rb
join rc
$(for k in $(seq 15); do printf 'publish ra p {"c":%d,"k":%d}\npublish rb p {"k":%d}\npublish rc p {"k":%d}\n' "$c" "$k" "$k" "$k"; done)
leave ra
leave rb
leave rc
EOF
	done
	for c in 1 2 3 4; do sim_wait "p$c"; assert_success; done
	for r in ra rb rc; do api_publish n1 "$r" stop; done
	for r in ra rb rc; do sim_wait "m-$r"; done
	for r in ra rb rc; do
		wait_for 20 eval "notices | grep -q '\"type\":\"room_closed\",\"room\":\"$r\"'"
	done
	for r in ra rb rc; do
		notices | jq -r --arg r "$r" 'select(.room == $r and .seq) | .seq' >"$BATS_TEST_TMPDIR/$r.seqs"
		seqs_increasing <"$BATS_TEST_TMPDIR/$r.seqs"
		# Every frame of the room's history (those webhooks send) arrived.
		want=$(redis_cli --raw xrange "roomd:room:{$r}:events" - + | grep '^{' |
		    jq -c 'select(.type != "state_changed")' | wc -l)
		[ "$(wc -l <"$BATS_TEST_TMPDIR/$r.seqs")" = "$want" ]
	done
}

@test "roomctl webhooks: depth, oldest age, deliverer, failing since; --json" {
	run "$ROOMCTL" --redis "$REDIS_URL" webhooks --json
	assert_success
	jq -e '.enabled == false and .depth == 0 and .oldest_age_ms == null and .failing_since == null' <<<"$output"
	backend_rules '{"/wh":{"status":500}}'
	wh_node n1 --webhook-events '*'
	member r1
	for i in $(seq 5); do api_publish n1 r1 e "$i"; done
	wait_for 10 eval '"$ROOMCTL" --redis "$REDIS_URL" webhooks --json | jq -e ".failing_since != null" >/dev/null'
	run "$ROOMCTL" --redis "$REDIS_URL" webhooks --json
	jq -e '.enabled and .events == "*" and .depth >= 7 and .pending >= 2 and
	    .deliverer == "n1" and .last_error == "status 500" and
	    .oldest_age_ms >= 0 and .queued_total >= 7' <<<"$output"
	run "$ROOMCTL" --redis "$REDIS_URL" webhooks
	assert_success
	assert_line --regexp '^deliverer +n1$'
	assert_line --regexp '^failing +since .* ago: status 500$'
	backend_rules '{}'
	api_publish n1 r1 stop
	sim_wait m-r1
	wait_for 15 eval '"$ROOMCTL" --redis "$REDIS_URL" webhooks --json | jq -e ".depth == 0 and .failing_since == null" >/dev/null'
	run "$ROOMCTL" --redis "$REDIS_URL" webhooks
	assert_line --regexp '^failing +no$'
	assert_line --regexp '^oldest +-$'
	run "$ROOMCTL" --redis "$REDIS_URL" webhooks extra
	assert_failure 2
}

@test "Redis restarted empty: a new lease, a new group, delivery goes on" {
	single_redis_only "restarts its one Redis"
	wh_node n1 --webhook-events '*'
	member r1
	api_publish n1 r1 before
	wait_for 10 eval 'notices | grep -q "\"event\":\"before\""'
	redis_stop
	wait_for 10 healthz_is n1 503
	redis_restart
	wait_for 15 healthz_is n1 200
	# The member was written back; the group and the lease are new.
	wait_for 10 members_are r1 1
	wait_for 10 eval '[ "$(redis_cli exists roomd:webhooks:cfg)" = 1 ]'
	api_publish n1 r1 after
	wait_for 15 eval 'notices | grep -q "\"event\":\"after\""'
	api_publish n1 r1 stop
	sim_wait m-r1
	assert_success
}

@test "the first request after Redis comes back empty queues its notices" {
	single_redis_only "restarts its one Redis"
	# The config key the scripts look at is written as the node's first
	# command on a new connection, ahead of the rooms it writes back, not
	# at its next tick up to a second later.
	wh_node n1 --webhook-events '*'
	member r1
	wait_for 10 members_are r1 1
	redis_stop
	wait_for 10 healthz_is n1 503
	redis_restart
	wait_for 15 healthz_is n1 200
	api_publish n1 r1 now
	wait_for 15 eval 'notices | grep -q "\"event\":\"now\""'
	api_publish n1 r1 stop
	sim_wait m-r1
	assert_success
}

@test "a node without --webhook-url queues notices too, for rooms on every shard" {
	wh_node n1 --webhook-events '*'
	roomd_start n2 --api-key "$API_KEY"
	for r in w1 w2 w3 w4 w5 w6; do member "$r"; done
	# On a cluster a node that does not deliver learns the settings from
	# the deliverer's key within a second (roomd.8); on one Redis its
	# scripts read the key themselves.
	wait_for 10 eval 'api_publish n2 w1 probe; notices | grep -q "\"event\":\"probe\""'
	for r in w1 w2 w3 w4 w5 w6; do
		for i in 1 2 3; do api_publish n2 "$r" e "$i"; done
		api_publish n2 "$r" stop
	done
	for r in w1 w2 w3 w4 w5 w6; do sim_wait "m-$r"; done
	wait_for 20 eval '[ "$(notices | grep -c "\"type\":\"room_closed\"")" = 6 ]'
	for r in w1 w2 w3 w4 w5 w6; do
		run bash -c "jq -c 'select(.path == \"/wh\") | .json.notices[] | select(.room == \"$r\" and .event == \"e\") | .data' '$BACKEND_LOG' | tr '\n' ' '"
		assert_output '1 2 3 '
	done
	if [ "$TEST_CLUSTER" = 1 ]; then
		# One stream per slot: six rooms, several streams.
		[ "$(redis_cli smembers roomd:webhooks:streams | wc -l)" -ge 2 ]
	fi
}

@test "cluster: an idle slot's stream is retired, queued_total kept, made again by the next notice" {
	cluster_only "one Redis has one stream, never retired"
	first_notice
	wait_for 10 eval '"$ROOMCTL" webhooks --json | jq -e ".depth == 0" >/dev/null'
	total=$("$ROOMCTL" webhooks --json | jq .queued_total)
	[ "$total" -ge 2 ]
	wait_for 30 eval '[ -z "$(redis_cli smembers roomd:webhooks:streams)" ]'
	[ -z "$(redis_scan 'roomd:webhooks:{*')" ]
	run "$ROOMCTL" webhooks --json
	jq -e --argjson t "$total" '.queued_total == $t and .depth == 0' <<<"$output"
	# Listed again while gone (a list read before the retirement, or gc
	# racing it): the deliverer does not make it again, since no writer
	# would list a stream that already exists, and retires it again.
	redis_cli sadd roomd:webhooks:streams "$STREAM" >/dev/null
	sleep 3		# three ticks: the deliverer reads it and gets NOGROUP
	[ "$(redis_cli exists "$STREAM")" = 0 ]
	wait_for 30 eval '[ -z "$(redis_cli smembers roomd:webhooks:streams)" ]'
	api_publish n1 w1 e 2
	wait_for 10 eval 'notices | grep -q "\"data\":2"'
	[ "$(redis_cli smembers roomd:webhooks:streams | wc -l)" = 1 ]
	api_publish n1 w1 stop
	sim_wait m-w1
}

@test "cluster: roomctl gc lists a slot's stream its writer did not list" {
	cluster_only "one Redis has one stream, always read"
	first_notice
	# As if the writer that made the stream died before listing it.
	redis_cli srem roomd:webhooks:streams "$STREAM" >/dev/null
	sleep 2		# a tick (1 s): the deliverer reads the list again
	api_publish n1 w1 e 2
	[ "$(redis_cli xlen "$STREAM")" -ge 1 ]
	sleep 3		# three ticks: the deliverer does not know the stream
	[ "$(notices | grep -c '"data":2')" = 0 ]
	run "$ROOMCTL" gc
	assert_success
	[ "$(redis_cli smembers roomd:webhooks:streams)" = "$STREAM" ]
	wait_for 10 eval 'notices | grep -q "\"data\":2"'
	api_publish n1 w1 stop
	sim_wait m-w1
}

@test "cluster: roomctl webhooks with a stream's master down: exit 1, one roomctl: line" {
	cluster_only "kills a master of the cluster"
	first_notice
	cluster_kill "$(cluster_owner "$(cluster_slot "$STREAM")")"
	run "$ROOMCTL" webhooks --json
	assert_failure 1
	[ "${#lines[@]}" = 1 ]
	# It says which master it could not reach.
	assert_output --regexp '^roomctl: .*127\.0\.0\.1:[0-9]+: Connection refused$'
}

@test "a room made by match has its room_created notice, with its pool and filter" {
	wh_node n1
	run sim - <<'EOF'
send {"type":"match","ref":"m","pool":"duel","size":2,"filter":{"lvl":3}}
expect ok ref=m created=true
EOF
	assert_success
	wait_for 10 eval 'notices | grep -q room_created'
	run bash -c "jq -c 'select(.path == \"/wh\") | .json.notices[] | select(.type == \"room_created\") | .details | [.pool, .filter, .max_members, .visibility]' '$BACKEND_LOG'"
	assert_output '["duel",{"lvl":3},2,"private"]'
}
