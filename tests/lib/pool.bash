# pool.bash: what the matchmaking tests read of pools (match.bats on one
# Redis, cluster.bats on a cluster), through the redis_cli of the suite
# that loads it, which on a cluster follows redirects.

# pool_keys POOL: the keys of the pool's sorted sets (all filters; not
# the seq hashes and opener keys of a cluster's pools).
pool_keys() {
	local m=
	[ -n "${CLUSTER_SEEDS:-}" ] &&
	    m=$(cluster_owner "$(cluster_slot "roomd:pool:{$1}:x")")
	_pool_cli "$m" --scan --pattern "roomd:pool:{$1}:*" |
	    grep -E ':[0-9a-f]{16}$'
}

# pool_entries POOL: "room score" for every entry of the pool's sorted
# sets (all filters, all on the shard of {POOL} on a cluster), sorted.
pool_entries() {
	local k m=
	[ -n "${CLUSTER_SEEDS:-}" ] &&
	    m=$(cluster_owner "$(cluster_slot "roomd:pool:{$1}:x")")
	for k in $(pool_keys "$1"); do
		_pool_cli "$m" zrange "$k" 0 -1 withscores | paste - - -d' '
	done | sort
}

# _pool_cli PORT ARGS: redis_cli, or on a cluster the node on PORT.
_pool_cli() {
	local m=$1
	shift
	if [ -n "$m" ]; then
		ccli "$m" "$@"
	else
		redis_cli "$@"
	fi
}

# pool_rooms POOL: "room members" for every live room the pool's match
# opened (its details name the pool), sorted.
pool_rooms() {
	local r
	for r in $(redis_cli zrange roomd:rooms 0 -1); do
		[ "$(redis_cli hget "roomd:room:{$r}" pool)" = "$1" ] || continue
		echo "$r $(redis_cli hlen "roomd:room:{$r}:members")"
	done | sort
}

# pool_members_are POOL N: the pool's rooms hold N members in all.
pool_members_are() {
	[ "$(pool_rooms "$1" | awk '{ n += $2 } END { print n + 0 }')" = "$2" ]
}
