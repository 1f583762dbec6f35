-- lock.lua: lock or unlock a room against matchmaking (issue 10) and tell
-- the room with a room_locked frame, atomically; the room leaves its pool
-- when locked and comes back, if it has a free seat, when unlocked.
-- Setting the state the room is already in writes nothing.
-- KEYS: room, members, state, events.
-- ARGV: room, channel, history maxlen, room ttl, conn that must be a member
-- ('' for none: an admin or roomctl), '1' to lock or '0' to unlock, by JSON.
-- Returns {'ok', seq or false (nothing changed), room}, {'not_member'}, or
-- {'not_found'} when the room does not exist.
-- In C: struct script_lock and its reply indices (shared/scripts.h); an
-- argument added here is added there, in the same order.
local room, channel, maxlen = ARGV[1], ARGV[2], ARGV[3]
local ttl, conn, want = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local refused = check_member(conn, true)
if refused then return refused end
local now = redis.call('HGET', KEYS[1], 'locked')
if now == false then now = '0' end
if now == want then
	return {'ok', false, room}
end
redis.call('HSET', KEYS[1], 'locked', want)
pool_sync(KEYS[1], room, redis.call('HLEN', KEYS[2]))
local ts = now_ms()
local locked = 'false'
if want == '1' then locked = 'true' end
local seq = emit(room, channel, maxlen, ts, 'room_locked',
    ',"locked":' .. locked .. ',"by":' .. ARGV[7], false)
refresh_ttl(ttl, ts)
return {'ok', seq, room}
