"""A local HTTPS receiver of webhooks for the tests: a CA the test makes (openssl
CLI), a server certificate for localhost from it, Python's http.server with ssl.

Each request is recorded (path, headers, body); what it answers is decided per
path by `script`: a list of (status, headers) answered in turn, the last one
kept (default 200); a third element is seconds to wait before answering.
"""

import http.server
import os
import ssl
import subprocess
import threading
import time


def make_ca(directory):
    """ca.pem, server.pem and server.key in directory (P-256 keys, two days)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True,
                       capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Tremplin test CA", "-days", "2")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return os.path.join(directory, "ca.pem")


class Receiver:
    def __init__(self, directory):
        self.requests = []
        self.script = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with receiver.lock:
                    receiver.requests.append({"path": self.path,
                                              "headers": {k.lower(): v for k, v
                                                          in self.headers.items()},
                                              "body": body.decode()})
                    steps = receiver.script.get(self.path) or [(200, {})]
                    step = steps.pop(0) if len(steps) > 1 else steps[0]
                status, headers = step[0], step[1]
                if len(step) > 2:
                    time.sleep(step[2])  # a slow receiver
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client went (a timeout, a killed daemon)

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 512  # many connections at once (bench/webhooks.py)
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(directory, "server.pem"),
                            os.path.join(directory, "server.key"))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "https://localhost:%d%s" % (self.port, path)

    def got(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
