"""Raw HTTP/1.1 over the daemon's socket: bytes out, parsed answers back.

For the tests of the connection layer, which send what no HTTP library would.
"""

import http.client
import io
import json
import socket
import time

GIVE_UP = 30.0  # seconds; only decides when a test stops waiting


class _Unclosable(io.BytesIO):
    """http.client closes its file after each answer; the next one follows."""

    def close(self):
        pass


class RawAnswer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = body
        self.body = None
        if self.headers.get("content-type", "").startswith("application/json") and body:
            self.body = json.loads(body.decode("utf-8"))

    @property
    def error(self):
        return (self.body or {}).get("error")

    @property
    def closes(self):
        return self.headers.get("connection", "").lower() == "close"

    def __repr__(self):
        return "RawAnswer(%d, %r, %r)" % (self.status, self.headers, self.raw[:300])


def parse_answers(data, method="GET"):
    """Every answer in data, in order (a 100 Continue included)."""
    out = []
    f = _Unclosable(data)

    class FakeSock:
        def makefile(self, *a, **k):
            return f

    while f.tell() < len(data):
        start = f.tell()
        if f.readline().startswith(b"HTTP/1.1 100 "):
            while f.readline() not in (b"\r\n", b""):
                pass
            out.append(RawAnswer(100, [], b""))
            continue
        f.seek(start)
        r = http.client.HTTPResponse(FakeSock(), method=method)
        r.begin()
        out.append(RawAnswer(r.status, r.getheaders(), r.read()))
    return out


def connect(d, timeout=GIVE_UP):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(d.socket)
    return s


def read_until_closed(s, bound=GIVE_UP):
    """Read until EOF: (bytes, closed)."""
    s.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def read_answers(s, n, method="GET", bound=GIVE_UP):
    """Read until n whole answers have arrived (or EOF); returns (answers, closed)."""
    s.settimeout(0.2)
    data = b""
    closed = False
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            answers = parse_answers(data, method)
            if len(answers) >= n:
                return answers, False
        except (http.client.HTTPException, ValueError):
            pass
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    return parse_answers(data, method), closed


def exchange(d, data, method="GET"):
    """Send data on a new connection, read to EOF: (answers, closed)."""
    s = connect(d)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw, closed = read_until_closed(s)
        return parse_answers(raw, method), closed
    finally:
        s.close()
