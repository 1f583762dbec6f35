-- pool_set.lua: on a Redis Cluster, one room's entry in its matchmaking
-- pool, written after the room's script (REDIS.md, Redis Cluster) by roomd
-- (daemon/store-cluster.c, store-match.c) and by roomctl after evict. Two
-- nodes' writes for one room may reach the pool's shard in either order,
-- so each carries the seq of the room's last frame when its state was
-- read (member_joined, member_left, room_locked), and a write older than
-- the last one applied is dropped: the pool ends as the room's latest
-- state says.
-- KEYS: the pool key, its seq hash (the pool key and ':seq'), its
-- creation time hash (':born', which match_pick.lua orders equally full
-- rooms by, oldest first, as match.lua does with each room's created_at).
-- ARGV: room, member count, max members, '1' when locked, seq ('' for
-- none: applied whatever came before), the room's created_at ('' when not
-- known).
-- Returns 1 when applied, 0 when older than what was.
-- In C: struct script_pool_set (shared/scripts.h); an argument added here
-- is added there, in the same order.
local room, count, maxm = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local locked, seq, born = ARGV[4] == '1', ARGV[5], ARGV[6]

local function older(a, b)
	local a1, a2 = string.match(a, '^(%d+)-(%d+)$')
	local b1, b2 = string.match(b, '^(%d+)-(%d+)$')
	if not a1 or not b1 then return false end
	a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1), tonumber(b2)
	return a1 < b1 or (a1 == b1 and a2 <= b2)
end

if seq ~= '' then
	local last = redis.call('HGET', KEYS[2], room)
	if last and older(seq, last) then return 0 end
	redis.call('HSET', KEYS[2], room, seq)
end
if count > 0 and count < maxm and not locked then
	redis.call('ZADD', KEYS[1], count, room)
	if born ~= '' then redis.call('HSETNX', KEYS[3], room, born) end
else
	redis.call('ZREM', KEYS[1], room)
	if count == 0 then
		redis.call('HDEL', KEYS[2], room)
		redis.call('HDEL', KEYS[3], room)
	end
end
return 1
