# common.bash: what every bats suite loads (`load lib/common`): bats-support
# and bats-assert, free ports, a private redis-server and roomd nodes started
# and stopped by PID, a `sim` wrapper around `roomctl sim`, transcript helpers,
# and a teardown that fails the test when a roomd crashed or a sanitizer
# complained in its log.
#
# Everything listens on 127.0.0.1 only. Every wait is bounded.

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROOMD=${ROOMD_BIN:-$ROOT/build/roomd}
ROOMCTL=${ROOMCTL_BIN:-$ROOT/build/roomctl}
export ROOT ROOMD ROOMCTL

# Cluster mode (ROOMD_TEST_CLUSTER=1, set by tests/run for the suites it
# runs a second time on a Redis Cluster): redis_start makes a cluster of
# three masters instead, roomd_start adds --redis-cluster, redis_cli
# follows redirects, and $ROOMCTL is a wrapper that turns --redis URL into
# --redis-cluster. A test that needs one Redis (stopping it, CLIENT PAUSE,
# SCAN) says so with single_redis_only.
TEST_CLUSTER=${ROOMD_TEST_CLUSTER:-0}
if [ "$TEST_CLUSTER" = 1 ]; then
	source "$ROOT/tests/lib/cluster.bash"
	CLUSTER_REPLICAS=0
	export ROOMCTL_REAL=$ROOMCTL
	ROOMCTL=$ROOT/tests/lib/roomctl-cluster
fi

# redis_scan PATTERN: the keys matching PATTERN (on a cluster, on every
# master).
redis_scan() {
	local p
	if [ "$TEST_CLUSTER" = 1 ]; then
		for p in "${CLUSTER_PORTS[@]}"; do
			ccli "$p" --scan --pattern "$1"
		done
	else
		redis_cli --scan --pattern "$1"
	fi
}

# single_redis_only WHY: skip this test in cluster mode.
single_redis_only() {
	if [ "$TEST_CLUSTER" = 1 ]; then
		skip "one Redis only: $1"
	fi
}

# cluster_only WHY: skip this test on one Redis.
cluster_only() {
	if [ "$TEST_CLUSTER" != 1 ]; then
		skip "Redis Cluster only: $1"
	fi
}

# Every process a test started: pid -> what it is ("redis", "roomd NAME",
# "sim NAME"). Names of roomd nodes map to their pids and logs.
declare -gA _PROC=()
declare -gA _ROOMD_PID=()
declare -gA _ROOMD_LOG=()
declare -gA _SIM_PID=()
declare -ga _ROOMD_NAMES=()
_SIM_COUNT=0
REDIS_PID=

# free_port: print a random TCP port in 20000-60999 that no socket on this
# host uses. Ports in the kernel's ephemeral range (where outgoing
# connections take their local ports, and where a busy machine may have
# thousands) are avoided when that leaves any choice.
free_port() {
	local lo=20000 hi=60999 elo ehi p tries=0 used
	read -r elo ehi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
	    elo=0 ehi=0
	if [ "$elo" -gt $lo ]; then
		hi=$((elo - 1))
	elif [ "$ehi" -lt $hi ] && [ "$ehi" -ge $lo ]; then
		lo=$((ehi + 1))
	fi
	while [ $tries -lt 100 ]; do
		tries=$((tries + 1))
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		used=$(printf ':%04X ' "$p")
		if ! grep -q "$used" /proc/net/tcp /proc/net/tcp6 2>/dev/null &&
		    ! port_open "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "free_port: no free port found" >&2
	return 1
}

