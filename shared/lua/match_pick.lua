-- match_pick.lua: the pool half of match.lua on a Redis Cluster (REDIS.md,
-- Redis Cluster), on the pool's shard: the pool's fullest entries to try,
-- or, when it has none, leave to open a room, one opener at a time, so
-- that players who come at once share the room one of them opens instead
-- of each opening their own (daemon/store-match.c).
-- KEYS: the pool key, its opener key (the pool key and ':opening').
-- ARGV: how many entries at most, the id of the room the caller would
-- open, how long the leave to open lasts (ms).
-- Returns {'try', room, ...}, {'open'} (the caller opens its room and
-- then puts it in the pool) or {'wait'} (another caller is opening one).
-- In C: struct script_match_pick (shared/scripts.h); an argument added
-- here is added there, in the same order.
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #top > 0 then
	table.insert(top, 1, 'try')
	return top
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
	return {'open'}
end
return {'wait'}
