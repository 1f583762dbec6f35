#!/usr/bin/env bats
# hardening.bats: what the security review of issue 9 found, each defect
# driven the way it was found: raw bytes on the wire (tests/lib/wsraw.py)
# against a real roomd and Redis. NUL bytes and \u0000 escapes, refs echoed
# exactly, seqs Redis refuses, replies too big for the send queue (history
# pages, the state bound, catch-up batches, Redis output in flight), closing
# a flooder, a room left behind by a Redis stall, and header and framing
# limits at the handshake.

load lib/common

# py SCRIPT [ARGS]: run a Python script (from a heredoc on stdin) with
# wsraw importable; a 60 s guard.
py() {
	PYTHONPATH="$ROOT/tests/lib" run timeout 60 python3 - "$@"
}

# fill_history ROOM N SIZE: N events of SIZE bytes of data written straight
# into the room's history stream (as roomd writes them, without publishing):
# megabytes of history quickly.
fill_history() {
	PYTHONPATH="$ROOT/tests/lib" python3 -c '
import sys, wsraw
wsraw.fill_events(wsraw.Redis(int(sys.argv[1])), sys.argv[2],
                  int(sys.argv[3]), int(sys.argv[4]))' "$REDIS_PORT" "$@"
}

# --- 1. NUL bytes in text frames --------------------------------------------

@test "1: a raw NUL byte anywhere in a text frame is bad_json" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send(wsraw.text(b'{"type":"ping","ref":"a\x00b"}'),
       wsraw.text(b'{"type":"ping",\x00"ref":"x"}'),
       wsraw.text(b'{"type":"ping","ref":"end"}'))
fr = c.reply("end")
wsraw.show(fr)
js = [f["json"] for f in fr if f["op"] == "text"]
assert [j.get("code") for j in js] == ["bad_json", "bad_json", None], js
assert "ref" not in js[0] and "ref" not in js[1], js
EOF
	assert_success
}

@test "1: a frame with a NUL held back behind a join is bad_json and read within its bytes" {
	redis_start
	roomd_start n1
	# The join waits for its subscription, so the next frames of the same
	# TCP write are held back and run later: from their copy.
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
big = b'{"type":"ping",\x00"ref":"' + b"A" * 60000 + b'"}'
c.send(wsraw.text('{"type":"join","room":"nul1","ref":"j"}'),
       wsraw.text(big),
       wsraw.text(b'{"type":"ping","ref":"a\x00b"}'),
       wsraw.text('{"type":"ping","ref":"end"}'))
fr = c.reply("end")
wsraw.show(fr)
js = [f["json"] for f in fr if f["op"] == "text"]
replies = [j for j in js if j.get("type") in ("ok", "error")]
assert [(j["type"], j.get("ref"), j.get("code")) for j in replies] == [
    ("ok", "j", None), ("error", None, "bad_json"),
    ("error", None, "bad_json"), ("ok", "end", None)], replies
EOF
	assert_success
}

# --- 4. \u0000 in client strings --------------------------------------------

@test "4: \\u0000 in room, ref, key, type, event or data is bad_request" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "nulr", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
bad = [
    r'{"type":"join","room":"abc\u0000/../{x}","ref":1}',
    r'{"type":"ping","ref":"a\u0000b"}',
    r'{"type":"state.set","room":"nulr","key":"k\u0000x","value":1,"ref":3}',
    r'{"type":"ping\u0000junk","ref":4}',
    r'{"type":"publish","room":"nulr","event":"e\u0000x","ref":5}',
    r'{"type":"publish","room":"nulr","event":"e","data":{"s":"a\u0000b"},"ref":6}',
]
c.send(*[wsraw.text(b) for b in bad])
c.send_json({"type": "ping", "ref": "end"})
fr = c.reply("end")
wsraw.show(fr)
replies = [f["json"] for f in fr if f["op"] == "text" and
           f["json"].get("type") in ("ok", "error")]
assert [j.get("code") for j in replies] == ["bad_request"] * 6 + [None], \
    replies
# Refs that are fine are still echoed; the NUL ref is not echoed cut short.
assert [j.get("ref") for j in replies] == [1, None, 3, 4, 5, 6, "end"], \
    replies
assert not any(f["op"] == "text" and f["json"].get("type") == "event"
               for f in fr), fr