# port_open PORT: true when something accepts connections on 127.0.0.1:PORT.
port_open() {
	timeout 1 bash -c "exec 9<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# _alive PID: true while PID runs (a zombie counts as gone).
_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# redis_start: run a private redis-server on a free port in the background.
# Exports REDIS_PORT, REDIS_URL and REDIS_PID.
redis_start() {
	local attempt port i
	if [ "$TEST_CLUSTER" = 1 ]; then
		cluster_start || return 1
		export REDIS_PORT=${CLUSTER_PORTS[0]}
		export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
		export REDIS_CLI="redis-cli -c -p $REDIS_PORT"
		return 0
	fi
	for attempt in 1 2 3; do
		port=$(free_port) || return 1
		redis-server --port "$port" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$BATS_TEST_TMPDIR" \
		    >"$BATS_TEST_TMPDIR/redis.log" 2>&1 3>&- &
		REDIS_PID=$!
		_PROC[$REDIS_PID]=redis
		for ((i = 0; i < 50; i++)); do
			if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
				export REDIS_PORT=$port
				export REDIS_URL="redis://127.0.0.1:$port/0"
				# For bash -c strings, where redis_cli is not.
				export REDIS_CLI="redis-cli -p $port"
				export REDIS_PID
				return 0
			fi
			_alive "$REDIS_PID" || break
			sleep 0.1
		done
		kill -KILL "$REDIS_PID" 2>/dev/null
		wait "$REDIS_PID" 2>/dev/null
		unset '_PROC[$REDIS_PID]'
	done
	echo "redis_start: redis-server did not answer; its log:" >&2
	cat "$BATS_TEST_TMPDIR/redis.log" >&2
	return 1
}

# redis_cli ARGS: redis-cli against the test's redis-server (on a cluster
# the test started, any live node, following redirects).
redis_cli() {
	local p
	if [ -n "${CLUSTER_SEEDS:-}" ]; then
		for p in "${CLUSTER_PORTS[@]}"; do
			if _alive "${CLUSTER_PID[$p]}"; then
				ccli "$p" -c "$@"
				return
			fi
		done
		return 1
	fi
	redis-cli -p "$REDIS_PORT" "$@"
}

# roomd_start NAME [roomd options]: start a roomd node NAME on a free port
# against $REDIS_URL, logging to $BATS_TEST_TMPDIR/NAME.log. Waits (5s at
# most) until the port accepts and the node has registered in Redis.
# Exports URL_NAME (ws://127.0.0.1:PORT/ws) and PORT_NAME.
roomd_start() {
	local name=$1 attempt port pid i prefix=roomd: log k args cluster
	shift
	args=("$@")
	for ((k = 0; k < ${#args[@]}; k++)); do
		case "${args[k]}" in
		--prefix) prefix=${args[k + 1]:-} ;;
		--prefix=*) prefix=${args[k]#--prefix=} ;;
		esac
	done
	log="$BATS_TEST_TMPDIR/$name.log"
	cluster=()
	[ "$TEST_CLUSTER" = 1 ] && cluster=(--redis-cluster "$CLUSTER_SEEDS")
	for attempt in 1 2 3; do
		port=$(free_port) || return 1
		"$ROOMD" --listen "127.0.0.1:$port" --redis "$REDIS_URL" \
		    "${cluster[@]}" --node-id "$name" "$@" >>"$log" 2>&1 3>&- &
		pid=$!
		_PROC[$pid]="roomd $name"
		for ((i = 0; i < 50; i++)); do
			_alive "$pid" || break
			if port_open "$port" &&
			    [ "$(redis_cli exists "${prefix}node:$name")" = 1 ]; then
				_ROOMD_PID[$name]=$pid
				_ROOMD_LOG[$name]=$log
				_ROOMD_NAMES+=("$name")
				export "URL_$name=ws://127.0.0.1:$port/ws"
				export "PORT_$name=$port"
				return 0
			fi
			sleep 0.1
		done
		if _alive "$pid"; then
			# Running but not ready: not a port race, do not retry.
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null || true
			unset '_PROC[$pid]'
			break
		fi
		wait "$pid" 2>/dev/null || true
		unset '_PROC[$pid]'
		# It exited: maybe the port was taken meanwhile. Try another.
	done
	echo "roomd_start: roomd $name did not become ready; its log:" >&2
	cat "$log" >&2
	return 1
}

# roomd_stop NAME: SIGTERM one node and wait (5s at most) for it to exit;
# fails unless it exits 0, as CLI.md says it does on SIGTERM.
roomd_stop() {
	local name=$1 pid=${_ROOMD_PID[$1]} st
	_stop_pid "$pid" 50
	st=0
	wait "$pid" 2>/dev/null || st=$?
	unset '_PROC[$pid]'
	_ROOMD_STOPPED[$name]=$st
	if [ "$st" -ne 0 ]; then
		echo "roomd $name exited $st after SIGTERM" >&2
		return 1
	fi
}
declare -gA _ROOMD_STOPPED=()

# roomd_kill NAME: SIGKILL one node (a simulated crash the test wants).
roomd_kill() {
	local name=$1 pid=${_ROOMD_PID[$1]}
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	unset '_PROC[$pid]'
	_ROOMD_STOPPED[$name]=killed
}

# two_nodes: a redis-server and roomd nodes n1 and n2 on it. Extra arguments
# are roomd options given to both nodes.
two_nodes() {
	redis_start || return 1
	roomd_start n1 "$@" || return 1
	roomd_start n2 "$@" || return 1
}

# _stop_pid PID TENTHS: SIGTERM, wait TENTHS/10 s at most, then SIGKILL.
_stop_pid() {
	local pid=$1 n=${2:-30} i
	_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < n; i++)); do
		_alive "$pid" || return 0
		sleep 0.1
	done
	echo "process $pid (${_PROC[$pid]:-?}) ignored SIGTERM; killing it" >&2
	kill -KILL "$pid" 2>/dev/null
	return 1
}

# stop_all: stop everything this test started, sims and nodes first and
# redis last. Fails the test when a roomd died on its own before this, or
# when a roomd log shows a sanitizer report.
stop_all() {
	local rc=0 name pid st pids=() p
	for name in "${_ROOMD_NAMES[@]}"; do
		[ -n "${_ROOMD_STOPPED[$name]:-}" ] && continue
		pid=${_ROOMD_PID[$name]}
		if ! _alive "$pid"; then
			st=0
			wait "$pid" 2>/dev/null || st=$?
			echo "roomd $name (pid $pid) died before teardown, status $st;" \
			    "its log:" >&2
			tail -n 60 "${_ROOMD_LOG[$name]}" >&2
			unset '_PROC[$pid]'
			rc=1
		fi
	done
	# Sims and roomd nodes in parallel, then redis.
	for p in "${!_PROC[@]}"; do
		[ "${_PROC[$p]}" = redis ] && continue
		_alive "$p" && kill -TERM "$p" 2>/dev/null
		pids+=("$p")
	done
	for p in "${pids[@]}"; do
		_stop_pid "$p" 30 2>/dev/null
		wait "$p" 2>/dev/null
		unset '_PROC[$p]'
	done
	for p in "${!_PROC[@]}"; do
		_stop_pid "$p" 30
		wait "$p" 2>/dev/null
		unset '_PROC[$p]'
	done
	for name in "${_ROOMD_NAMES[@]}"; do
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
		    "${_ROOMD_LOG[$name]}" 2>/dev/null; then
			echo "sanitizer report in roomd $name's log:" >&2
			cat "${_ROOMD_LOG[$name]}" >&2
			rc=1
		fi
	done
	return $rc
}

teardown() {
	stop_all
}

# sim [roomctl sim options] SCRIPT_TEXT: write SCRIPT_TEXT (or, if it is "-",
# standard input) to a file and `run` roomctl sim on it with a 30 s guard.
# Without --url the clients go to node n1. The script's path is left in
# $SIM_SCRIPT.
sim() {
	local args=("$@") script
	script=${args[-1]}
	unset 'args[-1]'
	[ "$script" = - ] && script=$(cat)
	_sim_args args
	_SIM_COUNT=$((_SIM_COUNT + 1))
	SIM_SCRIPT="$BATS_TEST_TMPDIR/script$_SIM_COUNT.sim"
	printf '%s\n' "$script" >"$SIM_SCRIPT"
	run timeout 30 "$ROOMCTL" sim "${_SIM_ARGS[@]}" "$SIM_SCRIPT"
}

# _sim_args ARRAYNAME: the options with --url "$URL_n1" added if absent.
_sim_args() {
	local -n _a=$1
	local x has=
	for x in "${_a[@]}"; do
		case "$x" in
		--url | --url=*) has=1 ;;
		esac
	done
	_SIM_ARGS=()
	if [ -z "$has" ] && [ -n "${URL_n1:-}" ]; then
		_SIM_ARGS=(--url "$URL_n1")
	fi
	_SIM_ARGS+=("${_a[@]}")
}

