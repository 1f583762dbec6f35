#!/usr/bin/env bats
# match.bats: matchmaking (PROTOCOL.md "Matchmaking", REDIS.md pool keys,
# CLI.md sim step `match`): `match` puts a client into the fullest open
# room of its pool with the same filter and size, or opens one; rooms
# leave and rejoin their pool as seats fill and free up, as they are
# locked and unlocked, when a node dies, and after Redis restarts empty.
# Two nodes, real Redis.

load lib/common
load lib/pool

# match_oks FILE: one line per client, "client room created", from the ok
# replies to the sim's match steps (ref "m…"), sorted by client.
match_oks() {
	jq -r '. as $l | select(.dir == "in") | .frame
	    | if type == "string" then (fromjson? // .) else . end
	    | select(.type == "ok" and has("created"))
	    | "\($l.client) \(.room) \(.created)"' "$1" | sort -n
}

# room_conns ROOM: the conn ids of the room's members, sorted.
room_conns() {
	redis_cli hkeys "roomd:room:{$1}:members" | sort
}

# tx_conns FILE: the conn ids of every client of a transcript, sorted.
tx_conns() {
	jq -r 'select(.dir == "in") | .frame
	    | if type == "string" then (fromjson? // .) else . end
	    | select(.type == "welcome") | .conn' "$1" | sort
}

@test "40 clients over both nodes matching at once end in exactly 10 full rooms of 4" {
	two_nodes
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim_bg q --clients 40 --url "$URL_n1,$URL_n2" --transcript "$T" - <<'EOF'
barrier
match quick 4
barrier
expect event event=end within 30s
EOF
	wait_for 20 pool_members_are quick 40
	run pool_rooms quick
	assert_equal "$(wc -l <<<"$output")" 10
	refute_output --regexp ' [^4]$'
	# Every room is full, so none is left in the pool.
	run pool_entries quick
	assert_output ''
	# On a cluster the rooms sit on their own shards, apart from the
	# pool's: some on more than one.
	if [ "$TEST_CLUSTER" = 1 ]; then
		[ "$(for r in $(pool_rooms quick | cut -d' ' -f1); do
			cluster_owner "$(cluster_slot "roomd:room:{$r}")"
		done | sort -u | wc -l)" -ge 2 ]
	fi
	# Room ids are <pool>-<12 hex>, sized and marked as match rooms.
	for r in $(pool_rooms quick | cut -d' ' -f1); do
		[[ $r =~ ^quick-[0-9a-f]{12}$ ]]
		assert_equal "$(redis_cli hget "roomd:room:{$r}" max_members)" 4
		assert_equal "$(redis_cli hget "roomd:room:{$r}" visibility)" \
		    private
		"$ROOMCTL" --redis "$REDIS_URL" publish "$r" end
	done
	sim_wait q
	assert_success
	# Each client got one ok; exactly one per room says it opened it, and
	# the rooms the replies name are the rooms Redis holds.
	run match_oks "$T"
	assert_equal "$(wc -l <<<"$output")" 40
	assert_equal "$(awk '$3 == "true"' <<<"$output" | wc -l)" 10
	assert_equal "$(cut -d' ' -f2 <<<"$output" | sort | uniq -c |
	    awk '$1 != 4' | wc -l)" 0
}

@test "filters keep players apart; the same filter in another key order or size does not" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	TB=$BATS_TEST_TMPDIR/b.jsonl
	TC=$BATS_TEST_TMPDIR/c.jsonl
	TD=$BATS_TEST_TMPDIR/d.jsonl
	hold='expect event event=end within 30s'
	sim_bg a --clients 2 --url "$URL_n1,$URL_n2" --transcript "$TA" \
	    "match ranked 4 {\"region\":\"eu\",\"lvl\":3}
$hold"
	wait_for 10 pool_members_are ranked 2
	# Same keys and values in another order: the same rooms.
	sim_bg b --clients 2 --url "$URL_n2,$URL_n1" --transcript "$TB" \
	    "match ranked 4 {\"lvl\":3,\"region\":\"eu\"}
$hold"
	wait_for 10 pool_members_are ranked 4
	# A string "3" is not the number 3, and size 2 is another pool entry.
	sim_bg c --clients 2 --url "$URL_n1,$URL_n2" --transcript "$TC" \
	    "match ranked 4 {\"region\":\"eu\",\"lvl\":\"3\"}
$hold"
	sim_bg d --clients 2 --url "$URL_n2,$URL_n1" --transcript "$TD" \
	    "match ranked 2 {\"region\":\"eu\",\"lvl\":3}
$hold"
	wait_for 10 pool_members_are ranked 8
	run pool_rooms ranked
	assert_equal "$(wc -l <<<"$output")" 3
	# Which room is which, from Redis: the filter is kept canonical (keys
	# sorted) in the room's details.
	for r in $(pool_rooms ranked | cut -d' ' -f1); do
		case "$(redis_cli hget "roomd:room:{$r}" max_members) $(
		    redis_cli hget "roomd:room:{$r}" filter)" in
		'4 {"lvl":3,"region":"eu"}') ra=$r ;;
		'4 {"lvl":"3","region":"eu"}') rc=$r ;;
		'2 {"lvl":3,"region":"eu"}') rd=$r ;;
		esac
	done
	[ -n "${ra:-}" ] && [ -n "${rc:-}" ] && [ -n "${rd:-}" ]
	members_are "$ra" 4
	members_are "$rc" 2
	members_are "$rd" 2
	# Only the room of 4 with two seats left stays in the pool; the full
	# ones do not.
	run pool_entries ranked
	assert_output "$rc 2"
	members_ra=$(room_conns "$ra")
	members_rc=$(room_conns "$rc")
	members_rd=$(room_conns "$rd")
	for r in "$ra" "$rc" "$rd"; do
		"$ROOMCTL" --redis "$REDIS_URL" publish "$r" end
	done
	for s in a b c d; do
		sim_wait $s
		assert_success
	done
	# Each group's replies named its room, and its members are the
	# group's connections (transcripts are complete once a sim ended).
	assert_equal "$(match_oks "$TA" | cut -d' ' -f2 | sort -u)" "$ra"
	assert_equal "$(match_oks "$TB" | cut -d' ' -f2 | sort -u)" "$ra"
	assert_equal "$(match_oks "$TC" | cut -d' ' -f2 | sort -u)" "$rc"
	assert_equal "$(match_oks "$TD" | cut -d' ' -f2 | sort -u)" "$rd"
	assert_equal "$members_ra" \
	    "$(printf '%s\n' "$(tx_conns "$TA")" "$(tx_conns "$TB")" | sort)"
	assert_equal "$members_rc" "$(tx_conns "$TC")"
	assert_equal "$members_rd" "$(tx_conns "$TD")"
	[ "$(wc -l <<<"$members_ra")" = 4 ]
}

