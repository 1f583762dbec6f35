-- restore.lua: write a live member back after Redis lost it (a restart
-- without persistence), recreating the room with its known details; no
-- frame is written, since nobody left or joined.
-- KEYS: room, members, state, events, rooms index, public rooms index.
-- ARGV: room, conn, member JSON, room ttl, title, topic, visibility,
-- max_members, created_at, and for a room made by match (issue 10; '' or
-- absent otherwise) locked ('1' or '0'), pool, filter JSON, pool key.
-- Returns 1 if the member was written back, 0 if it was already there.
-- In C: struct script_restore and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local room, conn, ttl = ARGV[1], ARGV[2], tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
	redis.call('HSET', KEYS[1], 'title', ARGV[5], 'topic', ARGV[6],
	    'visibility', ARGV[7], 'max_members', ARGV[8],
	    'created_at', ARGV[9], 'last_active', now_ms(),
	    'state_version', 0)
	-- pool (issue 10)
	if ARGV[10] == '1' then
		redis.call('HSET', KEYS[1], 'locked', '1')
	end
	if ARGV[13] and ARGV[13] ~= '' then
		redis.call('HSET', KEYS[1], 'pool', ARGV[11], 'filter', ARGV[12],
		    'pool_key', ARGV[13])
	end
end
local added = redis.call('HSETNX', KEYS[2], conn, ARGV[3])
local count = redis.call('HLEN', KEYS[2])
redis.call('ZADD', KEYS[5], count, room)
if redis.call('HGET', KEYS[1], 'visibility') == 'public' then
	redis.call('ZADD', KEYS[6], count, room)
end
pool_sync(KEYS[1], room, count)	-- pool (issue 10)
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
return added