# sim_bg NAME [roomctl sim options] SCRIPT_TEXT: like sim, but in the
# background (40 s guard), output to $BATS_TEST_TMPDIR/NAME.out.
sim_bg() {
	local name=$1 args script f
	shift
	args=("$@")
	script=${args[-1]}
	unset 'args[-1]'
	[ "$script" = - ] && script=$(cat)
	_sim_args args
	f="$BATS_TEST_TMPDIR/$name.sim"
	printf '%s\n' "$script" >"$f"
	timeout 40 "$ROOMCTL" sim "${_SIM_ARGS[@]}" "$f" \
	    >"$BATS_TEST_TMPDIR/$name.out" 2>&1 3>&- &
	_SIM_PID[$name]=$!
	_PROC[$!]="sim $name"
}

# sim_wait NAME: wait for a background sim; sets $status and $output the way
# `run` does.
sim_wait() {
	local pid=${_SIM_PID[$1]}
	status=0
	wait "$pid" || status=$?
	unset '_PROC[$pid]'
	output=$(cat "$BATS_TEST_TMPDIR/$1.out")
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds;
# fails after SECONDS.
wait_for() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "wait_for: gave up after $((n / 10)) s: $*" >&2
	return 1
}

# assert_between VALUE LO HI [WHAT]: fail the test unless VALUE is an integer
# from LO to HI, printing it. For TTLs, counts and sizes: `[ a ] && [ b ]`
# cannot fail a bats test when it is not the test's last line, since set -e
# ignores the first command of an && list.
assert_between() {
	local v=$1 lo=$2 hi=$3 what=${4:-value}
	[[ "$v" =~ ^-?[0-9]+$ ]] || fail "$what: '$v' is not an integer"
	{ [ "$v" -ge "$lo" ] && [ "$v" -le "$hi" ]; } ||
	    fail "$what: $v is not from $lo to $hi"
}

