"""C plugins against a live daemon: the loader's refusals, plugin_strict, the
roles of GET /v1/plugins and of plugins' routes, and a plugin built out of the
tree against the installed SDK. The example plugin's own tests are in
plugins/example/tests/.

The plugins come from the build directory (TOP_BUILDDIR, exported by make
check): the example in plugins/example/, the test plugins in tests/plugins/
(recorder, and one broken plugin per refusal the loader makes).
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile

import pytest

import tremplin_test as tt

BROKEN = ["badabi", "badsize", "badversion", "nosymbol", "initfail", "startfail", "misnamed"]

# name -> (state, what its last_error must say). "missing" has no .so at all.
REFUSALS = {
    "badabi": ("disabled_failed", ["ABI", "19700101"]),
    "badsize": ("disabled_failed", ["bytes"]),
    "badversion": ("disabled_failed", ["built for", "9.0.0"]),
    "nosymbol": ("disabled_failed", ["no tremplin_plugin symbol"]),
    "initfail": ("disabled_failed", ["init failed"]),
    "startfail": ("disabled_failed", ["start failed"]),
    "misnamed": ("disabled_failed", ["holds plugin 'other'"]),
    "missing": ("disabled_failed", ["cannot load", "missing.so"]),
    "example": ("disabled_config", ["enabled = false"]),
}


def refused_lines(d, name):
    return [x for x in d.log().splitlines() if "plugin %s: refused" % name in x]


def counts(d, who="admin"):
    a = d.get("/v1/example/counts", who=who)
    assert a.status == 200, a
    return {i["type"]: i["count"] for i in a.body["items"]}


# -- the loader ---------------------------------------------------------------


def test_loader__each_refusal_named_once__daemon_serves(make_daemon):
    sections = {n: {} for n in ["recorder"] + BROKEN + ["missing"]}
    sections["example"] = {"enabled": False}
    d = make_daemon(plugin_files=["recorder", "example"] + BROKEN, plugins=sections)

    assert d.get("/v1/health").status == 200
    plugins = tt.plugins_of(d)
    assert sorted(plugins) == sorted(sections)
    assert [p["name"] for p in d.get("/v1/plugins").body["items"]] == sorted(sections)

    rec = plugins["recorder"]
    assert (rec["kind"], rec["state"], rec["version"], rec["last_error"]) == (
        "c", "enabled", "0.0.1", None)
    assert rec["description"] == "test: records events"
    assert sorted(s["name"] for s in rec["subscriptions"]) == ["recorder/all", "recorder/picky"]
    assert refused_lines(d, "recorder") == []

    for name, (state, words) in REFUSALS.items():
        p = plugins[name]
        assert (p["kind"], p["state"]) == ("c", state), p
        for w in words:
            assert w in p["last_error"], (name, p["last_error"])
        assert p["subscriptions"] == [], p
        lines = refused_lines(d, name)
        assert len(lines) == 1, (name, lines)
        assert p["last_error"] in lines[0] and state in lines[0], lines[0]

    # A working plugin serves next to the refused ones; a refused one has no routes.
    assert d.get("/v1/recorder/events").status == 200
    assert d.get("/v1/example/counts").status == 404
    # A reload does not try (or log) the refused plugins again.
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    for name in REFUSALS:
        assert len(refused_lines(d, name)) == 1, name
    assert tt.plugins_of(d)["startfail"]["state"] == "disabled_failed"


@pytest.mark.parametrize("plugin, section, field", [
    ("recorder", {"bogus": 1}, "bogus"),
    ("recorder", {"fail_types": "x"}, "fail_types"),
    ("recorder", {"fail_types": ["ok", 3]}, "fail_types[2]"),
    ("recorder", {"enabled": "yes"}, "enabled"),
    ("example", {"summary_interval": 0}, "summary_interval"),
])
def test_loader__bad_plugin_configuration__disabled_config_naming_the_field(
        make_daemon, plugin, section, field):
    d = make_daemon(plugin_files=[plugin], plugins={plugin: section})
    p = tt.plugins_of(d)[plugin]
    assert p["state"] == "disabled_config", p
    assert field in p["last_error"], p
    assert len(refused_lines(d, plugin)) == 1
    assert d.get("/v1/health").status == 200
    route = "/v1/recorder/events" if plugin == "recorder" else "/v1/example/counts"
    assert d.get(route).status == 404


@pytest.mark.parametrize("bad, section", [
    ("badabi", {}),
    ("startfail", {}),
    ("missing", {}),
    ("recorder", {"bogus": 1}),
])
def test_plugin_strict__a_refused_plugin__start_fails_naming_it(make_daemon, bad, section):
    plugins = {"example": {}, bad: section}
    d = make_daemon(start=False, plugin_files=["example", "recorder", "badabi", "startfail"],
                    plugins=plugins, extra={"plugin_strict": True})
    p = d.run("-d")
    assert p.returncode != 0, p.stderr
    assert "plugin %s refused" % bad in p.stderr, p.stderr
    assert "plugin_strict" in p.stderr, p.stderr
    assert not os.path.exists(d.socket)


def test_plugin_strict__good_plugins__starts(make_daemon):
    # enabled = false is the operator's choice, not a refusal: strict lets it be.
    d = make_daemon(plugin_files=["example", "recorder"],
                    plugins={"example": {}, "recorder": {}, "badabi": {"enabled": False}},
                    extra={"plugin_strict": True})
    plugins = tt.plugins_of(d)
    assert plugins["example"]["state"] == "enabled"
    assert plugins["recorder"]["state"] == "enabled"
    assert plugins["badabi"]["state"] == "disabled_config"


# A plugin that uses the store, then fails in init, config or start (FAIL_AT 1,
# 2, 3). The daemon's statement cache keys on the SQL text the plugin gave: the
# refused plugin's image must outlive those keys.
QUERY_THEN_FAIL = r"""
#include <stdio.h>
#include <tremplin/plugin.h>

