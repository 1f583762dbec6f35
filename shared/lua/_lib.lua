-- _lib.lua: the prelude of every roomd script (prepended at build time):
-- the one way a room frame is written, the TTL refresh every write does, and
-- the membership check of the scripts that read or write for a member.
-- KEYS of room scripts are always, in this order: the room hash, :members,
-- :state, :events, then script-specific keys.

local function now_ms()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The frame with its seq, as sent to clients: seq first, so nodes find it
-- without parsing. A space after the seq field marks an event whose sender
-- asked for echo=false; it is invisible to JSON parsers, and the history
-- entry never has it.
local function with_seq(id, f, noecho)
	local sep = ','
	if noecho then sep = ', ' end
	return '{"seq":"' .. id .. '"' .. sep .. string.sub(f, 2)
end

-- Webhook notices (BACKEND.md): queued in the stream <prefix>webhooks in
-- the same atomic step that writes the frame, so a notice exists if and
-- only if its frame does. Whether to queue, and which events: the key
-- <prefix>webhooks:cfg ('=' then the --webhook-events patterns), which
-- nodes running with --webhook-url keep alive; when none runs, nothing is
-- queued. Read from Redis rather than passed in, so that roomctl's writes
-- (publish, evict, gc) queue notices exactly as the nodes' do. The prefix
-- is the part of the room's channel name before 'ch:{R}'.
local WEBHOOKS_MAXLEN = 1000000
local wh_cfg = nil

local function wh_patterns(prefix)
	if wh_cfg == nil then
		local v = redis.call('GET', prefix .. 'webhooks:cfg')
		if v then wh_cfg = string.sub(v, 2) else wh_cfg = false end
	end
	return wh_cfg
end

local function wh_match(patterns, name)
	for p in string.gmatch(patterns, '[^,]+') do
		local lp = (string.gsub(p, '[%^%$%(%)%%%.%[%]%+%-%?]', '%%%0'))
		lp = '^' .. (string.gsub(lp, '%*', '.*')) .. '$'
		if string.match(name, lp) then return true end
	end
	return false
end

local wh_types = {member_joined = true, member_left = true,
    room_closed = true, room_locked = true, room_created = true}

-- Queue the notice for a frame of type ftype (body: its fields, for the
-- event name) whose text as members see it is frame.
local function notice(prefix, ftype, body, frame)
	local patterns = wh_patterns(prefix)
	if patterns == false then return end
	if ftype == 'event' then
		local ev = string.match(body, ',"event":"([%w_.:-]+)"')
		if not ev or not wh_match(patterns, ev) then return end
	elseif not wh_types[ftype] then
		return
	end
	redis.call('XADD', prefix .. 'webhooks', 'MAXLEN', '~',
	    WEBHOOKS_MAXLEN, '*', 'n', frame)
end

local function channel_prefix(channel, room)
	return string.sub(channel, 1, #channel - #room - 5)
end

-- The notice of a room just created (not a room frame: no seq); extra
-- holds more details fields, each with a leading comma.
local function room_created_notice(prefix, room, ts, title, topic, vis,
    max_members, extra)
	local mm = 'null'
	if tonumber(max_members) and tonumber(max_members) > 0 then
		mm = tostring(max_members)
	end
	notice(prefix, 'room_created', '',
	    '{"type":"room_created","room":"' .. room .. '","ts":' .. ts ..
	    ',"details":{"title":' .. cjson.encode(title) .. ',"topic":' ..
	    cjson.encode(topic) .. ',"visibility":"' .. vis ..
	    '","max_members":' .. mm .. ',"created_at":' .. ts ..
	    (extra or '') .. '}}')
end

-- emit_to appends one room frame to a history stream and publishes it in
-- the same atomic step, so history order and live order agree. body holds
-- the type-specific fields, each with a leading comma.
local function emit_to(events, room, channel, maxlen, ts, ftype, body, noecho)
	local f = '{"type":"' .. ftype .. '","room":"' .. room .. '","ts":' ..
	    ts .. body .. '}'
	local id = redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*',
	    'f', f)
	redis.call('PUBLISH', channel, with_seq(id, f, noecho))
	notice(channel_prefix(channel, room), ftype, body, with_seq(id, f, false))
	return id