# members_are ROOM N: the room's members hash holds N entries.
members_are() {
	[ "$(redis_cli hlen "roomd:room:{$1}:members")" = "$2" ]
}

# Transcripts (--transcript FILE): JSON lines
# {"client":i,"dir":"in"|"out","t":ms,"frame":...}. A frame sent as raw text
# may be stored as a string; tx_frames parses such strings when they are JSON.
#
# tx_frames FILE CLIENT [DIR]: the client's frames (default: received), one
# compact JSON per line, in order.
tx_frames() {
	jq -c --argjson c "$2" --arg d "${3:-in}" '
	    select(.client == $c and .dir == $d) | .frame
	    | if type == "string" then (fromjson? // .) else . end' "$1"
}

# tx_jq FILE CLIENT FILTER: run FILTER (jq -s) over the client's received
# frames as one array. The filter may use seqv (a seq as [ms, n]).
tx_jq() {
	local frames
	# Not a pipeline: a missing or broken transcript would otherwise look
	# like a client that received nothing, and `length == 0` would pass.
	frames=$(tx_frames "$1" "$2" in) ||
	    { echo "tx_jq: cannot read transcript '$1'"; return 1; }
	jq -s -c "$JQ_DEFS $3" <<<"$frames"
}
JQ_DEFS='def seqv: split("-") | map(tonumber);'

# seqs_increasing: read seqs one per line on stdin; fail unless strictly
# increasing as ms-counter pairs.
seqs_increasing() {
	awk -F- '
	    NR > 1 && ($1 < pm || ($1 == pm && $2 <= pn)) {
		printf "seq %s-%s is not after %s-%s (line %d)\n", $1, $2, pm, pn, NR
		bad = 1
	    }
	    { pm = $1 + 0; pn = $2 + 0 }
	    END { exit bad }'
}

# repeat N TEMPLATE: TEMPLATE N times, with @k@ replaced by 0..N-1, one per
# line (for generating long sim scripts).
repeat() {
	local k
	for ((k = 0; k < $1; k++)); do
		printf '%s\n' "${2//@k@/$k}"
	done
}

# conn_of FILE CLIENT: the connection id from the client's welcome frame.
conn_of() {
	tx_frames "$1" "$2" in | jq -r 'select(.type == "welcome") | .conn' |
	    head -n1
}

# room_frames ROOM: the room's history straight from Redis, one compact
# frame JSON per line (without seq), oldest first.
room_frames() {
	redis_cli --raw xrange "roomd:room:{$1}:events" - + | grep '^{' |
	    jq -c .
}

# room_events ROOM: the event names of the room's `event` frames in Redis.
room_events() {
	room_frames "$1" | jq -c 'select(.type == "event") | .event'
}

# check_seqs FILE: FILE holds a non-empty JSON array of seqs or of frames;
# fail unless their seqs strictly increase.
check_seqs() {
	local seqs
	# Not a pipeline: an unreadable file must fail, not pass with no seqs.
	seqs=$(jq -r '.[] | if type == "object" then .seq else . end' "$1") ||
	    { echo "check_seqs: cannot read seqs from '$1'"; return 1; }
	[ -n "$seqs" ] || { echo "check_seqs: no seqs in '$1'"; return 1; }
	seqs_increasing <<<"$seqs"
}

# ---------------------------------------------------------------------------
# Helpers of the production suites (auth, limits, http, shutdown, outage,
# nodes, config, logs).

# port_of NAME: the port of roomd node NAME.
port_of() {
	local v="PORT_$1"
	echo "${!v}"
}

# b64url: standard input as base64url without padding.
b64url() {
	local s
	s=$(base64 -w0)
	s=${s//+/-}
	s=${s//\//_}
	printf '%s\n' "${s//=/}"
}

# jwt_make SECRET HEADER_JSON PAYLOAD_JSON: a token whose signature is
# HMAC-SHA256 with SECRET over the given header and payload, whatever alg
# the header claims (for crafting expired, tampered or odd tokens).
jwt_make() {
	local h p s
	h=$(printf '%s' "$2" | b64url)
	p=$(printf '%s' "$3" | b64url)
	s=$(printf '%s' "$h.$p" | openssl dgst -sha256 -hmac "$1" -binary |
	    b64url)
	printf '%s.%s.%s\n' "$h" "$p" "$s"
}

# mint SECRET SUB [roomctl token options]: a token from roomctl token.
mint() {
	"$ROOMCTL" token --secret "$1" --sub "$2" "${@:3}"
}

# http_code NAME PATH [curl options]: the HTTP status of GET PATH on node
# NAME (000 when nothing answered within 3 s).
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 3 "${@:3}" \
	    "http://127.0.0.1:$(port_of "$1")$2"
}

# http_body NAME PATH: the body of GET PATH on node NAME.
http_body() {
	curl -s --max-time 3 "http://127.0.0.1:$(port_of "$1")$2"
}

# upgrade_code NAME [QUERY [HEADER...]]: the HTTP status roomd answers a
# WebSocket upgrade of /ws?QUERY (no query when empty) with extra HEADERs
# ("Authorization: Bearer ...") on node NAME: 101 when it upgrades, 000
# when nothing answered within 3 s. A raw request, so a 101 is seen at
# once (curl would wait for the WebSocket to end). UPGRADE_PATH replaces
# /ws.
upgrade_code() {
	local port path=${UPGRADE_PATH:-/ws} line h
	port=$(port_of "$1")
	[ -n "${2:-}" ] && path="$path?$2"
	(
		exec 9<>"/dev/tcp/127.0.0.1/$port" || exit 1
		{
			printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n' \
			    "$path" "$port"
			printf 'Connection: Upgrade\r\nUpgrade: websocket\r\n'
			printf 'Sec-WebSocket-Version: 13\r\n'
			printf 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
			for h in "${@:3}"; do
				printf '%s\r\n' "$h"
			done
			printf '\r\n'
		} >&9
		IFS=' ' read -r -t 3 _ line _ <&9 || line=000
		echo "$line"
	) 2>/dev/null || echo 000
}

# metric NAME SERIES: the value of one series (e.g. roomd_connections or
# 'roomd_errors_total{code="forbidden"}') in node NAME's /metrics.
metric() {
	http_body "$1" /metrics | awk -v s="$2" '$1 == s { print $2 }'
}

# healthz_is NAME CODE: node NAME's /healthz answers CODE.
healthz_is() {
	[ "$(http_code "$1" /healthz)" = "$2" ]
}

# redis_stop: stop the test's redis-server (SIGKILL, as a crash) and wait
# for it; REDIS_PORT stays set for redis_restart.
redis_stop() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null || true
	unset '_PROC[$REDIS_PID]'
	REDIS_PID=
}

# redis_restart: start a new, empty redis-server on $REDIS_PORT (after
# redis_stop, or when none was started: then pick the port with
# redis_port_pick first). Waits 5 s at most for it to answer.
redis_restart() {
	local i
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$BATS_TEST_TMPDIR" \
	    >>"$BATS_TEST_TMPDIR/redis.log" 2>&1 3>&- &
	REDIS_PID=$!
	_PROC[$REDIS_PID]=redis
	export REDIS_PID
	for ((i = 0; i < 50; i++)); do
		redis_cli ping 2>/dev/null | grep -q PONG && return 0
		_alive "$REDIS_PID" || break
		sleep 0.1
	done
	echo "redis_restart: redis-server did not answer on $REDIS_PORT" >&2
	cat "$BATS_TEST_TMPDIR/redis.log" >&2
	return 1
}

# redis_port_pick: choose a free port for a redis-server that is not
# running yet (export REDIS_PORT and REDIS_URL); start it with
# redis_restart.
redis_port_pick() {
	REDIS_PORT=$(free_port) || return 1
	export REDIS_PORT REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

# roomd_spawn NAME PORT [roomd options]: start roomd with exactly these
# options (nothing added: for settings from the environment or a config
# file), logging to $BATS_TEST_TMPDIR/NAME.log, and track it like
# roomd_start does. Waits 5 s at most for PORT to accept; it does not wait
# for Redis. Exports URL_NAME and PORT_NAME.
roomd_spawn() {
	local name=$1 port=$2 pid i log
	shift 2
	log="$BATS_TEST_TMPDIR/$name.log"
	"$ROOMD" "$@" >>"$log" 2>&1 3>&- &
	pid=$!
	_PROC[$pid]="roomd $name"
	_ROOMD_PID[$name]=$pid
	_ROOMD_LOG[$name]=$log
	_ROOMD_NAMES+=("$name")
	export "URL_$name=ws://127.0.0.1:$port/ws"
	export "PORT_$name=$port"
	for ((i = 0; i < 50; i++)); do
		port_open "$port" && return 0
		_alive "$pid" || break
		sleep 0.1
	done
	echo "roomd_spawn: roomd $name did not listen on $port; its log:" >&2
	cat "$log" >&2
	return 1
}

# node_registered NAME [PREFIX]: node NAME's heartbeat key exists.
node_registered() {
	[ "$(redis_cli exists "${2:-roomd:}node:$1")" = 1 ]
}

# node_gone NAME: node NAME's heartbeat key is gone.
node_gone() {
	[ "$(redis_cli exists "roomd:node:$1")" = 0 ]
}

# roomd_exited NAME: node NAME's process has exited (reaped or not).
roomd_exited() {
	! _alive "${_ROOMD_PID[$1]}"
}

# roomd_wait_exit NAME TENTHS: wait TENTHS/10 s at most for node NAME to
# exit; sets ROOMD_STATUS to its exit status and marks it stopped (so
# teardown does not call it a crash). Fails if it is still running.
roomd_wait_exit() {
	local name=$1 pid=${_ROOMD_PID[$1]} i
	for ((i = 0; i < ${2:-50}; i++)); do
		_alive "$pid" || break
		sleep 0.1
	done
	_alive "$pid" && return 1
	ROOMD_STATUS=0
	wait "$pid" 2>/dev/null || ROOMD_STATUS=$?
	unset '_PROC[$pid]'
	_ROOMD_STOPPED[$name]=$ROOMD_STATUS
	return 0
}

# ---------------------------------------------------------------------------
# TLS (tls.bats, workers.bats, the bench): a throwaway CA and server
# certificates made with the openssl command in the test's directory.

# tls_ca: a CA in $BATS_TEST_TMPDIR/ca.pem (key ca.key); exports TLS_DIR.
tls_ca() {
	TLS_DIR=${TLS_DIR:-$BATS_TEST_TMPDIR}
	export TLS_DIR
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -days 2 \
	    -subj /CN=roomd-test-ca 2>/dev/null
}

# tls_cert NAME [KEYTYPE [SAN]]: a certificate for localhost and 127.0.0.1
# (or SAN, as openssl writes it) signed by the CA, in $TLS_DIR/NAME.pem with
# its key NAME.key (KEYTYPE ec, the default, or rsa).
tls_cert() {
	local name=$1 kt=${2:-ec} san=${3:-DNS:localhost,IP:127.0.0.1}
	local d=$TLS_DIR
	local newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	[ "$kt" = rsa ] && newkey=(-newkey rsa:2048)
	openssl req "${newkey[@]}" -nodes -keyout "$d/$name.key" \
	    -out "$d/$name.csr" -subj /CN=localhost 2>/dev/null || return 1
	printf 'subjectAltName=%s\n' "$san" >"$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" \
	    -CAkey "$d/ca.key" -CAcreateserial -out "$d/$name.pem" -days 2 \
	    -extfile "$d/$name.ext" 2>/dev/null
}

# cert_fp FILE: the SHA-256 fingerprint of a PEM certificate.
cert_fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2
}

# served_fp PORT: the fingerprint of the certificate 127.0.0.1:PORT serves
# to a new connection.
served_fp() {
	timeout 5 openssl s_client -connect "127.0.0.1:$1" \
	    -servername localhost </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}

# wss_url NAME: node NAME's wss:// URL (by name, as its certificate says).
wss_url() {
	echo "wss://localhost:$(port_of "$1")/ws"
}

# https_code NAME PATH: the HTTP status of GET PATH over https on node
# NAME, trusting the test CA (000 when nothing answered within 3 s).
https_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
	    --cacert "$TLS_DIR/ca.pem" "https://localhost:$(port_of "$1")$2"
}

# rss_kb PID: resident memory of a process in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
