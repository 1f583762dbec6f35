-- join.lua: add a member to a room, creating the room if needed, in one
-- atomic step that enforces max_members across every node.
-- KEYS: room, members, state, events, rooms index, public rooms index.
-- ARGV: room, conn, member JSON without its closing brace, channel, history
-- maxlen, room ttl, since ('' for none), title, topic, visibility ('' for
-- default), max_members ('' for none), a byte budget for the recovered
-- frames ('' or 0 for none).
-- Returns {status, seq, members, state, state_version, recovered, frames,
-- member, details} where member is the joiner's member JSON, details the
-- room's title, topic, visibility, max_members, created_at, and (issue 10)
-- locked, pool, filter and pool_key (false when unset), and status is 'ok',
-- 'already' (was a member: no new frame) or 'room_full'; recovered is -1
-- without since, else 0 or 1; and more, 1 when the recovered frames stopped
-- at the budget: the rest, up to seq, are read as history pages after the
-- last of them.
-- In C: struct script_join and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local room, conn = ARGV[1], ARGV[2]
local channel, maxlen, ttl = ARGV[4], ARGV[5], tonumber(ARGV[6])
local since = ARGV[7]
local ts = now_ms()

if redis.call('EXISTS', KEYS[1]) == 0 then
	local vis = ARGV[10]
	if vis == '' then vis = 'public' end
	local maxm = ARGV[11]
	if maxm == '' then maxm = '0' end
	redis.call('HSET', KEYS[1], 'title', ARGV[8], 'topic', ARGV[9],
	    'visibility', vis, 'max_members', maxm, 'created_at', ts,
	    'last_active', ts, 'state_version', 0)
	room_created_notice(channel_prefix(channel, room), room, ts,
	    ARGV[8], ARGV[9], vis, maxm)
end

local already = redis.call('HEXISTS', KEYS[2], conn) == 1
if not already then
	local maxm = tonumber(redis.call('HGET', KEYS[1], 'max_members')) or 0
	local count = redis.call('HLEN', KEYS[2])
	if maxm > 0 and count >= maxm then
		pool_sync(KEYS[1], room, count)	-- pool (issue 10): repair
		refresh_ttl(ttl, ts)
		return {'room_full'}
	end
end

-- Frames the member missed, read before its member_joined is written so
-- they all come before it.
local recovered, frames, more = -1, {}, false
if since ~= '' then
	recovered = 0
	local first = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', 1)
	if #first > 0 and seq_ge(since, first[1][1]) then
		recovered = 1
		frames, more = read_page(KEYS[4], '(' .. since, '+',
		    tonumber(maxlen), tonumber(ARGV[12]) or 0)
	end
end

local seq, member
if already then
	seq = latest_seq()
	member = redis.call('HGET', KEYS[2], conn)
else
	member = ARGV[3] .. ',"joined_at":' .. ts .. '}'
	redis.call('HSET', KEYS[2], conn, member)
	local count = redis.call('HLEN', KEYS[2])
	redis.call('ZADD', KEYS[5], count, room)
	if redis.call('HGET', KEYS[1], 'visibility') == 'public' then
		redis.call('ZADD', KEYS[6], count, room)
	end
	pool_sync(KEYS[1], room, count)	-- pool (issue 10)
	seq = emit(room, channel, maxlen, ts, 'member_joined',
	    ',"member":' .. member, false)
end
refresh_ttl(ttl, ts)

local status = 'ok'
if already then status = 'already' end
return {status, seq, redis.call('HVALS', KEYS[2]),
    redis.call('HGETALL', KEYS[3]),
    tonumber(redis.call('HGET', KEYS[1], 'state_version')) or 0,
    recovered, frames, member,
    redis.call('HMGET', KEYS[1], 'title', 'topic', 'visibility',
    'max_members', 'created_at',
    'locked', 'pool', 'filter', 'pool_key'), more and 1 or 0}	-- pool (issue 10)