@test "a leave reopens a seat that the next match takes" {
	two_nodes
	TL=$BATS_TEST_TMPDIR/l.jsonl
	TN=$BATS_TEST_TMPDIR/n.jsonl
	sim_bg hold --clients 3 --url "$URL_n1,$URL_n2" - <<'EOF'
match seats 4
expect event event=end within 30s
EOF
	wait_for 10 pool_members_are seats 3
	r=$(pool_rooms seats | cut -d' ' -f1)
	# The fourth fills the room and it leaves the pool; then it leaves.
	sim --url "$URL_n2" --transcript "$TL" - <<'EOF'
match seats 4
send {"type":"presence","room":"$room","ref":"p"}
expect ok ref=p
leave $room
EOF
	assert_success
	run jq -r 'select(.dir == "in" and .frame.ref == "p")
	    | .frame.members | length' "$TL"
	assert_output 4
	assert_equal "$(match_oks "$TL")" "0 $r false"
	wait_for 5 members_are "$r" 3
	run pool_entries seats
	assert_output "$r 3"
	# The next match gets the freed seat, not a new room.
	sim_bg next --url "$URL_n1" --transcript "$TN" - <<'EOF'
match seats 4
expect event event=end within 30s
EOF
	wait_for 10 members_are "$r" 4
	run pool_entries seats
	assert_output ''
	run pool_rooms seats
	assert_output "$r 4"
	"$ROOMCTL" --redis "$REDIS_URL" publish "$r" end
	sim_wait next
	assert_success
	assert_equal "$(match_oks "$TN")" "0 $r false"
	sim_wait hold
	assert_success
}

