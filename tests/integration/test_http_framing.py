"""The connection layer reads requests strictly (RFC 9112): every refusal is the
documented JSON error, the connection is then closed, nothing smuggled runs,
and the daemon serves on."""

import json
import subprocess
import threading
import time

import pytest

import http_raw as hr
import tremplin_test as tt

H = b"GET /v1/health HTTP/1.1\r\nHost: t\r\n"


def post_head(body_len, extra=b""):
    return (b"POST /v1/structures HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + extra + b"Content-Length: %d\r\n\r\n" % body_len)


def structure_request(name):
    body = json.dumps(tt.structure_body(name=name)).encode()
    return post_head(len(body)) + body


def names(d):
    return {s["name"] for s in d.list_all("/v1/structures")}


REFUSED = {
    # item 2: what evhttp answered in HTML
    "request line without version": (b"GET /v1/health\r\n\r\n", 400, "bad_request"),
    "request line with two spaces": (b"GET  /v1/health HTTP/1.1\r\n\r\n", 400, "bad_request"),
    "absolute-form target": (b"GET http://t/v1/health HTTP/1.1\r\n\r\n", 400, "bad_request"),
    "unknown version": (b"GET /v1/health HTTP/1.2\r\n\r\n", 400, "bad_request"),
    "header without colon": (H + b"Bad header\r\n\r\n", 400, "bad_request"),
    "space before the colon": (H + b"X-A : b\r\n\r\n", 400, "bad_request"),
    "folded header": (H + b"X-A: b\r\n c\r\n\r\n", 400, "bad_request"),
    "control byte in a value": (H + b"X-A: b\x01c\r\n\r\n", 400, "bad_request"),
    "NUL byte": (H + b"X-A: b\x00c\r\n\r\n", 400, "bad_request"),
    "bare LF": (b"GET /v1/health HTTP/1.1\nHost: t\n\n", 400, "bad_request"),
    "headers over 64 KiB": (H + b"X-A: " + b"a" * 70000 + b"\r\n\r\n", 413,
                            "payload_too_large"),
    "Content-Length -1": (post_head(0).replace(b"Length: 0", b"Length: -1"), 400,
                          "bad_request"),
    "Content-Length 0x10": (post_head(0).replace(b"Length: 0", b"Length: 0x10"), 400,
                            "bad_request"),
    "Content-Length list": (post_head(0).replace(b"Length: 0", b"Length: 5, 5") + b"{}{}{",
                            400, "bad_request"),
    "Content-Length empty": (post_head(0).replace(b"Length: 0", b"Length: "), 400,
                             "bad_request"),
    "two equal Content-Length": (post_head(2, b"Content-Length: 2\r\n") + b"{}", 400,
                                 "bad_request"),
    "Content-Length over 4 MiB": (post_head(5 * 1024 * 1024), 413, "payload_too_large"),
    "bad chunk size": (b"POST /v1/structures HTTP/1.1\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400,
                       "bad_request"),
    "chunk extension": (b"POST /v1/structures HTTP/1.1\r\nContent-Type: application/json\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\n\r\n", 400,
                        "bad_request"),
    "chunked over 1 MiB": (b"POST /v1/structures HTTP/1.1\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n100001\r\n", 413,
                           "payload_too_large"),
    "chunked in HTTP/1.0": (b"POST /v1/structures HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                            b"\r\n0\r\n\r\n", 400, "bad_request"),
    "body on HEAD": (b"HEAD /v1/health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 400,
                     "bad_request"),
    "Expect other than 100-continue": (H + b"Expect: tea\r\n\r\n", 417, "expectation_failed"),
    "unknown method": (b"BREW /v1/health HTTP/1.1\r\n\r\n", 501, "not_implemented"),
    "lowercase get": (b"get /v1/health HTTP/1.1\r\n\r\n", 501, "not_implemented"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_malformed_request__json_error_then_closed_and_served_after(daemon, case):
    data, status, code = REFUSED[case]
    answers, closed = hr.exchange(daemon, data)
    assert [a.status for a in answers] == [status], answers
    a = answers[0]
    assert a.headers["content-type"].startswith("application/json")
    assert a.error["code"] == code, a
    assert a.error["message"]
    assert a.closes and closed
    tt.openapi_check("GET", "/v1/health", tt.make_answer(a.status, list(a.headers.items()),
                                                         a.raw))
    assert daemon.get("/v1/health").status == 200


SMUGGLED = "Contrebande"


def smuggled_request():
    return structure_request(SMUGGLED)


@pytest.mark.parametrize("how", ["two Content-Length", "Transfer-Encoding and Content-Length",
                                 "unknown Transfer-Encoding", "Content-Length list"])
def test_smuggling__400_close_and_the_hidden_request_never_runs(daemon, how):
    inner = smuggled_request()
    first = b"{}"
    if how == "two Content-Length":
        data = (post_head(len(first), b"Content-Length: %d\r\n" % (len(first) + len(inner)))
                + first + inner)
    elif how == "Content-Length list":
        data = (post_head(0).replace(b"Length: 0", b"Length: %d, %d" % (
            len(first), len(first) + len(inner))) + first + inner)
    elif how == "Transfer-Encoding and Content-Length":
        data = (post_head(len(first) + 5, b"Transfer-Encoding: chunked\r\n")
                + b"0\r\n\r\n" + first + inner)
    else:
        chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
        data = (b"POST /v1/structures HTTP/1.1\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: gzip\r\n\r\n" + chunk)
    answers, closed = hr.exchange(daemon, data)
    assert [a.status for a in answers] == [400], answers
    assert answers[0].error["code"] == "bad_request"
    assert closed
    assert SMUGGLED not in names(daemon)


def test_chunked_body__accepted(daemon):
    body = json.dumps(tt.structure_body(name="Par morceaux")).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                      for i in range(0, len(body), 7))
    data = (b"POST /v1/structures HTTP/1.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    answers, closed = hr.exchange(daemon, data)
    assert [a.status for a in answers] == [201], answers
    assert "Par morceaux" in names(daemon)


def test_pipelined_requests__answered_in_order(daemon):
    a, b = "Pipeline A %s" % tt.unique(), "Pipeline B %s" % tt.unique()
    data = (H + b"\r\n" + structure_request(a) + b"GET /v1/whoami HTTP/1.1\r\n\r\n"
            + structure_request(b) + H + b"Connection: close\r\n\r\n")
    answers, closed = hr.exchange(daemon, data)
    assert [x.status for x in answers] == [200, 201, 200, 201, 200], answers
    assert answers[1].body["name"] == a and answers[3].body["name"] == b
    assert answers[2].body["role"] == "admin"
    assert closed


def test_pipelined_then_malformed__earlier_answered_later_dropped(daemon):
    name = "Après l'erreur %s" % tt.unique()
    data = H + b"\r\n" + b"get / HTTP/1.1\r\n\r\n" + structure_request(name)
    answers, closed = hr.exchange(daemon, data)
    assert [x.status for x in answers] == [200, 501], answers
    assert closed
    assert name not in names(daemon)


def test_keep_alive__several_requests_one_connection(daemon):
    s = hr.connect(daemon)
    try:
        for i in range(5):
            s.sendall(H + b"\r\n")
            answers, closed = hr.read_answers(s, 1)
            assert [x.status for x in answers] == [200] and not closed
            assert not answers[0].closes
    finally:
        s.close()


def test_expect_100_continue__continue_then_answer(daemon):
    body = json.dumps(tt.structure_body(name="Attendu %s" % tt.unique())).encode()
    s = hr.connect(daemon)
    try:
        s.sendall(post_head(len(body), b"Expect: 100-continue\r\n"))
        answers, _ = hr.read_answers(s, 1)
        assert [x.status for x in answers] == [100]
        s.sendall(body)
        answers, _ = hr.read_answers(s, 1, method="POST")
        assert [x.status for x in answers] == [201], answers
    finally:
        s.close()


def test_expect_100_continue__over_1_mib__413_before_the_body(daemon):
    answers, closed = hr.exchange(daemon, post_head(2 * 1024 * 1024, b"Expect: 100-continue\r\n"))
    assert [x.status for x in answers] == [413], answers
    assert closed


def test_expect_100_continue__curl(daemon):
    name = "Curl %s" % tt.unique()
    p = subprocess.run(["curl", "-sS", "-v", "--unix-socket", daemon.socket,
                        "-H", "Expect: 100-continue", "-H", "Content-Type: application/json",
                        "--expect100-timeout", "30",
                        "-d", json.dumps(tt.structure_body(name=name)),
                        "-o", "/dev/null", "-w", "%{http_code}",
                        "http://localhost/v1/structures"],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout == "201", p.stderr
    assert "HTTP/1.1 100 Continue" in p.stderr
    assert name in names(daemon)


@pytest.fixture(scope="module")
def deadline_daemon():
    d = tt.Daemon(request_timeout=2)
    try:
        d.start()
        yield d
        assert d.stop() == 0, d.log()
        d.check_log()
    finally:
        d.cleanup()


def test_slow_client__cut_at_the_whole_request_deadline_while_others_are_served(
        deadline_daemon):
    d = deadline_daemon
    # At one byte every 0.3 s this request would take a minute to arrive.
    data = H + b"X-Slow: " + b"s" * 200 + b"\r\n\r\n"
    s = hr.connect(d)
    stop = threading.Event()

    def trickle():
        for i in range(len(data)):
            if stop.is_set():
                return
            try:
                s.send(data[i:i + 1])
            except OSError:
                return
            time.sleep(0.3)

    t = threading.Thread(target=trickle)
    t.start()
    try:
        served = 0
        while t.is_alive() and served < 3:
            assert d.get("/v1/health").status == 200
            served += 1
        raw, closed = hr.read_until_closed(s, bound=120)
        stop.set()
        answers = hr.parse_answers(raw)
        assert closed
        assert [a.status for a in answers] in ([408], []), answers
        if answers:
            assert answers[0].error["code"] == "request_timeout"
            assert answers[0].closes
    finally:
        stop.set()
        t.join()
        s.close()
    assert served == 3
    assert d.get("/v1/health").status == 200


def test_refused_head__the_body_still_sent_after_the_answer__no_reset_then_eof(daemon):
    """An error answered before the client has sent all it meant to (here the
    body behind an oversized head) closes politely: the daemon shuts its side
    and reads on, so the client's remaining bytes meet no reset (RFC 9112, 9.6)."""
    n = len(names(daemon))
    body = json.dumps(tt.structure_body()).encode() * 50
    s = hr.connect(daemon)
    try:
        s.sendall(post_head(len(body), b"X-Padding: " + b"p" * 9000 + b"\r\n"))
        answers, closed = hr.read_answers(s, 1)
        assert [a.status for a in answers] == [413], answers
        assert answers[0].error["code"] == "payload_too_large" and answers[0].closes
        # The daemon has answered and ended its side; what the client still
        # sends is read and dropped, not met with EPIPE or a reset.
        s.sendall(body)
        rest, closed = hr.read_until_closed(s)
        assert rest == b"" and closed
    finally:
        s.close()
    assert len(names(daemon)) == n
    assert daemon.get("/v1/health").status == 200
