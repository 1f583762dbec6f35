-- leave.lua: remove a member from a room and tell the room why; when the
-- last member goes, close the room and let its keys expire.
-- KEYS: room, members, state, events, rooms index, public rooms index.
-- ARGV: room, conn, channel, history maxlen, room ttl, empty ttl (0 deletes
-- at once), reason, and optionally a control channel and message: published
-- before member_left, so the member's node drops it before the frame that
-- tells the others (roomctl evict).
-- Returns {removed (0 or 1), seq of member_left or false, closed (0 or 1)}.
-- In C: struct script_leave and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local room, conn = ARGV[1], ARGV[2]
local channel, maxlen = ARGV[3], ARGV[4]
local ttl, empty_ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local reason = ARGV[7]

local m = redis.call('HGET', KEYS[2], conn)
if not m then return {0, false, 0} end
redis.call('HDEL', KEYS[2], conn)
if ARGV[8] and ARGV[8] ~= '' then
	redis.call('PUBLISH', ARGV[8], ARGV[9])
end
local ts = now_ms()
local seq = emit(room, channel, maxlen, ts, 'member_left',
    ',"conn":"' .. conn .. '","user":' .. member_user_json(m) ..
    ',"reason":"' .. reason .. '"', false)

local count = redis.call('HLEN', KEYS[2])
pool_sync(KEYS[1], room, count)	-- pool (issue 10)
if count > 0 then
	redis.call('ZADD', KEYS[5], count, room)
	if redis.call('ZSCORE', KEYS[6], room) then
		redis.call('ZADD', KEYS[6], count, room)
	end
	refresh_ttl(ttl, ts)
	return {1, seq, 0}
end

redis.call('ZREM', KEYS[5], room)
redis.call('ZREM', KEYS[6], room)
emit(room, channel, maxlen, ts, 'room_closed', ',"reason":"empty"', false)
if empty_ttl == 0 then
	redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
else
	refresh_ttl(empty_ttl, ts)
end
return {1, seq, 1}