end

local function emit(room, channel, maxlen, ts, ftype, body, noecho)
	return emit_to(KEYS[4], room, channel, maxlen, ts, ftype, body, noecho)
end

local function refresh_ttl(ttl, ts)
	redis.call('HSET', KEYS[1], 'last_active', ts)
	for i = 1, 4 do
		redis.call('EXPIRE', KEYS[i], ttl)
	end
end

-- The publish path's refresh: at most once a second per room, since TTLs
-- are hours and a busy room publishes many times a second. A stream this
-- very write created has no TTL yet and gets one at once.
local function refresh_ttl_lazy(ttl, ts)
	local last = tonumber(redis.call('HGET', KEYS[1], 'last_active'))
	if last and ts - last < 1000 and redis.call('TTL', KEYS[4]) > 0 then
		return
	end
	refresh_ttl(ttl, ts)
end

local function latest_seq()
	local r = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
	if #r == 0 then return false end
	return r[1][1]
end

-- Stream ids compare as two numbers, milliseconds then counter.
local function seq_ge(a, b)
	local am, an = string.match(a, '^(%d+)-(%d+)$')
	local bm, bn = string.match(b, '^(%d+)-(%d+)$')
	am, an, bm, bn = tonumber(am), tonumber(an), tonumber(bm), tonumber(bn)
	if am ~= bm then return am > bm end
	return an >= bn
end

local function member_user_json(m)
	local ok, obj = pcall(cjson.decode, m)
	if not ok or type(obj) ~= 'table' or obj.user == nil or
	    obj.user == cjson.null then
		return 'null'
	end
	return cjson.encode(obj.user)
end

