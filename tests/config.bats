#!/usr/bin/env bats
# config.bats: roomd's settings (CLI.md). Every option from the command
# line, from ROOMD_* in the environment and from a --config file of
# `name = value` lines; the command line wins over the environment, which
# wins over the file. Bad values, unknown keys and unknown options stop
# roomd at start with exit 2 and a message naming where the value came
# from; --check-config validates without connecting anywhere.

load lib/common

# welcome_of NAME: node NAME's welcome frame, compact.
welcome_of() {
	local t=$BATS_TEST_TMPDIR/welcome-$1.jsonl
	timeout 10 "$ROOMCTL" sim --url "$(eval echo "\$URL_$1")" \
	    --transcript "$t" - <<<'expect welcome' >/dev/null || return 1
	tx_frames "$t" 0 | jq -c 'select(.type == "welcome")'
}

# bad SOURCE NAME VALUE: roomd --check-config with NAME=VALUE given on the
# command line (argv), in the environment (env) or in a config file (file,
# on its line 3) exits 2 with one line naming where the value came from.
bad() {
	local src=$1 name=$2 value=$3 env f=$BATS_TEST_TMPDIR/bad.conf where
	env=ROOMD_$(tr 'a-z-' 'A-Z_' <<<"$name")
	case $src in
	argv)
		run timeout 5 "$ROOMD" --check-config "--$name=$value"
		where="--$name"
		;;
	env)
		run timeout 5 env "$env=$value" "$ROOMD" --check-config
		where=$env
		;;
	file)
		printf '# roomd\n\n%s = %s\n' "$name" "$value" >"$f"
		run timeout 5 "$ROOMD" --check-config --config "$f"
		where="$f:3"
		;;
	esac
	[ "$status" -eq 2 ] ||
	    fail "$src $name='$value': exit $status, not 2: $output"
	[ "${#lines[@]}" -eq 1 ] || fail "$src $name: not one line: $output"
	[[ "$output" == "roomd: "*"$where"* ]] ||
	    fail "$src $name='$value': '$where' not named: $output"
}

@test "precedence: command line over environment over config file" {
	redis_start
	F=$BATS_TEST_TMPDIR/roomd.conf
	printf 'max-frame = 1000\nnode-id = from-file\n' >"$F"
	ROOMD_MAX_FRAME=2000 ROOMD_NODE_ID=from-env \
	    roomd_start n1 --config "$F" --max-frame 3000
	ROOMD_MAX_FRAME=2000 roomd_start n2 --config "$F"
	roomd_start n3 --config "$F"
	run welcome_of n1
	assert_output --partial '"node":"n1"'
	assert_output --partial '"max_frame":3000'
	run welcome_of n2
	assert_output --partial '"max_frame":2000'
	run welcome_of n3
	assert_output --partial '"max_frame":1000'

	# node-id: the environment over the file (no --node-id given).
	port=$(free_port)
	ROOMD_NODE_ID=from-env roomd_spawn n4 "$port" --config "$F" \
	    --listen "127.0.0.1:$port" --redis "$REDIS_URL"
	run welcome_of n4
	assert_output --partial '"node":"from-env"'
	assert_output --partial '"max_frame":1000'
	port=$(free_port)
	roomd_spawn n5 "$port" --config "$F" --listen "127.0.0.1:$port" \
	    --redis "$REDIS_URL"
	run welcome_of n5
	assert_output --partial '"node":"from-file"'
	wait_for 5 node_registered from-file
}

@test "every option from the environment" {
	redis_start
	port=$(free_port)
	ROOMD_LISTEN=127.0.0.1:$port ROOMD_REDIS=$REDIS_URL ROOMD_PREFIX=envp: \
	    ROOMD_NODE_ID=envnode ROOMD_AUTH_SECRET=env-secret \
	    ROOMD_HISTORY=5 ROOMD_ROOM_TTL=100 ROOMD_EMPTY_TTL=0 \
	    ROOMD_MAX_FRAME=2048 ROOMD_MAX_ROOMS_PER_CONN=1 ROOMD_MAX_CONNS=1 \
	    ROOMD_RATE=3 ROOMD_LOG_LEVEL=debug ROOMD_LOG_FORMAT=json \
	    roomd_spawn e1 "$port"
	wait_for 5 node_registered envnode envp:
	check_effects e1 envp: "$(mint env-secret eve)"
}

@test "every option from a config file" {
	redis_start
	port=$(free_port)
	S=$BATS_TEST_TMPDIR/secret
	printf 'file-secret\n' >"$S"
	F=$BATS_TEST_TMPDIR/roomd.conf
	cat >"$F" <<EOF
# roomd settings for the test

  listen = 0.0.0.0:$port
redis = "$REDIS_URL"
prefix=filep:
node_id = filenode
auth-secret-file = $S
history = 5
room-ttl = 100
empty-ttl = 0
max-frame = 2048
max_rooms_per_conn = 1
max-conns = 1
rate = 3
log-level = debug
log-format = json
EOF
	roomd_spawn f1 "$port" --config "$F"
	wait_for 5 node_registered filenode filep:
	check_effects f1 filep: "$(mint file-secret eve)"
	# ROOMD_CONFIG names the file as well.
	roomd_stop f1
	port=$(free_port)
	sed -i "s/0.0.0.0:[0-9]*/127.0.0.1:$port/" "$F"
	ROOMD_CONFIG=$F roomd_spawn f2 "$port"
	sim --url "$URL_f2" --token "$(mint file-secret eve)" - <<'EOF'
expect welcome node=filenode user=eve max_frame=2048
EOF
	assert_success
}

