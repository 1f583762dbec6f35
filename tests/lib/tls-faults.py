#!/usr/bin/env python3
"""tls-faults.py MODE PORT [COUNT]: misbehave at a roomd TLS port on
127.0.0.1 and print how the server ended it: "closed after N.N s" (EOF or
reset) or "open after N.N s" when it was still open at the 30 s bound.

  garbage   2 KiB of bytes that cannot begin a TLS record
  stall     a fragment of a record header, then nothing
  big       a 100 KB ClientHello, in 16 KB records
  plain     a plain HTTP WebSocket upgrade, as a ws:// client sends it

COUNT connections at once (1): every one must end."""
import os
import socket
import sys
import time


def start(mode, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        if mode == "garbage":
            # Not all random: about one run in 256 would begin with bytes
            # OpenSSL reads as a record header (major version 3, or an
            # SSLv2 hello), and rightly wait for the rest of that record
            # until the handshake timeout.  Type 0, version 0.x is refused
            # on the first read, which is what this mode tests.
            s.sendall(b"\x00\x00" + os.urandom(2046))
        elif mode == "stall":
            s.sendall(b"\x16\x03\x01\x02")
        elif mode == "big":
            n = 100000
            body = (b"\x03\x03" + os.urandom(32) + b"\x00\x00\x02\x13\x01"
                    + b"\x01\x00")
            hs = b"\x01" + n.to_bytes(3, "big") + (body + b"\x00" * n)[:n]
            for i in range(0, len(hs), 16000):
                c = hs[i:i + 16000]
                s.sendall(b"\x16\x03\x01" + len(c).to_bytes(2, "big") + c)
        elif mode == "plain":
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"Sec-WebSocket-Version: 13\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    except OSError:
        pass  # the server hung up while we were still sending
    return s


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    t0 = time.time()
    socks = [start(mode, port) for _ in range(count)]
    worst = 0.0
    for s in socks:
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            print("open after %.1f s" % (time.time() - t0))
            return 1
        except OSError:
            pass
        worst = time.time() - t0
        s.close()
    print("closed after %.1f s" % worst)
    return 0


sys.exit(main())
