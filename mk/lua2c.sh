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
# matchmaking pools, which roomd writes after the script too.
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
local function rcall(cmd, key, ...)
	if cmd == 'PUBLISH' then return redis.call('SPUBLISH', key, ...) end
	-- No webhook notices on a cluster (roomd refuses the pair): their
	-- settings key and stream are outside the room's slot.
	if cmd == 'GET' and string.sub(key, -12) == 'webhooks:cfg' then
		return false
	end
	if key == nil then
		if select('#', ...) > 0 then return false end
		return redis.call(cmd)
	end
	-- A pool sits in its own slot: roomd writes it after the script.
	if string.find(key, 'pool:{', 1, true) then return false end
	return redis.call(cmd, key, ...)
end
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
	} | quote
	printf ';\n'
done
