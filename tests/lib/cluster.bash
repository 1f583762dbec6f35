# cluster.bash: a private Redis Cluster for a test (`load lib/cluster`,
# after lib/common): cluster_start makes 3 masters with a replica each on
# free loopback ports, each node in its own directory under
# $BATS_TEST_TMPDIR, and waits for cluster_state:ok everywhere; the nodes
# are tracked in _PROC as "redis", so common.bash's teardown stops them by
# PID. Helpers find a key's master, its replica, and kill a node.
#
# Every wait is bounded.

declare -ga CLUSTER_PORTS=()
declare -gA CLUSTER_PID=()
CLUSTER_PASSWORD=${CLUSTER_PASSWORD:-}
# Replicas per master: 1, or 0 for a quicker cluster of 3 masters (the
# suites run in cluster mode, which do not fail over).
CLUSTER_REPLICAS=${CLUSTER_REPLICAS:-1}

# ccli PORT ARGS: redis-cli against one cluster node.
ccli() {
	local port=$1
	shift
	if [ -n "$CLUSTER_PASSWORD" ]; then
		redis-cli -p "$port" -a "$CLUSTER_PASSWORD" --no-auth-warning "$@"
	else
		redis-cli -p "$port" "$@"
	fi
}

# _cluster_node PORT: start one cluster-enabled redis-server on PORT.
_cluster_node() {
	local port=$1 dir="$BATS_TEST_TMPDIR/cluster-$1" auth=()
	mkdir -p "$dir"
	[ -n "$CLUSTER_PASSWORD" ] &&
	    auth=(--requirepass "$CLUSTER_PASSWORD" --masterauth "$CLUSTER_PASSWORD")
	redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
	    --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 1000 \
	    --save '' --appendonly no --enable-debug-command local \
	    --dir "$dir" "${auth[@]}" \
	    >"$dir/log" 2>&1 3>&- &
	CLUSTER_PID[$port]=$!
	_PROC[$!]=redis
}

# cluster_all_ok: every node says cluster_state:ok, knows every node and
# sees all 16384 slots assigned.
cluster_all_ok() {
	local p info
	for p in "${CLUSTER_PORTS[@]}"; do
		info=$(ccli "$p" cluster info 2>/dev/null | tr -d '\r') ||
		    return 1
		grep -q 'cluster_state:ok' <<<"$info" || return 1
		grep -q "cluster_known_nodes:${#CLUSTER_PORTS[@]}\$" <<<"$info" ||
		    return 1
		grep -q 'cluster_slots_assigned:16384' <<<"$info" || return 1
	done
}

# cluster_replicas_synced: every replica's link to its master is up.
cluster_replicas_synced() {
	local p info
	for p in "${CLUSTER_PORTS[@]}"; do
		info=$(ccli "$p" info replication 2>/dev/null) || return 1
		if grep -q 'role:slave' <<<"$info"; then
			grep -q 'master_link_status:up' <<<"$info" || return 1
		fi
	done
}

# _cluster_port: a free port whose cluster bus port (+10000) is free too.
_cluster_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$(free_port) || return 1
		[ $((p + 10000)) -le 65535 ] || continue
		grep -q "$(printf ':%04X ' $((p + 10000)))" /proc/net/tcp \
		    /proc/net/tcp6 2>/dev/null && continue
		port_open $((p + 10000)) && continue
		echo "$p"
		return 0
	done
	return 1
}

# _cluster_up PORT: the node on PORT answers PING (5 s at most).
_cluster_up() {
	local i
	for ((i = 0; i < 50; i++)); do
		ccli "$1" ping 2>/dev/null | grep -q PONG && return 0
		_alive "${CLUSTER_PID[$1]}" || return 1
		sleep 0.1
	done
	return 1
}

