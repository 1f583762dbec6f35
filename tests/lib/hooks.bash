# hooks.bash: run a test program in the background and carry out what it
# asks of the processes this test started, which only bats may stop and
# start (`load lib/hooks` after lib/common). The program writes a file
# $HOOK_DIR/req.N holding one command; bats does it and writes the exit
# status to $HOOK_DIR/done.N. tests/client/lib.mjs hook() is the other end.
#
# Commands: redis_restart (SIGKILL Redis, start it empty on its port),
# roomd_kill NAME (SIGKILL), roomd_respawn NAME (start a killed node again
# on its port with the options it had: see roomd_start_kept),
# roomd_restart NAME (both).

declare -gA _ROOMD_ARGS=()

# roomd_start_kept NAME [options]: roomd_start, remembering the options so
# that roomd_restart can start the node again on the same port.
roomd_start_kept() {
	local name=$1
	roomd_start "$@" || return 1
	shift
	_ROOMD_ARGS[$name]="$*"
}

# roomd_restart NAME: SIGKILL node NAME and start it again on its port.
roomd_restart() {
	roomd_kill "$1" && roomd_respawn "$1"
}

# roomd_respawn NAME: start node NAME, killed before, again on its port.
roomd_respawn() {
	local name=$1 port
	port=$(port_of "$name")
	# shellcheck disable=SC2086
	roomd_spawn "$name" "$port" --listen "127.0.0.1:$port" \
	    --redis "$REDIS_URL" --node-id "$name" ${_ROOMD_ARGS[$name]:-} ||
	    return 1
	unset '_ROOMD_STOPPED[$name]'
	wait_for 5 node_registered "$name"
}

# _hook_do CMD...: carry out one command.
_hook_do() {
	case "$1" in
	redis_restart) redis_stop && redis_restart ;;
	roomd_kill) roomd_kill "$2" ;;
	roomd_restart) roomd_restart "$2" ;;
	roomd_respawn) roomd_respawn "$2" ;;
	*) echo "hooks: unknown command: $*" >&2; return 2 ;;
	esac
}

# run_hooked SECONDS COMMAND...: run COMMAND in the background with
# HOOK_DIR set, serve its requests until it exits (SECONDS at most), and
# set $status and $output the way `run` does.
run_hooked() {
	local secs=$1 pid n=1 cmd st i
	shift
	export HOOK_DIR=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOK_DIR"
	timeout "$secs" "$@" >"$BATS_TEST_TMPDIR/hooked.out" 2>&1 3>&- &
	pid=$!
	_PROC[$pid]="test program"
	for ((i = 0; i < secs * 20; i++)); do
		if [ -e "$HOOK_DIR/req.$n" ]; then
			read -r cmd <"$HOOK_DIR/req.$n"
			st=0
			# shellcheck disable=SC2086
			_hook_do $cmd >>"$BATS_TEST_TMPDIR/hooks.log" 2>&1 || st=$?
			# Written whole, then renamed: the program may look for
			# the file while it is being written.
			echo "$st" >"$HOOK_DIR/done.$n.tmp"
			mv "$HOOK_DIR/done.$n.tmp" "$HOOK_DIR/done.$n"
			n=$((n + 1))
			continue
		fi
		_alive "$pid" || break
		sleep 0.05
	done
	status=0
	wait "$pid" || status=$?
	unset '_PROC[$pid]'
	output=$(cat "$BATS_TEST_TMPDIR/hooked.out")
}