@test "roomctl evict and a disconnect free seats; a room evicted empty leaves its pool" {
	two_nodes
	sim_bg hold --clients 3 --url "$URL_n1,$URL_n2" - <<'EOF'
match ev 3
expect event event=never within 30s
EOF
	wait_for 10 pool_members_are ev 3
	r=$(pool_rooms ev | cut -d' ' -f1)
	run pool_entries ev
	assert_output ''
	# One member evicted: a seat is free again.
	c=$(redis_cli hkeys "roomd:room:{$r}:members" | head -n1)
	run "$ROOMCTL" --redis "$REDIS_URL" evict "$r" --conn "$c"
	assert_success
	wait_for 5 eval '[ "$(pool_entries ev)" = "$r 2" ]'
	# A client that takes that seat and disconnects frees it again.
	sim --url "$URL_n2" --transcript "$BATS_TEST_TMPDIR/d.jsonl" - <<'EOF'
match ev 3
disconnect
EOF
	assert_success
	assert_equal "$(match_oks "$BATS_TEST_TMPDIR/d.jsonl")" "0 $r false"
	wait_for 5 eval '[ "$(pool_entries ev)" = "$r 2" ]'
	members_are "$r" 2
	# Everyone evicted: the room closes and is out of the pool.
	run "$ROOMCTL" --redis "$REDIS_URL" evict "$r"
	assert_success
	wait_for 5 members_are "$r" 0
	run pool_entries ev
	assert_output ''
}

@test "a locked room is skipped and offered again once unlocked; rooms and inspect show it" {
	two_nodes
	TA=$BATS_TEST_TMPDIR/a.jsonl
	sim_bg a --url "$URL_n1" --transcript "$TA" - <<'EOF'
match lobby 4 {"mode":"ffa"}
send {"type":"lock","room":"$room","ref":"l"}
expect ok ref=l room=$room
expect room_locked locked=true by.user=null
send {"type":"lock","room":"$room","ref":"l2"}
expect ok ref=l2
expect event event=unlock within 30s
send {"type":"unlock","room":"$room","ref":"u"}
expect ok ref=u
expect room_locked locked=false
expect event event=end within 30s
EOF
	wait_for 10 eval '[ "$(redis_cli hget "roomd:room:{$(pool_rooms lobby |
	    cut -d" " -f1)}" locked)" = 1 ]'
	ra=$(pool_rooms lobby | cut -d' ' -f1)
	run pool_entries lobby
	assert_output ''
	# Locking twice wrote one frame.
	run room_frames "$ra"
	assert_equal "$(grep -c '"room_locked"' <<<"$output")" 1
	# The listing and inspect show the lock, the pool and the filter.
	run "$ROOMCTL" --redis "$REDIS_URL" --json rooms --all
	assert_success
	run jq -c --arg r "$ra" '.[] | select(.room == $r)
	    | [.locked, .pool, .filter, .members, .max_members]' <<<"$output"
	assert_output '[true,"lobby",{"mode":"ffa"},1,4]'
	run "$ROOMCTL" --redis "$REDIS_URL" --json inspect "$ra"
	assert_success
	run jq -c '.details | [.locked, .pool, .filter]' <<<"$output"
	assert_output '[true,"lobby",{"mode":"ffa"}]'
	run "$ROOMCTL" --redis "$REDIS_URL" rooms --all
	assert_success
	assert_output --partial lobby
	# A match skips the locked room and opens another.
	sim_bg b --url "$URL_n2" - <<'EOF'
match lobby 4 {"mode":"ffa"}
expect event event=end within 30s
EOF
	wait_for 10 pool_members_are lobby 2
	rb=$(pool_rooms lobby | cut -d' ' -f1 | grep -v "$ra")
	[ -n "$rb" ]
	# join by id still works for a locked room, and its reply's details
	# say so.
	sim --url "$URL_n2" - <<EOF
