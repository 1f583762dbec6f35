#!/usr/bin/env bats
# tls.bats: --tls-cert and --tls-key (CLI.md): wss:// and https:// on the
# port, bad files refused at start, SIGHUP reloading for new connections
# while open ones go on, misbehaving TLS clients dropped without harm to
# others, and roomctl sim's wss:// client with --ca and --insecure-tls.
# Every certificate is made here, by a throwaway CA (tls_ca, tls_cert).

load lib/common

FAULTS="$BATS_TEST_DIRNAME/lib/tls-faults.py"

setup() {
	tls_ca
	tls_cert srv
}

# tls_node NAME [options]: node NAME serving the srv certificate.
tls_node() {
	roomd_start "$1" --tls-cert "$TLS_DIR/srv.pem" \
	    --tls-key "$TLS_DIR/srv.key" "${@:2}"
}

@test "wss round trip with roomctl sim across two TLS nodes" {
	redis_start
	tls_node n1
	tls_node n2
	sim --url "$(wss_url n1),$(wss_url n2)" --ca "$TLS_DIR/ca.pem" \
	    --clients 2 - <<'EOF'
join r
barrier
publish r hi {"from":$i}
expect event event=hi data.from=0
expect event event=hi data.from=1
EOF
	assert_success
	sim --url "$(wss_url n1),$(wss_url n2)" --ca "$TLS_DIR/ca.pem" \
	    --clients 2 - <<'EOF'
expect welcome node=n1
EOF
	assert_failure 1
	assert_output --partial '"node":"n2"'
}

@test "a client by IP address is checked against the certificate's IP" {
	redis_start
	tls_node n1
	sim --url "wss://127.0.0.1:$PORT_n1/ws" --ca "$TLS_DIR/ca.pem" - <<'EOF'
join r
EOF
	assert_success
}

@test "healthz, metrics, the page and roomd.js over https; plain http is refused" {
	redis_start
	tls_node n1
	wait_for 5 eval '[ "$(https_code n1 /healthz)" = 200 ]'
	run https_code n1 /metrics
	assert_output 200
	run https_code n1 /
	assert_output 200
	run https_code n1 /roomd.js
	assert_output 200
	run curl -s --max-time 3 --cacert "$TLS_DIR/ca.pem" \
	    "https://localhost:$PORT_n1/healthz"
	assert_output --partial '"status":"ok"'
	run http_code n1 /healthz
	assert_output 000
	# No key material in /metrics, the log or the command line.
	run curl -s --max-time 3 --cacert "$TLS_DIR/ca.pem" \
	    "https://localhost:$PORT_n1/metrics"
	assert_output --partial roomd_tls_reloads_total
	refute_output --partial PRIVATE
	refute_output --partial srv.key
	keyline=$(sed -n 2p "$TLS_DIR/srv.key")
	run grep -c -e "$keyline" -e PRIVATE "$BATS_TEST_TMPDIR/n1.log"
	assert_output 0
	run tr '\0' ' ' <"/proc/${_ROOMD_PID[n1]}/cmdline"
	refute_output --partial "$keyline"
}