# check_effects NAME PREFIX TOKEN: node NAME runs with node-id NAME's
# settings from the two tests above: prefix PREFIX, a secret TOKEN is
# signed with, room-ttl 100, empty-ttl 0, max-frame 2048,
# max-rooms-per-conn 1, max-conns 1, rate 3, debug logs in JSON.
check_effects() {
	local name=$1 prefix=$2 tok=$3 url ttl
	url=$(eval echo "\$URL_$name")
	sim --url "$url" - <<'EOF'
expect refused status=401
EOF
	assert_success
	sim_bg holder --url "$url" --token "$tok" - <<'EOF'
expect welcome user=eve max_frame=2048
join a
state a k 1
expect event event=end within 20s
EOF
	wait_for 10 eval '[ "$(redis_cli hlen "${prefix}room:{a}:members")" = 1 ]'
	# room-ttl 100 on the room's keys.
	ttl=$(redis_cli ttl "${prefix}room:{a}")
	assert_between "$ttl" 1 100 "ttl with --room-ttl 100"
	# max-conns 1.
	sim --url "$url" --token "$tok" - <<'EOF'
expect refused status=503
EOF
	assert_success
	"$ROOMCTL" --redis "$REDIS_URL" --prefix "$prefix" publish a end
	sim_wait holder
	assert_success
	# empty-ttl 0: the room's keys go when the last member does.
	wait_for 5 eval '[ "$(redis_cli exists "${prefix}room:{a}" \
	    "${prefix}room:{a}:events" "${prefix}room:{a}:state")" = 0 ]'
	# max-rooms-per-conn 1, max-frame 2048 and rate 3 (bursts of 6).
	sim --url "$url" --token "$tok" - <<EOF
join a
send {"type":"join","room":"b","ref":"b"}
expect error ref=b code=too_many_rooms
send {"type":"ping","pad":"$(printf '%3000s' '' | tr ' ' x)"}
expect error code=too_large
$(repeat 8 'send {"type":"ping","ref":"p@k@"}')
expect error code=rate_limited
EOF
	assert_success
	# Debug lines, all JSON.
	run jq -e -s 'length > 3 and all(.[]; .level and .msg and .time)' \
	    "$BATS_TEST_TMPDIR/$name.log"
	assert_success
	run jq -r 'select(.level == "debug") | .msg' "$BATS_TEST_TMPDIR/$name.log"
	assert_output --partial ': open'
}

@test "bad values are refused at start, naming the option's source" {
	F=$BATS_TEST_TMPDIR/bad.conf
	for src in argv env file; do
		bad $src listen nope
		bad $src listen 127.0.0.1:99999
		bad $src redis http://x
		bad $src prefix 'a{b}'
		bad $src node-id 'bad/id'
		bad $src history 0
		bad $src room-ttl x
		bad $src empty-ttl -1
		bad $src max-frame 100
		bad $src max-rooms-per-conn 0
		bad $src max-conns 0
		bad $src rate 1.5
		bad $src log-level verbose
		bad $src log-format xml
		bad $src insecure maybe
		bad $src auth-secret-file "$BATS_TEST_TMPDIR/nonexistent"
	done
	bad argv auth-secret ''
	bad file auth-secret ''
	# Reasons.
	bad argv max-frame 100
	assert_output --partial 'expected an integer from 256 to 16777216'
	bad file log-format xml
	assert_output "roomd: $F:3: bad value 'xml' for log-format: expected text or json"
	bad env log-level verbose
	assert_output "roomd: ROOMD_LOG_LEVEL: bad value 'verbose': expected debug, info, warn or error"
	# A secret is never echoed.
	printf 'redis = redis://:hunter2@127.0.0.1:notaport\n' >"$F"
	run "$ROOMD" --check-config --config "$F"
	assert_failure 2
	assert_output --partial "$F:1"
	refute_output --partial hunter2
}

