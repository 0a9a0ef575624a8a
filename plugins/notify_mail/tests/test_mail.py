"""notify_mail against a real tremplind and a real OpenSMTPD on loopback.

The test makes a CA and a certificate for localhost (openssl), starts
smtpd (Debian's opensmtpd) on a free port with SMTPS and AUTH, delivering
to a maildir the test reads; the daemon trusts the CA through the plugin's
ca_file, verification on. Messages are parsed by Python's email package.
"""

import email
import json
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

import lua_support as ls
import tremplin_test as tt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "notify_webhook", "tests"))
from receiver import make_ca  # noqa: E402

T0 = "2026-03-02T08:00:00Z"
SECRET_WORDS = "Suivi santé, note CIP : détail confidentiel"
STAFF = [
    {"name": "Opératrice", "unix_user": "@daemon", "role": "admin", "email": "ops@example.org"},
    {"name": "Coordinatrice", "unix_user": "daemon", "role": "coordinator",
     "email": "coord@tremplin.test"},
    {"name": "Conseiller CIP", "unix_user": "bin", "role": "cip", "email": "cip@tremplin.test"},
    {"name": "Encadrant ETI", "unix_user": "sys", "role": "eti"},
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MASTER_CF = """\
%(smtps)d inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt
%(smtp)d inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
tlsmgr unix - - n 1000? 1 tlsmgr
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = %(d)s/queue
data_directory = %(d)s/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost
mydestination =
mynetworks =
maillog_file_prefixes = /tmp
maillog_file = %(d)s/maillog
virtual_mailbox_domains = tremplin.test
virtual_mailbox_base = %(d)s/mail
virtual_mailbox_maps = texthash:%(d)s/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_tls_cert_file = %(d)s/server.pem
smtpd_tls_key_file = %(d)s/server.key
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
cyrus_sasl_config_path = %(d)s/sasl
smtpd_sasl_path = smtpd
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
"""


class Smtpd:
    """A Postfix instance of its own (config, queue, maildirs in directory)."""

    def __init__(self, directory):
        if shutil.which("postfix", path="/usr/sbin:/usr/bin") is None:
            pytest.fail("no postfix: run scripts/deps.sh test")
        d = self.dir = directory
        self.smtps_port, self.smtp_port = free_port(), free_port()
        self.maildir = os.path.join(d, "mail")
        self.proc = None
        for sub in ("queue", "data", "mail", "sasl"):
            os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, "data"), "postfix")
        shutil.chown(os.path.join(d, "mail"), "nobody", "nogroup")
        with open(os.path.join(d, "vmailbox"), "w") as f:
            f.write("coord@tremplin.test coord/\ncip@tremplin.test cip/\n")
        with open(os.path.join(d, "main.cf"), "w") as f:
            f.write(MAIN_CF % {"d": d})
        with open(os.path.join(d, "master.cf"), "w") as f:
            f.write(MASTER_CF % {"smtps": self.smtps_port, "smtp": self.smtp_port})
        with open(os.path.join(d, "sasl", "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "sasldb_path: %s/sasldb2\nmech_list: PLAIN LOGIN\n" % d)
        subprocess.run(["saslpasswd2", "-p", "-c", "-f", os.path.join(d, "sasldb2"), "-u",
                        "localhost", "tremplin"], input="s3cret", text=True, check=True)
        shutil.chown(os.path.join(d, "sasldb2"), "postfix")

    def start(self):
        self.proc = subprocess.Popen(["postfix", "-c", self.dir, "start-fg"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tt.wait_for("postfix listening", self._listening, timeout=15)

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.smtps_port), timeout=1).close()
            return True
        except OSError:
            return None

    def stop(self):
        if self.proc is not None:
            subprocess.run(["postfix", "-c", self.dir, "stop"], capture_output=True)
            self.proc.wait(timeout=15)
            self.proc = None

    def messages(self):
        out = []
        for who in ("coord", "cip"):
            new = os.path.join(self.maildir, who, "new")
            for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
                with open(os.path.join(new, name), "rb") as f:
                    out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out

    def raw(self):
        out = []
        for who in ("coord", "cip"):
            new = os.path.join(self.maildir, who, "new")
            for name in os.listdir(new) if os.path.isdir(new) else []:
                with open(os.path.join(new, name), "rb") as f:
                    out.append(f.read())
        return out

    def wait_messages(self, n):
        return tt.wait_for("%d messages" % n,
                           lambda: (lambda m: m if len(m) >= n else None)(self.messages()),
                           timeout=20)


@pytest.fixture
def smtp():
    # Postfix's own users (postfix, nobody) read and write there: not under pytest's 0700 tmp.
    d = tempfile.mkdtemp(prefix="tremplin-smtp-")
    os.chmod(d, 0o755)
    make_ca(d)
    s = Smtpd(d)
    auth = os.path.join(d, "smtp.auth")
    with open(auth, "w") as f:
        f.write("tremplin@localhost:s3cret\n")
    os.chmod(auth, 0o600)
    s.ca = os.path.join(d, "ca.pem")
    s.auth = auth
    yield s
    s.stop()
    shutil.rmtree(d, ignore_errors=True)


def notify_script(kinds=("pass_ending",)):
    return "".join("notify { kind = '%s', recipient_role = '%s', dedup_key = '%s:%s',"
                   " message = %s }\n" % (kind, role, kind, role, tt.lua_string(SECRET_WORDS))
                   for kind in kinds for role in ("coordinator", "cip"))


def mail_daemon(make_daemon, smtp, clock=T0, starttls=False, kinds=("pass_ending",),
                scripts=True, **more):
    url = ("smtp://localhost:%d" % smtp.smtp_port if starttls
           else "smtps://localhost:%d" % smtp.smtps_port)
    section = {"url": url, "from": "tremplin@tremplin.test",
               "auth_file": smtp.auth, "ca_file": smtp.ca,
               "templates_dir": os.path.join(tt.TOP_SRCDIR, "etc", "notify_mail")}
    section.update(more)
    d = ls.script_daemon(make_daemon, {"n": {"role": "coordinator"}} if scripts else {},
                         files={"rules/n.lua": notify_script(kinds)}, start=False,
                         plugin_files=["notify_mail"], plugins={"notify_mail": section},
                         staff=STAFF)
    ls.start_daemon(d, clock=clock)
    return d


def deliveries(d, query=""):
    a = d.get("/v1/notify_mail/deliveries" + query, who="coordinator")
    assert a.status == 200, a
    return a.body["items"]


def staff_ids(d):
    return {r[1]: r[0] for r in d.sql("SELECT id, email FROM staff WHERE email IS NOT NULL")}


def test_each_recipient_gets_a_french_utf8_mail_with_the_least_data(make_daemon, smtp):
    smtp.start()
    d = mail_daemon(make_daemon, smtp)
    got = smtp.wait_messages(2)
    assert len(got) == 2
    alert_id = d.sql("SELECT alert_id FROM outbox")[0][0]
    ids = staff_ids(d)
    names = {"coord@tremplin.test": "Coordinatrice", "cip@tremplin.test": "Conseiller CIP"}
    seen = set()
    for m in got:
        to = m["To"].addresses[0].addr_spec
        seen.add(to)
        assert m["From"].addresses[0].addr_spec == "tremplin@tremplin.test"
        assert m["From"].addresses[0].display_name == "Tremplin"
        assert str(m["Subject"]) == "Tremplin : un PASS IAE arrive à échéance"
        assert m["Message-ID"] == "<tremplin.alert.%d.%d@tremplin.test>" % (alert_id, ids[to])
        assert m.get_content_type() == "text/plain"
        assert m.get_content_charset() == "utf-8"
        body = m.get_content()
        assert body.startswith("Bonjour %s,\n" % names[to])
        assert "Un PASS IAE arrive à échéance : la suite du parcours est à préparer." in body
        assert "L'alerte n° %d" % alert_id in body
        raw = m.as_string().lower()
        for word in ("santé", "sante", "note", "confidentiel", "http", "suivi santé"):
            assert word not in body.lower() and word not in raw
    assert seen == {"coord@tremplin.test", "cip@tremplin.test"}
    # The raw subject really is RFC 2047 (the server got 7-bit headers).
    for raw in smtp.raw():
        head = raw.split(b"\n\n", 1)[0]
        assert b"Subject: =?UTF-8?B?" in head
        assert all(b < 0x80 for b in head)
    tt.wait_for("both sent", lambda: (lambda x: x if len(x) == 2 else None)(
        deliveries(d, "?state=sent")))
    assert d.get("/v1/notify_mail/deliveries", who="cip").status == 403


def test_server_down_then_dead_replayed_then_up__same_message_id(make_daemon, smtp):
    # STARTTLS this time (smtp://, the upgrade required).
    d = mail_daemon(make_daemon, smtp, starttls=True)
    tt.wait_for("a failed attempt", lambda: (lambda x: x if len(x) == 2 and all(
        i["last_error"] for i in x) else None)(deliveries(d, "?state=pending")))
    d.stop()
    # Five days later on the test clock: past the 4 days, dead, listed.
    ls.start_daemon(d, clock="2026-03-07T08:00:00Z")
    dead = tt.wait_for("dead", lambda: (lambda x: x if len(x) == 2 else None)(
        deliveries(d, "?state=dead")))
    assert smtp.messages() == []
    smtp.start()
    for x in dead:
        a = d.post("/v1/notify_mail/deliveries/%d/replay" % x["id"], {}, who="coordinator")
        assert a.status == 200, a
    a = d.post("/v1/notify_mail/deliveries/%d/replay" % dead[0]["id"], {}, who="coordinator")
    assert a.status == 409 and a.body["error"]["field"] == "state", a
    got = smtp.wait_messages(2)
    want = {x["message_id"] for x in dead}
    assert {m["Message-ID"] for m in got} == want
    tt.wait_for("both sent", lambda: (lambda x: x if len(x) == 2 else None)(
        deliveries(d, "?state=sent")))
    # A crash after the server took it but before it was recorded: sent
    # again after the lease, with the same Message-ID (at least once).
    d.stop()
    d.sql("UPDATE notify_mail_deliveries SET state = 'sending', lease_until = 0 WHERE id = ?",
          (dead[0]["id"],))
    ls.start_daemon(d, clock="2026-03-07T09:00:00Z")
    got = smtp.wait_messages(3)
    assert len(got) == 3
    assert [m["Message-ID"] for m in got].count(dead[0]["message_id"]) == 2


def test_daily_digest_for_who_chose_it__one_message_at_the_hour(make_daemon, smtp, monkeypatch):
    # digest_hour is the daemon's local time: UTC here, whatever the machine's.
    monkeypatch.setenv("TZ", "UTC")
    smtp.start()
    # The CIP chooses the digest before any alert (no script yet).
    d = mail_daemon(make_daemon, smtp, scripts=False, digest_hour=7)
    assert d.get("/v1/notify_mail/preference", who="cip").body == {"digest": False,
                                                                   "digest_hour": 7}
    a = d.call("PUT", "/v1/notify_mail/preference", {"digest": "yes"}, who="cip")
    assert a.status in (400, 422) and a.body["error"]["field"] == "digest", a
    a = d.call("PUT", "/v1/notify_mail/preference", {"digest": True}, who="cip")
    assert a.status == 200 and a.body == {"digest": True, "digest_hour": 7}, a
    d.stop()
    ls.set_scripts(d, {"n": {"role": "coordinator"}},
                   files={"rules/n.lua": notify_script(("pass_ending", "review_overdue"))})
    ls.start_daemon(d, clock=T0)
    # The coordinator: each alert at once; the CIP: nothing before 7:00 the next day.
    got = smtp.wait_messages(2)
    assert {m["To"].addresses[0].addr_spec for m in got} == {"coord@tremplin.test"}
    tt.wait_for("the CIP's waiting", lambda: (lambda x: x if len(x) == 2 else None)(
        [i for i in deliveries(d, "?state=pending") if i["staff_id"] == staff_ids(d)[
            "cip@tremplin.test"]]))
    assert len(smtp.messages()) == 2
    d.stop()
    ls.start_daemon(d, clock="2026-03-03T07:00:30Z")
    got = smtp.wait_messages(3)
    assert len(got) == 3
    digest = [m for m in got if m["To"].addresses[0].addr_spec == "cip@tremplin.test"]
    assert len(digest) == 1
    m = digest[0]
    assert str(m["Subject"]) == "Tremplin : vos alertes du jour (2)"
    assert m["Message-ID"].startswith("<tremplin.digest.")
    body = m.get_content()
    alerts = sorted(r[0] for r in d.sql("SELECT DISTINCT alert_id FROM outbox"))
    assert "- alerte n° %d : un PASS IAE arrive à échéance" % alerts[0] in body
    assert "- alerte n° %d : un bilan de suivi à tenir" % alerts[1] in body
    for word in ("santé", "note", "confidentiel", "http"):
        assert word not in body.lower()
    sent = [i for i in deliveries(d, "?state=sent") if i["message_id"] == m["Message-ID"]]
    assert len(sent) == 2


def test_mail_and_webhooks_together__each_delivers_every_alert__one_down_holds_not_the_other(
        make_daemon, smtp):
    """Both channels loaded: each claims every outbox entry on its own. The
    webhook receiver fails while mail is sent; the daemon is killed (-9) with the
    webhook delivery waiting for its retry; after the restart it is delivered,
    signed (checked by the standardwebhooks library), and no mail is sent twice."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "notify_webhook", "tests"))
    from receiver import Receiver
    import test_webhook as wh
    smtp.start()
    r = Receiver(smtp.dir)
    try:
        r.script["/down"] = [(500, {}), (503, {}), (200, {})]
        keys = os.path.join(smtp.dir, "hooks.key")
        with open(keys, "w") as f:
            f.write(wh.SECRET_A + "\n")
        os.chmod(keys, 0o600)
        mail = {"url": "smtps://localhost:%d" % smtp.smtps_port,
                "from": "tremplin@tremplin.test", "auth_file": smtp.auth, "ca_file": smtp.ca,
                "templates_dir": os.path.join(tt.TOP_SRCDIR, "etc", "notify_mail")}
        hooks = {"endpoints": {"partner": {"url": r.url("/down"), "keys_file": keys}},
                 "allow_private": True}
        d = ls.script_daemon(make_daemon, {"n": {"role": "coordinator"}},
                             files={"rules/n.lua": notify_script()}, start=False,
                             plugin_files=["notify_mail", "notify_webhook"],
                             plugins={"notify_mail": mail, "notify_webhook": hooks},
                             staff=STAFF, extra={"ca_file": smtp.ca})
        ls.start_daemon(d, clock=T0)
        # Mail goes while the receiver answers 500: the webhook's failures hold it not.
        got = smtp.wait_messages(2)
        assert sorted(m["To"].addresses[0].addr_spec for m in got) == [
            "cip@tremplin.test", "coord@tremplin.test"]
        row = tt.wait_for("a webhook retry planned", lambda: (lambda x: x[0] if x and x[0][
            "state"] == "pending" and x[0]["last_status"] == 500 else None)(
            d.get("/v1/notify_webhook/deliveries", who="coordinator").body["items"]))
        assert row["attempts"] == 1
        tt.wait_for("mail recorded sent", lambda: len(deliveries(d, "?state=sent")) == 2)
        assert sorted(d.sql("SELECT channel, status FROM outbox_channels")) == [
            ("plugin:notify_mail", "sent"), ("plugin:notify_mail", "sent"),
            ("plugin:notify_webhook", "sent"), ("plugin:notify_webhook", "sent")]
        d.kill()
        # Hours later on the test clock: the backoff is over; the receiver answers 503, then 200.
        ls.start_daemon(d, clock="2026-03-02T14:00:00Z")
        tt.wait_for("the second attempt", lambda: len(r.got("/down")) == 2)
        d.stop()
        ls.start_daemon(d, clock="2026-03-02T20:00:00Z")
        tt.wait_for("delivered", lambda: d.get("/v1/notify_webhook/deliveries?state=sent",
                                               who="coordinator").body["items"])
        hooks_got = r.got("/down")
        assert len(hooks_got) == 3
        assert len({g["headers"]["webhook-id"] for g in hooks_got}) == 1
        last = hooks_got[-1]
        assert wh.verify([last], wh.SECRET_A,
                         now=int(last["headers"]["webhook-timestamp"])) == ["ok"]
        body = json.loads(last["body"])
        assert body["kind"] == "pass_ending" and "santé" not in last["body"]
        d.stop()
        # Nothing sent twice by mail; every entry taken by each channel once.
        assert len(smtp.messages()) == 2
        assert d.sql("SELECT count(*) FROM outbox_channels") == [(4,)]
    finally:
        r.close()
