#!/usr/bin/env bats
# completions.bats: the bash, zsh and fish completions of roomctl and roomd
# offer exactly the commands and options that `roomctl help` and
# `roomd --help` print (the command and option tables drive those, so the
# completions cannot drift from them), and complete room names from a live
# Redis without ever hanging on an unreachable one.

load lib/common

COMP=$ROOT/completions

# --- what the binaries say --------------------------------------------------

# The commands `roomctl help` lists, sorted.
help_commands() {
	"$ROOMCTL" help | awk '/^commands:/ { f = 1; next }
	    f && /^  [a-z]/ { print $1 }' | sort
}

# The options in `roomctl help CMD`'s usage (the summary line dropped).
help_options() {
	"$ROOMCTL" help "$1" | sed '$d' | grep -oE -- '--[a-z][a-z-]*' |
	    sort -u
}

# roomctl's global options: its usage line, and --help and --version.
help_global_options() {
	{
		"$ROOMCTL" help | head -n 1 | grep -oE -- '--[a-z][a-z-]*'
		printf '%s\n' --help --version
	} | sort -u
}

# roomd's options, from the option table as `roomd --help` prints it.
roomd_options() {
	"$ROOMD" --help | grep -oE '^  --[a-z][a-z-]*' | tr -d ' ' | sort -u
}

# --- driving each shell -----------------------------------------------------

