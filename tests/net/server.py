#!/usr/bin/env python3
"""HTTPS server for test_net (python3 stdlib only).

Listens on 127.0.0.1, port chosen by the system; the port is the first line
on stdout. Routes:

  GET  /ok              200 {"ok": true}
  GET  /slow            sleeps 120 s (longer than any test waits), then 200
  GET  /big             2 MiB body with Content-Length
  GET  /big-chunked     2 MiB body, chunked, no Content-Length
  GET  /ratelimit       429, Retry-After: 7
  GET  /ratelimit-date  429, Retry-After: an HTTP-date an hour ahead
  GET  /redirect        302 to /ok
  GET  /redirect-http   302 to http://127.0.0.1:<port>/ok (plain http)
  ANY  /echo            200, JSON: method, path, headers (names lowercased), body

Usage: server.py --cert server.pem --key server.key [--verbose]
"""

import argparse
import email.utils
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = 2 * 1024 * 1024
PIECE = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "tremplin-test"

    def setup(self):
        super().setup()
        # The handshake happens here, in this connection's thread, so that a
        # client that gives up on our certificate does not stall accept().
        self.connection.do_handshake()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("server: " + (fmt % args) + "\n")

    def reply(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        path = self.path.split("?", 1)[0]
        if path == "/echo":
            return self.echo()
        if self.command not in ("GET", "HEAD"):
            return self.reply(405, b'{"error": "method"}', headers=[("Allow", "GET, HEAD")])
        if path == "/ok":
            return self.reply(200, b'{"ok": true}')
        if path == "/slow":
            # The tests that use it end it first (a timeout, a cancel): answering
            # sooner would let a slow run see an answer it does not expect.
            time.sleep(120)
            return self.reply(200, b'{"slow": true}')
        if path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            for _ in range(BIG // PIECE):
                self.wfile.write(b"x" * PIECE)
            return None
        if path == "/big-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(BIG // PIECE):
                self.wfile.write(b"%x\r\n" % PIECE + b"x" * PIECE + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/ratelimit":
            return self.reply(429, b'{"error": "slow down"}', headers=[("Retry-After", "7")])
        if path == "/ratelimit-date":
            when = email.utils.formatdate(time.time() + 3600, usegmt=True)
            return self.reply(429, b'{"error": "slow down"}', headers=[("Retry-After", when)])
        if path == "/redirect":
            return self.reply(302, b"", headers=[("Location", "/ok")])
        if path == "/redirect-http":
            port = self.server.server_address[1]
            return self.reply(302, b"", headers=[("Location", "http://127.0.0.1:%d/ok" % port)])
        return self.reply(404, b'{"error": "not found"}')

    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        doc = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        self.reply(200, json.dumps(doc).encode())

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except OSError:
            # The client hung up (a timeout, a body over its cap, a cancel).
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = route


class Server(ThreadingHTTPServer):
    daemon_threads = True
    verbose = False

    def handle_error(self, request, client_address):
        # Refused handshakes (the wrong-CA tests) and hang-ups are expected.
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.verbose = args.verbose
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
