"""Every error status of the API, as JSON, and nothing written on any of them."""

import base64
import http.client
import json
import os
import pwd
import socket

import pytest

import tremplin_test as tt

MIB = 1024 * 1024


def count(d):
    return len(d.list_all("/v1/structures"))


def nested(depth):
    """A JSON object whose deepest value is `depth` containers down."""
    assert depth >= 1
    return '{"name": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("text", ['{"name": ', '{"name": "x",}', "{name: 1}", "nul",
                                  '{"name": "x"} trailing', '{"a": 1, "a": 2}',
                                  '{"name": "\\x"}'])
def test_malformed_json__400_with_message_and_nothing_written(daemon, text):
    n = count(daemon)
    a = daemon.post("/v1/structures", text)
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert a.error["message"]
    assert count(daemon) == n


def test_malformed_json__message_says_where(daemon):
    a = daemon.post("/v1/structures", '{\n  "name": "x",\n  oops\n}')
    assert a.status == 400, a
    assert "line 3" in a.error["message"], a.error


def test_invalid_utf8__400(daemon):
    n = count(daemon)
    a = daemon.post("/v1/structures", b'{"name": "\xff\xfe", "siret": "1", "kind": "ACI"}')
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert count(daemon) == n


def test_json_nested_33_deep__400_and_nothing_written(daemon):
    n = count(daemon)
    a = daemon.post("/v1/structures", nested(33))
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert "32" in a.error["message"]
    assert count(daemon) == n


def test_json_nested_32_deep__parsed_then_judged_on_its_fields(daemon):
    a = daemon.post("/v1/structures", nested(32))
    assert a.status == 422, a
    assert a.error["field"] == "name"


def test_json_deeply_nested_in_a_patch__400(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], nested(1000))
    assert a.status == 400, a
    assert daemon.get("/v1/structures/%d" % s["id"]).body == s


def test_json_brackets_inside_strings__do_not_count_as_nesting(daemon):
    a = daemon.post("/v1/structures", tt.structure_body(name="[" * 40 + "{" * 40))
    assert a.status == 201, a


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "42", "null", "true", "[]",
                                  '[{"name": "x"}]'])
def test_body_not_an_object__400_and_nothing_written(daemon, text):
    n = count(daemon)
    a = daemon.post("/v1/structures", text)
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert "object" in a.error["message"]
    assert count(daemon) == n


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_empty_body__400(daemon, method):
    s = daemon.create("/v1/structures", tt.structure_body())
    path = "/v1/structures" if method == "POST" else "/v1/structures/%d" % s["id"]
    a = daemon.call(method, path, b"")
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/", "/v1/nope", "/v2/health", "/v1/health/x",
                                  "/v1/structures/1/staff", "/V1/HEALTH", "/v1//health"])
def test_unknown_path__404_json(daemon, path):
    a = daemon.get(path)
    assert a.status == 404, a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.error["code"] == "not_found"


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/v1/structures", {"GET", "POST"}),
    ("DELETE", "/v1/structures", {"GET", "POST"}),
    ("PATCH", "/v1/structures", {"GET", "POST"}),
    ("POST", "/v1/structures/1", {"GET", "PATCH"}),
    ("DELETE", "/v1/staff/1", {"GET", "PATCH"}),
    ("PUT", "/v1/staff", {"GET", "POST"}),
    ("POST", "/v1/health", {"GET"}),
    ("DELETE", "/v1/whoami", {"GET"}),
    ("POST", "/v1/backup", {"GET"}),
    ("OPTIONS", "/v1/staff", {"GET", "POST"}),
])
def test_method_not_allowed__405_with_allow_header(daemon, method, path, allow):
    n = count(daemon)
    body = {"name": "x"} if method in ("POST", "PUT", "PATCH") else None
    a = daemon.call(method, path, body)
    assert a.status == 405, a
    assert a.error["code"] == "method_not_allowed"
    assert {m.strip() for m in a.headers["Allow"].split(",")} == allow
    assert count(daemon) == n


def test_body_over_1_mib__413_json_and_nothing_written(daemon):
    n = count(daemon)
    body = json.dumps(tt.structure_body(name="x" * MIB))
    assert len(body) > MIB
    with daemon.new_client() as c:
        a = c.post("/v1/structures", body)
    assert a.status == 413, a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.error["code"] == "payload_too_large"
    assert count(daemon) == n


def test_body_of_exactly_1_mib__not_413(daemon):
    base = json.dumps(tt.structure_body(name=""))
    body = base.replace('"name": ""', '"name": "%s"' % ("x" * (MIB - len(base))))
    assert len(body) == MIB
    with daemon.new_client() as c:
        a = c.post("/v1/structures", body)
    assert a.status == 422, a  # judged on its content: the name is too long
    assert a.error["field"] == "name"


def test_headers_over_8_kib__413_json(daemon):
    n = count(daemon)
    with daemon.new_client() as c:
        a = c.post("/v1/structures", tt.structure_body(), headers={"X-Padding": "p" * 9000})
    assert a.status == 413, a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.error["code"] == "payload_too_large"
    assert "header" in a.error["message"]
    assert count(daemon) == n