EOF
	assert_success
	# Nothing of it reached Redis.
	[ "$(redis_cli exists 'roomd:room:{abc}')" = 0 ]
	[ "$(redis_cli hlen 'roomd:room:{nulr}:state')" = 0 ]
}

# --- 5. refs echoed exactly, bounded -----------------------------------------

@test "5: a ref comes back as its exact JSON text" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
refs = ['123456789012345678901234567890', '1e999', '-0', '1.50',
        '"caf\\u00e9 \\"x\\""', '"\xc3\xa9"', '0.1e-7']
for r in refs:
    c.send(wsraw.text(('{"type":"ping","ref":%s}' % r).encode("latin-1")))
c.send(wsraw.text('{"type":"nope","ref":1e999}'))
c.send_json({"type": "ping", "ref": "end"})
fr = c.collect(lambda f: f["op"] == "text" and '"end"' in f["text"])
wsraw.show(fr)
texts = [f["text"].encode("utf-8") for f in fr if f["op"] == "text"]
want = [('{"type":"ok","ref":%s}' % r).encode("latin-1") for r in refs]
assert texts[:len(refs)] == want, (texts, want)
assert texts[len(refs)].startswith(b'{"type":"error","ref":1e999,'), texts
EOF
	assert_success
}

@test "5: a ref over 256 bytes of JSON, with a control character, or not a string or number is bad_request, without the ref" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "ping", "ref": "r" * 254})      # 256 bytes quoted: fine
c.send_json({"type": "ping", "ref": "r" * 255})
c.send_json({"type": "ping", "ref": int("9" * 300)})
c.send(wsraw.text(b'{"type":"ping","ref":"a\tb"}'))     # a raw tab
c.send(wsraw.text(b'{"type":"ping","ref":true}'))
c.send_json({"type": "ping", "ref": "end"})
fr = c.reply("end")
wsraw.show(fr)
js = [f["json"] for f in fr if f["op"] == "text"]
assert js[0] == {"type": "ok", "ref": "r" * 254}, js[0]
assert [(j["type"], j.get("code"), "ref" in j) for j in js[1:5]] == \
    [("error", "bad_request", False)] * 4, js
assert "ref" in js[1]["message"], js[1]
assert "control" in js[3]["message"], js[3]
EOF
	assert_success
}

# --- 6. seqs Redis refuses; log floods --------------------------------------

@test "6: a since Redis would refuse is bad_request, and no warn line per request" {
	redis_start
	roomd_start n1 --rate 1000
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "s6", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
top = "18446744073709551615-18446744073709551615"
frames = [wsraw.text({"type": "history", "room": "s6", "since": top,
                      "ref": k}) for k in range(200)]
frames.append(wsraw.text({"type": "join", "room": "s6b", "since": top,
                          "ref": "j2"}))
frames.append(wsraw.text({"type": "history", "room": "s6",
                          "since": "18446744073709551615-18446744073709551614",
                          "ref": "ok"}))
c.send(*frames)
fr = c.reply("ok", timeout=10)
js = [f["json"] for f in fr if f["op"] == "text" and
      f["json"].get("type") in ("ok", "error")]
assert len(js) == 202, len(js)
assert all(j.get("code") == "bad_request" for j in js[:201]), js[:3]
assert js[201]["type"] == "ok" and js[201]["events"] == [], js[201]
EOF
	assert_success
	run grep -c 'level=warn\|"level":"warn"' "$BATS_TEST_TMPDIR/n1.log"
	[ "${output:-0}" -le 3 ]
}

# --- 2. replies too big to send --------------------------------------------

@test "2: history pages stop at a byte budget with more:true, and the reader is never closed for its reply" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "big", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
EOF
	assert_success
	fill_history big 150 60000
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "big", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
seen, kinds, since, pages = [], [], None, 0
while True:
    req = {"type": "history", "room": "big", "limit": 1000, "ref": pages}
    if since is not None:
        req["since"] = since
    c.send_json(req)
    fr = c.reply(pages, timeout=10)
    r = wsraw.last_json(fr)
    assert r is not None and r["type"] == "ok", (pages, fr[-1:])
    size = [f["len"] for f in fr if f["op"] == "text"][-1]
    assert size <= 2 << 20, size          # a page is bounded in bytes
    assert r["more"] in (True, False), r.keys()
    seen += [e["seq"] for e in r["events"]]
    kinds += [e["type"] for e in r["events"]]
    pages += 1
    if not r["more"]:
        break
    assert r["events"], "a page with more:true holds at least one frame"
    assert r["seq"] == r["events"][-1]["seq"], r["seq"]
    since = r["seq"]
    assert pages < 100
