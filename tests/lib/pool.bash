# pool.bash: what the matchmaking tests read of pools (match.bats on one
# Redis, cluster.bats on a cluster), through the redis_cli of the suite
# that loads it, which on a cluster follows redirects.

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