send {"type":"join","room":"$ra","ref":"j"}
expect ok ref=j details.locked=true details.pool=lobby details.filter.mode=ffa details.max_members=4
leave $ra
EOF
	assert_success
	wait_for 5 members_are "$ra" 1
	# Unlocked, the room is offered again: as full as rb, and older.
	"$ROOMCTL" --redis "$REDIS_URL" publish "$ra" unlock
	wait_for 10 eval '[ "$(redis_cli hget "roomd:room:{$ra}" locked)" = 0 ]'
	run pool_entries lobby
	assert_output "$(printf '%s 1\n%s 1\n' "$ra" "$rb" | sort)"
	sim_bg c --url "$URL_n2" - <<'EOF'
match lobby 4 {"mode":"ffa"}
expect event event=end within 30s
EOF
	wait_for 10 members_are "$ra" 2
	members_are "$rb" 1
	run "$ROOMCTL" --redis "$REDIS_URL" --json rooms --all
	run jq -c --arg r "$ra" '.[] | select(.room == $r) | .locked' \
	    <<<"$output"
	assert_output false
	for r in "$ra" "$rb"; do
		"$ROOMCTL" --redis "$REDIS_URL" publish "$r" end
	done
	for s in a b c; do
		sim_wait $s
		assert_success
	done
}

@test "the rooms request and join replies show locked, and pool and filter for match rooms only" {
	two_nodes
	sim --url "$URL_n1" - <<'EOF'
match solo 3 {"k":"v"}
send {"type":"join","room":"$room","ref":"j0"}
expect ok ref=j0 details.pool=solo details.filter.k=v details.locked=false details.max_members=3 details.visibility=private
send {"type":"lock","room":"$room","ref":"l"}
expect ok ref=l
send {"type":"rooms","visibility":"all","ref":"r"}
expect ok ref=r rooms.0.pool=solo rooms.0.filter={"k":"v"} rooms.0.locked=true rooms.0.max_members=3 rooms.0.members=1
send {"type":"join","room":"plain","ref":"j"}
expect ok ref=j details.locked=false details.max_members=null details.visibility=public details.pool!=* details.filter!=*
send {"type":"rooms","visibility":"all","ref":"r2"}
expect ok ref=r2 rooms.1.room=plain rooms.1.locked=false rooms.1.pool!=*
EOF
	assert_success
}

@test "lock and unlock: not_member outside the room, bad_request without a room" {
	two_nodes
	sim --url "$URL_n1" - <<'EOF'
join other
send {"type":"lock","room":"other2","ref":"a"}
expect error ref=a code=not_member
send {"type":"unlock","room":"nowhere","ref":"b"}
expect error ref=b code=not_member
send {"type":"lock","ref":"c"}
expect error ref=c code=bad_request
send {"type":"lock","room":7,"ref":"d"}
expect error ref=d code=bad_request
send {"type":"lock","room":"other","ref":"e"}
expect ok ref=e room=other
expect room_locked locked=true
EOF
	assert_success
	run redis_cli exists 'roomd:room:{other2}'
	assert_output 0
	run redis_cli exists 'roomd:room:{nowhere}'
	assert_output 0
}

@test "a node killed with SIGKILL frees its players' seats after gc" {
	two_nodes
	sim_bg keep --url "$URL_n2" - <<'EOF'
match arena 4
expect event event=end within 40s
EOF
	wait_for 10 pool_members_are arena 1
	r=$(pool_rooms arena | cut -d' ' -f1)
	sim_bg doomed --clients 3 --url "$URL_n1" - <<'EOF'
match arena 4
expect event event=never within 40s
EOF
	wait_for 10 members_are "$r" 4
	run pool_entries arena
	assert_output ''
	roomd_kill n1
	# gc (another node, within about 15 s) removes the dead node's
	# members, and the room is back in the pool with its one seat taken.
	wait_for 20 members_are "$r" 1
	wait_for 5 eval '[ "$(pool_entries arena)" = "$r 1" ]'
	sim_bg refill --clients 3 --url "$URL_n2" - <<'EOF'
match arena 4
expect event event=end within 30s
EOF
	wait_for 10 members_are "$r" 4
	run pool_rooms arena
	assert_output "$r 4"
	"$ROOMCTL" --redis "$REDIS_URL" publish "$r" end
	sim_wait keep
	assert_success
	sim_wait refill
	assert_success
	sim_wait doomed
	assert_failure
}

