#!/bin/sh
# lua2c.sh: turn shared/lua/NAME.lua files into C strings named lua_NAME, so
# the scripts stay readable as Lua and ship inside the binaries. A file named
# _lib.lua is a prelude: it is prepended to every other script, since Redis
# scripts cannot call each other.
#
# Each script also gets a Redis Cluster variant, lua_NAME_cluster, made
# here so the .lua files stay one code path: every redis.call goes through
# rcall, which publishes on sharded channels (SPUBLISH) and skips writes to
# keys the caller did not pass (the indexes outside the room, which roomd
# and roomctl write after the script in cluster mode; REDIS.md) and to
# matchmaking pools, which roomd writes after the script too, and queues
# webhook notices in the room slot's own stream.
lib=""
for f in "$@"; do
	case "$(basename "$f")" in _lib.lua) lib=$f ;; esac
done
quote() {
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$@"
}
cluster_prelude() {
	cat <<'LUA'
-- Redis Cluster variant (mk/lua2c.sh): room channels are sharded, and a
-- key outside the room that the caller left out is written by the caller.
-- Webhook notices go to the stream of the room's slot, whose key and the
-- webhook settings the caller passes as the last two ARGV (scripts.c,
-- script_add_notices): both outside keys would be in another slot.
local wh_stream = table.remove(ARGV)
local wh_cfgval = table.remove(ARGV)
local wh_new = nil
local function rcall(cmd, key, ...)
	if cmd == 'PUBLISH' then return redis.call('SPUBLISH', key, ...) end
	if cmd == 'GET' and string.sub(key, -12) == 'webhooks:cfg' then
		if wh_cfgval == nil or wh_cfgval == '' then return false end
		return wh_cfgval
	end
	if cmd == 'XADD' and string.sub(key, -8) == 'webhooks' then
		if wh_stream == nil or wh_stream == '' then return false end
		-- A new stream gets the deliverers' group here, and the caller
		-- lists it (webhook.c reads the listed streams).
		if wh_new == nil and redis.call('EXISTS', wh_stream) == 0 then
			redis.call('XGROUP', 'CREATE', wh_stream, 'roomd', '0',
			    'MKSTREAM')
			wh_new = wh_stream
		end
		return redis.call('XADD', wh_stream, ...)
	end
	if key == nil then
		if select('#', ...) > 0 then return false end
		return redis.call(cmd)
	end
	-- A pool sits in its own slot: roomd writes it after the script.
	if string.find(key, 'pool:{', 1, true) then return false end
	return redis.call(cmd, key, ...)
end
local function roomd_script()
LUA
}
# The end of a cluster variant: the script's reply, wrapped when it made a
# notice stream the caller must list (scripts.c, script_notices_unwrap).
cluster_coda() {
	cat <<'LUA'
end
local r = roomd_script()
if wh_new ~= nil then return {'roomd:notices-stream', wh_new, r} end
return r
LUA
}
for f in "$@"; do
	[ "$f" = "$lib" ] && continue
	name=$(basename "$f" .lua | tr -c 'A-Za-z0-9_\n' '_')
	printf 'const char lua_%s[] =\n' "$name"
	[ -n "$lib" ] && quote "$lib"
	quote "$f"
	printf ';\n'
	printf 'const char lua_%s_cluster[] =\n' "$name"
	{
		cluster_prelude
		[ -n "$lib" ] && sed 's/redis\.call(/rcall(/g' "$lib"
		sed 's/redis\.call(/rcall(/g' "$f"
		cluster_coda
	} | quote
	printf ';\n'
done