# bash_complete FILE FUNCTION WORD...: load FILE into bash and run FUNCTION
# as completion would for the command line WORD... (the last word is the
# one being completed); print the candidates sorted, one a line.
bash_complete() {
	local file=$1 fn=$2
	shift 2
	timeout 10 bash --norc --noprofile -c '
	    file=$1 fn=$2; shift 2
	    source "$file" || exit 1
	    COMP_WORDS=("$@")
	    COMP_CWORD=$(($# - 1))
	    COMP_LINE="$*"
	    COMP_POINT=${#COMP_LINE}
	    "$fn" || exit 1
	    printf "%s\n" "${COMPREPLY[@]}"' _ "$file" "$fn" "$@" |
	    sed '/^$/d' | sort
}

# fish_complete FILE LINE: what fish completes for LINE (tab-separated
# descriptions dropped), sorted.
fish_complete() {
	timeout 10 fish --no-config -c "source '$1'; complete -C '$2'" |
	    cut -f1 | sort
}

# zsh_call FILE SETUP: source the completion FILE in zsh with _arguments,
# _describe and compadd replaced by functions that print what they are
# given, after running SETUP (which sets words and CURRENT as completion
# would). zsh runs with -f: no user files.
zsh_call() {
	timeout 10 zsh -f -c '
	    _arguments() { print -rl -- "$@" }
	    _describe() { local n=${@[-1]}; print -rl -- "${(@P)n}" }
	    compadd() {
		    local a
		    if [[ $1 == -a ]]; then a=$2; print -rl -- "${(@P)a}"
		    else print -rl -- "$@"; fi
	    }
	    _files() { print -r -- "<files>" }
	    '"$2"'
	    source "$0"' "$1"
}

# zsh_options FILE WORD...: the options the zsh completion offers for the
# command line WORD... with the cursor on a new word, sorted.
zsh_options() {
	local file=$1 setup
	shift
	setup="words=($*  ''); CURRENT=\$#words"
	zsh_call "$file" "$setup" | sed -E 's/^\([^)]*\)//; s/^\*//' |
	    grep -oE '^--[a-z][a-z-]*' | sort -u
}

# --- commands and options ---------------------------------------------------

@test "roomctl help lists commands and their usage lines hold options" {
	run help_commands
	assert_success
	assert_line sim
	assert_line rooms
	run help_options rooms
	assert_line -- --all
}

@test "bash completes exactly roomctl's commands" {
	local want got
	want=$(help_commands)
	got=$(bash_complete "$COMP/roomctl.bash" _roomctl roomctl '')
	assert_equal "$got" "$want"
	got=$(bash_complete "$COMP/roomctl.bash" _roomctl roomctl help '')
	assert_equal "$got" "$want"
	got=$(bash_complete "$COMP/roomctl.bash" _roomctl roomctl --json \
	    --prefix p: '')
	assert_equal "$got" "$want"
}

@test "bash completes exactly each roomctl command's options" {
	local cmd want got
	for cmd in $(help_commands); do
		want=$(help_options "$cmd")
		got=$(bash_complete "$COMP/roomctl.bash" _roomctl roomctl \
		    "$cmd" --)
		[ "$got" = "$want" ] || {
			echo "roomctl $cmd: bash offers:" $got
			echo "roomctl help $cmd says:" $want
			return 1
		}
	done
	want=$(help_global_options)
	got=$(bash_complete "$COMP/roomctl.bash" _roomctl roomctl --)
	assert_equal "$got" "$want"
}

@test "bash completes values: files, log levels, no options after values" {
	run bash_complete "$COMP/roomctl.bash" _roomctl roomctl sim \
	    --transcript "$ROOT/man/roomctl"
	assert_output "$ROOT/man/roomctl.1"
	run bash_complete "$COMP/roomctl.bash" _roomctl roomctl rooms \
	    --limit ''
	assert_output ''
	run bash_complete "$COMP/roomd.bash" _roomd roomd --log-level ''
	assert_output "$(printf '%s\n' debug error info warn)"
	run bash_complete "$COMP/roomd.bash" _roomd roomd --config \
	    "$ROOT/man/roomd."
	assert_output "$ROOT/man/roomd.8"
}

@test "bash completes exactly roomd's options" {
	local want got
	want=$(roomd_options)
	got=$(bash_complete "$COMP/roomd.bash" _roomd roomd --)
	assert_equal "$got" "$want"
	got=$(bash_complete "$COMP/roomd.bash" _roomd roomd --listen \
	    127.0.0.1:1 --)
	assert_equal "$got" "$want"
}

@test "fish completes exactly roomctl's commands and options" {
	command -v fish >/dev/null || skip "fish is not installed"
	local cmd want got
	want=$(help_commands)
	got=$(fish_complete "$COMP/roomctl.fish" 'roomctl ')
	assert_equal "$got" "$want"
	got=$(fish_complete "$COMP/roomctl.fish" 'roomctl --prefix x: ')
	assert_equal "$got" "$want"
	got=$(fish_complete "$COMP/roomctl.fish" 'roomctl help ')
	assert_equal "$got" "$want"
	for cmd in $want; do
		want=$(help_options "$cmd")
		got=$(fish_complete "$COMP/roomctl.fish" "roomctl $cmd --")
		[ "$got" = "$want" ] || {
			echo "roomctl $cmd: fish offers:" $got
			echo "roomctl help $cmd says:" $want
			return 1
		}
	done
	want=$(help_global_options)
	got=$(fish_complete "$COMP/roomctl.fish" 'roomctl --')
	assert_equal "$got" "$want"
}

@test "fish completes exactly roomd's options" {
	command -v fish >/dev/null || skip "fish is not installed"
	local want got
	want=$(roomd_options)
	got=$(fish_complete "$COMP/roomd.fish" 'roomd --')
	assert_equal "$got" "$want"
	run fish_complete "$COMP/roomd.fish" 'roomd --log-format '
	assert_output "$(printf '%s\n' json text)"
}

@test "zsh loads the completions with compinit, without errors" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	local d=$BATS_TEST_TMPDIR/zfunc
	mkdir -p "$d"
	cp "$COMP/_roomctl" "$COMP/_roomd" "$d/"
	run timeout 10 zsh -f -c "
	    fpath=('$d' \$fpath)
	    autoload -U compinit && compinit -u -d '$BATS_TEST_TMPDIR/zcompdump'
	    [[ \$_comps[roomctl] == _roomctl ]] || { print no roomctl; exit 1 }
	    [[ \$_comps[roomd] == _roomd ]] || { print no roomd; exit 1 }
	    autoload +X _roomctl _roomd"
	assert_success
	assert_output ''
	# Both files parse as zsh.
	run zsh -n "$COMP/_roomctl"
	assert_success
	run zsh -n "$COMP/_roomd"
	assert_success
}

@test "zsh completes exactly roomctl's commands and options" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	local cmd want got
	want=$(help_commands)
	got=$(zsh_call "$COMP/_roomctl" "words=(roomctl ''); CURRENT=2
	    _roomctl_commands() { :; }" >/dev/null
	    zsh_call "$COMP/_roomctl" "words=(roomctl ''); CURRENT=2" |
	    grep -q '^1:command:_roomctl_commands$' && echo dispatch)
	assert_equal "$got" dispatch
	# The commands themselves: what _roomctl_commands hands _describe.
	got=$(zsh_call "$COMP/_roomctl" "words=(roomctl help ''); CURRENT=3
	    _arguments() { _roomctl_commands }" | cut -d: -f1 | sort)
	assert_equal "$got" "$want"
	for cmd in $want; do
		want=$(help_options "$cmd")
		got=$(zsh_options "$COMP/_roomctl" roomctl "$cmd")
		[ "$got" = "$want" ] || {
			echo "roomctl $cmd: zsh offers:" $got
			echo "roomctl help $cmd says:" $want
			return 1
		}
	done
	# After global options the command is still found.
	got=$(zsh_options "$COMP/_roomctl" roomctl --redis redis://x rooms)
	assert_equal "$got" "$(help_options rooms)"
	want=$(help_global_options)
	got=$(zsh_options "$COMP/_roomctl" roomctl)
	assert_equal "$got" "$want"
}

@test "zsh completes exactly roomd's options" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	local want got
	want=$(roomd_options)
	got=$(zsh_options "$COMP/_roomd" roomd)
	assert_equal "$got" "$want"
}

# --- room names from Redis --------------------------------------------------

# make_room ROOM VISIBILITY MEMBERS: a room's hash and index entries, as
# roomd writes them.
make_room() {
	redis_cli hset "roomd:room:{$1}" title "$1" topic '' visibility "$2" \
	    max_members 0 created_at 1732270000000 last_active 1732270000000 \
	    state_version 0 >/dev/null
	redis_cli zadd roomd:rooms "$3" "$1" >/dev/null
	[ "$2" = public ] && redis_cli zadd roomd:rooms:public "$3" "$1" \
	    >/dev/null
	return 0
}

# zpty_complete LINE: type LINE and a TAB into an interactive zsh on a
# pseudo-terminal that loaded the completions with compinit, and print the
# matches it offered, sorted and unique. compadd is wrapped to record them.
zpty_complete() {
	local d=$BATS_TEST_TMPDIR/zpty
	mkdir -p "$d"
	cp "$COMP/_roomctl" "$COMP/_roomd" "$d/"
	cat >"$d/cap.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
dir=$1 out=$2 line=$3
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=($dir \$fpath); autoload -U compinit; compinit -u -d $dir/.zcd"
zpty -w z "compadd() { local -a __h; builtin compadd -A __h \"\$@\"; print -rl -- \$__h >>| $out; builtin compadd \"\$@\" }"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no"
# _main_complete runs comppostfuncs once every compadd is done: it marks
# the end of the completion, so nothing here waits a fixed time.
zpty -w z "__done() { : >| $out.done }; comppostfuncs=(__done)"
: >| $out
rm -f $out.done
zpty -w -n z "$line"$'\t'
for i in {1..100}; do
	[[ -e $out.done ]] && break
	sleep 0.1
done
zpty -d z
EOF
	timeout 20 zsh -f "$d/cap.zsh" "$d" "$d/out" "$1" >/dev/null 2>&1
	sed '/^$/d' "$d/out" | sort -u
}

@test "zsh completes on a terminal (zpty) as roomctl help says" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "no zsh/zpty"
	export PATH="$(dirname "$ROOMCTL"):$(dirname "$ROOMD"):$PATH"
	local got
	got=$(zpty_complete 'roomctl ')
	assert_equal "$got" "$(help_commands)"
	got=$(zpty_complete 'roomctl rooms --')
	assert_equal "$got" "$(help_options rooms)"
	got=$(zpty_complete 'roomctl --json replay x --')
	assert_equal "$got" "$(help_options replay)"
	got=$(zpty_complete 'roomd --log-level ')
	assert_equal "$got" "$(printf '%s\n' debug error info warn)"

	redis_start
	make_room lobby public 1
	export ROOMCTL_REDIS=$REDIS_URL
	got=$(zpty_complete 'roomctl inspect ')
	assert_equal "$got" lobby
	# Another prefix has no rooms (zsh then offers the options instead).
	got=$(zpty_complete 'roomctl --prefix other: inspect ')
	[[ $got != *lobby* ]]
}

@test "room names are completed live from Redis, in every shell" {
	redis_start
	make_room lobby public 3
	make_room game-7 private 2
	make_room 'x:y' public 1
	export ROOMCTL_REDIS=$REDIS_URL
	export PATH="$(dirname "$ROOMCTL"):$PATH"
	local want
	want=$(printf '%s\n' game-7 lobby x:y)

	run bash_complete "$COMP/roomctl.bash" _roomctl "$ROOMCTL" inspect ''
	assert_output "$want"
	run bash_complete "$COMP/roomctl.bash" _roomctl "$ROOMCTL" publish \
	    --json ''
	assert_output "$want"
	run bash_complete "$COMP/roomctl.bash" _roomctl "$ROOMCTL" replay \
	    lobby --into g
	assert_output game-7
	# The room is the first argument only.
	run bash_complete "$COMP/roomctl.bash" _roomctl "$ROOMCTL" publish \
	    lobby ''
	assert_output ''
	# --redis on the command line wins over the environment.
	ROOMCTL_REDIS=redis://127.0.0.1:1/0 run bash_complete \
	    "$COMP/roomctl.bash" _roomctl "$ROOMCTL" --redis "$REDIS_URL" \
	    evict l
	assert_output lobby
	# Another prefix, another deployment: no rooms there.
	run bash_complete "$COMP/roomctl.bash" _roomctl "$ROOMCTL" --prefix \
	    other: inspect ''
	assert_output ''

	if command -v fish >/dev/null; then
		run fish_complete "$COMP/roomctl.fish" 'roomctl inspect '
		assert_output "$want"
		run fish_complete "$COMP/roomctl.fish" 'roomctl sim --room l'
		assert_output lobby
		run fish_complete "$COMP/roomctl.fish" 'roomctl publish lobby '
		assert_output ''
	fi
	if command -v zsh >/dev/null; then
		run zsh_call "$COMP/_roomctl" "words=(roomctl evict ''); CURRENT=3
		    _arguments() { _roomctl_rooms }"
		assert_output "$(printf '%s\n' lobby game-7 x:y)"
	fi
}

# assert_prompt SECONDS COMMAND...: COMMAND ends within SECONDS and
# completes nothing.
assert_prompt() {
	local limit=$1 t0 t1
	shift
	t0=$(date +%s%N)
	run "$@"
	t1=$(date +%s%N)
	echo "took $(((t1 - t0) / 1000000)) ms"
	[ $(((t1 - t0) / 1000000)) -lt $((limit * 1000)) ]
	assert_output ''
}

@test "room completion returns promptly when Redis is unreachable" {
	local port
	port=$(free_port)
	export PATH="$(dirname "$ROOMCTL"):$PATH"
	# Nothing listens.
	export ROOMCTL_REDIS=redis://127.0.0.1:$port/0
	assert_prompt 3 bash_complete "$COMP/roomctl.bash" _roomctl \
	    "$ROOMCTL" inspect ''

	# A Redis that accepts connections but never answers: stopped.
	redis_start
	export ROOMCTL_REDIS=$REDIS_URL
	kill -STOP "$REDIS_PID"
	assert_prompt 3 bash_complete "$COMP/roomctl.bash" _roomctl \
	    "$ROOMCTL" inspect ''
	if command -v fish >/dev/null; then
		assert_prompt 3 fish_complete "$COMP/roomctl.fish" \
		    'roomctl inspect '
	fi
	if command -v zsh >/dev/null; then
		assert_prompt 3 zsh_call "$COMP/_roomctl" \
		    "words=(roomctl evict ''); CURRENT=3
		    _arguments() { _roomctl_rooms }"
	fi
	kill -CONT "$REDIS_PID"
}
