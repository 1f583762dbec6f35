-- read.lua: answer a member's read of a room (state, presence or history)
-- in one round trip, checking membership in the same step.
-- KEYS: room, members, state, events.
-- ARGV: what ('state', 'presence', 'history', 'info'), conn that must be a member
-- ('' for none), since ('' for none), limit.
-- Returns {'ok', ...}, {'not_member'}, or {'not_found'} when an admin (no
-- conn) names a room that does not exist:
--   state: {'ok', flat state hash, state_version}
--   presence: {'ok', member JSONs}
--   history: {'ok', frames oldest first}
--   info: {'ok', {title, topic, visibility, max_members, created_at,
--     locked}, member count, latest seq or false}
-- In C: struct script_read and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local what, conn, since = ARGV[1], ARGV[2], ARGV[3]
local limit = tonumber(ARGV[4])
local refused = check_member(conn, conn == '')
if refused then return refused end
if what == 'state' then
	return {'ok', redis.call('HGETALL', KEYS[3]),
	    tonumber(redis.call('HGET', KEYS[1], 'state_version')) or 0}
elseif what == 'presence' then
	return {'ok', redis.call('HVALS', KEYS[2])}
elseif what == 'info' then
	return {'ok', redis.call('HMGET', KEYS[1], 'title', 'topic',
	    'visibility', 'max_members', 'created_at', 'locked'),
	    redis.call('HLEN', KEYS[2]), latest_seq()}
end
local entries
if since ~= '' then
	entries = redis.call('XRANGE', KEYS[4], '(' .. since, '+',
	    'COUNT', limit)
else
	local rev = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', limit)
	entries = {}
	for i = #rev, 1, -1 do entries[#entries + 1] = rev[i] end
end
return {'ok', frames_of(entries)}