@test "bad certificate files fail at start with the file and the reason" {
	d=$TLS_DIR
	tls_cert other
	echo 'not a certificate' >"$d/garbage.pem"
	r() { run "$ROOMD" --listen 127.0.0.1:1 --tls-cert "$1" --tls-key "$2"; }
	r "$d/nope.pem" "$d/srv.key"
	assert_failure 2
	assert_output "roomd: certificate file '$d/nope.pem': cannot open: No such file or directory"
	r "$d/srv.pem" "$d/nope.key"
	assert_failure 2
	assert_output "roomd: key file '$d/nope.key': cannot open: No such file or directory"
	# Unreadable: a directory (root reads any file, whatever its mode).
	r "$d" "$d/srv.key"
	assert_failure 2
	assert_output "roomd: certificate file '$d': cannot read: Is a directory"
	if [ "$(id -u)" != 0 ]; then
		cp "$d/srv.key" "$d/locked.key"
		chmod 000 "$d/locked.key"
		r "$d/srv.pem" "$d/locked.key"
		assert_failure 2
		assert_output --partial "Permission denied"
	fi
	r "$d/srv.pem" "$d/other.key"
	assert_failure 2
	assert_output "roomd: key file '$d/other.key' does not match the certificate in '$d/srv.pem'"
	r "$d/garbage.pem" "$d/srv.key"
	assert_failure 2
	assert_output --partial "roomd: certificate file '$d/garbage.pem': no PEM certificate in it"
	r "$d/srv.pem" "$d/garbage.pem"
	assert_failure 2
	assert_output --partial "roomd: key file '$d/garbage.pem': no unencrypted PEM private key in it"
	: >"$d/empty.pem"
	r "$d/empty.pem" "$d/srv.key"
	assert_failure 2
	assert_output "roomd: certificate file '$d/empty.pem': the file is empty"
	# An encrypted key cannot be read unattended.
	openssl pkey -in "$d/srv.key" -aes256 -passout pass:x -out "$d/enc.key"
	r "$d/srv.pem" "$d/enc.key"
	assert_failure 2
	assert_output --partial "no unencrypted PEM private key"
	# One without the other.
	run "$ROOMD" --tls-cert "$d/srv.pem"
	assert_failure 2
	assert_output "roomd: --tls-cert is set but --tls-key is not: TLS needs both"
	run "$ROOMD" --tls-key "$d/srv.key"
	assert_failure 2
	assert_output "roomd: --tls-key is set but --tls-cert is not: TLS needs both"
	# --check-config reads them too; good files pass.
	run "$ROOMD" --check-config --tls-cert "$d/srv.pem" --tls-key "$d/other.key"
	assert_failure 2
	run "$ROOMD" --check-config --tls-cert "$d/srv.pem" --tls-key "$d/srv.key"
	assert_success
	# From the environment too.
	ROOMD_TLS_CERT="$d/nope.pem" ROOMD_TLS_KEY="$d/srv.key" run "$ROOMD" --check-config
	assert_failure 2
	assert_output --partial "nope.pem"
}

@test "SIGHUP: new connections get the new certificate, an open one goes on" {
	redis_start
	tls_node n1
	old=$(cert_fp "$TLS_DIR/srv.pem")
	run served_fp "$PORT_n1"
	assert_output "$old"
	sim_bg held --url "$(wss_url n1)" --ca "$TLS_DIR/ca.pem" - <<'EOF'
join r
expect event event=ping within 20s
publish r pong
expect event event=pong
EOF
	wait_for 10 members_are r 1
	# A new key pair, of another key type, under the same file names.
	tls_cert next rsa
	cp "$TLS_DIR/next.pem" "$TLS_DIR/srv.pem"
	cp "$TLS_DIR/next.key" "$TLS_DIR/srv.key"
	new=$(cert_fp "$TLS_DIR/srv.pem")
	[ "$old" != "$new" ]
	kill -HUP "${_ROOMD_PID[n1]}"
	wait_for 5 eval '[ "$(served_fp "$PORT_n1")" = "$new" ]'
	run grep -c "tls: reloaded certificate" "$BATS_TEST_TMPDIR/n1.log"
	assert_output 1
	# The connection made before the reload still works both ways.
	"$ROOMCTL" --redis "$REDIS_URL" publish r ping
	sim_wait held
	assert_success
	# New clients verify the new certificate.
	sim --url "$(wss_url n1)" --ca "$TLS_DIR/ca.pem" - <<'EOF'
join r
EOF
	assert_success
	# A bad file on SIGHUP keeps the pair in use, and says why.
	echo garbage >"$TLS_DIR/srv.pem"
	kill -HUP "${_ROOMD_PID[n1]}"
	wait_for 5 grep -q "tls: reload failed, keeping the certificate in use" \
	    "$BATS_TEST_TMPDIR/n1.log"
	run served_fp "$PORT_n1"
	assert_output "$new"
	run https_code n1 /healthz
	assert_output 200
}

@test "a stalled TLS handshake is dropped within 15 s; others are served meanwhile" {
	redis_start
	tls_node n1
	python3 "$FAULTS" stall "$PORT_n1" 5 >"$BATS_TEST_TMPDIR/stall.out" 3>&- &
	fp=$!
	_PROC[$fp]="faults stall"
	sleep 0.5
	run https_code n1 /healthz
	assert_output 200
	sim --url "$(wss_url n1)" --ca "$TLS_DIR/ca.pem" - <<'EOF'
join r
publish r x
expect event event=x
EOF
	assert_success
	wait "$fp"
	unset '_PROC[$fp]'
	run cat "$BATS_TEST_TMPDIR/stall.out"
	assert_output --regexp '^closed after ([0-9]|1[0-5])\.[0-9] s$'
}

