"""tremplinctl against a live daemon: JSON out, errors on stderr with exit 1, backups."""

import json
import os
import re
import shutil
import socket
import sqlite3

import pytest

import tremplin_test as tt


@pytest.fixture(scope="module", autouse=True)
def _have_tremplinctl():
    if not os.access(tt.TREMPLINCTL, os.X_OK):
        pytest.skip("no tremplinctl at %s yet (make tremplinctl, or set TREMPLINCTL)"
                    % tt.TREMPLINCTL)


def ok_json(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_health__socket_option__prints_the_health_json(daemon):
    body = ok_json(tt.ctl("health", socket_path=daemon.socket))
    assert body["status"] == "ok"
    assert body["database"] == {"status": "ok"}


def test_health__socket_from_environment__used(daemon):
    body = ok_json(tt.ctl("health", env={"TREMPLIN_SOCKET": daemon.socket}))
    assert body["status"] == "ok"


def test_socket_option__wins_over_environment(daemon):
    p = tt.ctl("health", socket_path=daemon.socket,
               env={"TREMPLIN_SOCKET": os.path.join(daemon.dir, "absent.sock")})
    assert ok_json(p)["status"] == "ok"


def test_whoami__prints_the_account(daemon):
    body = ok_json(tt.ctl("whoami", socket_path=daemon.socket))
    assert body == daemon.get("/v1/whoami").body


def test_whoami__as_another_user__that_account(daemon):
    tt.needs_root("daemon")
    body = ok_json(tt.ctl("whoami", socket_path=daemon.socket, user="daemon"))
    assert (body["unix_user"], body["role"]) == ("daemon", "coordinator")


def test_get__object_and_list__same_json_as_the_api(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    assert ok_json(tt.ctl("get", "/v1/structures/%d" % s["id"], socket_path=daemon.socket)) == s
    listed = ok_json(tt.ctl("get", "/v1/structures?limit=500", socket_path=daemon.socket))
    assert listed == daemon.get("/v1/structures?limit=500").body


def test_post__argument__created_and_printed(daemon):
    body = tt.structure_body()
    out = ok_json(tt.ctl("post", "/v1/structures", json.dumps(body), socket_path=daemon.socket))
    for k, v in body.items():
        assert out[k] == v
    assert daemon.get("/v1/structures/%d" % out["id"]).body == out


def test_post__standard_input__created(daemon):
    body = tt.staff_body()
    out = ok_json(tt.ctl("post", "/v1/staff", "-", socket_path=daemon.socket,
                         input=json.dumps(body)))
    assert out["unix_user"] == body["unix_user"]
    assert daemon.get("/v1/staff/%d" % out["id"]).body == out


def test_patch__merge_patch__changed_and_printed(daemon):
    s = daemon.create("/v1/structures", tt.structure_body(annexe_financiere="ACI023201111A0M0"))
    out = ok_json(tt.ctl("patch", "/v1/structures/%d" % s["id"],
                         '{"name": "Renommée", "annexe_financiere": null}',
                         socket_path=daemon.socket))
    assert (out["name"], out["annexe_financiere"]) == ("Renommée", None)
    assert daemon.get("/v1/structures/%d" % s["id"]).body == out


def test_post__refused_by_daemon__exit_1_message_on_stderr_nothing_written(daemon):
    before = daemon.list_all("/v1/structures")
    body = tt.structure_body(siret="73282932000075")
    p = tt.ctl("post", "/v1/structures", json.dumps(body), socket_path=daemon.socket)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "siret" in p.stderr and "Luhn" in p.stderr, p.stderr
    assert "422" in p.stderr
    assert daemon.list_all("/v1/structures") == before


def test_get__missing__exit_1_message_on_stderr(daemon):
    p = tt.ctl("get", "/v1/structures/999999", socket_path=daemon.socket)
    assert p.returncode == 1
    assert "no structure 999999" in p.stderr
    # Said to staff in French, the API's own message and code quoted.
    assert p.stderr == ("tremplinctl : introuvable \u2014 no structure 999999 "
                        "[HTTP 404 not_found]\n")
    assert p.stdout.strip() == ""


def test_patch__conflict__exit_1_message_on_stderr_and_unchanged(daemon):
    s1 = daemon.create("/v1/structures", tt.structure_body())
    s2 = daemon.create("/v1/structures", tt.structure_body())
    p = tt.ctl("patch", "/v1/structures/%d" % s2["id"], json.dumps({"siret": s1["siret"]}),
               socket_path=daemon.socket)
    assert p.returncode == 1
    assert "already exists" in p.stderr and "siret" in p.stderr
    assert daemon.get("/v1/structures/%d" % s2["id"]).body == s2


def test_unknown_caller__exit_1_message_on_stderr(daemon):
    tt.needs_root(tt.UNKNOWN_USER)
    p = tt.ctl("whoami", socket_path=daemon.socket, user=tt.UNKNOWN_USER)
    assert p.returncode == 1
    assert "unknown caller" in p.stderr


def test_invalid_json_argument__refused_before_sending(daemon):
    before = daemon.list_all("/v1/structures")
    p = tt.ctl("post", "/v1/structures", "{not json", socket_path=daemon.socket)
    assert p.returncode == 64, (p.returncode, p.stderr)
    # Said in French, jansson's own reason and position kept.
    assert p.stderr.startswith("tremplinctl : JSON invalide en argument, ligne 1, colonne "), \
        p.stderr
    p = tt.ctl("post", "/v1/structures", socket_path=daemon.socket, input='{"a": 1,\n}')
    assert p.returncode == 64, (p.returncode, p.stderr)
    assert p.stderr.startswith("tremplinctl : JSON invalide sur l'entrée standard, ligne 2, "), \
        p.stderr
    assert daemon.list_all("/v1/structures") == before


def test_no_daemon__non_zero_exit_naming_the_socket(tmp_path):
    sock = str(tmp_path / "absent.sock")
    p = tt.ctl("health", socket_path=sock)
    assert p.returncode != 0
    assert sock in p.stderr


def test_backup__unencrypted_allowed__during_writes__consistent_copy_with_every_prior_write(
        make_daemon, tmp_path):
    """backup_unencrypted = true: the copy itself (test_backup.py: the encrypted one)."""
    daemon = make_daemon(extra={"backup_unencrypted": True})
    out = str(tmp_path / "copy.db")
    before, p = tt.backup_during_writes(daemon, out)
    assert p.returncode == 0, p.stderr
    con = sqlite3.connect("file:%s?mode=ro" % out, uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = {r[0]: r for r in con.execute(
            "SELECT id, name, siret, kind, annexe_financiere, created_at, updated_at "
            "FROM structures")}
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
    finally:
        con.close()
    for s in before:
        assert s["id"] in rows, s
        assert rows[s["id"]] == (s["id"], s["name"], s["siret"], s["kind"],
                                 s["annexe_financiere"], s["created_at"], s["updated_at"])
    assert not os.path.exists(out + "-wal")


def test_backup__not_admin__exit_1_and_no_file(daemon):
    tt.needs_root("daemon")
    # The coordinator may write here: only the daemon says no.
    d = tt.mkdtemp("tremplin-it-backup-", 0o777)
    try:
        p = tt.ctl("backup", os.path.join(d, "copy.db"), socket_path=daemon.socket,
                   user="daemon")
        assert p.returncode == 1
        assert "coordinator role may not" in p.stderr, p.stderr
        assert os.listdir(d) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


def man_commands():
    """The commands tremplinctl(1) describes: the tags of its COMMANDS paragraphs."""
    with open(os.path.join(tt.TOP_SRCDIR, "docs", "tremplinctl.1"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = lines.index(".SH COMMANDS") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(".SH "))
    names = []
    for i in range(start, end):
        if lines[i] == ".TP":
            tag = lines[i + 1].split()
            assert tag[0] in (".B", ".BI"), lines[i + 1]
            names.append(tag[1].strip('"'))
    return names


def help_commands():
    """The commands `tremplinctl help` lists, from its command table, in order."""
    p = tt.ctl("help")
    assert p.returncode == 0, (p.returncode, p.stderr)
    lines = p.stdout.splitlines()
    start = lines.index("commands:") + 1
    end = lines.index("", start)
    # A command's line starts with two spaces, its help's next lines with more.
    return [line.split()[0] for line in lines[start:end] if re.match(r"  \S", line)]


def test_help__commands__those_of_the_man_page_in_its_order():
    listed = help_commands()
    assert "health" in listed and "demo" in listed and "help" in listed, listed
    assert listed == man_commands()


def test_help__every_command_listed__is_one_it_runs(tmp_path):
    sock = str(tmp_path / "absent.sock")
    for name in help_commands():
        p = tt.ctl(name, socket_path=sock)
        assert "commande inconnue" not in p.stderr, (name, p.stderr)
    p = tt.ctl("frobnicate", socket_path=sock)
    assert p.returncode == 64
    assert p.stderr.startswith("tremplinctl : commande inconnue : frobnicate\n"), p.stderr


def test_no_daemon__said_in_french_with_the_socket_and_what_to_check(tmp_path):
    absent = str(tmp_path / "absent.sock")
    # A socket file nobody listens on (bound, never listening): connection refused.
    refused = str(tmp_path / "refused.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(refused)
    s.close()
    plain = str(tmp_path / "plain.sock")
    open(plain, "w").close()
    cases = [
        (absent, "ce fichier n'existe pas. Le service est-il démarré ?"),
        (refused, "connexion refusée. Le service est-il démarré ?"),
        (plain, "ce fichier n'est pas une socket. Vérifiez le chemin (-s ou TREMPLIN_SOCKET)."),
    ]
    for sock, why in cases:
        # A raw API command and a staff command (a worklist) say it alike.
        for args in (["health"], ["reviews", "--json"]):
            p = tt.ctl(*args, socket_path=sock)
            assert p.returncode == 69, (args, p.returncode, p.stderr)
            assert p.stderr == ("tremplinctl : impossible de joindre le service Tremplin par "
                                "%s : %s\n" % (sock, why)), (args, p.stderr)
            assert p.stdout == ""


def test_usage_errors__said_in_french__exit_64(tmp_path):
    sock = str(tmp_path / "absent.sock")
    cases = [
        (["--frobnicate", "health"], "tremplinctl : option inconnue : --frobnicate\n"),
        (["-x", "health"], "tremplinctl : option inconnue : -x\n"),
        (["get"], "tremplinctl get : nombre d'arguments incorrect\n"),
        (["get", ""], "tremplinctl : le chemin est vide (par exemple : /v1/structures)\n"),
        (["get", "/v1/\x01"], "tremplinctl : le chemin contient un caractère de contrôle\n"),
        (["export", "7a"],
         "tremplinctl export : ID doit être le numéro d'un salarié (des chiffres)\n"),
        (["backup", str(tmp_path) + "/"],
         "tremplinctl backup : FILE doit être un nom de fichier, pas un répertoire\n"),
        (["retention", "--confirm", "x"],
         "tremplinctl retention --confirm : COUNT doit être le nombre de dossiers que "
         "--dry-run a listés\n"),
        (["demo", "--employees", "0"],
         "tremplinctl demo : --employees attend un nombre de 1 à 1000000\n"),
        (["demo"], "tremplinctl demo : l'option --database PATH est obligatoire\n"),
    ]
    for args, first in cases:
        p = tt.ctl(*args, socket_path=sock)
        assert p.returncode == 64, (args, p.returncode, p.stderr)
        # The first line is the French message; the usage may follow.
        assert p.stderr.splitlines(keepends=True)[0] == first, (args, p.stderr)
    p = tt.ctl("-s")
    assert p.returncode == 64, (p.returncode, p.stderr)
    assert p.stderr.startswith("tremplinctl : l'option -s attend une valeur\n"), p.stderr
    p = tt.ctl("health", socket_path="")
    assert p.returncode == 64 and p.stderr == (
        "tremplinctl : le chemin de la socket est vide ; donnez-le par -s ou "
        "TREMPLIN_SOCKET\n"), p.stderr