@test "stale pool entries (rooms expired or never there) are never handed out; roomctl gc drops them" {
	two_nodes
	sim_bg a --url "$URL_n1" - <<'EOF'
match exp 4
expect event event=never within 30s
EOF
	wait_for 10 pool_members_are exp 1
	r=$(pool_rooms exp | cut -d' ' -f1)
	pk=$(pool_keys exp)
	[ -n "$pk" ]
	# An entry fuller than r whose room does not exist.
	redis_cli zadd "$pk" 3 exp-ffffffffffff >/dev/null
	sim_bg b --url "$URL_n2" - <<'EOF'
match exp 4
expect event event=never within 30s
EOF
	wait_for 10 members_are "$r" 2
	run redis_cli exists 'roomd:room:{exp-ffffffffffff}'
	assert_output 0
	run pool_entries exp
	assert_output "$r 2"
	# r's keys expire (as after --room-ttl without writes): its entry
	# stays until a match meets it or gc sweeps (on a cluster, every
	# master's pools).
	redis_cli del "roomd:room:{$r}" "roomd:room:{$r}:members" \
	    "roomd:room:{$r}:events" >/dev/null
	run "$ROOMCTL" --redis "$REDIS_URL" gc
	assert_success
	assert_output --partial "2 index entries dropped"	# rooms and pool
	run pool_entries exp
	assert_output ''
}

@test "after Redis restarts empty, pools agree with the members written back" {
	single_redis_only "it restarts Redis"
	two_nodes
	sim_bg open --clients 3 --url "$URL_n1,$URL_n2" - <<'EOF'
match br 4
expect event event=end within 60s
EOF
	sim_bg full --clients 2 --url "$URL_n1,$URL_n2" - <<'EOF'
match br 2
expect event event=end within 60s
EOF
	sim_bg locked --url "$URL_n2" - <<'EOF'
match br 3 {"x":true}
send {"type":"lock","room":"$room","ref":"l"}
expect ok ref=l
expect event event=end within 60s
EOF
	wait_for 10 pool_members_are br 6
	wait_for 10 eval '[ "$(pool_entries br | wc -l)" = 1 ]'
	before=$(pool_rooms br)
	ropen=$(pool_entries br | cut -d' ' -f1)
	redis_stop
	wait_for 5 healthz_is n1 503
	redis_restart
	wait_for 20 pool_members_are br 6
	run pool_rooms br
	assert_output "$before"
	# Only the open room with free seats is in a pool, with its count;
	# the full room and the locked one are not.
	wait_for 5 eval '[ "$(pool_entries br)" = "$ropen 3" ]' || {
		pool_entries br
		pool_rooms br
		for r in $(pool_rooms br | cut -d' ' -f1); do
			redis_cli hgetall "roomd:room:{$r}"
		done
		false
	}
	for r in $(pool_rooms br | cut -d' ' -f1); do
		assert_equal "$(redis_cli hget "roomd:room:{$r}" pool)" br
	done
	wait_for 10 healthz_is n1 200
	wait_for 10 healthz_is n2 200
	# And matching works on it: the fourth seat of the open room.
	sim_bg last --url "$URL_n2" - <<'EOF'
match br 4
expect event event=end within 30s
EOF
	wait_for 10 members_are "$ropen" 4
	run pool_entries br
	assert_output ''
	for r in $(pool_rooms br | cut -d' ' -f1); do
		"$ROOMCTL" --redis "$REDIS_URL" publish "$r" end
	done
	for s in open full locked last; do
		sim_wait $s
		assert_success
	done
}

