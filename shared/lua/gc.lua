-- gc.lua: clean up after nodes that died: every member whose node's
-- heartbeat key has expired leaves its rooms with reason node_lost, and
-- index entries of rooms whose keys are gone are dropped. Any node runs it
-- every few seconds, and `roomctl gc` on demand; it is cheap when no node
-- has died, since it returns before looking at any room.
-- KEYS: none (the keys depend on what it finds; not for Redis Cluster).
-- ARGV: key prefix, history maxlen, room ttl, empty ttl, '1' to also sweep
-- stale room index entries even when no node died, and a node id whose
-- members are all gone ('' for none): a node starting under the id of an
-- earlier process, which may have died too recently for its key to have
-- expired.
-- Returns {dead node ids, members removed, rooms closed, index entries
-- dropped}.
-- In C: struct script_gc and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local prefix, maxlen = ARGV[1], ARGV[2]
local ttl, empty_ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local sweep = ARGV[5] == '1'
local restarted = ARGV[6] or ''

local dead, is_dead = {}, {}
if restarted ~= '' then
	is_dead[restarted] = true
end
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
	if redis.call('EXISTS', prefix .. 'node:' .. id) == 0 and
	    redis.call('SISMEMBER', prefix .. 'nodes:gone', id) == 0 then
		dead[#dead + 1] = id
		is_dead[id] = true
	end
end
if #dead == 0 and not sweep and restarted == '' then
	return {dead, 0, 0, 0}
end

local removed, closed, dropped = 0, 0, 0
local ts = now_ms()
for _, room in ipairs(redis.call('ZRANGE', prefix .. 'rooms', 0, -1)) do
	local base = prefix .. 'room:{' .. room .. '}'
	local k = {base, base .. ':members', base .. ':state', base .. ':events'}
	local channel = prefix .. 'ch:{' .. room .. '}'
	if redis.call('EXISTS', base) == 0 then
		redis.call('ZREM', prefix .. 'rooms', room)
		redis.call('ZREM', prefix .. 'rooms:public', room)
		dropped = dropped + 1
	elseif #dead > 0 or restarted ~= '' then
		local members = redis.call('HGETALL', k[2])
		for i = 1, #members, 2 do
			local ok, m = pcall(cjson.decode, members[i + 1])
			if ok and type(m) == 'table' and is_dead[m.node] then
				redis.call('HDEL', k[2], members[i])
				emit_to(k[4], room, channel, maxlen, ts, 'member_left',
				    ',"conn":"' .. members[i] .. '","user":' ..
				    member_user_json(members[i + 1]) ..
				    ',"reason":"node_lost"', false)
				removed = removed + 1
			end
		end
		local count = redis.call('HLEN', k[2])
		pool_sync(k[1], room, count)	-- pool (issue 10)
		if count == 0 then
			redis.call('ZREM', prefix .. 'rooms', room)
			redis.call('ZREM', prefix .. 'rooms:public', room)
			emit_to(k[4], room, channel, maxlen, ts, 'room_closed',
			    ',"reason":"empty"', false)
			closed = closed + 1
			if empty_ttl == 0 then
				redis.call('DEL', k[1], k[2], k[3], k[4])
			else
				for i = 1, 4 do redis.call('EXPIRE', k[i], empty_ttl) end
			end
		else
			redis.call('ZADD', prefix .. 'rooms', count, room)
			if redis.call('ZSCORE', prefix .. 'rooms:public', room) then
				redis.call('ZADD', prefix .. 'rooms:public', count, room)
			end
		end
	end
end
-- pool (issue 10): with sweep, pool entries of rooms whose keys expired
-- are dropped and the others put right (match.lua drops what it meets,
-- but a pool nobody matches in again would keep them).
if sweep then
	local cursor = '0'
	repeat
		local r = redis.call('SCAN', cursor, 'MATCH', prefix .. 'pool:*',
		    'COUNT', 100)
		cursor = r[1]
		for _, pk in ipairs(r[2]) do
			for _, room in ipairs(redis.call('ZRANGE', pk, 0, -1)) do
				local base = prefix .. 'room:{' .. room .. '}'
				if redis.call('HGET', base, 'pool_key') ~= pk then
					redis.call('ZREM', pk, room)
					dropped = dropped + 1
				else
					pool_sync(base, room,
					    redis.call('HLEN', base .. ':members'))
				end
			end
		end
	until cursor == '0'
end
for _, id in ipairs(dead) do
	redis.call('SADD', prefix .. 'nodes:gone', id)
end
return {dead, removed, closed, dropped}
