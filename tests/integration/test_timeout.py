"""request_timeout: a stalled client is cut off while the others are served.

The daemon runs with request_timeout = 1; the tests only check that a
stalled connection is closed within a generous bound (GIVE_UP), never how
quickly.
"""

import http.client
import io
import socket
import time

import pytest

import tremplin_test as tt

GIVE_UP = 10.0  # seconds; far above the 1 s timeout, so only a daemon that never closes fails


@pytest.fixture(scope="module")
def slow_daemon():
    d = tt.Daemon(request_timeout=1)
    try:
        d.start()
        yield d
        rc = d.stop()
        assert rc == 0, d.log()
        d.check_log()
    finally:
        d.cleanup()


def closed_within(sock, bound):
    """Read until EOF; returns (closed, bytes read)."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + bound
    data = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True, data
        if not chunk:
            return True, data
        data += chunk
    return False, data


def check_any_answer(data, path):
    """If the daemon said something before closing, it must be a documented answer."""
    if not data:
        return

    class FakeSock:
        def makefile(self, *a, **k):
            return io.BytesIO(data)

    r = http.client.HTTPResponse(FakeSock(), method="GET")
    r.begin()
    tt.openapi_check("GET", path, tt.make_answer(r.status, r.getheaders(), r.read()))


STALLS = {
    "inside the request line": b"GET /v1/hea",
    "inside the headers": b"GET /v1/health HTTP/1.1\r\nHost: tremplin\r\n",
    "inside the body": (b"POST /v1/structures HTTP/1.1\r\nHost: tremplin\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na"),
    "idle keep-alive": b"",
}


@pytest.mark.parametrize("stall", list(STALLS), ids=list(STALLS))
def test_stalled_client__disconnected_while_others_are_served(slow_daemon, stall):
    d = slow_daemon
    before = len(d.list_all("/v1/structures"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.socket)
    try:
        if stall == "idle keep-alive":
            # One complete exchange, then silence on the open connection.
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: tremplin\r\n\r\n")
            resp = http.client.HTTPResponse(s, method="GET")
            resp.begin()
            resp.read()
            assert resp.status == 200
        else:
            s.sendall(STALLS[stall])
        # Meanwhile, other clients are served, on new connections and on a
        # keep-alive one.
        with d.new_client() as c:
            for _ in range(3):
                assert c.get("/v1/health").status == 200
                with d.new_client() as w:
                    assert w.post("/v1/structures", tt.structure_body()).status == 201
        closed, data = closed_within(s, GIVE_UP)
        assert closed, "a client stalled %s was still connected after %ss" % (stall, GIVE_UP)
        check_any_answer(data, "/v1/health")
    finally:
        s.close()
    # The half-sent body was never taken as a request.
    assert len(d.list_all("/v1/structures")) == before + 3
    assert d.get("/v1/health").status == 200


def test_many_stalled_clients__do_not_block_service(slow_daemon):
    d = slow_daemon
    stalled = []
    try:
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket)
            s.sendall(b"POST /v1/structures HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
            stalled.append(s)
        a = d.get("/v1/whoami")
        assert a.status == 200, a
        for s in stalled:
            closed, data = closed_within(s, GIVE_UP)
            assert closed
    finally:
        for s in stalled:
            s.close()