static const struct tremplin_host *host;
static struct tremplin_plugin *self;

static int
touch(void)
{
	sqlite3_stmt *st = host->stmt(self, "SELECT count(*) FROM events WHERE type = '" NAME "'");

	if (st != NULL) {
		sqlite3_step(st);
		host->stmt_done(st);
	}
	return -1;
}

static int
p_init(const struct tremplin_host *h, struct tremplin_plugin *s, void **ctx)
{
	host = h;
	self = s;
	*ctx = NULL;
	return FAIL_AT == 1 ? touch() : 0;
}

static int
p_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	(void)ctx, (void)section;
	snprintf(err, errlen, "refused after a query");
	return FAIL_AT == 2 ? touch() : 0;
}

static int
p_start(void *ctx)
{
	(void)ctx;
	return FAIL_AT == 3 ? touch() : 0;
}

static void
p_stop(void *ctx)
{
	(void)ctx;
}

TREMPLIN_PLUGIN(.name = NAME, .version = "1", .description = "test: fails after a query",
    .init = p_init, .config = p_config, .start = p_start, .stop = p_stop);
"""


def test_loader__refused_after_using_the_store__daemon_keeps_serving(make_daemon, tmp_path):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("needs cc to build the plugin")
    src = tmp_path / "qf.c"
    src.write_text(QUERY_THEN_FAIL)
    d = make_daemon(start=False, plugin_files=["recorder"])
    names = {"sqlinit": 1, "sqlconfig": 2, "sqlstart": 3}
    for name, at in names.items():
        c = subprocess.run([cc, "-shared", "-fPIC", "-I", os.path.join(tt.TOP_BUILDDIR, "include"),
                            "-DNAME=\"%s\"" % name, "-DFAIL_AT=%d" % at, "-o",
                            os.path.join(d.settings["plugin_dir"], name + ".so"), str(src)],
                           capture_output=True, text=True, timeout=120)
        assert c.returncode == 0, c.stderr
    d.write_config(plugins=dict({n: {} for n in names}, recorder={}))
    d.start()
    plugins = tt.plugins_of(d)
    assert [plugins[n]["state"] for n in names] == [
        "disabled_failed", "disabled_config", "disabled_failed"]
    assert "refused after a query" in plugins["sqlconfig"]["last_error"]
    # New statements are prepared (and looked up in the cache) after the refusals.
    s = d.create("/v1/structures", tt.structure_body())
    assert d.patch("/v1/structures/%d" % s["id"], {"name": "Encore"}).status == 200
    assert d.get("/v1/events?type=structure.*").status == 200
    tt.wait_for("the recorder", lambda: len(tt.recorded(d)) == 2)
    d.restart()
    assert d.get("/v1/staff").status == 200


# -- roles ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugged(module_daemons):
    """A daemon with the example and the recorder, shared by the role tests."""
    return module_daemons(plugin_files=["example", "recorder"],
                          plugins={"example": {}, "recorder": {}})


@pytest.mark.parametrize("who, allowed", [
    ("admin", True), ("coordinator", True), ("cip", False), ("eti", False), ("unknown", False),
])
def test_roles__plugins_and_events__managers_only(plugged, who, allowed):
    for path in ("/v1/plugins", "/v1/events", "/v1/events?type=structure.*"):
        a = plugged.get(path, who=who)
        assert a.status == (200 if allowed else 403), (path, a)
        if not allowed:
            assert a.error["code"] == "forbidden"


@pytest.mark.parametrize("who, counts_ok", [
    ("admin", True), ("coordinator", True), ("cip", False), ("eti", False),
])
def test_roles__plugin_routes__the_roles_they_declared(plugged, who, counts_ok):
    # example: GET /counts for coordinators and admins; recorder: /events for all staff.
    a = plugged.get("/v1/example/counts", who=who)
    assert a.status == (200 if counts_ok else 403), a
    if not counts_ok:
        assert a.error["code"] == "forbidden"
    assert plugged.get("/v1/recorder/events", who=who).status == 200
    assert plugged.get("/v1/example/counts", who="unknown").status == 403


def test_plugin_routes__unknown_path_and_method(plugged):
    assert plugged.get("/v1/example/nope").error["code"] == "not_found"
    a = plugged.post("/v1/example/counts", {})
    assert a.status == 405 and a.headers["Allow"] == "GET", a


# -- the SDK, out of the tree ------------------------------------------------------


def _make_env():
    # Under `make check` the suite runs inside make: a sub-make must not join its jobserver.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["LC_ALL"] = "C"
    return env


def test_sdk__installed_with_pkg_config__builds_a_plugin_that_loads(make_daemon):
    cc = shutil.which(os.environ.get("CC") or "cc") or shutil.which("cc")
    pkg_config = shutil.which("pkg-config")
    if cc is None or pkg_config is None:
        pytest.skip("needs cc and pkg-config (cc: %s, pkg-config: %s)" % (cc, pkg_config))
    make = shutil.which("make")
    assert make, "make is needed to install the SDK from the build directory"
    assert os.path.exists(os.path.join(tt.TOP_BUILDDIR, "Makefile")), tt.TOP_BUILDDIR

    tmp = tempfile.mkdtemp(prefix="tremplin-sdk-")
    try:
        dest = os.path.join(tmp, "root")
        p = subprocess.run([make, "-s", "-C", tt.TOP_BUILDDIR, "install-nodist_tremplinincludeHEADERS",
                            "install-pkgconfigDATA", "DESTDIR=" + dest],
                           capture_output=True, text=True, env=_make_env(), timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        pcs = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs
               if f == "tremplin-plugin.pc"]
        headers = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs
                   if f == "plugin.h" and r.endswith(os.path.join("include", "tremplin"))]
        assert len(pcs) == 1 and len(headers) == 1, (pcs, headers)

        env = dict(_make_env(), PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PKG_CONFIG_SYSROOT_DIR=dest)
        flags = {}
        for what in ("--cflags", "--libs"):
            q = subprocess.run([pkg_config, what, "tremplin-plugin"], capture_output=True,
                               text=True, env=env, timeout=60)
            assert q.returncode == 0, q.stderr
            flags[what] = shlex.split(q.stdout)
        # The header comes from the temporary prefix, not from the source tree.
        assert "-I" + os.path.dirname(os.path.dirname(headers[0])) in flags["--cflags"], flags

        src = os.path.join(tmp, "src")
        out = os.path.join(tmp, "plugins")
        os.makedirs(src)
        os.makedirs(out)
        # Its sources as plugins/example/README.md has them built: every .c and .h.
        example = os.path.join(tt.TOP_SRCDIR, "plugins", "example")
        sources = sorted(f for f in os.listdir(example) if f.endswith(".c"))
        for f in os.listdir(example):
            if f.endswith((".c", ".h")):
                shutil.copy(os.path.join(example, f), src)
        assert "example.c" in sources and "rules.c" in sources, sources
        c = subprocess.run([cc, "-shared", "-fPIC"] + flags["--cflags"] +
                           ["-o", os.path.join(out, "example.so")] + sources + flags["--libs"],
                           cwd=src, capture_output=True, text=True, env=env, timeout=120)
        assert c.returncode == 0, c.stdout + c.stderr
        os.chmod(tmp, 0o755)

        d = make_daemon(plugin_dir=out, plugins={"example": {}})
        p = tt.plugins_of(d)["example"]
        assert (p["state"], p["version"], p["last_error"]) == ("enabled", "1.0.0", None), p
        assert counts(d) == {}
        structure = d.create("/v1/structures", tt.structure_body())["id"]
        tt.wait_for("the out-of-tree plugin's count",
                    lambda: counts(d) == {"structure.created": 1})
        # Its person-linked record, as the host derives it: policy, journal, erasure.
        cip = d.get("/v1/whoami", who="cip").body["id"]
        person = d.create("/v1/employees", {
            "structure_id": structure, "first_name": "Lou", "last_name": tt.unique("S"),
            "birth_date": "1990-01-01", "prescriber_kind": "france_travail",
            "referent_cip_id": cip}, who="cip")["id"]
        note = tt.unique("Zsdk")
        c = d.create("/v1/example/employees/%d/checkins" % person,
                     {"day": "2026-05-04", "present": True, "note": note}, who="eti")
        assert d.get("/v1/example/checkins/%d" % c["id"], who="admin").status == 403
        assert d.get("/v1/example/checkins/%d" % c["id"], who="cip").body["note"] == note
        assert d.sql("SELECT count(*) FROM events WHERE type = 'example.checkin.created'"
                     " AND payload NOT LIKE ?", ("%" + note + "%",)) == [(1,)]
        a = d.call("DELETE", "/v1/employees/%d" % person, {"reason": "request"},
                   who="coordinator")
        assert a.status == 200, a
        assert d.sql("SELECT count(*) FROM example_checkins") == [(0,)]
        d.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- views of a plugin's own data --------------------------------------------------


VIEWER = r"""
#include <tremplin/plugin.h>

