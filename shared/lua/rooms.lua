-- rooms.lua: list rooms by member count with their details, dropping index
-- entries whose room keys have expired.
-- KEYS: the index (rooms or rooms:public).
-- ARGV: key prefix, limit, visibility wanted ('' for any).
-- Returns a list of {room, title, topic, visibility, members, max_members,
-- created_at, locked (0 or 1), pool, filter} (pool and filter '' for
-- rooms not made by match; issue 10).
-- In C: struct script_rooms and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local prefix, limit, want = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {}
local start, page = 0, math.max(limit, 100)
while #out < limit do
	local ids = redis.call('ZREVRANGE', KEYS[1], start, start + page - 1,
	    'WITHSCORES')
	if #ids == 0 then break end
	local stale = 0
	for i = 1, #ids, 2 do
		local r = ids[i]
		local d = redis.call('HMGET', prefix .. 'room:{' .. r .. '}',
		    'title', 'topic', 'visibility', 'max_members', 'created_at',
		    'locked', 'pool', 'filter')
		if not d[5] then
			redis.call('ZREM', KEYS[1], r)
			stale = stale + 1
		elseif #out < limit and (want == '' or want == d[3]) then
			out[#out + 1] = {r, d[1] or '', d[2] or '',
			    d[3] or 'public', tonumber(ids[i + 1]),
			    tonumber(d[4]) or 0, tonumber(d[5]) or 0,
			    d[6] == '1' and 1 or 0, d[7] or '', d[8] or ''}
		end
	end
	start = start + page - stale
end
return out