def test_many_small_headers_over_8_kib__413_json(daemon):
    headers = {"X-H%03d" % i: "v" * 90 for i in range(100)}
    with daemon.new_client() as c:
        a = c.get("/v1/health", headers=headers)
    assert a.status == 413, a
    assert a.error["code"] == "payload_too_large"


def test_headers_under_8_kib__served(daemon):
    with daemon.new_client() as c:
        a = c.get("/v1/health", headers={"X-Padding": "p" * 7000})
    assert a.status == 200, a


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonx", "json", "application/merge-patch+json"])
def test_post_without_json_content_type__415_and_nothing_written(daemon, ctype):
    n = count(daemon)
    a = daemon.post("/v1/structures", tt.structure_body(), content_type=ctype)
    assert a.status == 415, a
    assert a.error["code"] == "unsupported_media_type"
    assert count(daemon) == n


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/xml"])
def test_patch_without_json_content_type__415_and_unchanged(daemon, ctype):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], {"name": "Jamais"}, content_type=ctype)
    assert a.status == 415, a
    assert a.error["code"] == "unsupported_media_type"
    assert daemon.get("/v1/structures/%d" % s["id"]).body == s


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "Application/JSON",
                                   "application/json;charset=UTF-8"])
def test_post_json_content_type_variants__accepted(daemon, ctype):
    a = daemon.post("/v1/structures", tt.structure_body(), content_type=ctype)
    assert a.status == 201, a


def test_validation_failed__422_field_named(daemon):
    a = daemon.post("/v1/structures", tt.structure_body(kind="SCOP"))
    assert a.status == 422, a
    assert a.error == {"code": "validation_failed", "field": "kind",
                       "message": a.error["message"]}


def test_conflict__409_field_named(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.post("/v1/structures", tt.structure_body(siret=s["siret"]))
    assert a.status == 409, a
    assert (a.error["code"], a.error["field"]) == ("conflict", "siret")


def test_forbidden__403_json(daemon):
    tt.needs_root("sys")
    a = daemon.post("/v1/structures", tt.structure_body(), who="eti")
    assert a.status == 403, a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.error["code"] == "forbidden"


def test_errors__keep_alive_connection__still_usable_after_each(daemon):
    with daemon.new_client() as c:
        for method, path, body in [("GET", "/v1/nope", None),
                                   ("POST", "/v1/structures", "{oops"),
                                   ("PUT", "/v1/staff", {}),
                                   ("POST", "/v1/structures", {"kind": "X"}),
                                   ("GET", "/v1/structures?limit=0", None)]:
            assert c.request(method, path, body).status >= 400
        assert c.get("/v1/health").status == 200


def test_error_bodies__have_exactly_code_message_and_maybe_field(daemon):
    answers = [
        daemon.get("/v1/nope"),
        daemon.post("/v1/structures", "{"),
        daemon.post("/v1/structures", {"bogus": 1}),
        daemon.call("PUT", "/v1/health"),
    ]
    for a in answers:
        assert set(a.body) == {"error"}, a
        assert set(a.error) <= {"code", "message", "field"}, a
        assert isinstance(a.error["code"], str) and isinstance(a.error["message"], str)


# ---------------------------------------------------------------------------
# No request stops the daemon: error messages echo what the caller sent, which
# need not be UTF-8 or may be cut inside a character; the reply is still JSON.


def raw_request(d, data, who="admin"):
    """Send `data` as it is on a new connection as `who`; the parsed Answer."""
    user = tt.user_of(who)
    tt.needs_root(user)

    def exchange():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(tt.CALL_TIMEOUT)
        try:
            s.connect(d.socket)
            s.sendall(data)
            resp = http.client.HTTPResponse(s, method="GET")
            resp.begin()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            s.close()

    if user == tt.SELF_USER:
        status, pairs, raw = exchange()
        return tt.make_answer(status, pairs, raw)
    pw = pwd.getpwnam(user)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            status, pairs, raw = exchange()
            out = {"status": status, "headers": pairs, "body": base64.b64encode(raw).decode()}
        except BaseException as e:  # noqa: B902 - everything goes back to the parent
            out = {"exception": "%s: %s" % (type(e).__name__, e)}
            code = 1
        try:
            os.write(wfd, json.dumps(out).encode())
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        text = f.read()
    os.waitpid(pid, 0)
    out = json.loads(text.decode() or "{}")
    assert "status" in out, "request as %s failed: %s" % (user, out.get("exception", out))
    return tt.make_answer(out["status"], [tuple(p) for p in out["headers"]],
                          base64.b64decode(out["body"]))


def get_line(target):
    return b"GET " + target + b" HTTP/1.1\r\nHost: tremplin\r\n\r\n"


ODD_TARGETS = {
    "raw 0xff in the path": b"/v1/\xff",
    "raw 0xff in a query key": b"/v1/structures?\xff=1",
    "300 raw e-acute in the path": b"/v1/" + "é".encode() * 300,
    "300 raw e-acute in a query key": b"/v1/structures?" + "é".encode() * 300 + b"=1",
    "300 euro signs in the path": b"/v1/" + "€".encode() * 300,
    "%ff in the path": b"/v1/%ff",
    "%ff in a query key": b"/v1/structures?%ff=1",
    "%C3%A9 x300 in the path": b"/v1/" + b"%C3%A9" * 300,
    "%C3%A9 x300 in a query key": b"/v1/structures?" + b"%C3%A9" * 300 + b"=1",
    "%E2%82%AC x300 in a query key": b"/v1/structures?" + b"%E2%82%AC" * 300 + b"=1",
    "a lone continuation byte": b"/v1/structures?\x80\x80=1",
    "an overlong slash": b"/v1/\xc0\xaf",
    "a UTF-16 surrogate": b"/v1/\xed\xa0\x80",
}


@pytest.mark.parametrize("who", ["admin", "eti"])
@pytest.mark.parametrize("name", list(ODD_TARGETS), ids=list(ODD_TARGETS))
def test_odd_bytes_in_the_request_line__json_error_and_still_serving(daemon, who, name):
    a = raw_request(daemon, get_line(ODD_TARGETS[name]), who=who)
    assert a.status in (400, 404), a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.error["code"] in ("bad_request", "not_found"), a
    assert isinstance(a.error["message"], str) and a.error["message"], a
    # The message holds only valid text, however long the request.
    assert len(a.error["message"].encode()) <= 1024, a
    assert daemon.running, daemon.log()
    assert daemon.get("/v1/health", who=who).status == 200


@pytest.mark.parametrize("key", ["é" * 200, "€" * 150, "x" + "é" * 200, "\U0001F600" * 100],
                         ids=["e-acute", "euro", "x then e-acute", "emoji"])
def test_long_unicode_json_key__unknown_field_named_and_still_serving(daemon, key):
    tt.needs_root("daemon")
    n = count(daemon)
    a = daemon.post("/v1/structures", {key: 1}, who="coordinator")
    assert a.status == 400, a
    assert a.error["code"] == "unknown_field"
    # The field is the key, or its beginning cut between two characters.
    assert a.error["field"] and key.startswith(a.error["field"].rstrip("…")), a
    assert daemon.running, daemon.log()
    assert count(daemon) == n
    assert daemon.get("/v1/health", who="coordinator").status == 200


def test_long_unicode_json_key__in_a_patch__named_and_unchanged(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], {"é" * 200: 1})
    assert a.status == 400, a
    assert a.error["code"] == "unknown_field"
    assert daemon.get("/v1/structures/%d" % s["id"]).body == s


