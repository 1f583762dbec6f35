#!/usr/bin/env bats
# layout.bats: the source tree keeps the shape STYLE.md asks for: every file
# opens by saying what it owns, and the daemon's files call each other in no
# circle (mk/callgraph.sh, read from the objects the tests run against), so
# store.c in particular calls nothing in room.c, node.c or ctl.c.

load lib/common

# The object tree of the build under test: build/san for SANITIZE=1,
# build/obj otherwise, whichever was built last.
objects() {
	local d best=
	for d in "$ROOT/build/obj" "$ROOT/build/san"; do
		[ -e "$d/daemon/main.o" ] || continue
		[ -z "$best" ] || [ "$d/daemon/main.o" -nt "$best/main.o" ] &&
		    best=$d/daemon
	done
	[ -n "$best" ] || return 1
	echo "${best%/daemon}"
}

@test "every file in daemon/, cli/ and shared/ opens with what it owns" {
	local f b bad=0
	cd "$ROOT"
	for f in daemon/*.[ch] cli/*.[ch] shared/*.[ch] shared/lua/*.lua \
	    daemon/www/*; do
		b=$(basename "$f")
		# "/* name.c: ...", " * name.c owns ...", "-- name.lua: ...".
		head -n 3 "$f" | grep -qE "(^|[ */-]|<!-- )$b( owns|:)" || {
			echo "$f does not open with '$b: what it owns'"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "the daemon's files call each other in no circle" {
	local objs
	objs=$(objects) || skip "no daemon objects built"
	cd "$ROOT"
	run sh mk/callgraph.sh daemon "$objs"
	assert_success
	assert_output --regexp '^no circle: [0-9]+ files'
}

@test "store.c calls nothing in room.c, node.c or ctl.c" {
	local objs
	objs=$(objects) || skip "no daemon objects built"
	cd "$ROOT"
	run sh mk/callgraph.sh -v daemon "$objs"
	assert_success
	# The graph is read at all: the server hands frames to connections.
	assert_output --partial "server.c -> conn.c:"
	refute_output --regexp \
	    '^store\.c -> (room|node|ctl|fanout|join|recover)\.c:'
}