@test "unknown options and keys, and malformed files, are refused with exit 2" {
	F=$BATS_TEST_TMPDIR/roomd.conf
	run "$ROOMD" --check-config --colour red
	assert_failure 2
	assert_output "roomd: unknown option '--colour'"
	run "$ROOMD" -x
	assert_failure 2
	assert_output --partial "unknown option '-x'"
	run "$ROOMD" stray
	assert_failure 2
	assert_output --partial "unexpected argument 'stray'"
	run "$ROOMD" --check-config --max-frame
	assert_failure 2
	assert_output --partial '--max-frame needs a value'

	printf '# ok\nmax-frame = 4096\ncolour = red\n' >"$F"
	run "$ROOMD" --check-config --config "$F"
	assert_failure 2
	assert_output "roomd: $F:3: unknown option 'colour'"
	# Not only under --check-config: roomd itself will not start.
	port=$(free_port)
	run timeout 5 "$ROOMD" --config "$F" --listen "127.0.0.1:$port"
	assert_failure 2
	assert_output "roomd: $F:3: unknown option 'colour'"
	run timeout 5 "$ROOMD" --listen "127.0.0.1:$port" --rate 0
	assert_failure 2
	assert_output --partial "bad value '0' for --rate"
	printf 'history 10\n' >"$F"
	run "$ROOMD" --check-config --config "$F"
	assert_failure 2
	assert_output --partial "$F:1:"
	printf 'config = /etc/other.conf\n' >"$F"
	run "$ROOMD" --check-config --config "$F"
	assert_failure 2
	assert_output --partial "$F:1:"
	run "$ROOMD" --check-config --config "$BATS_TEST_TMPDIR/missing.conf"
	assert_failure 2
	assert_output --partial 'missing.conf'
	# An error in the file is reported even when the command line sets
	# the same option.
	printf 'max-frame = 1\n' >"$F"
	run "$ROOMD" --check-config --config "$F" --max-frame 4096
	assert_failure 2
	assert_output --partial "$F:1:"
	# A secret and a secret file at once.
	printf 's\n' >"$BATS_TEST_TMPDIR/s"
	run "$ROOMD" --check-config --auth-secret s \
	    --auth-secret-file "$BATS_TEST_TMPDIR/s"
	assert_failure 2
	# Unknown ROOMD_* variables are not roomd's business.
	ROOMD_COLOUR=red run "$ROOMD" --check-config
	assert_success
}

@test "--check-config validates and exits without connecting anywhere" {
	redis_start
	# Nothing listens on the Redis port given, and the listen port is
	# taken (by redis-server): neither matters.
	dead=$(free_port)
	run timeout 5 "$ROOMD" --check-config --redis "redis://127.0.0.1:$dead/0" \
	    --listen "127.0.0.1:$REDIS_PORT" --node-id c1
	assert_success
	assert_output 'roomd: configuration ok'
	run timeout 5 "$ROOMD" --check-config --redis "$REDIS_URL" --node-id c2
	assert_success
	run redis_cli exists roomd:node:c2 roomd:nodes
	assert_output 0
	# The non-loopback rule is part of the check.
	run timeout 5 "$ROOMD" --check-config --listen 0.0.0.0:7700
	assert_failure 2
	run timeout 5 "$ROOMD" --check-config --listen 0.0.0.0:7700 --insecure
	assert_success
	F=$BATS_TEST_TMPDIR/roomd.conf
	printf 'listen = 0.0.0.0:7700\ninsecure\n' >"$F"
	run timeout 5 "$ROOMD" --check-config --config "$F"
	assert_success
	printf 'listen = 0.0.0.0:7700\ninsecure = false\n' >"$F"
	run timeout 5 "$ROOMD" --check-config --config "$F"
	assert_failure 2
	run timeout 5 "$ROOMD" --check-config --listen 0.0.0.0:7700 \
	    --auth-secret x
	assert_success
	# -h and -V.
	run "$ROOMD" -h
	assert_success
	assert_output --partial 'usage: roomd'
	run "$ROOMD" --version
	assert_success
	assert_output --regexp '^roomd [0-9]'
}

@test "--auth-secret-file: the trailing newline is not part of the secret" {
	redis_start
	S=$BATS_TEST_TMPDIR/secret
	printf 'the-secret\n' >"$S"
	roomd_start n1 --auth-secret-file "$S"
	sim --token "$(mint the-secret ann)" - <<'EOF'
expect welcome user=ann
EOF
	assert_success
	sim --token "$(mint $'the-secret\n' ann)" - <<'EOF'
expect refused status=401
EOF
	assert_success
	# Windows line ends too; an empty file is an error.
	printf 'the-secret\r\n' >"$S"
	ROOMD_AUTH_SECRET_FILE=$S roomd_start n2
	sim --url "$URL_n2" --token "$(mint the-secret ann)" - <<'EOF'
expect welcome user=ann
EOF
	assert_success
	printf '\n' >"$S"
	run "$ROOMD" --check-config --auth-secret-file "$S"
	assert_failure 2
	assert_output --partial empty
}

@test "--webhook-url with --redis-cluster: accepted, and still needs its secret" {
	run "$ROOMD" --check-config --redis-cluster 127.0.0.1:7000 \
	    --webhook-url http://127.0.0.1:9/hook --webhook-secret s
	assert_success
	run "$ROOMD" --check-config --redis-cluster 127.0.0.1:7000 \
	    --webhook-url http://127.0.0.1:9/hook
	assert_failure 2
	assert_output --partial "--webhook-url needs --webhook-secret"
}
