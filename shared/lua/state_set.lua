-- state_set.lua: set or delete one key of a room's shared state, bump the
-- state version and tell the room, atomically, so if_version is turn-safe.
-- KEYS: room, members, state, events.
-- ARGV: room, channel, history maxlen, room ttl, conn that must be a member
-- ('' for none), key, key as a JSON string, value JSON ('null' deletes),
-- if_version ('' for none), by JSON, the most bytes the room's state may
-- hold, keys and values counted ('' or 0 for no bound).
-- Returns {'ok', state_version, seq}, {'conflict', state_version},
-- {'too_large', bound} when the change would grow the state past it,
-- {'not_member'}, or {'not_found'} when an admin (no conn) names a room
-- that does not exist.
-- In C: struct script_state_set and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local room, channel, maxlen = ARGV[1], ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[4])
local conn, key, key_json, value = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local refused = check_member(conn, conn == '')
if refused then return refused end
local version = tonumber(redis.call('HGET', KEYS[1], 'state_version')) or 0
if ARGV[9] ~= '' and tonumber(ARGV[9]) ~= version then
	return {'conflict', version}
end
local max = tonumber(ARGV[11]) or 0
local before = state_bytes()
local old = redis.call('HSTRLEN', KEYS[3], key)
local after = before
if old > 0 or redis.call('HEXISTS', KEYS[3], key) == 1 then
	after = after - #key - old
end
if value ~= 'null' then after = after + #key + #value end
if max > 0 and after > max and after > before then
	return {'too_large', max}
end
if value == 'null' then
	redis.call('HDEL', KEYS[3], key)
else
	redis.call('HSET', KEYS[3], key, value)
end
redis.call('HSET', KEYS[1], 'state_bytes', after)
version = redis.call('HINCRBY', KEYS[1], 'state_version', 1)
local ts = now_ms()
local seq = emit(room, channel, maxlen, ts, 'state_changed',
    ',"key":' .. key_json .. ',"value":' .. value .. ',"state_version":' ..
    version .. ',"by":' .. ARGV[10], false)
refresh_ttl(ttl, ts)
return {'ok', version, seq}
