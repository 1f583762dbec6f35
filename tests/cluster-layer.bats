#!/usr/bin/env bats
# cluster-layer.bats: the shared Redis Cluster layer (shared/cluster*.c)
# against a real 3-master, 3-replica cluster, through build/tests/cluster-probe:
# keys in every slot, scripts reloaded per shard, sharded pub/sub, a slot
# migration (ASK then MOVED) and a master failover, and the sync client.

load lib/common
load lib/cluster

PROBE=$ROOT/build/tests/cluster-probe

# probe_bg NAME ARGS: the probe in the background, output in NAME.out.
probe_bg() {
	local name=$1
	shift
	# No timeout(1) in between: the test signals the probe (which bounds
	# itself with alarm(2)).
	"$PROBE" "$CLUSTER_SEEDS" "$@" \
	    >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	PROBE_PID=$!
	_PROC[$PROBE_PID]="probe $name"
}

probe_ready() {
	grep -q '^ready$' "$BATS_TEST_TMPDIR/$1.out"
}

# probe_wait NAME [PID]: wait for a background probe; $output is its
# output.
probe_wait() {
	local pid=${2:-$PROBE_PID}
	status=0
	wait "$pid" || status=$?
	unset '_PROC[$pid]'
	output=$(cat "$BATS_TEST_TMPDIR/$1.out")
	cat "$BATS_TEST_TMPDIR/$1.err" >&2
}

# stat NAME: a name=value counter from $output.
stat() {
	sed -n "s/^$1=//p" <<<"$output"
}

@test "every slot, scripts on every shard and sharded pub/sub" {
	cluster_start
	run timeout 60 "$PROBE" "$CLUSTER_SEEDS" basic
	echo "$output"
	assert_success
	assert_line "kv ok 16384 slots"
	assert_line --regexp '^script ok noscript=([3-9]|[1-9][0-9]+)$'
	assert_line "pubsub ok 30 channels"
	assert_line "shards=3 up=3 slots=16384"
	# Each shard holds its third of the keys.
	for p in "${CLUSTER_PORTS[@]}"; do
		if cluster_is_master "$p"; then
			n=$(ccli "$p" dbsize)
			[ "$n" -gt 5000 ]
		fi
	done
}

@test "with a password, and the synchronous client" {
	CLUSTER_PASSWORD=s3cret
	cluster_start
	PROBE_PASSWORD=s3cret run timeout 60 "$PROBE" "$CLUSTER_SEEDS" basic
	echo "$output"
	assert_success
	assert_line "pubsub ok 30 channels"
	PROBE_PASSWORD=s3cret run timeout 60 "$PROBE" "$CLUSTER_SEEDS" sync
	echo "$output"
	assert_success
	assert_line --regexp '^sync ok masters=3 keys='
	# A wrong password is refused, not retried forever.
	PROBE_PASSWORD=wrong run timeout 30 "$PROBE" "$CLUSTER_SEEDS" sync
	assert_failure
}

