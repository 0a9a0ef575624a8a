"""notify_webhook against a real tremplind and a local HTTPS receiver.

The receiver (receiver.py) has a certificate from a CA the test makes; the
daemon trusts that CA through ca_file, verification on. Every delivery is
verified with the standardwebhooks npm library (build/node, installed by
`scripts/deps.sh test`). Notifications come from a site script's notify.
"""

import base64
import json
import os
import subprocess

import pytest

import lua_support as ls
import tremplin_test as tt
from receiver import Receiver, make_ca

NODE_PATH = os.path.join(tt.TOP_SRCDIR, "build", "node", "node_modules")
VERIFY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify.js")
T0 = "2026-03-02T08:00:00Z"

SECRET_A = "whsec_" + base64.b64encode(b"A" * 32).decode()
SECRET_B = "whsec_" + base64.b64encode(b"B" * 32).decode()

TEXTS = {
    "contract_ending": "Un contrat arrive à échéance : un bilan de sortie est à planifier.",
    "pass_ending": "Un PASS IAE arrive à échéance : la suite du parcours est à préparer.",
    "review_overdue": "Un bilan de suivi est à tenir.",
    "safety_incident": "Un incident de sécurité a été enregistré sur un chantier.",
    "hours_below_contract": "Un point sur le planning d'un salarié est à faire.",
    "registry_pass_end_changed": "Une nouvelle date de fin de PASS IAE est à vérifier.",
    "absences_unjustified": "Un point sur l'assiduité d'un salarié est à faire.",
    "skills_stale": "Une évaluation des compétences est à faire.",
    "something_else": "Une alerte est à traiter dans Tremplin.",
}
# What a staff message may say and a partner must never read.
SECRET_WORDS = "Suivi santé, note CIP : détail confidentiel"


def verify(deliveries, secret, now=None):
    if not os.path.isdir(os.path.join(NODE_PATH, "standardwebhooks")):
        pytest.fail("no standardwebhooks in %s: run scripts/deps.sh test" % NODE_PATH)
    job = {"secret": secret, "now": now,
           "deliveries": [{"headers": d["headers"], "body": d["body"]} for d in deliveries]}
    p = subprocess.run(["node", VERIFY], input=json.dumps(job), capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=NODE_PATH), timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.split("\n")[:-1]


@pytest.fixture
def tls(tmp_path):
    os.chmod(tmp_path, 0o755)
    ca = make_ca(str(tmp_path))
    r = Receiver(str(tmp_path))
    secrets = tmp_path / "hooks.key"
    secrets.write_text("%s\n%s\n" % (SECRET_A, SECRET_B))
    os.chmod(secrets, 0o600)
    yield {"dir": tmp_path, "ca": ca, "receiver": r, "keys_file": str(secrets)}
    r.close()


def notify_script(kinds, key="k"):
    lines = []
    for i, kind in enumerate(kinds):
        for role in ("coordinator", "cip"):
            lines.append("notify { kind = %s, recipient_role = '%s', dedup_key = '%s%d:%s',"
                         " message = %s }" % (tt.lua_string(kind), role, key, i, role,
                                              tt.lua_string(SECRET_WORDS)))
    return "\n".join(lines) + "\n"


def webhook_daemon(make_daemon, tls, path="/ok", kinds=None, clock=T0, notify=("pass_ending",),
                   ca=None, **more):
    endpoint = {"url": tls["receiver"].url(path), "keys_file": tls["keys_file"]}
    if kinds:
        endpoint["kinds"] = kinds
    section = {"endpoints": {"partner": endpoint}, "allow_private": True}
    section.update(more)
    d = ls.script_daemon(make_daemon, {"n": {"role": "coordinator"}},
                         files={"rules/n.lua": notify_script(notify)}, start=False,
                         plugin_files=["notify_webhook"],
                         plugins={"notify_webhook": section},
                         extra={"ca_file": ca or tls["ca"]})
    ls.start_daemon(d, clock=clock)
    return d


def deliveries(d, query="", who="coordinator"):
    a = d.get("/v1/notify_webhook/deliveries" + query, who=who)
    assert a.status == 200, a
    return a.body["items"]