static const struct tremplin_migration migrations[] = {
	{ 1, "CREATE TABLE viewer_rows (id INTEGER PRIMARY KEY, label TEXT NOT NULL);"
	     "INSERT INTO viewer_rows (label) VALUES ('un'), ('deux');" },
};
static const struct tremplin_view view = { .size = sizeof(struct tremplin_view),
	.name = "viewer.rows.v1", .sql = VIEW_SQL, .roles = TREMPLIN_ROLE_COORDINATOR };

static int
v_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	*ctx = NULL;
	return host->migrations(self, migrations, 1) || host->view_register(self, &view);
}
static int v_start(void *ctx) { (void)ctx; return 0; }
static void v_stop(void *ctx) { (void)ctx; }

TREMPLIN_PLUGIN(.name = "viewer", .version = "1", .description = "test: a view",
    .init = v_init, .start = v_start, .stop = v_stop);
"""


def _build_viewer(d, tmp_path, sql):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("needs cc to build the plugin")
    src = tmp_path / "viewer.c"
    src.write_text(VIEWER)
    c = subprocess.run([cc, "-shared", "-fPIC", "-I", os.path.join(tt.TOP_BUILDDIR, "include"),
                        "-DVIEW_SQL=%s" % json.dumps(sql), "-o",
                        os.path.join(d.settings["plugin_dir"], "viewer.so"), str(src)],
                       capture_output=True, text=True, timeout=120)
    assert c.returncode == 0, c.stderr


def test_view__a_plugins_own_data__read_by_the_roles_it_names(make_daemon, tmp_path):
    d = make_daemon(start=False, plugin_files=["recorder"])
    _build_viewer(d, tmp_path, "SELECT id, label FROM viewer_rows ORDER BY id")
    d.write_config(plugins={"viewer": {}, "recorder": {}})
    d.start()
    assert tt.plugins_of(d)["viewer"]["state"] == "enabled"
    # The recorder reads its own view through the host, as the caller.
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("the recorder", lambda: len(tt.recorded(d)) >= 1)
    a = d.get("/v1/recorder/view", who="eti")
    assert a.status == 200 and {r["type"] for r in a.body["items"]} >= {"structure.created"}, a


@pytest.mark.parametrize("sql, why", [
    ("SELECT first_name FROM employees", "not a read-only statement over its own data"),
    ("SELECT detail FROM barriers", "not a read-only statement over its own data"),
    ("DELETE FROM viewer_rows", "not a read-only statement over its own data"),
])
def test_view__over_the_kernels_people_or_writing__refused_at_load(make_daemon, tmp_path, sql,
                                                                   why):
    d = make_daemon(start=False, plugin_files=["recorder"])
    _build_viewer(d, tmp_path, sql)
    d.write_config(plugins={"viewer": {}})
    d.start()
    p = tt.plugins_of(d)["viewer"]
    assert p["state"] == "disabled_failed" and why in p["last_error"], p
    assert d.get("/v1/health").status == 200


# -- notifications: queued by a plugin, delivered by a channel plugin ------------------


RELAY = r"""
#include <string.h>
#include <tremplin/plugin.h>