@test "garbage, a 100 KB ClientHello and plain ws:// on the TLS port are refused at once, in bounded memory" {
	redis_start
	tls_node n1
	pid=${_ROOMD_PID[n1]}
	before=$(rss_kb "$pid")
	run timeout 20 python3 "$FAULTS" garbage "$PORT_n1" 50
	assert_success
	assert_output --regexp '^closed after [0-2]\.[0-9] s$'
	run timeout 20 python3 "$FAULTS" big "$PORT_n1" 50
	assert_success
	assert_output --regexp '^closed after [0-4]\.[0-9] s$'
	run timeout 20 python3 "$FAULTS" plain "$PORT_n1" 20
	assert_success
	assert_output --regexp '^closed after [0-2]\.[0-9] s$'
	SECONDS=0
	sim --url "ws://127.0.0.1:$PORT_n1/ws" - <<'EOF'
join r
EOF
	assert_failure 1
	[ "$SECONDS" -le 5 ]
	after=$(rss_kb "$pid")
	# 120 refused connections: under 20 MB, or 100 MB under ASan, whose
	# quarantine keeps freed memory (its leak check runs at exit).
	limit=20000
	ldd "$ROOMD" 2>/dev/null | grep -q libasan && limit=100000
	assert_between $((after - before)) -100000 "$limit" "RSS growth in KiB"
	# Healthy still (or once its first canary is back, on a busy box).
	for ((i = 0; i < 50; i++)); do
		code=$(https_code n1 /healthz)
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	assert_equal "$code" 200
	sim --url "$(wss_url n1)" --ca "$TLS_DIR/ca.pem" - <<'EOF'
join r
EOF
	assert_success
}

@test "a client that renegotiates is refused; the server goes on" {
	redis_start
	tls_node n1
	run bash -c "(printf 'R\n'; sleep 1) | timeout 5 openssl s_client -tls1_2 \
	    -connect 127.0.0.1:$PORT_n1 -servername localhost \
	    -CAfile '$TLS_DIR/ca.pem' 2>&1"
	assert_output --partial RENEGOTIATING
	assert_output --partial "no renegotiation"
	run https_code n1 /healthz
	assert_output 200
}

@test "roomctl sim verifies the server: unknown CA and wrong name fail, --insecure-tls skips it" {
	redis_start
	tls_cert byname ec DNS:localhost
	roomd_start n1 --tls-cert "$TLS_DIR/byname.pem" \
	    --tls-key "$TLS_DIR/byname.key"
	sim --url "$(wss_url n1)" - <<'EOF'
join r
EOF
	assert_failure 1
	assert_output --partial "certificate verify failed: unable to get local issuer certificate"
	sim --url "wss://127.0.0.1:$PORT_n1/ws" --ca "$TLS_DIR/ca.pem" - <<'EOF'
join r
EOF
	assert_failure 1
	assert_output --partial "certificate verify failed: IP address mismatch"
	sim --url "wss://127.0.0.1:$PORT_n1/ws" --insecure-tls - <<'EOF'
join r
EOF
	assert_success
	sim --url "$(wss_url n1)" --ca "$TLS_DIR/nope.pem" - <<'EOF'
join r
EOF
	assert_failure 1
	assert_output --partial "cannot open CA file '$TLS_DIR/nope.pem': No such file or directory"
	sim --url "$(wss_url n1)" --ca "$TLS_DIR/ca.pem" --insecure-tls - <<'EOF'
join r
EOF
	assert_failure 2
	assert_output --partial "give --ca or --insecure-tls, not both"
}

@test "load mode over wss://" {
	redis_start
	tls_node n1
	run timeout 30 "$ROOMCTL" sim --url "$(wss_url n1)" --ca "$TLS_DIR/ca.pem" \
	    --clients 20 --rooms 2 --rate 5 --duration 1 --json
	assert_success
	run jq -c '[.lost, .errors]' <<<"$output"
	assert_output '[0,0]'
}
