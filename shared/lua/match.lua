-- match.lua: put a member into the fullest open room of a pool that has
-- exactly its filter and size (among equally full ones the oldest), or
-- create one and put it there: one atomic step, so nodes matching at the
-- same time never overfill a room nor open two part-filled rooms for
-- players who could have shared one. Stale pool entries met on the way
-- (rooms expired, full, locked or scored wrong) are repaired.
-- KEYS: the pool key (prefix pool:{P}:<digest of size and filter>), then
-- the room hash, :members, :state and :events of the room to create if
-- none fits, the rooms index and the public rooms index.
-- ARGV: key prefix (for the keys of the room picked), conn, member JSON
-- without its closing brace, pool, size, canonical filter JSON, id of the
-- room to create, history maxlen, room ttl, title, topic, visibility (''
-- for private).
-- Returns {status, seq, members, state, state_version, recovered,
-- frames, member, details, more, room, created}: as join.lua (recovered is
-- always -1, frames empty), status 'ok', 'already' (the conn was already
-- a member of the room picked: no new frame) or 'conflict' (the room to
-- create exists already: nothing was written); details are title, topic,
-- visibility, max_members, created_at, locked, pool, filter, pool_key;
-- created is 1 when this call made the room.
-- In C: struct script_match and its reply indices (shared/scripts.h); an
-- argument added here is added there, in the same order.
local pk = KEYS[1]
local prefix, conn, member_head = ARGV[1], ARGV[2], ARGV[3]
local pool, size, filter, new_room = ARGV[4], tonumber(ARGV[5]), ARGV[6],
    ARGV[7]
local maxlen, ttl = ARGV[8], tonumber(ARGV[9])
local ts = now_ms()

local function keys_of(room)
	return match_room_keys(prefix, room)
end

-- The oldest usable room among those with the highest score, or nil.
-- Entries found wrong are fixed (which may change the highest score, so
-- the caller asks again).
local function pick()
	local top = redis.call('ZREVRANGE', pk, 0, 0, 'WITHSCORES')
	if #top == 0 then return nil, false end
	local score = top[2]
	local ids = redis.call('ZRANGEBYSCORE', pk, score, score, 'LIMIT', 0,
	    100)
	local best, best_at, fixed = nil, nil, false
	for _, r in ipairs(ids) do
		local k = keys_of(r)
		local d = redis.call('HMGET', k[1], 'created_at', 'max_members',
		    'locked', 'pool_key')
		local n = redis.call('HLEN', k[2])
		local maxm = tonumber(d[2]) or 0
		if not d[1] or d[4] ~= pk then
			redis.call('ZREM', pk, r)
			fixed = true
		elseif d[3] == '1' or n == 0 or n >= maxm or
		    n ~= tonumber(score) then
			pool_sync(k[1], r, n)
			fixed = true
		else
			local at = tonumber(d[1]) or 0
			if not best or at < best_at or (at == best_at and r < best)
			    then
				best, best_at = r, at
			end
		end
	end
	return best, fixed
end

local room, created
for _ = 1, 16 do
	local fixed
	room, fixed = pick()
	if room or not fixed then break end
end

local k
if room then
	k = keys_of(room)
	created = 0
else
	room, created = new_room, 1
	k = {KEYS[2], KEYS[3], KEYS[4], KEYS[5]}
	if redis.call('EXISTS', k[1]) == 1 then return {'conflict'} end
	match_create(prefix, k, room, ts, pk, pool, size, filter, ARGV[10],
	    ARGV[11], ARGV[12])
end
return match_seat(prefix, k, room, created, conn, member_head, maxlen, ttl,
    ts, KEYS[6], KEYS[7])
