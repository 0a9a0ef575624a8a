"""GET /v1/backup and `tremplinctl backup`: encrypted to the recipients the structure names.

The recipient's key and certificate are made with the openssl command-line
tool, and every backup is opened with `openssl cms -decrypt`, as the person
who restores it would: the daemon's code is not trusted to read its own
output. The decrypted copy is opened with SQLite and checked.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess

import pytest

import tremplin_test as tt

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None,
                                reason="the openssl command-line tool is not installed "
                                       "(package openssl)")


def openssl(*args):
    p = subprocess.run([OPENSSL] + list(args), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr)
    return p


def recipient(directory, name="dpo", kind="rsa", extensions=()):
    """A private key and its self-signed certificate: (cert path, key path)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    newkey = {"rsa": ["-newkey", "rsa:2048"],
              "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
              "ed25519": ["-newkey", "ed25519"]}[kind]
    args = ["req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=DPO %s" % name,
            "-keyout", key, "-out", cert] + newkey
    for e in extensions:
        args += ["-addext", e]
    openssl(*args)
    os.chmod(cert, 0o644)
    return cert, key


def decrypt(backup, cert, key, out):
    """openssl cms -decrypt, as the restore steps say; returns the CompletedProcess."""
    return subprocess.run([OPENSSL, "cms", "-decrypt", "-inform", "DER", "-recip", cert,
                           "-inkey", key, "-in", backup, "-out", out],
                          capture_output=True, text=True, timeout=120)