def test_every_kind__one_signed_delivery_per_alert__least_data(make_daemon, tls):
    r = tls["receiver"]
    # The real clock: the library checks timestamps against it.
    d = webhook_daemon(make_daemon, tls, clock=None, notify=sorted(TEXTS))
    got = tt.wait_for("a delivery per alert",
                      lambda: (lambda g: g if len(g) == len(TEXTS) else None)(r.got("/ok")))
    # Two outbox entries per alert (coordinator and CIP): one delivery each.
    assert len(d.sql("SELECT id FROM outbox")) == 2 * len(TEXTS)
    seen = {}
    for g in got:
        body = json.loads(g["body"])
        assert set(body) == {"id", "kind", "date", "text"}, body
        assert body["text"] == TEXTS[body["kind"]]
        assert body["id"] == g["headers"]["webhook-id"]
        assert "note" not in g["body"] and "santé" not in g["body"]
        assert g["headers"]["content-type"] == "application/json"
        # Rotation: signed by both secrets.
        assert len(g["headers"]["webhook-signature"].split(" ")) == 2
        seen[body["kind"]] = body["id"]
    assert set(seen) == set(TEXTS)
    assert len(set(seen.values())) == len(TEXTS)
    assert verify(got, SECRET_A) == ["ok"] * len(got)
    assert verify(got, SECRET_B) == ["ok"] * len(got)
    wrong = "whsec_" + base64.b64encode(b"C" * 32).decode()
    assert all(x.startswith("refused") for x in verify(got, wrong))
    assert {x["state"] for x in deliveries(d)} == {"sent"}


def test_receiver_down_then_back__delivered_with_the_same_id(make_daemon, tls):
    r = tls["receiver"]
    r.script["/flaky"] = [(500, {}), (503, {}), (200, {})]
    d = webhook_daemon(make_daemon, tls, path="/flaky")
    tt.wait_for("the first attempt", lambda: len(r.got("/flaky")) == 1)
    row = tt.wait_for("a retry planned",
                      lambda: (lambda x: x[0] if x and x[0]["state"] == "pending" else None)(
                          deliveries(d)))
    assert row["last_status"] == 500 and row["attempts"] == 1
    # Hours later (the test clock): the backoff is over, the next attempts go.
    d.stop()
    ls.start_daemon(d, clock="2026-03-02T14:00:00Z")
    tt.wait_for("the second attempt", lambda: len(r.got("/flaky")) == 2)
    d.stop()
    ls.start_daemon(d, clock="2026-03-02T20:00:00Z")
    tt.wait_for("delivered", lambda: deliveries(d, "?state=sent"))
    got = r.got("/flaky")
    assert len(got) == 3
    assert len({g["headers"]["webhook-id"] for g in got}) == 1
    assert len({g["body"] for g in got}) == 1
    # Each attempt signed at its own time, each valid then.
    for g in got:
        assert verify([g], SECRET_A, now=int(g["headers"]["webhook-timestamp"])) == ["ok"]


def test_429_with_retry_after__honoured(make_daemon, tls):
    r = tls["receiver"]
    r.script["/busy"] = [(429, {"Retry-After": "1"}), (200, {})]
    d = webhook_daemon(make_daemon, tls, path="/busy")
    tt.wait_for("delivered after the wait", lambda: deliveries(d, "?state=sent"))
    got = r.got("/busy")
    assert len(got) == 2 and got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    assert deliveries(d)[0]["attempts"] == 2


def test_410__endpoint_disabled__replay_turns_it_back_on(make_daemon, tls):
    r = tls["receiver"]
    r.script["/gone"] = [(410, {}), (200, {})]
    d = webhook_daemon(make_daemon, tls, path="/gone")
    row = tt.wait_for("disabled", lambda: deliveries(d, "?state=disabled"))[0]
    assert row["last_status"] == 410
    # A new alert for it stays unsent while the endpoint is off.
    ls.set_scripts(d, {"n": {"role": "coordinator"}},
                   files={"rules/n.lua": notify_script(["review_overdue"], key="new")})
    assert ls.reload_post(d).status == 200
    tt.wait_for("the second one", lambda: len(deliveries(d, "?state=disabled")) == 2)
    assert len(r.got("/gone")) == 1
    # The CIP may not replay; the coordinator does, the endpoint is on again.
    assert d.post("/v1/notify_webhook/deliveries/%d/replay" % row["id"], None,
                  who="cip").status == 403
    a = d.post("/v1/notify_webhook/deliveries/%d/replay" % row["id"], None, who="coordinator")
    assert a.status == 200 and a.body["state"] == "pending", a
    tt.wait_for("sent", lambda: deliveries(d, "?state=sent"))
    a = d.post("/v1/notify_webhook/deliveries/%d/replay" % row["id"], None, who="coordinator")
    assert a.status == 409 and a.body["error"]["field"] == "state", a


