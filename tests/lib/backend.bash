# backend.bash: the application back end of the backend suites (loaded after
# lib/common): tests/lib/backend.py on a free loopback port, stopped by PID
# with everything else in teardown.
#
#   backend_start [PORT]       start it (on PORT, to come back where it was);
#                              sets BACKEND (http://127.0.0.1:PORT),
#                              BACKEND_PORT, BACKEND_LOG, BACKEND_RULES
#   backend_stop               SIGKILL it (a back end that went down)
#   backend_rules JSON         what it answers from now on (see backend.py)
#   backend_requests PATH      the requests to PATH so far, one JSON a line
#   backend_count PATH N       true when PATH got at least N requests
#   api NAME METHOD BODY [curl options]
#                              POST /api/METHOD on node NAME with $API_KEY;
#                              prints the body then a line with the status

BACKEND_PID=

backend_start() {
	local port=${1:-} pf i
	BACKEND_LOG=${BACKEND_LOG:-$BATS_TEST_TMPDIR/backend.jsonl}
	BACKEND_RULES=${BACKEND_RULES:-$BATS_TEST_TMPDIR/rules.json}
	[ -f "$BACKEND_RULES" ] || echo '{}' >"$BACKEND_RULES"
	touch "$BACKEND_LOG"
	pf=$BATS_TEST_TMPDIR/backend.port
	rm -f "$pf"
	[ -n "$port" ] || port=$(free_port) || return 1
	python3 "$ROOT/tests/lib/backend.py" --port "$port" --log "$BACKEND_LOG" \
	    --rules "$BACKEND_RULES" --port-file "$pf" \
	    >>"$BATS_TEST_TMPDIR/backend.err" 2>&1 3>&- &
	BACKEND_PID=$!
	_PROC[$BACKEND_PID]=backend
	for ((i = 0; i < 50; i++)); do
		if [ -s "$pf" ] && port_open "$port"; then
			BACKEND_PORT=$port
			BACKEND=http://127.0.0.1:$port
			export BACKEND BACKEND_PORT BACKEND_LOG BACKEND_RULES
			return 0
		fi
		_alive "$BACKEND_PID" || break
		sleep 0.1
	done
	echo "backend_start: the back end did not start:" >&2
	cat "$BATS_TEST_TMPDIR/backend.err" >&2
	return 1
}

backend_stop() {
	[ -n "$BACKEND_PID" ] || return 0
	kill -KILL "$BACKEND_PID" 2>/dev/null
	wait "$BACKEND_PID" 2>/dev/null || true
	unset '_PROC[$BACKEND_PID]'
	BACKEND_PID=
}

backend_rules() {
	printf '%s\n' "$1" >"$BACKEND_RULES.tmp" &&
	    mv "$BACKEND_RULES.tmp" "$BACKEND_RULES"
}

backend_requests() {
	jq -c --arg p "$1" 'select(.path == $p)' "$BACKEND_LOG"
}

backend_count() {
	[ "$(backend_requests "$1" | wc -l)" -ge "$2" ]
}

# refused_url: an http URL on a free port where nothing listens.
refused_url() {
	echo "http://127.0.0.1:$(free_port)/nobody"
}

api() {
	local name=$1 method=$2 body=$3
	curl -s --max-time 5 -w '\n%{http_code}\n' -X POST \
	    -H "Authorization: Bearer ${API_KEY:-}" \
	    -H 'Content-Type: application/json' --data-binary "$body" \
	    "${@:4}" "http://127.0.0.1:$(port_of "$name")/api/$method"
}