assert len(seen) == len(set(seen)), "no frame twice"
# The newest-1000 window holds all 150 events (and the room's other
# frames: joins, the first client's leave).
events = [e for e in kinds if e == "event"]
assert len(events) == 150, len(events)
assert pages >= 5, pages
c.send_json({"type": "ping", "ref": "alive"})
assert wsraw.last_json(c.reply("alive"))["type"] == "ok"
EOF
	assert_success
}

@test "2: sixty big history requests from a client that does not read are held, not sent to Redis" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "big", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
EOF
	fill_history big 100 60000
	py "$(port_of n1)" "$REDIS_PORT" <<'EOF'
import sys, time, wsraw
port, rport = int(sys.argv[1]), int(sys.argv[2])
r = wsraw.Redis(rport)
def info(section, key):
    for line in r.cmd("INFO", section).split("\r\n"):
        if line.startswith(key):
            return line[len(key):]
    return "0"
c = wsraw.WS(port, rcvbuf=64 << 10)
c.send_json({"type": "join", "room": "big", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
c.send_json({"type": "history", "room": "big", "limit": 1000, "ref": "one"})
one = wsraw.last_json(c.reply("one", timeout=10))
assert one["type"] == "ok" and one["more"] is True, one.get("more")
def evalsha_calls():
    stat = info("commandstats", "cmdstat_evalsha:")
    return int(stat.split("calls=")[1].split(",")[0]) if "calls=" in stat else 0
# The node's own scripts (heartbeat, gc) in two quiet seconds.
r.cmd("CONFIG", "RESETSTAT")
time.sleep(2)
own = evalsha_calls()
r.cmd("CONFIG", "RESETSTAT")
base = int(info("memory", "used_memory:"))
# Sixty at once, and nothing read for two seconds: the node sends Redis
# only what fits the client's reply window (4 MiB: four 1 MiB pages) and
# what the node's socket buffer took in (up to tcp_wmem's maximum; the
# client's is fixed at 64 KiB), not sixty.
c.send(*[wsraw.text({"type": "history", "room": "big", "limit": 1000,
                     "ref": k}) for k in range(60)])
time.sleep(2)
ran = evalsha_calls()
peak = int(info("memory", "used_memory_peak:"))
with open("/proc/sys/net/ipv4/tcp_wmem") as f:
    kernel = int(f.read().split()[2]) >> 20
print("scripts run while not reading", ran, "own", own, "kernel pages",
      kernel, "redis peak over base", peak - base)
assert ran - own <= 4 + 2 + kernel, (ran, own, kernel)
assert peak - base < 40 << 20, peak - base
fr = c.reply(59, timeout=30)
js = [f["json"] for f in fr if f["op"] == "text" and
      f["json"].get("type") in ("ok", "error")]
assert [j.get("ref") for j in js] == list(range(60)), \
    [(j.get("ref"), j.get("code")) for j in js]
assert all(j["type"] == "ok" and j["more"] for j in js), "all pages"
EOF
	assert_success
}

@test "2: join with an old since gets every missed frame, in batches, then recovered:true" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "big", "ref": "j"})
fr = c.reply("j")
print([f["json"]["seq"] for f in fr if f["op"] == "text" and f["json"]["type"] == "ok"][0])
EOF
	assert_success
	S=${lines[-1]}
	fill_history big 150 60000
	py "$(port_of n1)" "$S" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "big", "since": sys.argv[2], "ref": "j"})
fr = c.reply("j", timeout=20)
ops = [f["op"] for f in fr]
assert "close" not in ops and "eof" not in ops and "reset" not in ops, fr[-1]
r = wsraw.last_json(fr)
assert r["type"] == "ok" and r["recovered"] is True, r
ev = [f["json"]["event"] for f in fr if f["op"] == "text" and
      f["json"].get("type") == "event"]
assert ev == ["e%d" % k for k in range(150)], (len(ev), ev[:3])
fr = c.collect(lambda f: f["op"] == "text" and
               f["json"].get("type") == "member_joined", timeout=5)
assert fr and fr[-1]["json"]["type"] == "member_joined", fr
EOF
	assert_success
}

