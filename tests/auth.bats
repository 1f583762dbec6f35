#!/usr/bin/env bats
# auth.bats: HS256 tokens (PROTOCOL.md "Auth"). With a secret, a good token
# (in ?token= or an Authorization: Bearer header) names the user; every bad
# one is refused at the upgrade with 401. The rooms and publish claims,
# spectators (publish: []) and admins; anonymous clients without a secret,
# and the refusal to listen on a non-loopback address without one.

load lib/common

SECRET=s3cret-for-tests

# now: seconds since the epoch.
now() {
	date +%s
}

# refused_401 TOKEN: a token in ?token= and the same in an Authorization:
# Bearer header are each refused with 401.
refused_401() {
	run upgrade_code n1 "token=$1"
	assert_output 401
	run upgrade_code n2 "" "Authorization: Bearer $1"
	assert_output 401
}

@test "a good token names the user in welcome, from ?token= and from Bearer" {
	two_nodes --auth-secret "$SECRET"
	tok=$(mint "$SECRET" alice)
	sim --token "$tok" - <<'EOF'
expect welcome user=alice node=n1
join r1
expect member_joined member.user=alice
EOF
	assert_success
	# curl: the upgrade goes through (101) with the header or the query.
	run upgrade_code n1 "" "Authorization: Bearer $tok"
	assert_output 101
	run upgrade_code n2 "token=$tok"
	assert_output 101
	run upgrade_code n1 "" "Authorization: Basic $tok"
	assert_output 401
	run upgrade_code n1
	assert_output 401
}

