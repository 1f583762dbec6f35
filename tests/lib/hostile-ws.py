#!/usr/bin/env python3
# hostile-ws.py MODE PORTFILE: a WebSocket server that roomctl sim must not
# trust, for tests/sim.bats. It listens on a free loopback port (written to
# PORTFILE), accepts one client's upgrade, then never reads another byte and
# floods it: MODE "frames" sends text frames without end, "pings" pings.
# Stdlib only; exits when the client goes away, or after 60 s.
import base64
import hashlib
import os
import signal
import socket
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    else:
        head = bytes([0x80 | opcode, 126, n >> 8, n & 0xFF])
    return head + payload


def main():
    mode, portfile = sys.argv[1], sys.argv[2]
    signal.alarm(60)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small receive buffer: the client's pongs back up sooner.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)

    s, _ = ls.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = s.recv(4096)
        if not chunk:
            return
        req += chunk
    key = b""
    for line in req.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    s.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Protocol: roomd.v1\r\n"
              b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    if mode == "frames":
        batch = b"".join(frame(0x1, b'{"type":"flood","n":%d,"pad":"%s"}'
                               % (i, b"x" * 200)) for i in range(1000))
    else:
        batch = frame(0x9, b"p" * 125) * 1000
    try:
        while True:
            s.sendall(batch)
    except OSError:
        pass


if __name__ == "__main__":
    main()