@test "2: a room's state is bounded by --max-state: too_large, then room again after a delete" {
	redis_start
	roomd_start n1 --max-state 100000
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "st", "ref": "j"})
c.reply("j")
v = "x" * 30000
def st(ref, key, value):
    c.send_json({"type": "state.set", "room": "st", "key": key,
                 "value": value, "ref": ref})
    return wsraw.last_json(c.reply(ref))
assert st(1, "k1", v)["type"] == "ok"
assert st(2, "k2", v)["type"] == "ok"
assert st(3, "k3", v)["type"] == "ok"
r = st(4, "k4", v)
assert r["type"] == "error" and r["code"] == "too_large", r
assert "100000" in r["message"], r
assert st(5, "k1", v + "y")["type"] == "ok"      # same size: fits
assert st(6, "k2", None)["type"] == "ok"         # a delete frees room
assert st(7, "k4", v)["type"] == "ok"
c.send_json({"type": "state.get", "room": "st", "ref": 8})
r = wsraw.last_json(c.reply(8))
assert sorted(r["state"]) == ["k1", "k3", "k4"], sorted(r["state"])
EOF
	assert_success
}

@test "2: after many big state.sets at the default bound, a new member can still join" {
	redis_start
	roomd_start n1 --rate 1000
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
port = int(sys.argv[1])
c = wsraw.WS(port)
c.send_json({"type": "join", "room": "st", "ref": "j"})
c.reply("j")
v = "x" * 60000
c.send(*[wsraw.text({"type": "state.set", "room": "st", "key": "k%d" % k,
                     "value": v, "ref": k}) for k in range(150)])
fr = c.reply(149, timeout=30)
codes = [f["json"].get("code") for f in fr if f["op"] == "text" and
         f["json"].get("type") in ("ok", "error")]
assert len(codes) == 150, len(codes)
assert "too_large" in codes, codes
d = wsraw.WS(port)
d.send_json({"type": "join", "room": "st", "ref": "j"})
fr = d.reply("j", timeout=10)
r = wsraw.last_json(fr)
assert r is not None and r["type"] == "ok", fr[-1:]
EOF
	assert_success
}

@test "2: a catch-up after the subscription comes back goes out in batches the reader can take" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" "$REDIS_PORT" <<'EOF'
import sys, time, wsraw
port, rport = int(sys.argv[1]), int(sys.argv[2])
c = wsraw.WS(port)
c.send_json({"type": "join", "room": "big", "ref": "j"})
c.reply("j")
c.collect(lambda f: f["op"] == "text" and
          f["json"].get("type") == "member_joined", timeout=5)
r = wsraw.Redis(rport)
# Frames the node never heard live: in history only. Then the node's
# subscription connection drops; when it is back, the node reads them.
wsraw.fill_events(r, "big", 150, 60000)
r.cmd("CLIENT", "KILL", "TYPE", "pubsub")
fr = c.collect(lambda f: f["op"] != "text" or
               f["json"].get("event") == "e149", timeout=20)
ops = [f["op"] for f in fr]
assert ops and all(o == "text" for o in ops), fr[-1:]
ev = [f["json"]["event"] for f in fr if f["json"].get("type") == "event"]
assert ev == ["e%d" % k for k in range(150)], (len(ev), ev[:3])
c.send_json({"type": "ping", "ref": "alive"})
assert wsraw.last_json(c.reply("alive"))["type"] == "ok"
EOF
	assert_success
}

# --- 3. a room left behind by a Redis stall ---------------------------------

@test "3: a join caught in a Redis stall leaves no room behind (/healthz rooms back to 0)" {
	redis_start
	roomd_start n1
	run http_body n1 /healthz
	[ "$(jq .rooms <<<"$output")" = 0 ]
	redis_cli client pause 14000 write >/dev/null
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "stall", "ref": "j"})
r = wsraw.last_json(c.reply("j", timeout=25))
assert r and r.get("code") == "unavailable", r
c.close()
EOF
	assert_success
	redis_cli client unpause >/dev/null
	wait_for 15 eval '[ "$(http_body n1 /healthz | jq .rooms)" = 0 ]'
	wait_for 10 eval '[ "$(http_body n1 /healthz | jq .conns)" = 0 ]'
}

# --- 7. closing a flooder ----------------------------------------------------

@test "7: a client closed for flooding gets the replies of what was carried out, then the close" {
	redis_start
	roomd_start n1 --rate 5
	py "$(port_of n1)" <<'EOF'
import sys, time, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "fl", "ref": "j"})
c.reply("j")
time.sleep(1.2)                    # the bucket is full again
c.send(*[wsraw.text({"type": "publish", "room": "fl", "event": "e",
                     "data": k, "ref": k}) for k in range(60)])