def check_database(path):
    """integrity_check ok; returns {table: rows} of a few tables."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {
            "structures": {r[0]: r for r in con.execute(
                "SELECT id, name, siret, kind, created_at FROM structures")},
            "employees": {r[0]: r for r in con.execute(
                "SELECT id, first_name, last_name FROM employees")},
        }
    finally:
        con.close()


def person(d, marker):
    """A structure and a person named `marker`, made by the coordinator."""
    st = d.create("/v1/structures", tt.structure_body(name="Atelier " + marker))
    staff = {s["unix_user"]: s["id"] for s in d.list_all("/v1/staff")}
    e = d.create("/v1/employees", {
        "structure_id": st["id"], "first_name": marker, "last_name": "Martin",
        "birth_date": "1988-02-11", "prescriber_kind": "france_travail",
        "referent_cip_id": staff["bin"], "referent_eti_id": staff["sys"],
        "team": "Espaces verts"}, who="coordinator")
    return e["id"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("recipients"))
    os.chmod(d, 0o755)
    return {"dir": d, "rsa": recipient(d, "rsa"), "ec": recipient(d, "ec", kind="ec"),
            "other": recipient(d, "other")}


# ---------------------------------------------------------------------------
# Encrypted backups


def test_backup__during_writes__decrypts_with_openssl_to_a_sound_copy_with_every_prior_write(
        make_daemon, keys, tmp_path):
    tt.require_root("creates a person's file as the coordinator")
    cert, key = keys["rsa"]
    d = make_daemon(extra={"backup_recipient": cert})
    marker = tt.unique("Zqbackup")
    eid = person(d, marker)
    out = str(tmp_path / "tremplin.db.cms")
    before, p = tt.backup_during_writes(d, out)
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f:
        sealed = f.read()
    assert marker.encode() not in sealed and b"SQLite format 3" not in sealed
    assert "encrypted to 1 recipient" in d.log()
    restored = str(tmp_path / "restored.db")
    r = decrypt(out, cert, key, restored)
    assert r.returncode == 0, r.stderr
    rows = check_database(restored)
    assert rows["employees"][eid][1] == marker
    for s in before:
        assert rows["structures"][s["id"]] == (s["id"], s["name"], s["siret"], s["kind"],
                                               s["created_at"]), s
    # Someone else's key opens nothing.
    o_cert, o_key = keys["other"]
    assert decrypt(out, o_cert, o_key, str(tmp_path / "nope.db")).returncode != 0


def test_backup__two_recipients_rsa_and_ec__each_key_opens_it(make_daemon, keys, tmp_path):
    d = make_daemon(extra={"backup_recipient": [keys["rsa"][0], keys["ec"][0]]})
    a = d.get("/v1/backup")
    assert a.status == 200, a
    assert a.headers["Content-Type"] == "application/pkcs7-mime"
    assert "tremplin.db.cms" in a.headers["Content-Disposition"]
    out = str(tmp_path / "b.cms")
    with open(out, "wb") as f:
        f.write(a.body)
    for name in ("rsa", "ec"):
        cert, key = keys[name]
        restored = str(tmp_path / ("restored-%s.db" % name))
        r = decrypt(out, cert, key, restored)
        assert r.returncode == 0, (name, r.stderr)
        check_database(restored)


# ---------------------------------------------------------------------------
# No recipient: refused, unless the configuration says otherwise, loudly


def test_backup__no_recipient__409_naming_the_setting_and_tremplinctl_writes_nothing(
        make_daemon, tmp_path):
    d = make_daemon()
    assert "backups are refused until backup_recipient" in d.log()
    a = d.get("/v1/backup")
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert "backup_recipient" in a.error["message"]
    assert "backup_unencrypted" in a.error["message"]
    out = str(tmp_path / "copy.db")
    p = tt.ctl("backup", out, socket_path=d.socket)
    assert p.returncode == 1
    assert "backup_recipient" in p.stderr, p.stderr
    assert os.listdir(str(tmp_path)) == []


def test_backup__unencrypted_allowed__sqlite_copy_with_a_warning_at_start_and_each_backup(
        make_daemon, tmp_path):
    d = make_daemon(extra={"backup_unencrypted": True})
    assert re.search(r"warning: WARNING: backup_unencrypted = true", d.log()), d.log()
    offset = d.log_size()
    out = str(tmp_path / "copy.db")
    p = tt.ctl("backup", out, socket_path=d.socket)
    assert p.returncode == 0, p.stderr
    check_database(out)
    d.wait_log("sent UNENCRYPTED to", since=offset)


# ---------------------------------------------------------------------------
# The recipient is checked at load: file:line and what is wrong


def bad_recipient(d, how):
    if how == "missing":
        return os.path.join(d.dir, "absent.pem"), "No such file or directory"
    path = os.path.join(d.dir, how + ".pem")
    if how == "not_a_certificate":
        with open(path, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                    "-----END CERTIFICATE-----\n")
        return path, "not an X.509 certificate"
    if how == "private_key_only":
        _, key = recipient(d.dir, "keyonly")
        return key, "not an X.509 certificate"
    if how == "ed25519":
        return recipient(d.dir, "ed", kind="ed25519")[0], "needs an RSA or EC key"
    if how == "signing_only":
        cert = recipient(d.dir, "sign", extensions=["keyUsage=critical,digitalSignature"])[0]
        return cert, "keyEncipherment"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["missing", "not_a_certificate", "private_key_only", "ed25519",
                                 "signing_only"])
def test_config__bad_recipient__refused_with_file_line_and_reason(make_daemon, how):
    d = make_daemon(start=False)
    path, words = bad_recipient(d, how)
    d.write_config(extra={"backup_recipient": path})
    p = d.run("-n")
    assert p.returncode == 78, p.stderr
    m = re.search(re.escape(d.conf) + r":(\d+): backup_recipient: .*", p.stderr)
    assert m, p.stderr
    assert int(m.group(1)) == d.line_of("backup_recipient")
    assert path in m.group(0) and words in m.group(0), p.stderr


def test_config__recipient_and_unencrypted_together__refused(make_daemon, keys):
    d = make_daemon(start=False, extra={"backup_recipient": keys["rsa"][0],
                                        "backup_unencrypted": True})
    p = d.run("-n")
    assert p.returncode == 78
    assert "%s:%d: backup_unencrypted:" % (d.conf, d.line_of("backup_unencrypted")) in p.stderr


def test_reload__recipient_named_then_a_bad_one_refused__previous_kept(make_daemon, keys,
                                                                       tmp_path):
    d = make_daemon()
    assert d.get("/v1/backup").status == 409
    cert, key = keys["rsa"]
    offset = d.log_size()
    d.write_config(extra={"backup_recipient": cert})
    d.send_signal(signal.SIGHUP)
    d.wait_log("backups are encrypted to 1 recipient", since=offset)
    a = d.get("/v1/backup")
    assert a.status == 200, a
    offset = d.log_size()
    d.write_config(extra={"backup_recipient": os.path.join(d.dir, "absent.pem")})
    d.send_signal(signal.SIGHUP)
    log = d.wait_log("reload refused", since=offset)
    assert re.search(re.escape(d.conf) + r":\d+: backup_recipient: cannot read", log), log
    a = d.get("/v1/backup")
    assert a.status == 200, a
    out = str(tmp_path / "b.cms")
    with open(out, "wb") as f:
        f.write(a.body)
    assert decrypt(out, cert, key, str(tmp_path / "r.db")).returncode == 0
