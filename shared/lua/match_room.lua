-- match_room.lua: the room half of match.lua on a Redis Cluster, where a
-- pool and its rooms sit in different slots (REDIS.md, Redis Cluster):
-- seat a member in this room if it is still open to the pool, or make it
-- and seat the member there, in one atomic step on the room's shard. roomd
-- picked the room from the pool before, and writes the pool and the room
-- indexes after, from the reply (daemon/store-match.c).
-- KEYS: room, members, state, events.
-- ARGV: key prefix, room, conn, member JSON without its closing brace,
-- pool, size, canonical filter JSON, pool key, history maxlen, room ttl,
-- '1' to make the room ('0': it must exist and be open), title, topic,
-- visibility ('' for private).
-- Returns match.lua's reply, {'stale', the seq of its last frame or
-- false} when the room is gone, of another pool, locked, empty or full
-- (nothing written), or {'conflict'} when the room to make exists already.
-- In C: struct script_match_room (shared/scripts.h); an argument added
-- here is added there, in the same order.
local prefix, room, conn, member_head = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local pool, size, filter, pk = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local maxlen, ttl, create = ARGV[9], tonumber(ARGV[10]), ARGV[11]
local ts = now_ms()
local k = {KEYS[1], KEYS[2], KEYS[3], KEYS[4]}
local created = 0

if create == '1' then
	if redis.call('EXISTS', k[1]) == 1 then return {'conflict'} end
	match_create(prefix, k, room, ts, pk, pool, size, filter, ARGV[12],
	    ARGV[13], ARGV[14])
	created = 1
elseif redis.call('HEXISTS', k[2], conn) == 0 then
	local d = redis.call('HMGET', k[1], 'max_members', 'locked',
	    'pool_key')
	local n = redis.call('HLEN', k[2])
	if d[3] ~= pk or d[2] == '1' or n == 0 or
	    n >= (tonumber(d[1]) or 0) then
		local last = redis.call('XREVRANGE', k[4], '+', '-', 'COUNT', 1)
		return {'stale', last[1] and last[1][1] or false}
	end
end
return match_seat(prefix, k, room, created, conn, member_head, maxlen, ttl,
    ts, nil, nil)
