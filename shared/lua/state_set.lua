-- state_set.lua: set or delete one key of a room's shared state, bump the
-- state version and tell the room, atomically, so if_version is turn-safe.
-- KEYS: room, members, state, events.
-- ARGV: room, channel, history maxlen, room ttl, conn that must be a member
-- ('' for none), key, key as a JSON string, value JSON ('null' deletes),
-- if_version ('' for none), by JSON.
-- Returns {'ok', state_version, seq}, {'conflict', state_version},
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
if value == 'null' then
	redis.call('HDEL', KEYS[3], key)
else
	redis.call('HSET', KEYS[3], key, value)
end
version = redis.call('HINCRBY', KEYS[1], 'state_version', 1)
local ts = now_ms()
local seq = emit(room, channel, maxlen, ts, 'state_changed',
    ',"key":' .. key_json .. ',"value":' .. value .. ',"state_version":' ..
    version .. ',"by":' .. ARGV[10], false)
refresh_ttl(ttl, ts)
return {'ok', version, seq}
