#!/bin/sh
# callgraph.sh: the graph of which source file of a directory calls which,
# read from their object files with nm (a symbol one object leaves undefined
# and another defines is an edge between them), and the circles in it.
#
#   sh mk/callgraph.sh [-v] [DIR [OBJ]]
#
# DIR is a source directory (daemon by default), OBJ the object tree the
# Makefile builds (build/obj; build/san for SANITIZE=1): every DIR/NAME.c
# is read as OBJ/DIR/NAME.o, so an object whose source is gone is not.
#
# An edge is a function called by name (nm type T or W). References to data
# are not calls and make no edge: the process-wide variables main.c defines
# (cfg, stats, loop) are read everywhere, and a table of entries (the request
# table) reaches its files' functions by pointer, the way a callback does;
# -v lists those references too, after the calls. Prints every circle, one
# line "circle: a.c b.c ..." followed by its edges, and exits 1 when there
# is one; otherwise prints "no circle" with the counts and exits 0. Exits 2
# when an object is missing (build them first: make all).
verbose=0
if [ "${1:-}" = -v ]; then
	verbose=1
	shift
fi
dir=${1:-daemon}
obj=${2:-build/obj}
set --
for src in "$dir"/*.c; do
	[ -e "$src" ] || continue
	o=$obj/${src%.c}.o
	if [ ! -e "$o" ]; then
		echo "callgraph.sh: no $o (run make first)" >&2
		exit 2
	fi
	set -- "$@" "$o"
done
if [ $# -eq 0 ]; then
	echo "callgraph.sh: no source files in $dir" >&2
	exit 2
fi

nm -A "$@" | awk -v verbose="$verbose" '
function base(path,	n, p) {
	n = split(path, p, "/")
	sub(/\.o$/, ".c", p[n])
	return p[n]
}
{
	file = $1
	sub(/:.*/, "", file)
	file = base(file)
	type = $(NF - 1)
	sym = $NF
	files[file] = 1
	if (type == "U")
		undef[file, sym] = 1
	else if (type ~ /^[TW]$/)
		func[sym] = file
	else if (type ~ /^[BCDGRSV]$/)
		data[sym] = file
}
END {
	for (k in undef) {
		split(k, p, SUBSEP)
		from = p[1]
		sym = p[2]
		if ((sym in func) && func[sym] != from) {
			to = func[sym]
			if (!((from, to) in edge))
				nedge++
			edge[from, to] = 1
			syms[from, to] = syms[from, to] " " sym
		} else if ((sym in data) && data[sym] != from)
			dsyms[from, data[sym]] = dsyms[from, data[sym]] " " sym
	}
	n = 0
	for (f in files)
		name[++n] = f
	# Sort the names so the output is stable (insertion sort; n is small).
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && name[j - 1] > name[j]; j--) {
			t = name[j]; name[j] = name[j - 1]; name[j - 1] = t
		}
	# Reachability by Warshall: reach[a, b] when a calls b at any depth.
	for (k in edge)
		reach[k] = 1
	for (m = 1; m <= n; m++)
		for (i = 1; i <= n; i++) {
			if (!((name[i], name[m]) in reach))
				continue
			for (j = 1; j <= n; j++)
				if ((name[m], name[j]) in reach)
					reach[name[i], name[j]] = 1
		}
	if (verbose) {
		for (i = 1; i <= n; i++)
			for (j = 1; j <= n; j++)
				if ((name[i], name[j]) in edge)
					print name[i] " -> " name[j] ":" \
					    syms[name[i], name[j]]
		for (i = 1; i <= n; i++)
			for (j = 1; j <= n; j++)
				if ((name[i], name[j]) in dsyms)
					print name[i] " reads " name[j] ":" \
					    dsyms[name[i], name[j]]
	}
	circles = 0
	for (i = 1; i <= n; i++) {
		a = name[i]
		if ((a in done) || !((a, a) in reach))
			continue
		circles++
		line = "circle:"
		for (j = i; j <= n; j++) {
			b = name[j]
			if (b == a ||
			    (((a, b) in reach) && ((b, a) in reach))) {
				done[b] = 1
				member[circles, b] = 1
				line = line " " b
			}
		}
		print line
		for (j = 1; j <= n; j++)
			for (k = 1; k <= n; k++)
				if (((circles, name[j]) in member) &&
				    ((circles, name[k]) in member) &&
				    ((name[j], name[k]) in edge))
					print "  " name[j] " -> " name[k] ":" \
					    syms[name[j], name[k]]
	}
	if (circles > 0)
		exit 1
	printf "no circle: %d files, %d calling edges\n", n, nedge
}'
