#!/bin/sh
# lua2c.sh: turn shared/lua/NAME.lua files into C strings named lua_NAME, so
# the scripts stay readable as Lua and ship inside the binaries. A file named
# _lib.lua is a prelude: it is prepended to every other script, since Redis
# scripts cannot call each other.
lib=""
for f in "$@"; do
	case "$(basename "$f")" in _lib.lua) lib=$f ;; esac
done
quote() {
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$@"
}
for f in "$@"; do
	[ "$f" = "$lib" ] && continue
	name=$(basename "$f" .lua | tr -c 'A-Za-z0-9_\n' '_')
	printf 'const char lua_%s[] =\n' "$name"
	[ -n "$lib" ] && quote "$lib"
	quote "$f"
	printf ';\n'
done