fr = c.collect(lambda f: f["op"] != "text", timeout=10)
wsraw.show(fr)
assert fr[-1]["op"] == "close" and fr[-1]["code"] == 1008, fr[-1]
js = [f["json"] for f in fr if f["op"] == "text" and "ref" in f["json"]]
oks = [j["ref"] for j in js if j["type"] == "ok"]
limited = [j["ref"] for j in js if j.get("code") == "rate_limited"]
print("ok", oks, "rate_limited", len(limited))
assert oks and oks == list(range(len(oks))), oks
assert limited, "the refused ones are told so"
print("OKS", len(oks))
EOF
	assert_success
	oks=$(sed -n 's/^OKS //p' <<<"$output")
	# Every publish answered ok is in history, and no other.
	[ "$(room_events fl | wc -l)" = "$oks" ]
}

@test "7: ten thousand tiny frames in one write: the close frame arrives, not a reset" {
	redis_start
	roomd_start n1 --rate 5
	py "$(port_of n1)" <<'EOF'
import sys, threading, wsraw
c = wsraw.WS(int(sys.argv[1]))
one = wsraw.text('{"type":"ping"}')
def flood():
    try:
        c.send(one * 10000)
    except OSError as e:          # the node may hang up while we write
        print("send:", e)
w = threading.Thread(target=flood)
w.start()
fr = c.collect(lambda f: f["op"] != "text", timeout=10)
w.join()
print(fr[-1])
assert fr[-1]["op"] == "close" and fr[-1]["code"] == 1008, fr[-1]
EOF
	assert_success
}

# --- 10. header and handshake limits -----------------------------------------

@test "10: a 5 KB token gets 401 (bad) or 101 (good), never a dropped connection" {
	redis_start
	SECRET=hardening-secret
	roomd_start n1 --auth-secret "$SECRET"
	pats=$(python3 -c 'import json; print(json.dumps(["room-%03d-abcdefghij-*" % k for k in range(200)]))')
	good=$(jwt_make "$SECRET" '{"alg":"HS256","typ":"JWT"}' \
	    "{\"sub\":\"alice\",\"exp\":$(($(date +%s) + 600)),\"rooms\":$pats}")
	[ "${#good}" -gt 5000 ] && [ "${#good}" -lt 8192 ]
	bad="${good%?}x"
	run upgrade_code n1 "" "Authorization: Bearer $good"
	assert_output 101
	run upgrade_code n1 "token=$good"
	assert_output 101
	run upgrade_code n1 "" "Authorization: Bearer $bad"
	assert_output 401
	run upgrade_code n1 "token=$bad"
	assert_output 401
	# Over the token limit, and over any header limit: still an answer.
	huge=$(head -c 12000 /dev/zero | tr '\0' a)
	run upgrade_code n1 "" "Authorization: Bearer $huge"
	[[ "$output" = 401 || "$output" = 431 ]]
	# Headers past the header buffer (16 KiB: an 8 KiB token and the
	# rest) are dropped by lws; the node goes on.
	run upgrade_code n1 "" "X-Filler: $(head -c 40000 /dev/zero | tr '\0' b)"
	[ "$output" != 101 ]
	run upgrade_code n1 "" "Authorization: Bearer $good"
	assert_output 101
}

@test "10: an unmasked client frame is closed with 1002" {
	# libwebsockets 4.1 accepts unmasked client frames and tells its user
	# nothing of the mask bit (no API, no callback sees the header), so
	# roomd cannot refuse them without a patched lws.
	skip "lws 4.1 gives roomd no way to see the mask bit"
	redis_start
	roomd_start n1
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send(wsraw.text('{"type":"ping","ref":1}', mask=False))
fr = c.collect(lambda f: f["op"] != "text", timeout=5)
print(fr)
assert fr and fr[-1]["op"] == "close" and fr[-1]["code"] == 1002, fr
assert not any(f["op"] == "text" and f["json"].get("ref") == 1 for f in fr)
EOF
	assert_success
}