@test "bad tokens are refused at the upgrade with 401" {
	two_nodes --auth-secret "$SECRET"
	exp=$(($(now) + 600))
	good=$(jwt_make "$SECRET" '{"alg":"HS256","typ":"JWT"}' \
	    "{\"sub\":\"alice\",\"exp\":$exp}")
	run upgrade_code n1 "token=$good"
	assert_output 101

	# Missing and malformed.
	refused_401 ''
	refused_401 'not-a-token'
	refused_401 'a.b.c'
	refused_401 "${good%.*}"
	# Signed with another secret.
	refused_401 "$(mint other-secret alice)"
	# Expired: past the 30 s leeway.
	refused_401 "$(jwt_make "$SECRET" '{"alg":"HS256","typ":"JWT"}' \
	    "{\"sub\":\"alice\",\"exp\":$(($(now) - 120))}")"
	# No sub, no exp.
	refused_401 "$(jwt_make "$SECRET" '{"alg":"HS256","typ":"JWT"}' \
	    "{\"exp\":$exp}")"
	refused_401 "$(jwt_make "$SECRET" '{"alg":"HS256","typ":"JWT"}' \
	    '{"sub":"alice"}')"
	# alg none, with and without a signature.
	none_h=$(printf '%s' '{"alg":"none","typ":"JWT"}' | b64url)
	none_p=$(printf '%s' "{\"sub\":\"alice\",\"exp\":$exp}" | b64url)
	refused_401 "$none_h.$none_p."
	refused_401 "$(jwt_make "$SECRET" '{"alg":"none","typ":"JWT"}' \
	    "{\"sub\":\"alice\",\"exp\":$exp}")"
	# HS512 in the header (signed with the right key, even).
	refused_401 "$(jwt_make "$SECRET" '{"alg":"HS512","typ":"JWT"}' \
	    "{\"sub\":\"alice\",\"exp\":$exp}")"
	# Tampered payload: admin added, the signature kept.
	evil_p=$(printf '%s' "{\"sub\":\"alice\",\"exp\":$exp,\"admin\":true}" |
	    b64url)
	h=${good%%.*}
	sig=${good##*.}
	refused_401 "$h.$evil_p.$sig"
	# Tampered signature (its first character: the last one holds
	# padding bits).
	c=${sig:0:1}
	[ "$c" = A ] && c=B || c=A
	refused_401 "${good%.*}.$c${sig:1}"

	# What a client sees.
	sim - <<'EOF'
expect refused status=401
EOF
	assert_success
	sim --token "$h.$evil_p.$sig" - <<'EOF'
expect refused status=401
EOF
	assert_success

	# Nothing was let in, the nodes still serve, and they counted.
	run metric n1 roomd_refused_total
	[ "$output" -ge 14 ]
	sim --token "$good" - <<'EOF'
expect welcome user=alice
join r1
EOF
	assert_success
}

@test "a token that expires while connected: requests get unauthorized, ping still works" {
	two_nodes --auth-secret "$SECRET"
	# exp 26 s ago: inside the 30 s leeway for 4 s more.
	tok=$(jwt_make "$SECRET" '{"alg":"HS256","typ":"JWT"}' \
	    "{\"sub\":\"late\",\"exp\":$(($(now) - 26))}")
	sim --token "$tok" - <<'EOF'
expect welcome user=late
join r
poll {"type":"presence","room":"r"} until error code=unauthorized every 200ms within 10s
send {"type":"publish","room":"r","event":"e","ref":"p"}
expect error ref=p code=unauthorized
send {"type":"join","room":"r2","ref":"j"}
expect error ref=j code=unauthorized
send {"type":"ping","ref":"ping"}
expect ok ref=ping
EOF
	assert_success
	run room_events r
	assert_output ''
}

@test "a token's rooms patterns limit joins to whole-id matches" {
	two_nodes --auth-secret "$SECRET"
	tok=$(mint "$SECRET" alice --rooms 'game-*,lobby')
	sim --token "$tok" - <<'EOF'
send {"type":"join","room":"game-1","ref":"a"}
expect ok ref=a room=game-1
send {"type":"join","room":"game-","ref":"b"}
expect ok ref=b
send {"type":"join","room":"lobby","ref":"c"}
expect ok ref=c
send {"type":"join","room":"lobby2","ref":"d"}
expect error ref=d code=forbidden
send {"type":"join","room":"xgame-1","ref":"e"}
expect error ref=e code=forbidden
send {"type":"join","room":"other","ref":"f"}
expect error ref=f code=forbidden
send {"type":"presence","room":"other","ref":"g"}
expect error ref=g code=not_member
EOF
	assert_success
	# Nothing of the refused rooms was created.
	run redis_cli exists 'roomd:room:{lobby2}:members' 'roomd:room:{other}'
	assert_output 0
	run redis_cli exists 'roomd:room:{game-1}:events' 'roomd:room:{lobby}:events'
	assert_output 2
}

@test "a token's publish patterns limit what it publishes; others see only those" {
	two_nodes --auth-secret "$SECRET"
	TW=$BATS_TEST_TMPDIR/w.jsonl
	sim_bg w --url "$URL_n2" --token "$(mint "$SECRET" bob)" \
	    --transcript "$TW" - <<'EOF'
join g
expect event event=end from.user=bob within 20s
EOF
	wait_for 10 members_are g 1
	sim --token "$(mint "$SECRET" alice --publish 'chat,move*')" - <<'EOF'
join g
send {"type":"publish","room":"g","event":"chat","ref":"p1"}
expect ok ref=p1
send {"type":"publish","room":"g","event":"move.up","ref":"p2"}
expect ok ref=p2
send {"type":"publish","room":"g","event":"attack","ref":"p3"}
expect error ref=p3 code=forbidden
send {"type":"publish","room":"g","event":"chatter","ref":"p4"}
expect error ref=p4 code=forbidden
send {"type":"state.set","room":"g","key":"k","value":1,"ref":"s"}
expect ok ref=s
EOF
	assert_success
	sim --url "$URL_n2" --token "$(mint "$SECRET" bob)" - <<'EOF'
join g
publish g end
EOF
	assert_success
	sim_wait w
	assert_success
	run tx_jq "$TW" 0 '[.[] | select(.type == "event") | [.event, .from.user]]'
	assert_output '[["chat","alice"],["move.up","alice"],["end","bob"]]'
}

@test "a spectator (publish: []) may watch but neither publish nor set state" {
	two_nodes --auth-secret "$SECRET"
	spec=$(mint "$SECRET" sam --publish '')
	sim_bg s --url "$URL_n2" --token "$spec" - <<'EOF'
expect welcome user=sam
join arena
send {"type":"publish","room":"arena","event":"chat","ref":"p"}
expect error ref=p code=forbidden
send {"type":"state.set","room":"arena","key":"k","value":1,"ref":"s"}
expect error ref=s code=forbidden
send {"type":"state.get","room":"arena","ref":"g"}
expect ok ref=g state_version=0
send {"type":"presence","room":"arena","ref":"pr"}
expect ok ref=pr members.0.user=sam
expect event event=go from.user=pat within 20s
expect state_changed key=k value=2 within 5s
EOF
	wait_for 10 members_are arena 1
	sim --token "$(mint "$SECRET" pat)" - <<'EOF'
join arena
publish arena go
state arena k 2
EOF
	assert_success
	sim_wait s
	assert_success
	run room_events arena
	assert_output '"go"'
}

@test "an admin reaches any room without joining it" {
	two_nodes --auth-secret "$SECRET"
	sim_bg m --url "$URL_n2" --token "$(mint "$SECRET" bob)" - <<'EOF'
join secret-room
state secret-room k "v"
publish secret-room before
expect event event=from-admin from.user=root within 20s
EOF
	wait_for 10 members_are secret-room 1
	wait_for 5 eval '[ "$(room_events secret-room | wc -l)" -ge 1 ]'
	admin=$(mint "$SECRET" root --admin --rooms 'nothing' --publish '')
	sim --token "$admin" - <<'EOF'
send {"type":"presence","room":"secret-room","ref":"p"}
expect ok ref=p members.0.user=bob
send {"type":"state.get","room":"secret-room","ref":"g"}
expect ok ref=g state.k=v
send {"type":"history","room":"secret-room","ref":"h"}
expect ok ref=h events.0.type=member_joined
send {"type":"publish","room":"secret-room","event":"from-admin","ref":"x"}
expect ok ref=x seq=*
send {"type":"state.set","room":"secret-room","key":"a","value":1,"ref":"s"}
expect ok ref=s
send {"type":"join","room":"anything","ref":"j"}
expect ok ref=j room=anything
EOF
	assert_success
	sim_wait m
	assert_success
	# The same requests from a plain user are refused.
	sim --token "$(mint "$SECRET" eve)" - <<'EOF'
send {"type":"presence","room":"secret-room","ref":"p"}
expect error ref=p code=not_member
send {"type":"publish","room":"secret-room","event":"x","ref":"x"}
expect error ref=x code=not_member
send {"type":"history","room":"secret-room","ref":"h"}
expect error ref=h code=not_member
EOF
	assert_success
}

@test "without a secret clients are anonymous; ROOMD_AUTH_SECRET turns auth on" {
	redis_start
	roomd_start n1
	sim - <<'EOF'
expect welcome user=null
join r
EOF
	assert_success
	ROOMD_AUTH_SECRET=$SECRET roomd_start n2
	sim --url "$URL_n2" - <<'EOF'
expect refused status=401
EOF
	assert_success
	sim --url "$URL_n2" --token "$(mint "$SECRET" carol)" - <<'EOF'
expect welcome user=carol node=n2
EOF
	assert_success
}

@test "a non-loopback --listen needs a secret or --insecure" {
	redis_start
	port=$(free_port)
	run timeout 5 "$ROOMD" --listen "0.0.0.0:$port" --redis "$REDIS_URL" \
	    --node-id x
	assert_failure 2
	assert_output --partial "--insecure"
	run port_open "$port"
	assert_failure
	# From the environment too.
	ROOMD_LISTEN="0.0.0.0:$port" run timeout 5 "$ROOMD" --redis "$REDIS_URL"
	assert_failure 2
	# Every way of saying "all addresses" counts; loopback ones do not.
	for l in ":$port" "*:$port" "[::]:$port" "0:$port"; do
		run timeout 5 "$ROOMD" --check-config --listen "$l"
		[ "$status" -eq 2 ] || fail "--listen $l without a secret: $output"
	done
	for l in "localhost:$port" "[::1]:$port" "127.0.0.2:$port"; do
		run timeout 5 "$ROOMD" --check-config --listen "$l"
		[ "$status" -eq 0 ] || fail "--listen $l: $output"
	done
	# With a secret it serves (on every address, loopback included).
	roomd_spawn n1 "$port" --listen "0.0.0.0:$port" --redis "$REDIS_URL" \
	    --node-id n1 --auth-secret "$SECRET"
	wait_for 5 node_registered n1
	sim --token "$(mint "$SECRET" dan)" - <<'EOF'
expect welcome user=dan
EOF
	assert_success
	roomd_stop n1
	# With --insecure it serves anonymous clients.
	port=$(free_port)
	roomd_spawn n2 "$port" --listen "0.0.0.0:$port" --redis "$REDIS_URL" \
	    --node-id n2 --insecure
	wait_for 5 node_registered n2
	sim --url "$URL_n2" - <<'EOF'
expect welcome user=null node=n2
EOF
	assert_success
}