@test "a slot migration: ASK during it, MOVED after, nothing lost" {
	local slot src dst src_id dst_id plain
	cluster_start
	slot=$(cluster_slot "{mig}")
	src=$(cluster_owner "$slot")
	dst=$(cluster_other_master "$src")
	src_id=$(cluster_id "$src")
	dst_id=$(cluster_id "$dst")
	# One probe without pub/sub (it learns of the move only by MOVED),
	# one with a subscription on the slot (which the move ends).
	PROBE_NOSUB=1 probe_bg plain watch "{mig}:a" 6
	plain=$PROBE_PID
	probe_bg sub watch "{mig}:b" 6
	wait_for 10 probe_ready plain
	wait_for 10 probe_ready sub
	ccli "$dst" cluster setslot "$slot" importing "$src_id"
	ccli "$src" cluster setslot "$slot" migrating "$dst_id"
	# The keys move; the slot still belongs to src: ASK.
	ccli "$src" migrate 127.0.0.1 "$dst" "" 0 5000 KEYS "{mig}:a" "{mig}:b"
	[ "$(ccli "$src" cluster countkeysinslot "$slot")" = 0 ]
	sleep 1
	for p in "${CLUSTER_PORTS[@]}"; do
		ccli "$p" cluster setslot "$slot" node "$dst_id" >/dev/null || true
	done
	probe_wait plain "$plain"
	echo "$output"
	assert_success
	[ "$(stat failed)" = 0 ]
	[ "$(stat in_order)" = 1 ]
	[ "$(stat ask)" -ge 1 ]
	[ "$(stat moved)" -ge 1 ]
	# Every acknowledged INCR is in the key, on its new shard.
	[ "$(stat final)" = "$(stat ok)" ]
	[ "$(ccli "$dst" get "{mig}:a")" = "$(stat ok)" ]
	probe_wait sub
	echo "$output"
	assert_success
	[ "$(stat failed)" = 0 ]
	[ "$(stat in_order)" = 1 ]
	[ "$(stat ask)" -ge 1 ]
	[ "$(ccli "$dst" get "{mig}:b")" = "$(stat ok)" ]
	# The subscription followed the slot: lost once, then back on dst,
	# and every message published reached it.
	[ "$(stat sub_lost)" -ge 1 ]
	[ "$(stat subscribed)" -ge 2 ]
	[ "$(stat msgs_after_ready)" -gt 100 ]
}

@test "a master killed: its replica takes over and commands succeed again" {
	local key="{fail}" slot master replica
	cluster_start
	slot=$(cluster_slot "$key")
	master=$(cluster_owner "$slot")
	replica=$(cluster_replica_of "$master")
	[ -n "$replica" ]
	probe_bg fo watch "$key" 10
	wait_for 10 probe_ready fo
	sleep 0.5
	kill -USR1 "$PROBE_PID"
	cluster_kill "$master"
	wait_for 15 cluster_is_master "$replica"
	probe_wait fo
	echo "$output"
	assert_success
	# Commands waited for the new master and then succeeded.
	[ "$(stat ok_after_mark)" -gt 50 ]
	[ "$(stat msgs_after_mark)" -gt 50 ]
	[ "$(stat retries)" -ge 1 ]
	# Resubscribed on the new master, and messages flow there.
	[ "$(stat subscribed)" -ge 2 ]
	[ "$(cluster_owner "$slot" "$replica")" = "$replica" ]
}

@test "a master that stops answering (DEBUG SLEEP) is dropped, then used again" {
	local key="{sleepy}" master sleeper
	cluster_start
	master=$(cluster_owner "$(cluster_slot "$key")")
	PROBE_TIMEOUT_MS=500 probe_bg sleepy watch "$key" 8
	wait_for 10 probe_ready sleepy
	kill -USR1 "$PROBE_PID"
	ccli "$master" debug sleep 3 >/dev/null &
	sleeper=$!
	probe_wait sleepy
	wait "$sleeper" || true
	echo "$output"
	assert_success
	# Commands stuck on it were answered (NULL), not left hanging, and
	# later ones went through, on it or on its promoted replica.
	[ "$(stat failed)" -ge 1 ]
	[ "$(stat ok_after_fail)" -gt 50 ]
}

@test "every seed down at start: the router keeps trying until one answers" {
	local replica
	cluster_start
	replica=$(cluster_replica_of "$(cluster_owner 0)")
	cluster_kill "$replica"
	# The only seed is down; it comes back (with its nodes.conf) a
	# second later, and the probe gets its map from it.
	CLUSTER_SEEDS="127.0.0.1:$replica"
	probe_bg seeds watch k 2
	sleep 1
	_cluster_node "$replica"
	probe_wait seeds
	echo "$output"
	assert_success
	[ "$(stat failed)" = 0 ]
	[ "$(stat ok)" -gt 50 ]
	# No seed at all answering: the probe gives up after its 10 s.
	CLUSTER_SEEDS="127.0.0.1:$(free_port)"
	run timeout 30 "$PROBE" "$CLUSTER_SEEDS" watch k 1
	assert_failure
	assert_output --partial "no slot map"
}