def test_dead_after_the_window__visible__replayed(make_daemon, tls):
    r = tls["receiver"]
    r.script["/down"] = [(500, {})]
    d = webhook_daemon(make_daemon, tls, path="/down")
    tt.wait_for("the first attempt", lambda: len(r.got("/down")) == 1)
    d.stop()
    ls.start_daemon(d, clock="2026-03-05T09:00:00Z")  # more than 72 hours later
    row = tt.wait_for("dead", lambda: deliveries(d, "?state=dead", who="admin"))[0]
    assert len(r.got("/down")) == 1
    r.script["/down"] = [(200, {})]
    a = d.post("/v1/notify_webhook/deliveries/%d/replay" % row["id"], None, who="admin")
    assert a.status == 200, a
    tt.wait_for("sent", lambda: deliveries(d, "?state=sent"))
    assert len({g["headers"]["webhook-id"] for g in r.got("/down")}) == 1
    a = d.get("/v1/notify_webhook/deliveries?state=lost", who="coordinator")
    assert a.status == 400 and a.body["error"]["field"] == "state", a


@pytest.mark.parametrize("change, words", [
    ({"url": "http://localhost/x"}, "endpoints.partner.url: must be an https:// URL"),
    ({"allow_private": False},
     "endpoints.partner.url: host localhost resolves to a loopback, link-local or private "
     "address"),
    ({"secret_mode": 0o644}, "must be a regular file of mode 0600"),
    ({"secret_text": "not-a-secret\n"}, "expected one or two whsec_<base64> secrets"),
])
def test_bad_configuration__refused_naming_the_setting(make_daemon, tls, change, words):
    keys_file = tls["keys_file"]
    if "secret_mode" in change:
        os.chmod(keys_file, change["secret_mode"])
    if "secret_text" in change:
        with open(keys_file, "w") as f:
            f.write(change["secret_text"])
    endpoint = {"url": change.get("url", tls["receiver"].url("/ok")),
                "keys_file": keys_file}
    section = {"endpoints": {"partner": endpoint},
               "allow_private": change.get("allow_private", True)}
    d = make_daemon(start=False, plugin_files=["notify_webhook"],
                    plugins={"notify_webhook": section}, extra={"ca_file": tls["ca"]})
    p = d.run("-n")
    assert p.returncode != 0 and words in p.stderr, p


def test_wrong_ca__tls_error__not_delivered(make_daemon, tls, tmp_path_factory):
    other = tmp_path_factory.mktemp("other-ca")
    os.chmod(other, 0o755)
    d = webhook_daemon(make_daemon, tls, path="/ok", ca=make_ca(str(other)))
    row = tt.wait_for("a failed attempt", lambda: (lambda x: x[0] if x and x[0]["state"] ==
                                                   "pending" and x[0]["last_error"] else None)(
        deliveries(d)))
    assert row["last_status"] is None and row["attempts"] == 1
    assert tls["receiver"].got("/ok") == []


def test_timeout__tried_again_with_the_same_id(make_daemon, tls):
    r = tls["receiver"]
    r.script["/slow"] = [(200, {}, 3), (200, {})]
    d = webhook_daemon(make_daemon, tls, path="/slow", timeout_ms=1000)
    row = tt.wait_for("a timed-out attempt", lambda: (lambda x: x[0] if x and x[0]["state"] ==
                                                      "pending" and x[0]["last_error"] else None)(
        deliveries(d)))
    assert row["attempts"] == 1 and row["last_status"] is None
    d.stop()
    ls.start_daemon(d, clock="2026-03-02T12:00:00Z")
    tt.wait_for("sent", lambda: deliveries(d, "?state=sent"))
    got = r.got("/slow")
    assert len(got) == 2 and got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]


def test_kill_9_mid_delivery__sent_again_after_restart_same_id(make_daemon, tls):
    r = tls["receiver"]
    r.script["/hang"] = [(200, {}, 5), (200, {})]
    d = webhook_daemon(make_daemon, tls, path="/hang")
    tt.wait_for("the request in flight", lambda: len(r.got("/hang")) == 1)
    d.kill()
    assert d.sql("SELECT state FROM notify_webhook_deliveries") == [("sending",)]
    # After the lease (timeout + a minute), on the test clock.
    ls.start_daemon(d, clock="2026-03-02T08:10:00Z")
    tt.wait_for("sent", lambda: deliveries(d, "?state=sent"))
    got = r.got("/hang")
    assert len(got) == 2 and got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    assert got[0]["body"] == got[1]["body"]