@test "bad match input gets bad_request and writes nothing" {
	two_nodes
	long33=$(printf 'p%.0s' {1..33})
	long60=$(printf 'p%.0s' {1..60})
	keys17=$(for k in $(seq 17); do printf '"k%d":1,' "$k"; done)
	keys17="{${keys17%,}}"
	local -a bad=(
		'{"type":"match","size":4}'
		'{"type":"match","pool":5,"size":4}'
		'{"type":"match","pool":"bad pool","size":4}'
		'{"type":"match","pool":"","size":4}'
		"{\"type\":\"match\",\"pool\":\"$long33\",\"size\":4}"
		"{\"type\":\"match\",\"pool\":\"$long60\",\"size\":4}"
		'{"type":"match","pool":"p"}'
		'{"type":"match","pool":"p","size":"4"}'
		'{"type":"match","pool":"p","size":null}'
		'{"type":"match","pool":"p","size":1}'
		'{"type":"match","pool":"p","size":1001}'
		'{"type":"match","pool":"p","size":4.5}'
		'{"type":"match","pool":"p","size":4,"filter":[]}'
		'{"type":"match","pool":"p","size":4,"filter":"eu"}'
		'{"type":"match","pool":"p","size":4,"filter":{"a":{"b":1}}}'
		'{"type":"match","pool":"p","size":4,"filter":{"a":[1]}}'
		'{"type":"match","pool":"p","size":4,"filter":{"a":null}}'
		"{\"type\":\"match\",\"pool\":\"p\",\"size\":4,\"filter\":$keys17}"
		'{"type":"match","pool":"p","size":4,"filter":{"bad key":1}}'
		'{"type":"match","pool":"p","size":4,"filter":{"":1}}'
		'{"type":"match","pool":"p","size":4,"meta":[]}'
		'{"type":"match","pool":"p","size":4,"create":{"max_members":9}}'
		'{"type":"match","pool":"p","size":4,"create":{"visibility":"x"}}'
		'{"type":"match","pool":"p","size":4,"since":"1-0"}'
	)
	script=''
	for f in "${bad[@]}"; do
		script+="send ${f%\}},\"ref\":\"b\"}
expect error ref=b code=bad_request
"
	done
	sim --url "$URL_n1" "$script"
	assert_success
	# 16 keys of ids is fine, and so is the largest pool id.
	keys16=$(for k in $(seq 16); do printf '"k.%d":"v",' "$k"; done)
	long32=$(printf 'p%.0s' {1..32})
	run redis_scan 'roomd:room*'
	assert_output ''
	run redis_scan 'roomd:pool*'
	assert_output ''
	sim --url "$URL_n2" "send {\"type\":\"match\",\"pool\":\"$long32\",\"size\":1000,\"filter\":{${keys16%,}},\"ref\":\"ok\"}
expect ok ref=ok created=true details.max_members=1000"
	assert_success
}

@test "auth: a token's room patterns decide the pools it may match in" {
	redis_start
	roomd_start n1 --auth-secret s3cret
	duel=$(mint s3cret alice --rooms 'duel-*')
	narrow=$(mint s3cret bob --rooms 'duel-a*,lobby')
	sim --url "$URL_n1" --token "$duel" - <<'EOF'
match duel 2
send {"type":"match","pool":"ranked","size":2,"ref":"r"}
expect error ref=r code=forbidden
EOF
	assert_success
	sim --url "$URL_n1" --token "$narrow" - <<'EOF'
send {"type":"match","pool":"duel","size":2,"ref":"d"}
expect error ref=d code=forbidden
send {"type":"match","pool":"lobby","size":2,"ref":"l"}
expect error ref=l code=forbidden
EOF
	assert_success
	run redis_scan 'roomd:pool:{ranked}*'
	assert_output ''
	run redis_scan 'roomd:room:{lobby*'
	assert_output ''
	run redis_scan 'roomd:room:{ranked*'
	assert_output ''
}

@test "the sim's match step binds \$room for that client's later lines" {
	two_nodes
	T=$BATS_TEST_TMPDIR/t.jsonl
	sim --clients 2 --url "$URL_n1,$URL_n2" --transcript "$T" - <<'EOF'
match pair 2 {"game":"chess"}
barrier
publish $room hello {"from":$i}
expect event event=hello data.from=0
expect event event=hello data.from=1
barrier
leave $room
EOF
	assert_success
	run match_oks "$T"
	assert_equal "$(cut -d' ' -f2 <<<"$output" | sort -u | wc -l)" 1
	r=$(cut -d' ' -f2 <<<"$output" | head -n1)
	# The events went into the matched room; both have left, so it is
	# closed and out of the pool.
	run room_events "$r"
	assert_output "$(printf '"hello"\n"hello"')"
	run pool_entries pair
	assert_output ''
	# A bad match step is refused before anything connects.
	sim "match pair
join probe"
	assert_failure 2
	sim "match pair 1"
	assert_failure 2
	sim 'match pair 2 {"a":'
	assert_failure 2
	run redis_cli exists 'roomd:room:{probe}'
	assert_output 0
}