@test "10: connections that never upgrade are bounded, and the node still serves" {
	redis_start
	roomd_start n1 --max-conns 8
	# Healthy before the flood, so the check after it means "still".
	wait_for 5 healthz_is n1 200
	py "$(port_of n1)" <<'EOF'
import sys, socket, time, select
port = int(sys.argv[1])
socks = []
for k in range(200):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\n")     # and no more
    socks.append(s)
# Within two seconds (far below the 10 s handshake timeout) the node has
# hung up on all but a bounded number of them.
deadline = time.monotonic() + 2
open_ = set(socks)
while time.monotonic() < deadline and len(open_) > 64:
    r, _, _ = select.select(list(open_), [], [], 0.2)
    for s in r:
        try:
            if s.recv(4096) == b"":
                open_.discard(s)
        except OSError:
            open_.discard(s)
print("still open", len(open_))
assert len(open_) <= 64, len(open_)
EOF
	assert_success
	run http_code n1 /healthz
	assert_output 200
}

@test "2: a member that does not read delays a catch-up for the others by seconds at most" {
	redis_start
	roomd_start n1
	py "$(port_of n1)" "$REDIS_PORT" <<'EOF'
import sys, time, wsraw
port, rport = int(sys.argv[1]), int(sys.argv[2])
reader, staller = wsraw.WS(port), wsraw.WS(port)
for c in (reader, staller):
    c.send_json({"type": "join", "room": "big", "ref": "j"})
    c.reply("j")
reader.collect(lambda f: f["op"] == "text" and
               f["json"].get("type") == "member_joined" and
               f["json"]["member"]["conn"] == staller.welcome["json"]["conn"],
               timeout=5)
r = wsraw.Redis(rport)
wsraw.fill_events(r, "big", 150, 60000)
t0 = time.monotonic()
r.cmd("CLIENT", "KILL", "TYPE", "pubsub")
# The staller reads nothing; the reader gets everything, in order.
fr = reader.collect(lambda f: f["op"] != "text" or
                    f["json"].get("event") == "e149", timeout=20)
took = time.monotonic() - t0
ev = [f["json"]["event"] for f in fr if f["op"] == "text" and
      f["json"].get("type") == "event"]
print("reader caught up in %.1f s" % took)
assert ev == ["e%d" % k for k in range(150)], (len(ev), fr[-1:])
assert took < 12, took
# The staller, reading at last, finds what fitted its socket and its
# queue, or its close as a slow consumer when they did not.
fr = staller.collect(lambda f: f["op"] != "text" or
                     f["json"].get("event") == "e149", timeout=20)
assert fr and (fr[-1]["op"] == "text" or fr[-1].get("code") == 4008), \
    fr[-1:]
EOF
	assert_success
}

@test "2: a client that sends faster than its held requests can run is not read from, then served in order" {
	redis_start
	roomd_start n1 --rate 100000
	py "$(port_of n1)" <<'EOF'
import sys, wsraw
c = wsraw.WS(int(sys.argv[1]))
c.send_json({"type": "join", "room": "big", "ref": "j"})
assert wsraw.last_json(c.reply("j"))["type"] == "ok"
EOF
	fill_history big 30 60000
	py "$(port_of n1)" <<'EOF'
import sys, threading, time, wsraw
port = int(sys.argv[1])
c = wsraw.WS(port)
c.send_json({"type": "join", "room": "big", "ref": "j"})
c.reply("j")
pad = "p" * 60000
# Eight pages of history fill its reply window; then 700 pings of 60 KB
# (42 MB) while reading nothing: the node holds them back, and past 1 MiB
# held stops reading, so the writer blocks instead of the node buffering
# them all.
frames = [wsraw.text('{"type":"ping","ref":%d,"pad":"%s"}' % (k, pad))
          for k in range(700)]
first = [wsraw.text({"type": "history", "room": "big", "limit": 1000,
                     "ref": "f%d" % k}) for k in range(8)]
sent = [0]
def writer():
    try:
        c.s.sendall(b"".join(first))
        for f in frames:
            c.s.sendall(f)
            sent[0] += 1
    except OSError as e:
        print("send:", e)
w = threading.Thread(target=writer)
w.start()
time.sleep(3)
print("sent while not reading:", sent[0])
assert sent[0] < 650, sent[0]
fr = c.reply(699, timeout=60)
w.join(10)
js = [f["json"] for f in fr if f["op"] == "text" and
      f["json"].get("type") in ("ok", "error")]
refs = [j["ref"] for j in js]
assert refs == ["f%d" % k for k in range(8)] + list(range(700)), refs[:12]
assert all(j["type"] == "ok" for j in js), [j for j in js if j["type"] != "ok"][:1]
EOF
	assert_success
}
