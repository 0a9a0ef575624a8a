"""Connection caps, running out of descriptors, and a polite shutdown."""

import resource
import signal
import socket

import http_raw as hr
import tremplin_test as tt

HEALTH = b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n"


def served_connection(d):
    """A keep-alive connection that has had one answer (so the daemon counts it)."""
    s = hr.connect(d)
    s.sendall(HEALTH)
    answers, closed = hr.read_answers(s, 1)
    assert [a.status for a in answers] == [200] and not closed, answers
    return s


def test_per_user_cap__fifth_connection_refused_429_other_user_served(make_daemon):
    tt.require_root()
    d = make_daemon(extra={"max_connections_per_user": 4})
    held = [served_connection(d) for _ in range(4)]
    try:
        for _ in range(3):
            s = hr.connect(d)
            raw, closed = hr.read_until_closed(s)
            s.close()
            answers = hr.parse_answers(raw)
            assert [a.status for a in answers] == [429], answers
            assert answers[0].error["code"] == "too_many_requests"
            assert closed and answers[0].closes
        # Another Unix user is served meanwhile.
        assert d.get("/v1/whoami", who="coordinator").status == 200
        # The held connections still work.
        held[0].sendall(HEALTH)
        answers, closed = hr.read_answers(held[0], 1)
        assert [a.status for a in answers] == [200]
        assert d.log().count("max_connections_per_user") == 1, d.log()
    finally:
        for s in held:
            s.close()
    # Once they are closed, the user is served again.
    assert tt.wait_for("served again", lambda: d.get("/v1/health").status == 200)


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_out_of_descriptors__no_spin_and_served_once_connections_close(make_daemon):
    d = make_daemon(start=False, preexec_fn=low_nofile)
    d.start()
    held = []
    try:
        for _ in range(150):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(5)
                s.connect(d.socket)
                held.append(s)
            except OSError:  # the backlog is full: the daemon is not accepting
                s.close()
                break
        # Some were served, the excess refused with JSON (or left in the backlog).
        refused = 0
        for s in held[-20:]:
            s.settimeout(0.5)
            try:
                data = s.recv(65536)
            except OSError:
                continue
            if data:
                a = hr.parse_answers(data)[0]
                assert a.status == 503 and a.error["code"] == "unavailable", a
                refused += 1
        assert refused > 0
        # Refusals and accept failures are logged once per episode, not per attempt.
        lines = [x for x in d.log().splitlines()
                 if "connections" in x or "accept" in x.lower()]
        assert len(lines) < 10, "\n".join(lines[:20])
    finally:
        for s in held:
            s.close()
    assert tt.wait_for("served again", lambda: d.get("/v1/health").status == 200)
    assert d.running


def test_sigterm__answer_in_flight_carries_connection_close(make_daemon):
    d = make_daemon()
    s = hr.connect(d)
    try:
        s.sendall(HEALTH)
        answers, closed = hr.read_answers(s, 1)
        assert [a.status for a in answers] == [200] and not answers[0].closes
        body = b'{"name": "x"}'
        s.sendall(b"POST /v1/structures HTTP/1.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        since = d.log_size()
        d.send_signal(signal.SIGTERM)
        d.wait_log("received SIGTERM", since=since)
        s.sendall(body)
        raw, closed = hr.read_until_closed(s)
        answers = hr.parse_answers(raw, "POST")
        assert [a.status for a in answers] == [422], answers
        assert answers[0].closes and closed
    finally:
        s.close()
    assert d.wait() == 0
