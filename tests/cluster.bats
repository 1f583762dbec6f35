#!/usr/bin/env bats
# cluster.bats: roomd and roomctl on a real Redis Cluster (REDIS.md, Redis
# Cluster; CLI.md --redis-cluster): 3 masters with a replica each from
# lib/cluster, two roomd nodes with --redis-cluster. Rooms on every shard,
# frames in one order across nodes, presence, recovery with since, the
# max_members race, roomctl's merged listings, a master killed and its
# replica promoted, and every seed down at start.

load lib/common
load lib/cluster

# redis_cli follows redirects on a live node, so common.bash's helpers
# (members_are, node_registered, room_frames...) work on the cluster.
redis_cli() {
	local p
	for p in "${CLUSTER_PORTS[@]}"; do
		if _alive "${CLUSTER_PID[$p]}"; then
			ccli "$p" -c "$@"
			return
		fi
	done
	return 1
}

# cluster_nodes: the cluster and roomd nodes n1 and n2 on it.
cluster_nodes() {
	cluster_start || return 1
	export REDIS_URL=redis://127.0.0.1:1/0	# unused: --redis-cluster wins
	roomd_start n1 --redis-cluster "$CLUSTER_SEEDS" "$@" || return 1
	roomd_start n2 --redis-cluster "$CLUSTER_SEEDS" "$@" || return 1
}

@test "join and publish across nodes, on rooms of every shard" {
	cluster_nodes
	TB=$BATS_TEST_TMPDIR/b.jsonl
	sim_bg b --url "$URL_n2" --transcript "$TB" - <<'EOF'
join r1
join r2
join r3
expect event event=end room=r3 within 20s
EOF
	wait_for 10 members_are r3 1
	sim - <<'EOF'
join r1
join r2
join r3
publish r1 a
publish r2 b
publish r3 end
expect event event=end room=r3
EOF
	assert_success
	sim_wait b
	assert_success
}
