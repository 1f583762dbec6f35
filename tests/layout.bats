#!/usr/bin/env bats
# layout.bats: the source tree keeps the shape STYLE.md asks for: every file
# opens by saying what it owns, and the daemon's files call each other in no
# circle (mk/callgraph.sh, read from the objects the tests run against), so
# store.c in particular calls nothing in room.c, node.c or ctl.c.

load lib/common

# The daemon's objects of the build under test: build/san for SANITIZE=1,
# build/obj otherwise, whichever was built last.
daemon_objects() {
	local d best=
	for d in "$ROOT/build/obj/daemon" "$ROOT/build/san/daemon"; do
		[ -e "$d/main.o" ] || continue
		if [ -z "$best" ] || [ "$d/main.o" -nt "$best/main.o" ]; then
			best=$d
		fi
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

@test "every file in daemon/, cli/ and shared/ opens with what it owns" {
	local f b bad=0
	for f in "$ROOT"/daemon/*.[ch] "$ROOT"/cli/*.[ch] "$ROOT"/shared/*.[ch] \
	    "$ROOT"/shared/lua/*.lua "$ROOT"/daemon/www/*; do
		b=$(basename "$f")
		# "/* name.c: ...", " * name.c owns ...", "-- name.lua: ...".
		head -n 3 "$f" | grep -qE "(^|[ */-]|<!-- )$b( owns|:)" || {
			echo "${f#"$ROOT"/} does not open with '$b: what it owns'"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "the daemon's files call each other in no circle" {
	local objs
	objs=$(daemon_objects) || skip "no daemon objects built"
	run sh "$ROOT/mk/callgraph.sh" "$objs"
	assert_success
	assert_output --regexp '^no circle: [0-9]+ files'
}

@test "store.c calls nothing in room.c, node.c or ctl.c" {
	local objs
	objs=$(daemon_objects) || skip "no daemon objects built"
	run sh "$ROOT/mk/callgraph.sh" -v "$objs"
	assert_success
	assert_output --partial "store.c -> redis_uv.c:"
	refute_output --regexp '^store\.c -> (room|node|ctl|fanout|join|recover)\.c:'
}
