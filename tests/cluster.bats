#!/usr/bin/env bats
# cluster.bats: roomd and roomctl on a real Redis Cluster (REDIS.md, Redis
# Cluster; CLI.md --redis-cluster): 3 masters with a replica each from
# lib/cluster, two roomd nodes with --redis-cluster. Rooms on every shard
# with frames in one order on both nodes, presence, recovery with since,
# lock, the max_members race, pool writes that reach the pool's shard out
# of order, roomctl's commands across the shards, a master SIGKILLed and its
# replica promoted, every seed down at start, a busy room's slot migrated,
# CLUSTER FAILOVER under load with a password, and a master in DEBUG SLEEP.
# Matchmaking on a cluster is match.bats, run there by tests/run.

load lib/common
load lib/cluster
load lib/pool

bats_require_minimum_version 1.5.0

# cluster_nodes [roomd options]: the cluster, and roomd nodes n1 and n2
# on it.
cluster_nodes() {
	cluster_start || return 1
	export REDIS_URL=redis://127.0.0.1:1/0	# unused: --redis-cluster wins
	roomd_start n1 --redis-cluster "$CLUSTER_SEEDS" "$@" || return 1
	roomd_start n2 --redis-cluster "$CLUSTER_SEEDS" "$@" || return 1
}

# ctl ARGS: roomctl on the cluster (with its password, if it has one).
ctl() {
	if [ -n "$CLUSTER_PASSWORD" ]; then
		"$ROOMCTL" --redis-cluster "$CLUSTER_SEEDS" \
		    --redis-password "$CLUSTER_PASSWORD" "$@"
	else
		"$ROOMCTL" --redis-cluster "$CLUSTER_SEEDS" "$@"
	fi
}

# room_master ROOM: the port of the master that owns ROOM's slot.
room_master() {
	cluster_owner "$(cluster_slot "roomd:room:{$1}")"
}

