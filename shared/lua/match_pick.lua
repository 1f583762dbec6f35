-- match_pick.lua: the pool half of match.lua on a Redis Cluster (REDIS.md,
-- Redis Cluster), on the pool's shard: the pool's fullest entries to try,
-- or, when it has none, leave to open a room, one opener at a time, so
-- that players who come at once share the room one of them opens instead
-- of each opening their own (daemon/store-match.c).
-- KEYS: the pool key, its opener key (the pool key and ':opening'), its
-- creation time hash (':born', pool_set.lua).
-- ARGV: how many entries at most, the id of the room the caller would
-- open, how long the leave to open lasts (ms).
-- Returns {'try', room, ...}: the fullest rooms, oldest first as in
-- match.lua; {'open'} (the caller opens its room and then puts it in the
-- pool) or {'wait'} (another caller is opening one).
-- In C: struct script_match_pick (shared/scripts.h); an argument added
-- here is added there, in the same order.
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top > 0 then
	local ids = redis.call('ZRANGEBYSCORE', KEYS[1], top[2], top[2],
	    'LIMIT', 0, 100)
	local born = redis.call('HMGET', KEYS[3], unpack(ids))
	local at = {}
	for i, r in ipairs(ids) do at[r] = tonumber(born[i]) or math.huge end
	table.sort(ids, function(a, b)
		if at[a] ~= at[b] then return at[a] < at[b] end
		return a < b
	end)
	local out = {'try'}
	for i = 1, math.min(#ids, tonumber(ARGV[1])) do out[#out + 1] = ids[i] end
	return out
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
	return {'open'}
end
return {'wait'}