# cluster_start: six nodes (three with CLUSTER_REPLICAS=0), `redis-cli
# --cluster create`, then wait (20 s at most) until the cluster is whole
# and the replicas are in sync.
# Exports CLUSTER_SEEDS (every node, comma-separated) and CLUSTER_PORTS.
cluster_start() {
	local i p attempt args=()
	CLUSTER_PORTS=()
	for ((i = 0; i < 3 * (1 + CLUSTER_REPLICAS); i++)); do
		for attempt in 1 2 3; do
			p=$(_cluster_port) || return 1
			_cluster_node "$p"
			_cluster_up "$p" && break
			# Lost a port race: try another.
			cluster_kill "$p"
			p=
		done
		if [ -z "$p" ]; then
			echo "cluster_start: a node did not start; its log:" >&2
			cat "$BATS_TEST_TMPDIR"/cluster-*/log >&2
			return 1
		fi
		CLUSTER_PORTS+=("$p")
		args+=("127.0.0.1:$p")
	done
	if [ -n "$CLUSTER_PASSWORD" ]; then
		redis-cli -a "$CLUSTER_PASSWORD" --no-auth-warning --cluster create \
		    "${args[@]}" --cluster-replicas "$CLUSTER_REPLICAS" --cluster-yes \
		    >"$BATS_TEST_TMPDIR/cluster-create.log" 2>&1
	else
		redis-cli --cluster create "${args[@]}" \
		    --cluster-replicas "$CLUSTER_REPLICAS" \
		    --cluster-yes >"$BATS_TEST_TMPDIR/cluster-create.log" 2>&1
	fi || {
		echo "cluster_start: redis-cli --cluster create failed:" >&2
		cat "$BATS_TEST_TMPDIR/cluster-create.log" >&2
		return 1
	}
	wait_for 20 cluster_all_ok || return 1
	wait_for 20 cluster_replicas_synced || return 1
	CLUSTER_SEEDS=$(IFS=,; echo "${args[*]}")
	export CLUSTER_SEEDS CLUSTER_PORTS
}

# cluster_id PORT: the node id of the node on PORT.
cluster_id() {
	ccli "$1" cluster myid
}

# cluster_slot KEY: the slot of KEY.
cluster_slot() {
	ccli "${CLUSTER_PORTS[0]}" cluster keyslot "$1"
}

# cluster_owner SLOT [PORT]: the port of the master serving SLOT, as the
# node on PORT (default: the first live one) sees it.
cluster_owner() {
	local slot=$1 port=${2:-} p
	if [ -z "$port" ]; then
		for p in "${CLUSTER_PORTS[@]}"; do
			_alive "${CLUSTER_PID[$p]}" && { port=$p; break; }
		done
	fi
	ccli "$port" cluster nodes | awk -v s="$slot" '
	    $3 ~ /master/ && $3 !~ /fail/ {
		for (i = 9; i <= NF; i++) {
			n = split($i, r, "-")
			if ($i ~ /^\[/) continue
			if ((n == 1 && r[1] == s) || (n == 2 && r[1] <= s && s <= r[2])) {
				split($2, a, "[:@]"); print a[2]; exit
			}
		}
	    }'
}

# cluster_replica_of PORT: the port of a replica of the master on PORT.
cluster_replica_of() {
	local id
	id=$(cluster_id "$1")
	ccli "$1" cluster nodes | awk -v id="$id" '
	    $4 == id { split($2, a, "[:@]"); print a[2]; exit }'
}

# cluster_other_master PORT: a master other than the one on PORT.
cluster_other_master() {
	ccli "$1" cluster nodes | awk -v me="127.0.0.1:$1" '
	    $3 ~ /master/ && $3 !~ /fail/ && index($2, me "@") != 1 {
		split($2, a, "[:@]"); print a[2]; exit }'
}

# cluster_kill PORT: SIGKILL the node on PORT (a crash) and reap it.
cluster_kill() {
	local pid=${CLUSTER_PID[$1]}
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	unset '_PROC[$pid]'
}

# cluster_is_master PORT: the node on PORT is a master now.
cluster_is_master() {
	ccli "$1" role 2>/dev/null | head -n1 | grep -q master
}