-- A page of history: frames from start to stop (XRANGE bounds, '(' for
-- exclusive), at most limit of them and, past the first, no more than
-- budget bytes (0: no byte bound). Read in chunks so a script never holds
-- more than a chunk beyond the page. Returns the frames, whether the page
-- stopped at the budget with frames of the window left, and the seq of
-- its last frame (false when empty).
local PAGE_CHUNK = 32
local function read_page(events, start, stop, limit, budget)
	local out, bytes, last = {}, 0, false
	while #out < limit do
		local n = math.min(PAGE_CHUNK, limit - #out)
		local entries = redis.call('XRANGE', events, start, stop,
		    'COUNT', n)
		for _, e in ipairs(entries) do
			local f = with_seq(e[1], e[2][2], false)
			if budget > 0 and #out > 0 and bytes + #f > budget then
				return out, true, last
			end
			out[#out + 1] = f
			bytes = bytes + #f
			last = e[1]
		end
		if #entries < n then break end
		start = '(' .. last
	end
	return out, false, last
end

-- The id of the limit-th newest entry (where the newest-limit window
-- starts), or false for an empty stream; read in chunks, keeping none.
local function window_start(events, limit)
	local stop, first, seen = '+', false, 0
	while seen < limit do
		local n = math.min(PAGE_CHUNK, limit - seen)
		local rev = redis.call('XREVRANGE', events, stop, '-', 'COUNT', n)
		if #rev > 0 then first = rev[#rev][1] end
		seen = seen + #rev
		if #rev < n then break end
		stop = '(' .. first
	end
	return first
end

-- The bytes a room's state holds (keys and values), kept in the room hash
-- as state_bytes; counted once for a room from before it was kept.
local function state_bytes()
	local b = tonumber(redis.call('HGET', KEYS[1], 'state_bytes'))
	if b then return b end
	b = 0
	local flat = redis.call('HGETALL', KEYS[3])
	for i = 1, #flat do b = b + #flat[i] end
	return b
end

-- The membership check of reads and writes: conn ('' for none, an admin or
-- roomctl) must be a member, and with must_exist the room must exist.
-- Returns the error reply, or nil to go on.
local function check_member(conn, must_exist)
	if conn ~= '' and redis.call('HEXISTS', KEYS[2], conn) == 0 then
		return {'not_member'}
	end
	if must_exist and redis.call('EXISTS', KEYS[1]) == 0 then
		return {'not_found'}
	end
	return nil
end

-- {{{ Matchmaking pools (issue 10). A room made by match.lua keeps its pool
-- key in its hash (pool_key); every script that changes the room's member
-- count or openness calls pool_sync afterwards, so the pool holds exactly
-- the open rooms with a free seat, scored by member count. A room without
-- pool_key is not in any pool and this costs one HMGET.
local function pool_sync(rkey, room, count)
	local d = redis.call('HMGET', rkey, 'pool_key', 'max_members', 'locked')
	if not d[1] then return end
	local maxm = tonumber(d[2]) or 0
	if count > 0 and count < maxm and d[3] ~= '1' then
		redis.call('ZADD', d[1], count, room)
	else
		redis.call('ZREM', d[1], room)
	end
end
-- }}}

-- {{{ Matchmaking seats (issue 10): the room half of a match, shared by
-- match.lua and, on a Redis Cluster, match_room.lua.
local function match_room_keys(prefix, room)
	local base = prefix .. 'room:{' .. room .. '}'
	return {base, base .. ':members', base .. ':state', base .. ':events'}
end

-- Make room (keys k) as a room of pool key pk, and queue its notice.
local function match_create(prefix, k, room, ts, pk, pool, size, filter,
    title, topic, vis)
	if vis == '' then vis = 'private' end
	redis.call('HSET', k[1], 'title', title, 'topic', topic,
	    'visibility', vis, 'max_members', size, 'created_at', ts,
	    'last_active', ts, 'state_version', 0, 'locked', '0',
	    'pool', pool, 'filter', filter, 'pool_key', pk)
	room_created_notice(prefix, room, ts, title, topic, vis, size,
	    ',"locked":false,"pool":' .. cjson.encode(pool) .. ',"filter":' ..
	    filter)
end

-- Seat conn in room (keys k; created: 1 when this call made it) and
-- answer as match.lua does. idx and pidx are the rooms index and the
-- public one, nil on a cluster, where the node writes them afterwards.
local function match_seat(prefix, k, room, created, conn, member_head,
    maxlen, ttl, ts, idx, pidx)
	local channel = prefix .. 'ch:{' .. room .. '}'
	local status, seq = 'ok', nil
	local member = redis.call('HGET', k[2], conn)
	if member then
		status = 'already'
		local r = redis.call('XREVRANGE', k[4], '+', '-', 'COUNT', 1)
		seq = r[1] and r[1][1] or false
	else
		member = member_head .. ',"joined_at":' .. ts .. '}'
		redis.call('HSET', k[2], conn, member)
		local count = redis.call('HLEN', k[2])
		if idx then
			redis.call('ZADD', idx, count, room)
			if redis.call('HGET', k[1], 'visibility') == 'public' then
				redis.call('ZADD', pidx, count, room)
			end
		end
		pool_sync(k[1], room, count)
		seq = emit_to(k[4], room, channel, maxlen, ts, 'member_joined',
		    ',"member":' .. member, false)
	end
	redis.call('HSET', k[1], 'last_active', ts)
	for i = 1, 4 do redis.call('EXPIRE', k[i], ttl) end
	return {status, seq, redis.call('HVALS', k[2]),
	    redis.call('HGETALL', k[3]),
	    tonumber(redis.call('HGET', k[1], 'state_version')) or 0, -1, {},
	    member, redis.call('HMGET', k[1], 'title', 'topic', 'visibility',
	    'max_members', 'created_at', 'locked', 'pool', 'filter',
	    'pool_key'), 0, room, created}
end
-- }}}