static const struct tremplin_host *host;
static struct tremplin_plugin *me;

struct call { struct tremplin_request *req; int rc; };

static int
queue(void *arg)
{
	struct call *c = arg;
	json_t *b = host->request_body(c->req);
	struct tremplin_notification n = { .size = sizeof(n),
		.kind = json_string_value(json_object_get(b, "kind")),
		.recipient_role = json_string_value(json_object_get(b, "role")),
		.employee_id = json_integer_value(json_object_get(b, "employee_id")),
		.message = json_string_value(json_object_get(b, "message")),
		.dedup_key = json_string_value(json_object_get(b, "key")) };
	int64_t id = 0;
	c->rc = host->notify(me, &n, &id);
	/* fail: the cause's transaction rolls back, and the notification with it */
	return c->rc < 0 || json_is_true(json_object_get(b, "fail")) ? -1 : 0;
}

static void
post(struct tremplin_request *req, void *arg)
{
	struct call c = { req, 0 };
	(void)arg;
	int rc = host->transaction(me, queue, &c);
	host->reply(req, 200, json_pack("{s:i, s:i}", "transaction", rc, "queued", c.rc));
}

static void
deliver(struct tremplin_request *req, void *arg)
{
	json_t *items = host->outbox_claim(me, 10, 60000), *it;
	size_t i;
	(void)arg;
	json_array_foreach (items, i, it)
		host->outbox_done(me, json_integer_value(json_object_get(it, "id")), 1, NULL, 0);
	host->reply(req, 200, json_pack("{s:o}", "items", items));
}

