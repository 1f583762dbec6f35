-- read.lua: answer a member's read of a room (state, presence or history)
-- in one round trip, checking membership in the same step.
-- KEYS: room, members, state, events.
-- ARGV: what ('state', 'presence', 'history', 'info'), conn that must be
-- a member ('' for none), since ('' for none), limit, and for history a
-- byte budget ('' or 0 for none) and the last entry wanted as an XRANGE
-- bound ('' for the end of the stream; '(' before it makes it exclusive).
-- Returns {'ok', ...}, {'not_member'}, or {'not_found'} when an admin (no
-- conn) names a room that does not exist:
--   state: {'ok', flat state hash, state_version}
--   presence: {'ok', member JSONs}
--   history: {'ok', frames oldest first, more (1 when the page stopped at
--   the byte budget with frames of the window left), seq of the last frame
--   or false}
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
local budget = tonumber(ARGV[5]) or 0
local stop = ARGV[6] or ''
if stop == '' then stop = '+' end
-- With since, the window is the first limit after it; without, the
-- newest limit, read oldest first from where it starts.
local start
if since ~= '' then
	start = '(' .. since
else
	start = window_start(KEYS[4], limit)
	if not start then return {'ok', {}, 0, false} end
end
local frames, more, last = read_page(KEYS[4], start, stop, limit, budget)
return {'ok', frames, more and 1 or 0, last}
