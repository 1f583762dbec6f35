#!/usr/bin/env bats
# keepalive.bats: roomd pings a client silent for 20 s and hangs up on one
# still silent at 30 s: a peer that stops answering (here: a sim client
# that stops reading, so its pongs never come) is dropped and leaves its
# rooms, while an idle client that answers pings stays. Takes about 35 s.

load lib/common

@test "a silent peer is dropped after 30 s; an idle one that answers pings stays" {
	two_nodes
	sim_bg dead - <<'EOF'
join ka
stall 34s
expect close within 5s
EOF
	sim_bg idle --url "$URL_n2" - <<'EOF'
join ka
expect member_left reason=disconnect within 40s
sleep 2s
publish ka still-here
expect event event=still-here within 5s
EOF
	sim_wait idle
	assert_success
	sim_wait dead
	assert_success
	grep -q 'silent for 30 s: hanging up' "$BATS_TEST_TMPDIR/n1.log"
	run grep -c 'silent for 30 s' "$BATS_TEST_TMPDIR/n2.log"
	assert_output 0
}
