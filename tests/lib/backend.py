#!/usr/bin/env python3
"""backend.py: the application back end the tests start (BACKEND.md).

A real HTTP/1.1 server on 127.0.0.1 that records every request it gets as
one JSON line in LOG ({"t", "path", "headers", "body", "json"}) and answers
as the rules file says. The rules file is read again for every request, so
a test changes the answers by rewriting it. It maps a path to one answer or
to a list of answers used in turn (the last one repeats):

  {"status": 200, "json": {...}}     JSON answer
  {"status": 500, "body": "text"}    raw body
  {"delay": 0.5, ...}                answer after a while
  {"hang": true}                     never answer (until the client gives up)
  {"big": 10485760}                  a 200 with that many bytes of JSON junk
  {"close": true}                    drop the connection without answering
  {"echo_data": true}                publish hook: {"data": <data>} back

Paths without a rule get 200 {}. Usage:
  backend.py --port PORT --log FILE --rules FILE [--port-file FILE] [--quiet]
(--quiet: count requests in LOG.count instead of recording them; for the
bench.)
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNTS = {}


def rule_for(path):
    try:
        with open(ARGS.rules) as f:
            rules = json.load(f)
    except (OSError, ValueError):
        rules = {}
    r = rules.get(path, rules.get("*", {}))
    if isinstance(r, list):
        with LOCK:
            i = COUNTS.get(path, 0)
            COUNTS[path] = i + 1
        r = r[min(i, len(r) - 1)] if r else {}
    return r


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and the
    # client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        rec = {
            "t": int(time.time() * 1000),
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": text,
            "json": parsed,
        }
        with LOCK:
            if ARGS.quiet:
                COUNTS["requests"] = COUNTS.get("requests", 0) + 1
            else:
                with open(ARGS.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
        r = rule_for(self.path) if not ARGS.quiet else {}
        if r.get("delay"):
            time.sleep(float(r["delay"]))
        if r.get("hang"):
            time.sleep(3600)
            return
        if r.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = int(r.get("status", 200))
        if r.get("big"):
            size = int(r["big"])
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b" " * 65536
            left = size
            try:
                while left > 0:
                    k = min(left, len(chunk))
                    self.wfile.write(chunk[:k])
                    left -= k
            except OSError:
                pass
            return
        if r.get("echo_data"):
            body = json.dumps({"data": (parsed or {}).get("data")}).encode()
        elif "json" in r:
            body = json.dumps(r["json"]).encode()
        else:
            body = r.get("body", "{}").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--port-file")
    p.add_argument("--quiet", action="store_true")
    ARGS = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