static int
r_init(const struct tremplin_host *h, struct tremplin_plugin *self, void **ctx)
{
	static const struct tremplin_route_spec p = { sizeof(p), TREMPLIN_POST, "/notify",
		TREMPLIN_ROLE_COORDINATOR, TREMPLIN_ROUTE_BODY, NULL, post, NULL };
	static const struct tremplin_route_spec d = { sizeof(d), TREMPLIN_POST, "/deliver",
		TREMPLIN_ROLE_COORDINATOR, 0, NULL, deliver, NULL };
	host = h;
	me = self;
	*ctx = NULL;
	return h->route(self, &p) || h->route(self, &d);
}
static int r_start(void *ctx) { (void)ctx; return 0; }
static void r_stop(void *ctx) { (void)ctx; }

TREMPLIN_PLUGIN(.name = "relay", .version = "1", .description = "test: notifications",
    .init = r_init, .start = r_start, .stop = r_stop);
"""


def test_notify__in_the_causes_transaction__claimed_once_by_the_channel(make_daemon, tmp_path):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("needs cc to build the plugin")
    d = make_daemon(start=False, plugin_files=["recorder"])
    src = tmp_path / "relay.c"
    src.write_text(RELAY)
    c = subprocess.run([cc, "-shared", "-fPIC", "-I", os.path.join(tt.TOP_BUILDDIR, "include"),
                        "-o", os.path.join(d.settings["plugin_dir"], "relay.so"), str(src)],
                       capture_output=True, text=True, timeout=120)
    assert c.returncode == 0, c.stderr
    d.write_config(plugins={"relay": {}})
    d.start()
    msg = "Le contrat se termine dans 30 jours : prévoir l'entretien de sortie."

    def notify(**body):
        a = d.post("/v1/relay/notify", dict({"kind": "contract_ending", "role": "cip",
                                             "message": msg}, **body), who="coordinator")
        assert a.status == 200, a
        return a.body

    assert notify(fail=True) == {"transaction": -1, "queued": 1}
    assert d.sql("SELECT count(*) FROM outbox") == [(0,)]
    assert notify(key="c/1") == {"transaction": 0, "queued": 1}
    assert notify(key="c/1") == {"transaction": 0, "queued": 0}
    assert notify(role="nobody")["queued"] == -1
    assert d.sql("SELECT source, kind, recipient_role, message, dedup_key, status FROM outbox") \
        == [("plugin:relay", "contract_ending", "cip", msg, "plugin:relay:c/1", "pending")]
    got = d.post("/v1/relay/deliver", {}, who="coordinator").body["items"]
    assert [(i["kind"], i["message"], i["attempts"]) for i in got] == \
        [("contract_ending", msg, 1)]
    assert d.post("/v1/relay/deliver", {}, who="coordinator").body["items"] == []
    assert d.sql("SELECT status FROM outbox") == [("sent",)]
    assert d.sql("SELECT channel, status, lease_until FROM outbox_channels") == \
        [("plugin:relay", "sent", None)]
