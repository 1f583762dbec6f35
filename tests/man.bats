#!/usr/bin/env bats
# man.bats: the man pages are clean under `mandoc -Tlint`, document every
# option with the default and range roomd has, and the EXAMPLES of
# roomctl(1) work as written (like jq's man.test): every example is run
# against a Redis and two roomd nodes and must exit as documented.

load lib/common

PAGES=(man/roomctl.1 man/roomd.8 man/roomd-protocol.7 man/roomd-backend.7)

@test "every man page is clean under mandoc -Tlint -Wwarning" {
	local page
	for page in "${PAGES[@]}"; do
		run mandoc -Tlint -Wwarning "$ROOT/$page"
		[ "$status" -eq 0 ] && [ -z "$output" ] || {
			echo "$page:"
			echo "$output"
			return 1
		}
	done
}

@test "every man page renders, with its sections in order" {
	local page
	for page in "${PAGES[@]}"; do
		run bash -c "mandoc -Tascii '$ROOT/$page' | sed 's/.\x08//g' |
		    grep -E '^[A-Z][A-Z ]+$'"
		assert_success
		# NAME first, SEE ALSO after EXAMPLES, as mdoc(7) orders them.
		[ "${lines[0]}" = NAME ]
		[[ "$output" == *EXAMPLES*"SEE ALSO"* ]]
	done
}