def test_staff_name_of_200_three_byte_characters__whoami_answers(fresh_daemon):
    tt.needs_root("sys")
    d = fresh_daemon
    name = "€" * 200
    staff = [dict(p, name=name) if p["unix_user"] == "sys" else p for p in tt.BOOTSTRAP_STAFF]
    d.write_config(staff=staff)
    d.restart()
    w = d.get("/v1/whoami", who="eti")
    assert w.status == 200, w
    assert w.body["name"] == name
    assert d.running, d.log()


# ---------------------------------------------------------------------------
# A malformed query string is refused, naming the parameter.


@pytest.mark.parametrize("query,field", [
    ("team=%zz", "team"),
    ("limit=5&team=%z", "team"),
    ("team=abc%", "team"),
    ("team=%4", "team"),
    ("te%zzam=1", "te%zzam"),
    ("%=1", "%"),
])
def test_malformed_query_escape__400_naming_the_parameter(daemon, query, field):
    tt.needs_root("daemon")
    a = daemon.get("/v1/employees?" + query, who="coordinator")
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert a.error["field"] == field, a
    assert "escape" in a.error["message"], a


@pytest.mark.parametrize("query", ["team=%41%c3%a9", "team=a+b", "team=", "team=100%25"])
def test_wellformed_query_escapes__served(daemon, query):
    tt.needs_root("daemon")
    a = daemon.get("/v1/employees?" + query, who="coordinator")
    assert a.status == 200, a


# ---------------------------------------------------------------------------
# A NUL character in a JSON string is a bad value of the field that holds it.


@pytest.mark.parametrize("text,field", [
    ('{"name": "a\\u0000b", "siret": "1", "kind": "ACI"}', "name"),
    ('{"siret": "1", "kind": "ACI", "name": "\\u0000"}', "name"),
    ('{"name": "x", "bogus": {"deep": ["ok", "\\u0000"]}}', "bogus.deep[1]"),
])
def test_nul_character_in_a_string__422_naming_the_field_and_nothing_written(daemon, text,
                                                                             field):
    n = count(daemon)
    a = daemon.post("/v1/structures", text)
    assert a.status == 422, a
    assert a.error["code"] == "validation_failed"
    assert a.error["field"] == field, a
    assert "NUL" in a.error["message"], a
    assert "JSON_ALLOW_NUL" not in a.error["message"], a
    assert count(daemon) == n


def test_nul_character_in_a_patch__422_and_unchanged(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], '{"name": "Avant\\u0000Après"}')
    assert a.status == 422, a
    assert a.error["field"] == "name"
    assert daemon.get("/v1/structures/%d" % s["id"]).body == s