# rooms_per_shard: set ROOMS to one room name per master (r0, r1, ...
# tried in turn).
rooms_per_shard() {
	local k m seen=" "
	ROOMS=()
	for ((k = 0; k < 100 && ${#ROOMS[@]} < 3; k++)); do
		m=$(room_master "r$k")
		[ -n "$m" ] || continue
		case $seen in *" $m "*) continue ;; esac
		seen="$seen$m "
		ROOMS+=("r$k")
	done
	[ ${#ROOMS[@]} = 3 ]
}

# room_on PORT: a room name whose slot the master on PORT owns.
room_on() {
	local k
	for ((k = 100; k < 400; k++)); do
		[ "$(room_master "q$k")" = "$1" ] && { echo "q$k"; return 0; }
	done
	return 1
}

healthz_json() {
	http_body "$1" /healthz
}

# one_master A B: exactly one of the nodes on ports A and B is a master.
one_master() {
	local n=0
	cluster_is_master "$1" && n=$((n + 1))
	cluster_is_master "$2" && n=$((n + 1))
	[ "$n" = 1 ]
}

# shards_up NAME N: node NAME's /healthz lists N shards up.
shards_up() {
	healthz_json "$1" | jq -e --argjson n "$2" \
	    '[.shards[] | select(.up)] | length == $n' >/dev/null
}

@test "rooms on every shard: one order on both nodes, presence, keys on the room's shard" {
	cluster_nodes
	rooms_per_shard
	A=${ROOMS[0]} B=${ROOMS[1]} C=${ROOMS[2]}
	# Holds the rooms open for the listings below.
	sim_bg holder --url "$URL_n2" "join $A
join $B
join $C
sleep 30s"
	wait_for 10 members_are "$C" 1
	T=$BATS_TEST_TMPDIR/t.jsonl
	run -0 sim --clients 4 --url "$URL_n1,$URL_n2" --transcript "$T" - <<EOF
join $A {"i":\$i}
join $B
join $C
barrier
$(repeat 8 "publish $A a@k@-\$i
publish $B b@k@-\$i
publish $C c@k@-\$i")
barrier
publish $C fin\$i
expect event event=fin0 within 20s
expect event event=fin1 within 20s
expect event event=fin2 within 20s
expect event event=fin3 within 20s
send {"type":"presence","room":"$A","ref":"pr"}
expect ok ref=pr members.4.conn=*
barrier
EOF
	for r in "$A" "$B" "$C"; do
		want=$(tx_jq "$T" 0 "map(select(.room == \"$r\" and .type == \"event\") | .seq)")
		n=$(jq length <<<"$want")
		[ "$n" -ge 32 ] || { echo "room $r: $n events"; return 1; }
		echo "$want" >"$BATS_TEST_TMPDIR/seqs"
		check_seqs "$BATS_TEST_TMPDIR/seqs"
		for c in 1 2 3; do
			got=$(tx_jq "$T" "$c" "map(select(.room == \"$r\" and .type == \"event\") | .seq)")
			assert_equal "$got" "$want"
		done
		# The room's keys live on the master of its slot, and its
		# history holds what the members saw.
		m=$(room_master "$r")
		[ "$(ccli "$m" exists "roomd:room:{$r}:events")" = 1 ]
		[ "$(redis_cli xlen "roomd:room:{$r}:events")" -ge "$n" ]
	done
	# Every room in the index, across the shards.
	run -0 ctl rooms --json
	run jq -c 'map(.room) | sort' <<<"$output"
	assert_output "$(printf '%s\n' "$A" "$B" "$C" | jq -R . | jq -s -c 'sort')"
	# A node lists every room too, each read from its shard.
	run -0 sim --url "$URL_n2" '
send {"type":"rooms","ref":"l"}
expect ok ref=l rooms.2.room=*'
	# /healthz reports each shard.
	run healthz_json n1
	run jq -c '[.status, (.shards | length), ([.shards[].slots] | add), ([.shards[] | select(.up)] | length)]' <<<"$output"
	assert_output '["ok",3,16384,3]'
}

@test "recovery with since on the other node, lock, and the max_members race" {
	cluster_nodes
	TK=$BATS_TEST_TMPDIR/keeper.jsonl
	sim_bg keeper --url "$URL_n1" --transcript "$TK" - <<'EOF'
join rec
expect event event=fin within 25s
EOF
	wait_for 10 members_are rec 1
	TB=$BATS_TEST_TMPDIR/b.jsonl
	run -0 sim --url "$URL_n2" --transcript "$TB" - <<'EOF'
join rec
publish rec p1
expect event event=p1
disconnect
EOF
	S=$(tx_jq "$TB" 0 'map(select(.type == "event" and .event == "p1"))[0].seq' | jq -r .)
	run -0 sim --url "$URL_n1" - <<'EOF'
join rec
publish rec m1
publish rec m2
publish rec m3
expect event event=m3
EOF
	TD=$BATS_TEST_TMPDIR/d.jsonl
	run -0 sim --url "$URL_n2" --transcript "$TD" - <<EOF
send {"type":"join","room":"rec","since":"$S","ref":"j"}
expect ok ref=j recovered=true
send {"type":"lock","room":"rec","ref":"l"}
expect ok ref=l
expect room_locked locked=true
send {"type":"unlock","room":"rec","ref":"u"}
expect ok ref=u
publish rec fin
expect event event=fin
EOF
	run tx_jq "$TD" 0 '(map(.ref == "j") | index(true)) as $ok | .[:$ok]
	    | map(select(.type == "event") | .event)'
	assert_output '["m1","m2","m3"]'
	sim_wait keeper
	assert_success

	T=$BATS_TEST_TMPDIR/race.jsonl
	run -0 sim --clients 10 --url "$URL_n1,$URL_n2" --room race --transcript "$T" - <<'EOF'
barrier
send {"type":"join","room":"$room","ref":"j","create":{"max_members":5}}
send {"type":"ping","ref":"p1"}
expect ok ref=p1 within 10s
barrier
EOF
	run jq -s -c '[.[] | select(.dir == "in" and .frame.ref == "j")
	    | .frame.type + ":" + (.frame.code // "")] | group_by(.) | map([.[0], length])' "$T"
	assert_output '[["error:room_full",5],["ok:",5]]'
}

@test "pool writes that reach the pool's shard out of order: the older is dropped" {
	cluster_start
	k='roomd:pool:{dp}:x'
	m=$(cluster_owner "$(cluster_slot "$k")")
	pw() {
		ccli "$m" --eval "$ROOT/shared/lua/pool_set.lua" "$k" "$k:seq" \
		    "$k:born" , "$@" ''
	}
	# As of seq 5-1 the room has 3 of 4; a write as of 5-0 (2 of 4)
	# comes later and is dropped, one as of 6-0 (full) is not.
	run pw dp-1 3 4 0 5-1
	assert_output 1
	run pw dp-1 2 4 0 5-0
	assert_output 0
	run ccli "$m" zrange "$k" 0 -1 withscores
	assert_output $'dp-1\n3'
	run pw dp-1 4 4 0 6-0
	assert_output 1
	run ccli "$m" zcard "$k"
	assert_output 0
	# Locked, then unlocked with a free seat: back in; a stale drop with
	# no count (-1) as of an older frame changes nothing.
	run pw dp-1 3 4 1 7-0
	run pw dp-1 3 4 0 8-0
	run pw dp-1 -1 0 0 7-5
	assert_output 0
	run ccli "$m" zscore "$k" dp-1
	assert_output 3
}

@test "roomctl on the cluster: nodes, rooms, inspect, publish, replay, evict, gc" {
	cluster_nodes
	rooms_per_shard
	A=${ROOMS[0]} B=${ROOMS[1]} C=${ROOMS[2]}
	sim_bg a --url "$URL_n1" - <<EOF
send {"type":"join","room":"$A","ref":"j","create":{"title":"Alpha"}}
expect ok ref=j
join $B {"who":"a"}
expect event room=$A event=hello within 20s
expect evicted room=$B within 20s
sleep 30s
EOF
	wait_for 10 members_are "$A" 1
	sim_bg b --url "$URL_n2" - <<EOF
join $A
join $C
sleep 30s
EOF
	wait_for 10 members_are "$A" 2
	wait_for 10 members_are "$B" 1
	wait_for 10 members_are "$C" 1
	run -0 ctl nodes --json
	run jq -c 'map(.id) | sort' <<<"$output"
	assert_output '["n1","n2"]'
	# The environment works as the option does.
	ROOMCTL_REDIS_CLUSTER=$CLUSTER_SEEDS run -0 "$ROOMCTL" rooms --all --json
	run jq -c 'map([.room, .members]) | sort' <<<"$output"
	assert_output "$(jq -c -n --arg a "$A" --arg b "$B" --arg c "$C" \
	    '[[$a, 2], [$b, 1], [$c, 1]] | sort')"
	run -0 ctl inspect "$A" --json
	run jq -c '[.room, .details.title, (.members | length)]' <<<"$output"
	assert_output "[\"$A\",\"Alpha\",2]"
	run -0 ctl publish "$A" hello '{"x":1}'
	run -0 ctl replay "$A" --count 1
	run jq -c '[.type, .event, .data.x]' <<<"$output"
	assert_output '["event","hello",1]'
	# evict: the member's node is told on the (sharded) control channel.
	a=$(ctl inspect "$B" --json | jq -r '.members[0].conn')
	run -0 ctl evict "$B" --conn "$a" --json
	run jq -c '.evicted | length' <<<"$output"
	assert_output 1
	run -0 ctl rooms --all --json
	run jq -c "map(select(.room == \"$B\")) | length" <<<"$output"
	assert_output 0
	# gc: n2 dies (and n1 stops, so A keeps only n2's member); its
	# members leave with node_lost, closing A and C.
	roomd_kill n2
	roomd_stop n1
	redis_cli del roomd:node:n2 >/dev/null
	run -0 ctl gc --json
	run jq -c '[(.dead_nodes | index("n2") != null), .members_removed, .rooms_closed]' <<<"$output"
	assert_output '[true,2,2]'
	members_are "$C" 0
	run -0 ctl replay "$C" --count 2
	run jq -c '[.type, .reason]' <<<"$output"
	assert_output "$(printf '%s\n' '["member_left","node_lost"]' '["room_closed","empty"]')"
}

@test "a master SIGKILLed: other shards keep working, its rooms are unavailable, then its replica takes over" {
	cluster_nodes
	K=x0
	M=$(room_master "$K")
	O=$(cluster_other_master "$M")
	L=$(room_on "$O")
	R=$(cluster_replica_of "$M")
	J=$(room_on "$M")
	sim_bg a --url "$URL_n1" - <<EOF
join $K {"who":"a"}
join $L
expect event room=$L event=during within 20s
expect event room=$K event=after within 40s
EOF
	sim_bg b --url "$URL_n2" - <<EOF
join $K {"who":"b"}
expect event room=$K event=after within 40s
EOF
	wait_for 10 members_are "$K" 2
	wait_for 10 members_are "$L" 1
	cluster_kill "$M"
	# The other shard's room works throughout; the lost shard's answers
	# unavailable (not hanging) until the replica is promoted.
	run -0 sim --url "$URL_n2" - <<EOF
join $L
publish $L during
expect event room=$L event=during
send {"type":"publish","room":"$K","event":"lost","ref":"k"}
expect error ref=k code=unavailable within 8s
send {"type":"join","room":"$J","ref":"j"}
expect error ref=j code=unavailable
publish $L still
expect event room=$L event=still
EOF
	wait_for 20 cluster_is_master "$R"
	wait_for 20 shards_up n1 3
	run -0 metric n1 "roomd_redis_shard_up{shard=\"127.0.0.1:$R\"}"
	assert_output 1
	wait_for 10 healthz_is n1 200
	# Both nodes wrote their members back on the promoted replica.
	wait_for 10 members_are "$K" 2
	run -0 sim --url "$URL_n1" - <<EOF
join $K
publish $K after
expect event room=$K event=after
EOF
	sim_wait a
	assert_success
	sim_wait b
	assert_success
}

@test "every seed down at start: roomd waits, answers unavailable, then serves" {
	cluster_start
	R=$(cluster_replica_of "$(cluster_owner 0)")
	cluster_kill "$R"
	port=$(free_port)
	roomd_spawn n1 "$port" --listen "127.0.0.1:$port" \
	    --redis-cluster "127.0.0.1:$R" --node-id n1
	run http_code n1 /healthz
	assert_output 503
	run -0 sim - <<'EOF'
send {"type":"join","room":"w","ref":"j"}
expect error ref=j code=unavailable
send {"type":"ping","ref":"p"}
expect ok ref=p
EOF
	_cluster_node "$R"
	wait_for 20 node_registered n1
	wait_for 10 healthz_is n1 200
	run -0 sim - <<'EOF'
join w
publish w hi
expect event event=hi
EOF
	grep -q 'no seed node answers' "$BATS_TEST_TMPDIR/n1.log"
}

# migrate_slot SLOT FROM TO: move SLOT from the master on FROM to the one
# on TO as redis-cli --cluster reshard does (IMPORTING/MIGRATING, MIGRATE
# of its keys, SETSLOT NODE everywhere), pausing in each phase so that
# commands meet ASK while the keys are on the target.
migrate_slot() {
	local s=$1 from=$2 to=$3 fid tid keys p
	fid=$(cluster_id "$from")
	tid=$(cluster_id "$to")
	ccli "$to" cluster setslot "$s" importing "$fid" >/dev/null
	ccli "$from" cluster setslot "$s" migrating "$tid" >/dev/null
	sleep 0.3
	keys=$(ccli "$from" cluster getkeysinslot "$s" 100)
	# shellcheck disable=SC2086
	[ -n "$keys" ] && ccli "$from" migrate 127.0.0.1 "$to" "" 0 5000 \
	    keys $keys >/dev/null
	sleep 0.5
	ccli "$to" cluster setslot "$s" node "$tid" >/dev/null
	ccli "$from" cluster setslot "$s" node "$tid" >/dev/null
	for p in "${CLUSTER_PORTS[@]}"; do
		[ "$p" = "$from" ] || [ "$p" = "$to" ] && continue
		cluster_is_master "$p" &&
		    ccli "$p" cluster setslot "$s" node "$tid" >/dev/null
	done
	return 0
}

@test "a busy room's slot migrates: no acknowledged event lost, every member still receiving" {
	cluster_nodes
	Z=mig
	S=$(cluster_slot "roomd:room:{$Z}")
	M=$(cluster_owner "$S")
	T=$(cluster_other_master "$M")
	T1=$BATS_TEST_TMPDIR/m1.jsonl
	T2=$BATS_TEST_TMPDIR/m2.jsonl
	TP=$BATS_TEST_TMPDIR/p.jsonl
	sim_bg m1 --url "$URL_n1" --transcript "$T1" "join $Z
expect event event=end within 40s"
	sim_bg m2 --url "$URL_n2" --transcript "$T2" "join $Z
expect event event=end within 40s"
	wait_for 10 members_are "$Z" 2
	sim_bg pub --clients 2 --url "$URL_n1,$URL_n2" --transcript "$TP" - <<EOF
join $Z
$(repeat 150 "publish $Z e@k@-\$i
sleep 10ms")
sleep 1s
EOF
	sleep 0.5
	migrate_slot "$S" "$M" "$T"
	sim_wait pub
	assert_success
	[ "$(cluster_owner "$S")" = "$T" ]
	run -0 sim --url "$URL_n1" "join $Z
publish $Z end
expect event event=end within 10s"
	sim_wait m1
	assert_success
	sim_wait m2
	assert_success
	# Every publish acknowledged (an ok with its seq) reached both
	# members, in one order; the room's keys moved with the slot.
	jq -s -c '[.[] | select(.dir == "in" and .frame.type == "ok" and
	    .frame.seq != null and .frame.ref != 1) | .frame.seq] | sort' \
	    "$TP" >"$BATS_TEST_TMPDIR/acked"
	n=$(jq length "$BATS_TEST_TMPDIR/acked")
	[ "$n" -ge 250 ] || { echo "only $n publishes acknowledged"; return 1; }
	for t in "$T1" "$T2"; do
		tx_jq "$t" 0 'map(select(.type == "event") | .seq)' \
		    >"$BATS_TEST_TMPDIR/got"
		check_seqs "$BATS_TEST_TMPDIR/got"
		run jq -n -c --slurpfile a "$BATS_TEST_TMPDIR/acked" \
		    --slurpfile g "$BATS_TEST_TMPDIR/got" '$a[0] - $g[0]'
		assert_output '[]'
	done
	[ "$(ccli "$T" exists "roomd:room:{$Z}:events")" = 1 ]
	grep -q 'caught up' "$BATS_TEST_TMPDIR/n1.log" "$BATS_TEST_TMPDIR/n2.log"
}

@test "CLUSTER FAILOVER under load, with a password: no acknowledged event lost" {
	CLUSTER_PASSWORD=s3cret
	cluster_nodes --redis-password "$CLUSTER_PASSWORD"
	Z=fo
	M=$(room_master "$Z")
	R=$(cluster_replica_of "$M")
	T1=$BATS_TEST_TMPDIR/m1.jsonl
	T2=$BATS_TEST_TMPDIR/m2.jsonl
	TP=$BATS_TEST_TMPDIR/p.jsonl
	sim_bg m1 --url "$URL_n1" --transcript "$T1" "join $Z
expect event event=end within 40s"
	sim_bg m2 --url "$URL_n2" --transcript "$T2" "join $Z
expect event event=end within 40s"
	wait_for 10 members_are "$Z" 2
	sim_bg pub --clients 2 --url "$URL_n1,$URL_n2" --transcript "$TP" - <<EOF
join $Z
$(repeat 150 "publish $Z e@k@-\$i
sleep 10ms")
sleep 1s
EOF
	sleep 0.5
	ccli "$R" cluster failover >/dev/null
	wait_for 10 cluster_is_master "$R"
	sim_wait pub
	assert_success
	wait_for 10 shards_up n1 3
	run -0 sim --url "$URL_n2" "join $Z
publish $Z end
expect event event=end within 10s"
	sim_wait m1
	assert_success
	sim_wait m2
	assert_success
	jq -s -c '[.[] | select(.dir == "in" and .frame.type == "ok" and
	    .frame.seq != null and .frame.ref != 1) | .frame.seq] | sort' \
	    "$TP" >"$BATS_TEST_TMPDIR/acked"
	n=$(jq length "$BATS_TEST_TMPDIR/acked")
	[ "$n" -ge 200 ] || { echo "only $n publishes acknowledged"; return 1; }
	for t in "$T1" "$T2"; do
		tx_jq "$t" 0 'map(select(.type == "event") | .seq)' \
		    >"$BATS_TEST_TMPDIR/got"
		check_seqs "$BATS_TEST_TMPDIR/got"
		run jq -n -c --slurpfile a "$BATS_TEST_TMPDIR/acked" \
		    --slurpfile g "$BATS_TEST_TMPDIR/got" '$a[0] - $g[0]'
		assert_output '[]'
	done
	# roomctl with the password; without it, refused.
	run -0 ctl nodes --json
	run jq -c 'map(.id) | sort' <<<"$output"
	assert_output '["n1","n2"]'
	run -1 "$ROOMCTL" --redis-cluster "$CLUSTER_SEEDS" nodes
}

@test "a master that stops answering (DEBUG SLEEP): other shards keep working, then its rooms again" {
	cluster_nodes
	K=x0
	M=$(room_master "$K")
	R=$(cluster_replica_of "$M")
	L=$(room_on "$(cluster_other_master "$M")")
	sim_bg a --url "$URL_n1" - <<EOF
join $K
expect event room=$K event=after within 40s
EOF
	wait_for 10 members_are "$K" 1
	ccli "$M" debug sleep 4 >/dev/null &
	sleeper=$!
	_PROC[$sleeper]=sleeper
	sleep 0.3
	# The other shard answers at once; the sleeping one's request is
	# answered too (unavailable, or ok once its replica took over), and
	# never left hanging.
	run -0 sim --url "$URL_n2" - <<EOF
join $L
publish $L during
expect event room=$L event=during within 2s
send {"type":"publish","room":"$K","event":"x","ref":"k"}
expect * ref=k within 10s
EOF
	wait "$sleeper" || true
	unset '_PROC[$sleeper]'
	# Writes the woken master takes before it learns that its replica
	# took over are lost by Redis itself: go on once one of the two is
	# master.
	wait_for 20 one_master "$M" "$R"
	wait_for 20 shards_up n1 3
	wait_for 20 shards_up n2 3
	run -0 sim --url "$URL_n2" - <<EOF
join $K
poll {"type":"publish","room":"$K","event":"probe"} until ok within 15s
publish $K after
expect event room=$K event=after within 10s
EOF
	sim_wait a
	assert_success
}