@test "roomd.8 documents every option roomd has" {
	local opt esc
	for opt in $("$ROOMD" --help | grep -oE '^  --[a-z][a-z-]*'); do
		# mdoc writes --max-frame as "Fl \-max\-frame".
		esc=${opt#-}
		esc=${esc//-/\\-}
		grep -qF -- "Fl $esc" "$ROOT/man/roomd.8" || {
			echo "roomd.8 lacks $opt"
			return 1
		}
	done
}

# man_option NAME: the text of roomd.8's item for --NAME, up to the next.
man_option() {
	awk -v it=".It Fl \\\\-${1//-/\\\\-}" '
	    index($0, ".It ") == 1 { f = ($0 == it || index($0, it " ") == 1)
		next }
	    f' "$ROOT/man/roomd.8"
}

@test "roomd.8 gives the defaults and ranges roomd --help and roomd have" {
	local opt def item got range n=0
	# Each option with its help text joined, and the "(default)" it ends
	# with; "(generated)" and "(also -h)" are no literal defaults.
	while read -r opt def; do
		case "$def" in generated | also\ *) continue ;; esac
		item=$(man_option "$opt")
		[ -n "$item" ] || { echo "roomd.8 has no item for --$opt"; return 1; }
		# The first ".Pq [Li|Cm] VALUE" of the item is its default.
		got=$(printf '%s\n' "$item" |
		    sed -nE 's/^\.Pq (Li |Cm )?([^ ]+).*/\2/p' | head -n 1)
		[ "$got" = "$def" ] || {
			echo "--$opt: roomd --help says ($def), roomd.8 says ($got)"
			return 1
		}
		# A number's range, as roomd's refusal of a bad value states it.
		range=$("$ROOMD" --check-config "--$opt=x" 2>&1 |
		    sed -nE 's/.*expected an integer from ([0-9]+ to [0-9]+)$/\1/p')
		if [ -n "$range" ]; then
			[[ "$item" == *"$range"* ]] || {
				echo "--$opt: roomd takes $range, roomd.8 does not say so"
				return 1
			}
		fi
		n=$((n + 1))
	done < <("$ROOMD" --help | awk '
	    /^  --/ { if (opt != "") print opt "\t" text; opt = $1; text = $0
		next }
	    /^    / { text = text " " $0 }
	    END { print opt "\t" text }' |
	    sed -nE 's/^--([a-z-]+)\t.*\(([^()]*)\)$/\1 \2/p')
	[ "$n" -ge 10 ]
}

@test "roomctl.1 documents every command and option roomctl has" {
	local cmd opt esc
	for cmd in $("$ROOMCTL" help | awk '/^commands:/ { f = 1; next }
	    f && /^  [a-z]/ { print $1 }'); do
		grep -qE "^\.It (Xo )?Ic $cmd( |$)" "$ROOT/man/roomctl.1" || {
			echo "roomctl.1 lacks the command $cmd"
			return 1
		}
		for opt in $("$ROOMCTL" help "$cmd" | sed '$d' |
		    grep -oE -- '--[a-z][a-z-]*' | sort -u); do
			esc=${opt#-}
			esc=${esc//-/\\-}
			grep -qF -- "Fl $esc" "$ROOT/man/roomctl.1" || {
				echo "roomctl.1 lacks $cmd $opt"
				return 1
			}
		done
	done
}

@test "roomctl.1 documents every sim script step roomctl sim -h lists" {
	local step n=0
	for step in $("$ROOMCTL" sim -h | grep -oE '^  [a-z][a-z-]*( |$)'); do
		n=$((n + 1))
		grep -qE "^\.It (Xo )?Ic ${step//-/\\\\-}( |$)" \
		    "$ROOT/man/roomctl.1" || {
			echo "roomctl.1 lacks the sim step $step"
			return 1
		}
	done
	[ "$n" -ge 10 ]
}

# examples PAGE DIR: write each example of PAGE's EXAMPLES section to
# DIR/N.sh and the status it must exit with to DIR/N.status ("skip" for
# one marked so). An example is a line ".Dl $ command", or a .Bd -literal
# block whose first line starts with "$ " (the prompt is removed from every
# line that has it). A comment line '.\" status N' or '.\" skip: why'
# before it says how it must end; 0 otherwise.
examples() {
	awk -v dir="$2" '
	function unescape(s) {
		gsub(/\\-/, "-", s)
		gsub(/\\&/, "", s)
		gsub(/\\e/, "\\", s)
		return s
	}
	function emit(text) {
		n++
		printf "%s", text > (dir "/" n ".sh")
		close(dir "/" n ".sh")
		print want > (dir "/" n ".status")
		close(dir "/" n ".status")
		want = 0
	}
	/^\.Sh / { inex = ($0 == ".Sh EXAMPLES"); next }
	!inex { next }
	/^\.\\" status [0-9]+$/ { want = $3; next }
	/^\.\\" skip:/ { want = "skip"; next }
	/^\.Dl \$ / { emit(unescape(substr($0, 7)) "\n"); next }
	/^\.Bd -literal/ { inbd = 1; block = ""; first = 1; next }
	inbd && /^\.Ed/ {
		inbd = 0
		if (isex) emit(block)
		isex = 0
		next
	}
	inbd {
		if (first) { isex = ($0 ~ /^\$ /); first = 0 }
		line = $0
		sub(/^\$ /, "", line)
		block = block unescape(line) "\n"
		next
	}
	BEGIN { want = 0; n = 0 }
	END { print n > (dir "/count") }
	' "$1"
}

@test "the examples are extracted from roomctl.1" {
	local d=$BATS_TEST_TMPDIR/ex
	mkdir -p "$d"
	examples "$ROOT/man/roomctl.1" "$d"
	[ "$(cat "$d/count")" -ge 10 ]
	grep -qx 'roomctl nodes' "$d/1.sh"
	grep -l -- '--user mallory' "$d"/*.sh | sed 's/sh$/status/' |
	    xargs cat | grep -qx 3
	grep -l 'send-binary' "$d"/*.sh >/dev/null
	grep -l -- '--duration' "$d"/*.sh | sed 's/sh$/status/' | xargs cat |
	    grep -qx skip
}

@test "the EXAMPLES of roomctl.1 work as written" {
	local d=$BATS_TEST_TMPDIR/ex work=$BATS_TEST_TMPDIR/work k n want got
	local failed=0
	mkdir -p "$d" "$work"
	examples "$ROOT/man/roomctl.1" "$d"
	n=$(cat "$d/count")

	two_nodes
	# The room the examples look at, with a member that stays.
	sim_bg member 'join lobby {"name": "bob"}
sleep 35s'
	wait_for 5 members_are lobby 1

	export ROOMCTL_REDIS=$REDIS_URL
	export ROOMCTL_URL="$URL_n1,$URL_n2"
	unset ROOMD_REDIS ROOMD_AUTH_SECRET
	export PATH="$(dirname "$ROOMCTL"):$PATH"
	for ((k = 1; k <= n; k++)); do
		want=$(cat "$d/$k.status")
		if [ "$want" = skip ]; then
			echo "# example $k skipped: $(head -n1 "$d/$k.sh")"
			continue
		fi
		got=0
		(cd "$work" && timeout 30 bash "$d/$k.sh") \
		    >"$d/$k.out" 2>&1 </dev/null || got=$?
		if [ "$got" != "$want" ]; then
			echo "example $k exited $got, not $want:"
			sed 's/^/    /' "$d/$k.sh"
			echo "  its output:"
			sed 's/^/    /' "$d/$k.out" | head -n 20
			failed=1
		fi
	done
	[ "$failed" -eq 0 ]
	# What the examples did is visible: the lobby got the announcement.
	room_events lobby | grep -qx '"announce"'
}
