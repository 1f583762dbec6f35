# wsraw.py: a raw WebSocket and Redis client for tests that must put exact
# bytes on the wire (NUL bytes, unmasked frames, many frames in one TCP
# write, oversize headers) and see exactly what comes back (close codes, a
# TCP reset rather than a close frame). Python 3 standard library only.
#
# Use from a test:  python3 - "$PORT" <<'EOF'
#                   import sys; sys.path.insert(0, "tests/lib"); import wsraw
#
# Every wait is bounded: recv() and collect() take a timeout in seconds.
import base64
import json
import os
import socket
import struct
import time


class Closed(Exception):
    pass


def frame(opcode, payload, mask=True, fin=True):
    """One WebSocket frame: opcode, bytes payload, masked unless told."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    body = bytes(c ^ key[i % 4] for i, c in enumerate(payload)) \
        if n < 4096 else _mask_fast(payload, key)
    return hdr + key + body


def _mask_fast(payload, key):
    n = len(payload)
    k = int.from_bytes((key * ((n + 3) // 4))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


def text(obj, mask=True):
    """A text frame of obj: bytes and str as they are, else JSON."""
    if not isinstance(obj, (bytes, str)):
        obj = json.dumps(obj, separators=(",", ":"))
    return frame(0x1, obj, mask)


def http_status(port, path="/ws", headers=(), timeout=5):
    """The status an upgrade request of path gets (0: no answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(_upgrade_request(port, path, headers))
        data = b""
        while b"\r\n" not in data:
            try:
                chunk = s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                return 0
            if not chunk:
                return 0
            data += chunk
        return int(data.split(b" ", 2)[1])
    finally:
        s.close()


def _upgrade_request(port, path, headers):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port,
             "Connection: Upgrade", "Upgrade: websocket",
             "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + key]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class WS:
    """A client connection; raises Closed if the upgrade is refused."""

    def __init__(self, port, path="/ws", headers=(), timeout=5,
                 rcvbuf=None):
        # rcvbuf: a fixed receive buffer, set before connecting, so the
        # kernel does not grow it (to tcp_rmem's maximum) for a client
        # that does not read.
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        self.s.connect(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.sendall(_upgrade_request(port, path, headers))
        self.buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ", 2)[1])
        if self.status != 101:
            raise Closed("upgrade refused: %d" % self.status)
        self.welcome = self.recv(timeout)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.s.settimeout(left)
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise EOFError()
        self.buf += chunk

    def send(self, *frames):
        """Write frames (bytes from frame()/text()) in one TCP write."""
        self.s.sendall(b"".join(frames))

    def send_json(self, obj):
        self.send(text(obj))

    def recv(self, timeout=5):
        """The next frame as a dict: {"op":"text","json":...,"text":...},
        {"op":"close","code":N,"reason":S}, {"op":"eof"}, {"op":"reset"},
        or None after timeout seconds. Pings are answered."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self._parse()
                while f is None:
                    self._fill(deadline)
                    f = self._parse()
            except socket.timeout:
                return None
            except EOFError:
                return {"op": "eof"}
            except ConnectionResetError:
                return {"op": "reset"}
            op, payload = f
            if op == 0x9:
                self.send(frame(0xA, payload))
                continue
            if op == 0x1:
                t = payload.decode("utf-8", "replace")
                try:
                    j = json.loads(t)
                except ValueError:
                    j = None
                return {"op": "text", "text": t, "json": j,
                        "len": len(payload)}
            if op == 0x8:
                try:        # answer the close, as a client should
                    self.send(frame(0x8, payload[:2]))
                except OSError:
                    pass
                code = struct.unpack("!H", payload[:2])[0] \
                    if len(payload) >= 2 else None
                return {"op": "close", "code": code,
                        "reason": payload[2:].decode("utf-8", "replace")}
            return {"op": "other", "opcode": op}

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        n = b[1] & 0x7F
        off = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack("!H", b[2:4])[0]
            off = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack("!Q", b[2:10])[0]
            off = 10
        if b[1] & 0x80:
            off += 4        # a server must not mask, but skip it if it does
        if len(b) < off + n:
            return None
        self.buf = b[off + n:]
        return b[0] & 0x0F, b[off:off + n]

    def collect(self, until=None, timeout=5, count=None):
        """Frames until until(frame) is true (that one included), count
        frames, the connection ends, or timeout seconds pass."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            f = self.recv(left)
            if f is None:
                return out
            out.append(f)
            if f["op"] in ("eof", "reset"):
                return out
            if until is not None and until(f):
                return out
            if count is not None and len(out) >= count:
                return out

    def reply(self, ref, timeout=5):
        """Frames up to and including the reply carrying ref."""
        return self.collect(lambda f: f["op"] == "text" and
                            isinstance(f["json"], dict) and
                            f["json"].get("ref") == ref and
                            f["json"].get("type") in ("ok", "error"),
                            timeout)

    def close(self):
        self.s.close()


def last_json(frames):
    for f in reversed(frames):
        if f["op"] == "text":
            return f["json"]
    return None


def show(frames):
    """Print frames one per line as compact JSON (for test logs)."""
    for f in frames:
        if f["op"] == "text":
            print(f["text"] if f["len"] < 300 else
                  f["text"][:200] + "...(%d bytes)" % f["len"])
        else:
            print(json.dumps(f))


def _resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Redis:
    """A pipelining Redis client: enough for XADD, HSET and CLIENT."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout)
        self.f = self.s.makefile("rb")

    def pipeline(self, cmds):
        self.s.sendall(b"".join(_resp(c) for c in cmds))
        return [self._read() for _ in cmds]

    def cmd(self, *args):
        return self.pipeline([args])[0]

    def _read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ValueError("bad RESP: %r" % line)


def fill_events(redis, room, n, size, prefix="roomd:"):
    """Write n event frames of size bytes of data into a room's history
    stream, the way roomd writes them but without publishing them."""
    data = "A" * size
    key = "%sroom:{%s}:events" % (prefix, room)
    for k in range(0, n, 20):
        cmds = []
        for j in range(k, min(n, k + 20)):
            f = ('{"type":"event","room":"%s","ts":1,"from":{"conn":null,'
                 '"user":"roomctl"},"event":"e%d","data":"%s"}'
                 % (room, j, data))
            cmds.append(("XADD", key, "*", "f", f))
        for rep in redis.pipeline(cmds):
            assert "-" in rep, rep
