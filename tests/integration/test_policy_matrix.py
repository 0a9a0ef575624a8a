"""The whole role x endpoint x field matrix of a person's file, against a live daemon.

The expectations are generated from the policy the daemon reports
(GET /v1/policy: each category's read and write roles, the "referent_cip"
pseudo-role, each resource's fields and their categories) and from the rows
as SQLite holds them; every answer is compared with them. When the table and
the answers diverge, a test names the caller, the request, the field and the
category at fault.

Callers: eti (sys), cip (bin), a second CIP (mail, or another free system
user), coordinator (daemon), admin (root). The cip is the referent of one
file and not of the others; the second CIP is the referent of another.

Two rules are not in the table and are written here as DOMAIN.md states
them: the ETI sees only the barriers the CIP shares (ROW_RULES), and a record
of which a caller may read nothing but ids and dates does not exist for it.

Records that hang on another record (a contract's renewals, suspensions and
AI placements) are found from the policy's "nested" map: each is read on its
own path and inside its parent's answers under its key, where the policy
applies to it as it does alone; it is created under its parent's path
(POST /v1/<parent path>/{id}/<key>) and names its parent in <parent>_id.
A new resource of either kind enters every test here once OTHER and
create_bodies give it sample values.

Every record the policy lists is exercised, the kernel's and the plugins' (this
daemon loads the example plugin, whose `checkin` is about a person): each entry
says where its routes are ("item", "collection"), what they offer ("ops"), who
owns it and whether it is personal. No list of records is written here; a new
record needs sample values only (OTHER, create_bodies). A plugin's record is
documented in its plugin's README, not in docs/openapi.json: the JSON types of
its fields are learnt from its answers.

The production and skills plugins' records are walked the same way, without
a list (test_plugins__every_field_of_every_record__...): a daemon loading them
(and the example) serves tremplinctl demo's workshop, which holds a row of
each; per role (the CIP referent of some of its people), every field of each
record is shown or hidden on GET, and its PATCH and a POST of a copy are
answered or refused 403 as its category in GET /v1/policy says.

Computed fields (a PASS's end and status, which no column holds) are in the
policy's "fields" with their category and in its "computed" list: each is
expected in an answer iff the caller reads its category, with the value
COMPUTED works out from the rows (any value, for one COMPUTED does not know).
"""

import base64
import datetime
import json
import os
import re
import sqlite3
import zoneinfo

import pytest

import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")

HERE = os.path.dirname(os.path.abspath(__file__))
# Fields the server sets and fields fixed once made come from GET /v1/policy ("server",
# "fixed"). A record of each plugin's whose detail is sensitive in some rows, in such a row: made
# by the coordinator, its detail then written by the referent CIP (world fixture).
SENSITIVE_BODIES = {
    "example.checkin": {"day": "2029-03-03", "present": True, "incident": "injury",
                        "note": "coupure"},
}
# DOMAIN.md: barriers, "only those the CIP shares with the ETI".
ROW_RULES = {"barrier": lambda bits, row: "eti" not in bits or bool(row["shared_with_eti"])}
DEFAULT_WELCOME = ["booklet", "rules", "safety_briefing", "ppe_issued", "medical_visit",
                   "team_introduction"]
CALLERS = ["eti", "cip", "cip2", "coordinator", "admin"]


class _Any:
    """A computed value COMPUTED does not know: only its presence is checked."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __repr__(self):
        return "<any value>"


ANY = _Any()


def day(s):
    return datetime.date.fromisoformat(s)


def paris_today():
    """The day the daemon's status defaults to (its clock is the real one here)."""
    return datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date()


def pass_records(world, pid):
    """A PASS's row, its suspensions' days and its prolongations, in the daemon's order."""
    p = world.truth("pass", pid)
    susp = [(day(s["start_date"]), day(s["end_date"]))
            for s in world.nested_rows("pass_suspension", pid)]
    prol = world.nested_rows("pass_prolongation", pid)
    return p, susp, prol


def pass_computed(world, row):
    """DOMAIN.md: the end moves by each suspension's days and each prolongation's."""
    p, susp, prol = pass_records(world, row["id"])
    end = day(p["initial_end_date"]) + datetime.timedelta(
        days=sum((b - a).days + 1 for a, b in susp) + sum(x["days"] for x in prol))
    on = paris_today()
    if on < day(p["start_date"]):
        status = "FUTURE"
    elif on > end:
        status = "EXPIRED"
    elif any(a <= on <= b for a, b in susp):
        status = "SUSPENDED"
    else:
        status = "VALID"
    return {"end_date": end.isoformat(), "status": status, "status_on": on.isoformat()}


def pass_prolongation_computed(world, row):
    """Its days follow the end as it stands before it: suspensions, earlier prolongations."""
    p, susp, prol = pass_records(world, row["pass_id"])
    end = day(p["initial_end_date"]) + datetime.timedelta(
        days=sum((b - a).days + 1 for a, b in susp))
    for x in prol:
        first, end = end + datetime.timedelta(days=1), end + datetime.timedelta(days=x["days"])
        if x["id"] == row["id"]:
            return {"start_date": first.isoformat(), "end_date": end.isoformat()}
    raise AssertionError("prolongation %d not in its PASS" % row["id"])


# The values of computed fields, from the rows: resource -> f(world, row) -> {field: value}.
COMPUTED = {
    "pass": pass_computed,
    "pass_suspension": lambda w, r: {
        "days": (day(r["end_date"]) - day(r["start_date"])).days + 1},
    "pass_prolongation": pass_prolongation_computed,
}


def schema_name(resource):
    return "".join(p.capitalize() for p in resource.split("_"))


def decode_cursor(c):
    raw = base64.urlsafe_b64decode(c + "=" * (-len(c) % 4))
    return int.from_bytes(raw, "big")


class Caller:
    def __init__(self, name, user, role, staff_id):
        self.name, self.user, self.role, self.staff_id = name, user, role, staff_id

    def __repr__(self):
        return "%s (%s, %s)" % (self.name, self.user, self.role)


class Policy:
    """The table as the daemon reports it, and what it means for a caller."""

    def __init__(self, body):
        self.body = body
        self.cats = body["categories"]
        # A person's file: the records that hold a person's data. Records of nobody's (the
        # structures, the staff accounts) are the organisation's, tested on their own.
        self.res = {r: v for r, v in body["resources"].items() if v["personal"]}
        self.all = body["resources"]
        self.personal = set(body["personal_data_roles"])
        # Records shown inside others: resource -> {key: nested resource}, and back.
        self.nested = {r: dict(v["nested"]) for r, v in self.res.items()}
        # Fields the server computes for the view: in "fields" with a category, no column.
        self.computed = {r: list(v["computed"]) for r, v in self.res.items()}
        for r, names in self.computed.items():
            for f in names:
                assert f in self.res[r]["fields"], "%s: computed %s has no category" % (r, f)
        self.parent = {}
        for r, keys in self.nested.items():
            for key, sub in keys.items():
                assert sub in self.res, "%s nests %s, which the policy does not list" % (r, sub)
                assert sub not in self.parent, "%s is nested in two resources" % sub
                self.parent[sub] = (r, key)

    def parent_col(self, res):
        """The field naming a nested record's parent: <parent>_id, as the house names it."""
        if res not in self.parent:
            return None
        col = self.parent[res][0] + "_id"
        assert col in self.res[res]["fields"], "%s: nested, but no %s field" % (res, col)
        return col

    def top_children(self):
        """The records of a file listed under /v1/employees/{id}/."""
        return [r for r in self.res
                if r not in self.parent and "employee_id" in self.res[r]["fields"]]

    def reads(self, bits, cat):
        return bool(set(self.cats[cat]["read"]) & bits)

    def writes(self, bits, cat):
        return bool(set(self.cats[cat]["write"]) & bits)

    def audited(self, cat):
        return self.cats[cat]["audited"]

    def fields(self, res):
        """The stored fields: columns, which SQLite holds and PATCH may name."""
        return [f for f in self.res[res]["fields"] if f not in self.computed[res]]

    def all_fields(self, res):
        """Every field an answer may hold (its nested records apart), computed ones and the
        display names beside ids too."""
        return list(self.res[res]["fields"]) + list(self.res[res]["names"])

    def shared(self, res, field, row, bits):
        """The CIP shared this row with the ETI, and the ETI then reads this field."""
        sh = self.res[res]["shared_with_eti"]
        return ("eti" in bits and sh is not None and bool(row.get(sh["field"]))
                and field in sh["fields"] and self.cat(res, field, row) != "sensitive")

    def cat(self, res, field, row):
        """The category of a field in this row (a health barrier's detail is sensitive)."""
        cats = self.res[res]["fields"][field]
        if len(cats) == 1:
            return cats[0]
        when = self.res[res]["sensitive_when"]
        assert when, "%s.%s has two categories and no sensitive_when" % (res, field)
        return cats[1] if row.get(when["field"]) in when["values"] else cats[0]

    def view(self, res, row, bits):
        """The record as these rights show it; None when it does not exist for them."""
        rule = ROW_RULES.get(res)
        if rule is not None and not rule(bits, row):
            return None
        out = {f: row[f] for f in self.fields(res)
               if self.reads(bits, self.cat(res, f, row)) or self.shared(res, f, row, bits)}
        if not any(self.cat(res, f, row) != "none" for f in out):
            return None
        return out

    def audited_in(self, res, row, view):
        return {self.cat(res, f, row) for f, v in view.items()
                if v is not None and f in self.res[res]["fields"]
                and self.audited(self.cat(res, f, row))}

    def readable_at_all(self, res, role):
        bits = {role} | ({"referent_cip"} if role == "cip" else set())
        if role == "eti" and self.res[res]["shared_with_eti"] is not None:
            return True
        return any(c[0] != "none" and self.reads(bits, c[0])
                   for c in self.res[res]["fields"].values())


class World:
    """The daemon, the policy, the callers, and the rows as SQLite holds them."""

    def __init__(self, d):
        self.d = d
        self.db = sqlite3.connect(d.database, isolation_level=None, timeout=10)
        self.db.row_factory = sqlite3.Row
        self.audit_path = os.path.join(os.path.dirname(d.database), "audit.sqlite")
        self.adb = sqlite3.connect(self.audit_path, isolation_level=None, timeout=10)
        self.adb.row_factory = sqlite3.Row
        with open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json"), encoding="utf-8") as f:
            api = json.load(f)
        self.schemas = api["components"]["schemas"]
        self.paths = api["paths"]
        self.callers = {}
        self.records = []  # (resource, id)
        self.canaries = []  # (resource, id, field, value)
        self.employees = {}
        self.structures = []
        self.n = 0
        # A plugin's record has no schema here: field -> kind, from its answers.
        self.seen_kinds = {}
        # The table of each record, from the database's catalogue of person-linked ones.
        self.tables = {r["name"]: r["tbl"] for r in self.db.execute(
            "SELECT name, tbl FROM record_catalogue")}

    # -- the truth ----------------------------------------------------------

    def table(self, res):
        return self.tables.get(res, self.policy.res[res]["path"])

    def kernel(self, res):
        return self.policy.res[res]["module"] == "kernel"

    def learn(self, res, body):
        """A plugin's record: the JSON types its answer shows (booleans, lists)."""
        if self.kernel(res) or not isinstance(body, dict):
            return
        kinds = self.seen_kinds.setdefault(res, {})
        for f, v in body.items():
            if isinstance(v, bool):
                kinds[f] = "bool"
            elif isinstance(v, list) and f not in self.policy.nested[res]:
                kinds[f] = "list"

    def kinds(self, res):
        """field -> 'bool' | 'list' | None, from the record's schema in the API description
        (a plugin's record: from its answers)."""
        if not self.kernel(res):
            return dict(self.seen_kinds.get(res, {}))
        out = {}
        for f, s in self.schemas[schema_name(res)]["properties"].items():
            if f in self.policy.nested[res]:
                continue  # the nested records: their own rows
            branches = s.get("oneOf", [s])
            types = set()
            for b in branches:
                if "$ref" in b:
                    b = self.schemas[b["$ref"].rsplit("/", 1)[1]]
                types.add(b.get("type"))
            out[f] = "bool" if "boolean" in types else "list" if "array" in types else None
        return out

    def truth(self, res, rid):
        row = self.db.execute("SELECT * FROM %s WHERE id = ?" % self.table(res),
                              (rid,)).fetchone()
        assert row is not None, "no %s %d in the database" % (res, rid)
        row = dict(row)
        for f, k in self.kinds(res).items():
            if row.get(f) is None:
                continue
            if k == "bool":
                row[f] = bool(row[f])
            elif k == "list":
                row[f] = json.loads(row[f])
        return row

    def rows(self, res, employee_id):
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM %s WHERE employee_id = ? ORDER BY id" % self.table(res),
            (employee_id,))]
        return [self.truth(res, i) for i in ids]

    def nested_rows(self, sub, parent_id):
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM %s WHERE %s = ? ORDER BY id" % (
                self.table(sub), self.policy.parent_col(sub)), (parent_id,))]
        return [self.truth(sub, i) for i in ids]

    def employee_of(self, res, row):
        if res in self.policy.parent:
            parent = self.policy.parent[res][0]
            return self.employee_of(parent, self.truth(
                parent, row[self.policy.parent_col(res)]))
        return self.truth("employee", row["id"] if res == "employee" else row["employee_id"])

    def server_set(self, res, f):
        # As GET /v1/policy says: set by the server, refused in input.
        return f in self.policy.res[res]["server"]

    def documented(self, method, template):
        return method in self.paths.get(template, {})

    def bits(self, caller, employee):
        b = {caller.role}
        if caller.role == "cip" and employee["referent_cip_id"] == caller.staff_id:
            b.add("referent_cip")
        return b

    def show(self, res, row, bits):
        """The record as these rights read it, with the records nested in it, and the
        audited categories that shows; (None, set()) when it does not exist for them."""
        view = self.policy.view(res, row, bits)
        if view is None:
            return None, set()
        # Computed fields: shown iff their category is read, like the columns.
        if self.policy.computed[res]:
            values = COMPUTED[res](self, row) if res in COMPUTED else {}
            for f in self.policy.computed[res]:
                if self.policy.reads(bits, self.policy.cat(res, f, row)):
                    view[f] = values.get(f, ANY)
        cats = self.policy.audited_in(res, row, view)
        self.add_names(res, view, bits)
        for key, sub in self.policy.nested[res].items():
            view[key] = []
            for r in self.nested_rows(sub, row["id"]):
                v, c = self.show(sub, r, bits)
                if v is not None:
                    view[key].append(v)
                    cats |= c
        return view, cats

    def add_names(self, res, view, bits):
        """The display names beside the ids the view shows, as the daemon adds them."""
        for key, n in self.policy.res[res]["names"].items():
            rid = view.get(n["of"])
            if rid is None:
                continue
            if n["person"]:
                if not self.policy.reads(bits, "identity"):
                    continue
                r = self.db.execute("SELECT first_name || ' ' || last_name FROM employees"
                                    " WHERE id = ?", (rid,)).fetchone()
            else:
                r = self.db.execute("SELECT name FROM staff WHERE id = ?", (rid,)).fetchone()
            if r is not None:
                view[key] = r[0]

    def expected(self, caller, res, row):
        return self.show(res, row, self.bits(caller, self.employee_of(res, row)))[0]

    def audited_shown(self, caller, res, row):
        return self.show(res, row, self.bits(caller, self.employee_of(res, row)))[1]

    def count(self, res):
        return self.db.execute("SELECT count(*) FROM %s" % self.table(res)).fetchone()[0]

    def last_event(self):
        return self.db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]

    def last_audit(self):
        return self.adb.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]

    def audit_since(self, last):
        return [dict(r) for r in self.adb.execute(
            "SELECT * FROM audit_log WHERE id > ? ORDER BY id", (last,))]

    # -- calls --------------------------------------------------------------

    def call(self, caller, method, path, body=None):
        a = self.d.call(method, path, body, who=caller.user)
        if a.status in (200, 201) and isinstance(a.body, dict):
            name = self.record_at(path)
            if name is not None:
                self.learn(name, a.body)
                for item in a.body.get("items", []):
                    self.learn(name, item)
        return a

    def record_at(self, path):
        """The plugin record a path serves (its item or its collection), or None."""
        p = re.sub(r"/[0-9]+", "/{id}", path.split("?")[0])
        for r, v in self.policy.res.items():
            if not self.kernel(r) and p in (v["item"] + "/{id}", v["collection"]):
                return r
        return None

    def canary(self, what):
        self.n += 1
        return "Canari%d %s" % (self.n, what)

    def make(self, caller, res, path, body):
        a = self.call(caller, "POST", path, body)
        assert a.status == 201, "%r POST %s %r: %r" % (caller, path, body, a)
        rid = int(a.headers["Location"].rsplit("/", 1)[1])
        self.records.append((res, rid))
        for f, v in body.items():
            if isinstance(v, str) and v.startswith("Canari"):
                self.canaries.append((res, rid, f, v))
        return rid

    def forbidden_canaries(self, caller):
        """Values this caller may not read anywhere (admin: all of them)."""
        out = []
        for res, rid, f, v in self.canaries:
            view = None
            if caller.role in self.policy.personal:
                view = self.expected(caller, res, self.truth(res, rid))
            if view is None or f not in view:
                out.append((res, rid, f, v))
        return out

    def assert_no_leak(self, caller, what, body, forbidden):
        text = json.dumps(body, ensure_ascii=False)
        for res, rid, f, v in forbidden:
            assert v not in text, ("LEAK: %r %s shows %s %d's %s (category %s), which the "
                                   "policy hides from it" % (
                                       caller, what, res, rid, f,
                                       self.policy.cat(res, f, self.truth(res, rid))))

    def assert_audit(self, caller, what, before, employee_id, table, cats, action="read"):
        new = self.audit_since(before)
        if not cats:
            assert new == [], "%r %s: no audited category shown, yet the audit log got %r" % (
                caller, what, new)
            return
        assert len(new) == 1, "%r %s showed %s: expected one audit entry, got %r" % (
            caller, what, sorted(cats), new)
        e = new[0]
        assert (e["action"], e["employee_id"], e["resource"], e["staff_id"], e["role"]) == \
            (action, employee_id, table, caller.staff_id, caller.role), (caller, what, e)
        assert set(e["categories"].split(",")) == cats, (
            "%r %s: the audit log says %s, the answer showed %s" % (
                caller, what, e["categories"], sorted(cats)))



@pytest.fixture(scope="module")
def world(module_daemons):
    # With the example plugin: its person-linked record is in the policy like the kernel's.
    d = module_daemons(plugin_files=["example"], plugins={"example": {}})
    w = World(d)
    a = d.get("/v1/policy", who="coordinator")
    assert a.status == 200, a
    w.policy = Policy(a.body)
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    for name, user in tt.ROLE_USERS.items():
        s = staff[user]
        w.callers[name] = Caller(name, user, s["role"], s["id"])
    user2 = tt.free_unix_user(set(staff))
    if user2 is not None:
        s = d.create("/v1/staff", {"name": "Seconde CIP", "unix_user": user2, "role": "cip"})
        w.callers["cip2"] = Caller("cip2", user2, "cip", s["id"])
    C = w.callers
    # e1's workshop is an ACI, e2's an AI (placements are for an AI's contracts).
    w.structures = [d.create("/v1/structures", tt.structure_body(kind=k))["id"]
                    for k in ("ACI", "AI")]

    def employee(by, **over):
        body = {"structure_id": w.structures[0], "first_name": w.canary("Prénom"),
                "last_name": w.canary("Nom"), "birth_date": "1990-04-12",
                "prescriber_kind": "france_travail", "email": "personne%d@example.org" % w.n,
                "phone": "06 12 34 56 78", "address": w.canary("rue"),
                "france_travail_id": "1234567A", "prescriber_name": w.canary("Agence"),
                "team": "Espaces verts", "referent_eti_id": C["eti"].staff_id}
        body.update(over)
        return w.make(by, "employee", "/v1/employees", body)

    cip2 = C.get("cip2")
    e1 = employee(C["cip"], referent_cip_id=C["cip"].staff_id)
    e2 = employee(C["coordinator"], structure_id=w.structures[1], team="Maraîchage",
                  referent_cip_id=cip2.staff_id if cip2 else None)
    e3 = employee(C["coordinator"], status="candidate", referent_eti_id=None)
    w.employees = {"e1": e1, "e2": e2, "e3": e3}

    for e, referent in ((e1, C["cip"]), (e2, cip2)):
        base = "/v1/employees/%d/" % e
        cip = referent or C["cip"]
        w.make(C["eti"], "welcome_item", base + "welcome",
               {"item": "booklet", "done_on": "2025-09-01"})
        w.make(cip, "welcome_item", base + "welcome",
               {"item": "safety_briefing", "done_on": "2025-09-02", "note": w.canary("EPI")})
        for cat, shared, detail in (("mobility", True, True), ("housing", False, True),
                                    ("health", True, True), ("justice", False, True),
                                    ("health", False, False), ("language", True, False)):
            body = {"category": cat, "severity": 2, "shared_with_eti": shared}
            sensitive = cat in w.policy.res["barrier"]["sensitive_when"]["values"]
            if detail and (referent is not None or not sensitive):
                body["detail"] = w.canary("détail " + cat)
            w.make(cip, "barrier", base + "barriers", body)
        w.make(C["eti"], "observation", base + "observations",
               {"observed_on": "2025-10-01", "kind": "punctuality", "text": w.canary("retards")})
        w.make(cip, "goal", base + "goals",
               {"text": w.canary("permis"), "deadline": "2027-06-30"})
        w.make(cip, "review", base + "reviews",
               {"kind": "entry", "planned_on": "2025-09-15", "held_on": "2025-09-16",
                "participants": ["Nadia", "CIP", "ETI"], "content": w.canary("contenu"),
                "decisions": w.canary("décisions"), "shared_with_eti": w.canary("partagé")})
        w.make(cip, "review", base + "reviews", {"kind": "intermediate",
                                                  "planned_on": "2026-12-15"})
        w.make(cip, "note", base + "notes", {"text": w.canary("note CIP")})
    # CDDI contracts and the records nested in them.
    c1 = w.make(C["cip"], "contract", "/v1/employees/%d/contracts" % e1,
                {"start_date": "2026-01-15", "end_date": "2028-01-14", "weekly_hours": 15,
                 "hours_derogation_until": "2026-12-31",
                 "hours_derogation_reason": w.canary("dérogation")})
    # Past 24 months: a legal reason, which tells of a disability.
    w.make(C["cip"], "contract_renewal", "/v1/contracts/%d/renewals" % c1,
           {"new_end_date": "2029-01-14", "reason": "rqth"})
    w.make(C["cip"], "contract_suspension", "/v1/contracts/%d/suspensions" % c1,
           {"start_date": "2026-03-02", "end_date": "2026-03-20", "reason": "illness"})
    ref2 = cip2 or C["cip"]
    c2 = w.make(ref2, "contract", "/v1/employees/%d/contracts" % e2,
                {"start_date": "2025-01-06", "end_date": "2025-06-30", "weekly_hours": 26})
    # Within 24 months: no reason, null.
    w.make(ref2, "contract_renewal", "/v1/contracts/%d/renewals" % c2,
           {"new_end_date": "2025-11-30"})
    w.make(ref2, "contract_suspension", "/v1/contracts/%d/suspensions" % c2,
           {"start_date": "2025-03-03", "end_date": "2025-03-14", "reason": "incarceration"})
    for kind, hours in (("company", 35), ("association", 14)):
        w.make(ref2, "ai_placement", "/v1/contracts/%d/placements" % c2,
               {"employer_kind": kind, "employer_name": w.canary("Client"),
                "start_date": "2025-02-03", "end_date": "2025-02-07", "hours": hours})
    # A resource not made above (a new one): a record of it in e1's and e2's files, from
    # its sample in create_bodies, by the referent CIP when they may write it all.
    missing = set(w.policy.res) - {r for r, _ in w.records}
    for e, referent in ((e1, C["cip"]), (e2, ref2)):
        made = {}
        for key, body in create_bodies(w, Caller("world", None, None, None), e).items():
            res = key.split(" ")[0]
            if res not in missing:
                continue
            bits = w.bits(referent, w.truth("employee", e))
            may = all(w.policy.writes(bits, w.policy.cat(res, f, body)) for f in body)
            made[res] = w.make(referent if may else C["coordinator"], res,
                               create_path(w, res, e, made), body)
    # Records whose detail turns sensitive with the row (an injury): the coordinator
    # writes the rest, the referent CIP the detail.
    for res, v in w.policy.res.items():
        when = v["sensitive_when"]
        if w.kernel(res) or when is None:
            continue
        for e, referent in ((e1, C["cip"]), (e2, cip2)):
            body = SENSITIVE_BODIES[res]
            rid = w.make(C["coordinator"], res, create_path(w, res, e, {}), body)
            if referent is None:
                continue
            detail = {f: w.canary(f) for f, cats in v["fields"].items()
                      if len(cats) == 2 and f not in body}
            a = w.call(referent, "PATCH", path_of(w, res, rid), detail)
            assert a.status == 200, a
            for f, val in detail.items():
                w.canaries.append((res, rid, f, val))
    w.make(C["coordinator"], "exit", "/v1/employees/%d/exits" % e2,
           {"exit_date": "2025-11-30", "category": "emploi_durable",
            "destination": w.canary("CDI")})
    yield w
    w.db.close()
    w.adb.close()


def caller_of(world, name):
    c = world.callers.get(name)
    if c is None:
        pytest.skip("no free system user for a second CIP account (tried %s)"
                    % ", ".join(tt.SECOND_CIP_USERS))
    return c


# ---------------------------------------------------------------------------
# The table itself


def test_policy__plugin_categories_as_domain_md_says(world):
    """The sector's categories for what plugins hold (DOMAIN.md's access table)."""
    p = world.policy
    eti, cip, coord = {"eti"}, {"cip"}, {"coordinator"}
    for cat in ("production", "attendance", "safety"):
        assert p.reads(eti, cat) and p.writes(eti, cat), cat
        assert p.reads(cip, cat) and not p.writes(cip, cat), cat
        assert p.reads(coord, cat) and p.writes(coord, cat), cat
        assert not p.audited(cat), cat
    for cat in ("skills", "evaluations", "learning"):
        assert p.reads(eti, cat) and p.writes(eti, cat), cat
        assert p.reads(cip, cat) and not p.writes(cip, cat), cat
        assert p.reads(coord, cat) and not p.writes(coord, cat), cat
    # The example's check-in: an injury's medical detail is health data.
    r = p.res["example.checkin"]
    assert (r["module"], r["owner"], r["personal"]) == ("example", "person", True)
    assert (r["item"], r["collection"]) == ("/v1/example/checkins",
                                            "/v1/example/employees/{id}/checkins")
    assert r["fields"]["medical_detail"] == ["safety", "sensitive"]
    assert r["sensitive_when"] == {"field": "incident", "values": ["injury"]}
    assert {r["fields"][f][0] for f in ("day", "present", "hours")} == {"attendance"}
    assert r["fields"]["note"] == ["production"]
    # Every record's routes are under its module's prefix; the kernel's under /v1/.
    for name, v in p.res.items():
        prefix = "/v1/" if v["module"] == "kernel" else "/v1/%s/" % v["module"]
        assert v["item"].startswith(prefix) and v["collection"].startswith(prefix), name
        if v["module"] != "kernel":
            assert name.startswith(v["module"] + "."), name
        assert (v["owner"] == "record") == (v["parent"] is not None), name
        if v["parent"] is not None:
            assert v["parent"] == p.parent[name][0], name


def test_policy__keeps_domain_promises(world):
    """A wrong table would make a wrong matrix pass: DOMAIN.md's promises, by hand."""
    p = world.policy
    assert p.personal == {"eti", "cip", "coordinator"}
    # The operator reads no category a person's record holds (ids and stamps, "none",
    # aside); the organisation's categories (structures, staff accounts) are in no file.
    in_files = {cat for r in p.res.values() for cats in r["fields"].values() for cat in cats}
    for name in in_files - {"none"}:
        assert "admin" not in p.cats[name]["read"] + p.cats[name]["write"], name
    assert "admin" not in p.cats["none"]["write"]
    for name, c in p.cats.items():
        if "admin" in c["read"] + c["write"]:
            assert name in ("none", "organisation", "staff_accounts"), name
    eti, coord = {"eti"}, {"coordinator"}
    for cat in ("social", "sensitive", "social_summary", "contract_legal"):
        assert not p.reads(eti, cat), cat
    for cat in ("social", "sensitive"):
        assert not p.reads(coord, cat), cat
    assert p.cats["sensitive"]["read"] == ["referent_cip"]
    assert p.cats["sensitive"]["write"] == ["referent_cip"]
    assert not p.writes({"cip"}, "referent") and p.writes({"cip", "referent_cip"}, "referent")
    assert p.writes(coord, "referent")
    for cat in ("barriers", "social_summary", "social", "sensitive", "review_shared"):
        assert p.audited(cat), cat
    assert p.audited("identity") is False
    assert p.res["note"]["fields"]["text"] == ["social"]
    assert p.res["barrier"]["fields"]["detail"] == ["social", "sensitive"]
    assert set(p.res["barrier"]["sensitive_when"]["values"]) == {"health", "justice"}
    assert p.res["employee"]["fields"]["referent_cip_id"] == ["referent"]
    # CDDI: the legal grounds (age, disability, illness, detention) are not the ETI's.
    assert p.audited("contract_legal")
    assert p.res["contract"]["fields"]["hours_derogation_reason"] == ["contract_legal"]
    for res in ("contract_renewal", "contract_suspension"):
        assert p.res[res]["fields"]["reason"] == ["contract_legal"], res
    assert p.nested["contract"] == {"renewals": "contract_renewal",
                                    "suspensions": "contract_suspension",
                                    "placements": "ai_placement"}
    # PASS IAE: its dates and what follows from them are the ETI's too; the reasons of its
    # suspensions and prolongations (a disability, an age, a training) are not.
    assert p.nested["pass"] == {"suspensions": "pass_suspension",
                                "prolongations": "pass_prolongation"}
    assert set(p.computed["pass"]) == {"end_date", "status", "status_on"}
    assert p.computed["pass_suspension"] == ["days"]
    assert set(p.computed["pass_prolongation"]) == {"start_date", "end_date"}
    for res in ("pass", "pass_suspension", "pass_prolongation"):
        for f in p.computed[res]:
            assert p.res[res]["fields"][f] == ["pass_iae"], (res, f)
    assert p.reads(eti, "pass_iae") and not p.writes(eti, "pass_iae")
    # The legal reasons tell detention, illness, disability: the referent CIP's, and the
    # coordinator's as the employer; not another CIP's.
    cip, referent = {"cip"}, {"cip", "referent_cip"}
    assert not p.reads(cip, "contract_legal") and not p.writes(cip, "contract_legal")
    assert p.reads(referent, "contract_legal") and p.writes(referent, "contract_legal")
    assert p.reads(coord, "contract_legal")
    # Who referred the person (spip, cap_emploi) and where they went (an exit excluded
    # from the rates: a long illness, detention) tell the same: not the ETI's.
    assert not p.reads(eti, "orientation") and not p.writes(eti, "orientation")
    assert p.reads(cip, "orientation") and p.reads(coord, "orientation")
    for res, f in (("employee", "prescriber_kind"), ("employee", "prescriber_name"),
                   ("exit", "category"), ("exit", "destination")):
        assert p.res[res]["fields"][f] == ["orientation"], (res, f)
    assert p.res["exit"]["fields"]["exit_date"] == ["identity"]
    # Who took part in a review may name the probation officer or a doctor.
    assert p.res["review"]["fields"]["participants"] == ["social_summary"]
    for res, f in (("pass_suspension", "reason"), ("pass_prolongation", "reason"),
                   ("pass_prolongation", "until_date")):
        assert p.res[res]["fields"][f] == ["contract_legal"], (res, f)


def test_policy__ops_of_the_kernel_records_as_documented(world):
    """The routes the policy says a record offers are those docs/openapi.json describes."""
    for res, v in world.policy.res.items():
        if not world.kernel(res):
            continue  # documented in its plugin's README
        item = v["item"] + "/{id}"
        for op, method, path in (("update", "patch", item), ("delete", "delete", item),
                                 ("create", "post", v["collection"])):
            if res == "employee" and op == "delete":
                continue  # the erasure: DELETE with a reason, not a record's delete
            assert world.documented(method, path) == (op in v["ops"]), (res, op, path)


def test_policy__every_column_and_documented_field_has_a_category(world):
    for res in world.policy.res:
        cols = [r[1] for r in world.db.execute("PRAGMA table_info(%s)" % world.table(res))]
        assert set(cols) == set(world.policy.fields(res)), (
            "%s: columns without a category: %s; categories without a column: %s" % (
                res, set(cols) - set(world.policy.fields(res)),
                set(world.policy.fields(res)) - set(cols)))
        for f, cats in world.policy.res[res]["fields"].items():
            for c in cats:
                assert c in world.policy.cats, "%s.%s: unknown category %s" % (res, f, c)
        if not world.kernel(res):
            continue  # documented in its plugin's README
        props = world.schemas[schema_name(res)]["properties"]
        nested = world.policy.nested[res]
        doc = set(props) - set(nested)
        every = set(world.policy.all_fields(res))
        assert doc == every, (res, doc ^ every)
        # Computed fields: documented, categorised, and in no column.
        assert not set(world.policy.computed[res]) & set(cols), (res, world.policy.computed[res])
        # Nested records: documented under their key, as their own schema.
        for key, sub in nested.items():
            assert key in props and key not in world.policy.fields(res), (res, key)
            assert props[key].get("type") == "array", (res, key, props[key])
            assert props[key]["items"] == {"$ref": "#/components/schemas/" + schema_name(sub)}, (
                res, key, props[key])
            col = world.policy.parent_col(sub)
            assert world.policy.res[sub]["fields"][col] == ["none"], (sub, col)
        for f, cats in world.policy.res[res]["fields"].items():
            for c in cats:
                assert c in world.policy.cats, "%s.%s: unknown category %s" % (res, f, c)


# ---------------------------------------------------------------------------
# Reads


def differs(world, res, got, want, where=""):
    """None when an answer is the policy's view; else the first difference, named down to
    the nested record, the field and its category."""
    if got == want:
        return None
    row = world.truth(res, want["id"])
    fields = world.policy.all_fields(res)
    extra, lacking = sorted(set(got) - set(want)), sorted(set(want) - set(got))
    if extra or lacking:
        return ("%s%s %d: fields the policy hides but the answer shows: %s; fields the policy "
                "grants but the answer lacks: %s (categories: %s)" % (
                    where, res, row["id"], extra, lacking,
                    {f: world.policy.cat(res, f, row) if f in fields else "?"
                     for f in extra + lacking}))
    for key, sub in world.policy.nested[res].items():
        inner = "%s%s %d, %s: " % (where, res, row["id"], key)
        g, w = got[key], want[key]
        if [x.get("id") for x in g] != [x["id"] for x in w]:
            return "%srecords %s shown, the policy shows %s" % (
                inner, [x.get("id") for x in g], [x["id"] for x in w])
        for x, y in zip(g, w):
            m = differs(world, sub, x, y, inner)
            if m is not None:
                return m
    return "%s%s %d: values differ: %s" % (
        where, res, row["id"], {f: (got[f], want[f]) for f in fields
                                if f in want and got[f] != want[f]})


def path_of(world, res, rid):
    return "%s/%d" % (world.policy.res[res]["item"], rid)


@pytest.mark.parametrize("name", CALLERS)
def test_matrix__get_each_record__fields_as_the_policy_says(world, name):
    c = caller_of(world, name)
    forbidden = world.forbidden_canaries(c)
    for res, rid in world.records:
        row = world.truth(res, rid)
        path = path_of(world, res, rid)
        before = world.last_audit()
        a = world.call(c, "GET", path)
        world.assert_no_leak(c, "GET " + path, a.body, forbidden)
        if c.role not in world.policy.personal:
            assert a.status == 403 and a.error["code"] == "forbidden", (c, path, a)
            world.assert_audit(c, "GET " + path, before, None, None, set())
            continue
        exp = world.expected(c, res, row)
        if exp is None:
            assert a.status == 404, "%r GET %s: hidden by the policy, yet %r" % (c, path, a)
            absent = world.call(c, "GET", path_of(world, res, 999999999))
            assert a.error == {"code": "not_found", "message":
                               absent.error["message"].replace("999999999", str(rid))}
            world.assert_audit(c, "GET " + path, before, None, None, set())
            continue
        assert a.status == 200, (c, path, a)
        why = differs(world, res, a.body, exp)
        assert why is None, "%r GET %s: %s" % (c, path, why)
        emp = world.employee_of(res, row)["id"]
        world.assert_audit(c, "GET " + path, before, emp, world.table(res),
                           world.audited_shown(c, res, row))


def test_world__a_record_of_every_resource(world):
    """Every resource the policy lists is in the matrix: its tests need one record at least."""
    have = {r for r, _ in world.records}
    assert have == set(world.policy.res), (
        "no record of %s in the world: create one in the world fixture"
        % sorted(set(world.policy.res) - have))


def child_list_path(world, res, e):
    # The welcome items are listed as the checklist (its own test).
    return world.policy.res[res]["collection"].replace("{id}", str(e))


@pytest.mark.parametrize("name", CALLERS)
def test_matrix__list_each_resource__rows_and_fields_as_the_policy_says(world, name):
    c = caller_of(world, name)
    forbidden = world.forbidden_canaries(c)
    for res in world.policy.top_children():
        if res == "welcome_item":
            continue  # GET /v1/employees/{id}/welcome: the checklist
        for e in world.employees.values():
            path = child_list_path(world, res, e)
            before = world.last_audit()
            a = world.call(c, "GET", path + "?limit=500")
            world.assert_no_leak(c, "GET " + path, a.body, forbidden)
            if c.role not in world.policy.personal or \
                    not world.policy.readable_at_all(res, c.role):
                assert a.status == 403, "%r GET %s: the role reads nothing of %s, yet %r" % (
                    c, path, res, a)
                world.assert_audit(c, "GET " + path, before, None, None, set())
                continue
            assert a.status == 200, (c, path, a)
            rows = world.rows(res, e)
            exp = [v for v in (world.expected(c, res, r) for r in rows) if v is not None]
            for got, want in zip(a.body["items"], exp):
                why = differs(world, res, got, want)
                assert got["id"] != want["id"] or why is None, "%r GET %s: %s" % (c, path, why)
            assert a.body == {"items": exp, "next_cursor": None}, (
                "%r GET %s: ids %s, the policy shows %s" % (
                    c, path, [i.get("id") for i in a.body["items"]], [v["id"] for v in exp]))
            cats = set()
            for r in rows:
                cats |= world.audited_shown(c, res, r)
            world.assert_audit(c, "GET " + path, before, e, world.table(res), cats)
            # Page by page: hidden rows neither fill a page nor show in a cursor.
            seen, cursor = [], None
            for _ in range(len(rows) + 2):
                q = "?limit=1" + ("&cursor=" + cursor if cursor else "")
                p = world.call(c, "GET", path + q)
                assert p.status == 200, p
                assert len(p.body["items"]) == (1 if len(seen) < len(exp) else 0), (c, path, p)
                seen += p.body["items"]
                cursor = p.body["next_cursor"]
                if len(seen) == len(exp):
                    assert cursor is None, (
                        "%r GET %s: a next page after the last row shown tells that hidden "
                        "rows follow" % (c, path))
                if cursor is None:
                    break
                assert decode_cursor(cursor) == seen[-1]["id"], (
                    "%r GET %s: the cursor points past the last row shown (%d): at a row the "
                    "caller may not see" % (c, path, seen[-1]["id"]))
            assert seen == exp, (c, path)


def employee_filters(world):
    rows = [world.truth("employee", e) for e in world.employees.values()]
    out = [("", lambda r: True)]
    for f in ("structure_id", "team", "referent_cip_id", "referent_eti_id", "status"):
        for v in sorted({r[f] for r in rows if r[f] is not None}, key=str):
            out.append(("%s=%s" % (f, v), lambda r, f=f, v=v: r[f] == v))
    return out


@pytest.mark.parametrize("name", CALLERS)
def test_matrix__list_employees_with_each_filter__identity_only(world, name):
    c = caller_of(world, name)
    forbidden = world.forbidden_canaries(c)
    filters = employee_filters(world)
    assert len(filters) >= 10
    for query, keep in filters:
        path = "/v1/employees?limit=500" + ("&" + query.replace(" ", "%20") if query else "")
        if "Maraîchage" in path:
            path = path.replace("Maraîchage", "Mara%C3%AEchage")
        before = world.last_audit()
        a = world.call(c, "GET", path)
        world.assert_no_leak(c, "GET " + path, a.body, forbidden)
        if c.role not in world.policy.personal:
            assert a.status == 403, (c, path, a)
            continue
        assert a.status == 200, (c, path, a)
        ids = [r[0] for r in world.db.execute("SELECT id FROM employees ORDER BY id")]
        exp = [world.expected(c, "employee", r) for r in (world.truth("employee", i)
                                                          for i in ids) if keep(r)]
        assert a.body["items"] == exp, (c, path)
        world.assert_audit(c, "GET " + path, before, None, None, set())


@pytest.mark.parametrize("name", CALLERS)
def test_matrix__welcome_checklist__who_and_when_as_the_policy_says(world, name):
    c = caller_of(world, name)
    forbidden = world.forbidden_canaries(c)
    for e in world.employees.values():
        path = "/v1/employees/%d/welcome" % e
        before = world.last_audit()
        a = world.call(c, "GET", path)
        world.assert_no_leak(c, "GET " + path, a.body, forbidden)
        if c.role not in world.policy.personal:
            assert a.status == 403, (c, path, a)
            continue
        assert a.status == 200, (c, path, a)
        assert [i["item"] for i in a.body["items"]] == DEFAULT_WELCOME
        done = {r["item"]: r for r in world.rows("welcome_item", e)}
        cats = set()
        for i in a.body["items"]:
            row = done.get(i["item"])
            base = {"item": i["item"], "label": i["label"], "done": row is not None}
            if row is None:
                assert i == base, (c, path, i)
                continue
            view = world.expected(c, "welcome_item", row) or {}
            view = {k: v for k, v in view.items() if k not in ("employee_id", "employee_name")}
            assert i == dict(view, **base), (c, path, i, view)
            cats |= world.policy.audited_in("welcome_item", row, view)
        world.assert_audit(c, "GET " + path, before, e, "welcome_items", cats)


def export_key(world, res):
    """The kernel's records by their path, a plugin's by "<plugin>.<record>"."""
    return world.policy.res[res]["path"] if world.kernel(res) else res


@pytest.mark.parametrize("name", CALLERS)
def test_matrix__export__nothing_the_role_may_not_read(world, name):
    c = caller_of(world, name)
    forbidden = world.forbidden_canaries(c)
    for e in world.employees.values():
        a = world.call(c, "GET", "/v1/employees/%d/export" % e)
        world.assert_no_leak(c, "GET export of %d" % e, a.body, forbidden)
        if c.role not in world.policy.personal:
            assert a.status == 403, a
        if a.status != 200:
            continue
        # Each record as GET shows it, nested ones inside their parent only.
        assert a.body["employee"] == world.expected(c, "employee", world.truth("employee", e))
        tops = world.policy.top_children()
        assert set(a.body["records"]) == {export_key(world, r) for r in tops}, (
            c, e, sorted(a.body["records"]))
        assert a.body["not_loaded"] == []
        for res in tops:
            exp = [v for v in (world.expected(c, res, r) for r in world.rows(res, e))
                   if v is not None]
            got = a.body["records"][export_key(world, res)]
            assert [x["id"] for x in got] == [x["id"] for x in exp], (c, e, res)
            for x, y in zip(got, exp):
                why = differs(world, res, x, y)
                assert why is None, "%r export of %d: %s" % (c, e, why)


def test_matrix__admin__403_on_every_path_of_a_file(world):
    """Every route of every personal record the policy lists, each operation it offers."""
    c = world.callers["admin"]
    e = world.employees["e1"]
    before, events = world.last_audit(), world.last_event()
    calls = [("GET", "/v1/employees", None), ("POST", "/v1/employees", {"first_name": "X"}),
             ("GET", "/v1/employees/%d" % e, None),
             ("PATCH", "/v1/employees/%d" % e, {"team": "X"}),
             ("GET", "/v1/employees/%d/welcome" % e, None),
             ("POST", "/v1/employees/%d/welcome" % e, {"item": "rules",
                                                        "done_on": "2025-01-02"})]
    for res, v in world.policy.res.items():
        assert v["personal"], "%s: a record of a person's file, yet not personal" % res
        if res == "employee":
            continue
        rid = next(i for r, i in world.records if r == res)
        ops = v["ops"]
        # GET on an item is there for every record (a PASS's is its own handler).
        calls.append(("GET", path_of(world, res, rid), None))
        if "list" in ops:
            calls.append(("GET", create_path(world, res, e, {}), None))
        if "create" in ops:
            calls.append(("POST", create_path(world, res, e, {}), {"text": "x"}))
        if "update" in ops:
            calls.append(("PATCH", path_of(world, res, rid), {"text": "x"}))
        if "delete" in ops:
            calls.append(("DELETE", path_of(world, res, rid), None))
    for method, path, body in calls:
        a = world.call(c, method, path, body)
        assert a.status == 403 and a.error["code"] == "forbidden", (method, path, a)
    assert world.last_audit() == before and world.last_event() == events
    # What the operator does read: the table and the audit log, never values.
    assert world.call(c, "GET", "/v1/policy").status == 200
    a = world.call(c, "GET", "/v1/audit?employee_id=%d" % e)
    assert a.status == 200 and a.body["items"], a
    world.assert_no_leak(c, "GET /v1/audit", a.body, world.forbidden_canaries(c))


# ---------------------------------------------------------------------------
# Filters cannot guess


@pytest.mark.parametrize("name", ["eti", "cip", "coordinator"])
def test_filters__on_anything_but_identity__400_naming_it(world, name):
    c = world.callers[name]
    e = world.employees["e1"]
    for param in ("category", "barrier", "barrier_category", "has_barrier", "severity", "detail",
                  "note", "health", "shared_with_eti", "search", "sort", "goal", "content",
                  "prescriber_kind", "prescriber_name", "reason", "destination", "participants"):
        for path in ["/v1/employees?%s=health" % param] + [
                "/v1/employees/%d/%s?%s=health" % (e, res, param)
                for res in ("barriers", "notes", "contracts", "passes", "reviews", "exits")]:
            a = world.call(c, "GET", path)
            if a.status == 403 and "notes" in path:
                continue  # the role may not read notes at all
            assert a.status == 400, (c, path, a)
            assert (a.error["code"], a.error["field"]) == ("bad_request", param), a


def test_filters__eti_never_learns_an_unshared_barrier(world):
    """Lists, pages, filters and 404s are the same whether unshared barriers exist or not."""
    c = world.callers["eti"]
    e = world.employees["e1"]
    hidden = [r for r in world.rows("barrier", e) if not r["shared_with_eti"]]
    assert hidden
    a = world.call(c, "GET", "/v1/employees/%d/barriers" % e)
    shown = {i["id"] for i in a.body["items"]}
    assert shown and not shown & {r["id"] for r in hidden}
    for r in hidden:
        b = world.call(c, "GET", "/v1/barriers/%d" % r["id"])
        assert b.status == 404 and b.error["message"] == "no barrier %d" % r["id"], b
        p = world.call(c, "PATCH", "/v1/barriers/%d" % r["id"], {"severity": 1})
        assert p.status == 404 and p.error["message"] == "no barrier %d" % r["id"], p
    # Identity filters answer the same employees whatever their barriers.
    for query in ("", "team=Espaces%20verts", "status=in_pathway"):
        items = world.call(c, "GET", "/v1/employees?" + query).body["items"]
        for i in items:
            assert set(i) <= set(world.policy.all_fields("employee")), i


# ---------------------------------------------------------------------------
# Writes

# A valid value different from any the world holds, for each writable field.
OTHER = {
    "employee": {"first_name": "Autre", "last_name": "Nom", "birth_date": "1985-06-15",
                 "email": "autre@example.org", "phone": "06 00 00 00 00",
                 "address": "1 rue Neuve", "france_travail_id": "7654321B",
                 "prescriber_kind": "mission_locale", "prescriber_name": "ML Guéret",
                 "team": "Autre équipe", "referent_eti_id": None, "status": "candidate",
                 "status_reason": "autre raison"},
    "welcome_item": {"item": "rules", "done_on": "2025-01-05", "note": "autre note"},
    "barrier": {"category": "digital", "severity": 4, "status": "resolved",
                "detail": "autre détail"},
    "observation": {"observed_on": "2025-02-03", "kind": "quality", "text": "autre texte"},
    "goal": {"text": "autre objectif", "deadline": "2027-01-01", "status": "achieved"},
    "review": {"kind": "exit", "planned_on": "2025-03-03", "held_on": "2025-03-04",
               "participants": ["Autre"], "content": "autre contenu",
               "decisions": "autres décisions", "shared_with_eti": "autre partage"},
    "note": {"text": "autre note"},
    "exit": {"exit_date": "2025-05-05", "category": "autre", "destination": "ailleurs"},
    "contract": {"start_date": "2026-02-02", "end_date": "2027-01-31", "weekly_hours": 30,
                 "hours_derogation_from": "2026-02-02", "hours_derogation_until": "2026-06-30",
                 "hours_derogation_reason": "autre motif", "ended_on": "2026-06-30"},
    "contract_renewal": {"new_end_date": "2029-06-30", "reason": "training_to_finish"},
    "contract_suspension": {"start_date": "2026-04-01", "end_date": "2026-04-03",
                            "reason": "other"},
    "ai_placement": {"employer_kind": "local_authority", "employer_name": "Mairie",
                     "start_date": "2025-03-03", "end_date": "2025-03-04", "hours": 7},
    "pass": {"number": "999990000000", "start_date": "2039-01-05",
             "initial_end_date": "2040-06-30"},
    "pass_suspension": {"start_date": "2100-01-01", "end_date": "2100-01-02",
                        "reason": "force_majeure"},
    "pass_prolongation": {"days": 7, "reason": "rqth", "until_date": None},
    "example.checkin": {"day": "2025-01-02", "present": False, "hours": 3, "incident": "none",
                        "medical_detail": "autre détail", "note": "autre note"},
}


def other_value(world, caller, res, field, row):
    if field == "structure_id":
        return next(s for s in world.structures if s != row[field])
    if field == "referent_cip_id":
        # The self-appointment a CIP must not get away with.
        return caller.staff_id if caller.role == "cip" else world.callers["cip"].staff_id
    if field == "shared_with_eti":
        return not row[field]
    return OTHER[res][field]


def test_writes__every_field_has_a_sample_or_is_set_by_the_server(world):
    for res in world.policy.res:
        assert res in OTHER, "%s: a new resource; give its fields values in OTHER" % res
        for f in world.policy.fields(res):
            assert world.server_set(res, f) or f in OTHER[res] or f in (
                "structure_id", "referent_cip_id", "shared_with_eti"), (
                "%s.%s: a new field; give it a value in OTHER" % (res, f))


@pytest.mark.parametrize("name", CALLERS)
def test_matrix__patch_each_field__refused_unless_the_role_writes_its_category(world, name):
    c = caller_of(world, name)
    for res, rid in list(world.records):
        path = path_of(world, res, rid)
        if "update" not in world.policy.res[res]["ops"]:
            # Not changed once made (a renewal, a placement): there is no PATCH at all.
            row = world.truth(res, rid)
            before_audit, before_events = world.last_audit(), world.last_event()
            f = next(f for f in world.policy.fields(res) if not world.server_set(res, f))
            a = world.call(c, "PATCH", path, {f: other_value(world, c, res, f, row)})
            assert a.status == 405 and "PATCH" not in a.headers.get("Allow", ""), (c, path, a)
            assert world.truth(res, rid) == row
            assert world.last_audit() == before_audit and world.last_event() == before_events
            continue
        for f in world.policy.fields(res):
            row = world.truth(res, rid)
            emp = world.employee_of(res, row)
            bits = world.bits(c, emp)
            before_audit, before_events = world.last_audit(), world.last_event()
            what = "PATCH %s {%s}" % (path, f)
            if c.role not in world.policy.personal:
                # The operator is refused before any field is looked at.
                a = world.call(c, "PATCH", path, {f: row[f]})
                assert a.status == 403 and a.error["code"] == "forbidden", (c, what, a)
                assert world.truth(res, rid) == row
                break
            visible = world.policy.view(res, row, bits) is not None
            cat = world.policy.cat(res, f, row)
            if not visible:
                expect = 404
            elif world.server_set(res, f) or f in world.policy.res[res]["fixed"]:
                expect = 422
            elif not world.policy.writes(bits, cat):
                expect = 403
            else:
                expect = 200
            # Refusals try a real change, so that a wrong yes would show; allowed
            # writes store the value the row holds, leaving the world as it is: a PATCH
            # that changes nothing is answered and writes no event nor audit entry.
            value = row[f] if expect == 200 else (
                row[f] if world.server_set(res, f) else other_value(world, c, res, f, row))
            a = world.call(c, "PATCH", path, {f: value})
            assert a.status == expect, (
                "%r %s (category %s, rights %s): expected %d, got %r" % (
                    c, what, cat, sorted(bits), expect, a))
            if expect == 200:
                assert world.last_audit() == before_audit and \
                    world.last_event() == before_events, (
                        "%r %s changed nothing, yet was recorded: %r" % (
                            c, what, world.audit_since(before_audit)))
                assert world.truth(res, rid) == row, (c, what)
                why = differs(world, res, a.body, world.expected(c, res, world.truth(res, rid)))
                assert why is None, "%r %s answered: %s" % (c, what, why)
                continue
            if expect in (403, 422):
                assert a.error["field"] == f, (c, what, a)
            after = world.truth(res, rid)
            assert after == row, "%r %s was refused, yet the row changed: %r -> %r" % (
                c, what, row, after)
            assert world.last_audit() == before_audit and world.last_event() == before_events


def create_bodies(world, caller, e):
    """A valid body for each resource of a file, in order (a nested record after its
    parent); welcome items and contract years differ per caller, as a person holds
    one item of each kind and no two contracts at once."""
    item = {"eti": "rules", "cip": "ppe_issued", "cip2": "medical_visit",
            "coordinator": "team_introduction"}.get(caller.name, "rules")
    y = {"world": 2030, "eti": 2031, "cip": 2032, "cip2": 2033,
         "coordinator": 2034}.get(caller.name, 2035)
    # A person holds one PASS at a time, 2 years at least after the last one's end: 6
    # years apart; all ahead of today, so that any clock takes them (a suspension is
    # backdated a year at most). The number is the platform's, one per person and caller.
    py = 2040 + 6 * (y - 2030)
    pass_start = datetime.date(py, 1, 5)
    susp = (datetime.date(py, 3, 2), datetime.date(py, 3, 20))
    # The end as it stands once suspended: 730 days, then the suspension's 19.
    pass_end = pass_start + datetime.timedelta(days=729 + (susp[1] - susp[0]).days + 1)
    training_end = pass_end + datetime.timedelta(days=45)
    return {
        "welcome_item": {"item": item, "done_on": "2025-09-03"},
        "barrier": {"category": "mobility", "severity": 1, "detail": "vélo"},
        "barrier (sensitive)": {"category": "justice", "severity": 3, "detail": "SPIP"},
        "observation": {"observed_on": "2025-10-02", "kind": "safety", "text": "casque"},
        "goal": {"text": "CACES", "status": "open"},
        "review": {"kind": "intermediate", "planned_on": "2026-06-01",
                   "shared_with_eti": "à revoir"},
        "note": {"text": "appel"},
        # With an ACI: a derogation below 20 hours is for an ACI.
        "contract (derogation)": {"structure_id": world.structures[0],
                                  "start_date": "%d-01-05" % y, "end_date": "%d-05-31" % y,
                                  "weekly_hours": 15, "hours_derogation_until": "%d-05-31" % y,
                                  "hours_derogation_reason": "santé"},
        # With an AI, for its placement; the nested records below go in this one.
        "contract": {"structure_id": world.structures[1], "start_date": "%d-07-01" % y,
                     "end_date": "%d-10-31" % y, "weekly_hours": 24},
        "contract_renewal": {"new_end_date": "%d-12-31" % y, "reason": "training_to_finish"},
        "contract_suspension": {"start_date": "%d-08-03" % y, "end_date": "%d-08-07" % y,
                                "reason": "training"},
        "ai_placement": {"employer_kind": "company", "employer_name": "Client",
                         "start_date": "%d-09-07" % y, "end_date": "%d-09-11" % y, "hours": 21},
        "pass": {"number": "99999%02d%05d" % (py % 100, e % 100000),
                 "start_date": pass_start.isoformat()},
        "pass_suspension": {"start_date": susp[0].isoformat(), "end_date": susp[1].isoformat(),
                            "reason": "contract_suspended"},
        # Until a training's end, which tells the reason: contract_legal, as the reason.
        "pass_prolongation": {"days": 30, "reason": "end_of_training",
                              "until_date": training_end.isoformat()},
        # The example plugin's: one check-in a day per person.
        "example.checkin": {"day": "%d-03-02" % y, "present": True, "hours": 7,
                            "incident": "near_miss", "note": "haies"},
    }


def create_path(world, res, e, made):
    """Where a record of e is created; a nested one goes in the parent made last (by this
    caller), else in one of e's from the world."""
    if res == "welcome_item":
        return "/v1/employees/%d/welcome" % e
    if res not in world.policy.parent:
        return child_list_path(world, res, e)
    parent = world.policy.parent[res][0]
    pid = made.get(parent) or next(
        i for r, i in world.records
        if r == parent and world.employee_of(r, world.truth(r, i))["id"] == e)
    return world.policy.res[res]["collection"].replace("{id}", str(pid))


@pytest.mark.parametrize("name", ["eti", "cip", "cip2", "coordinator"])
def test_matrix__create_each_record__refused_unless_the_role_writes_every_field(world, name):
    c = caller_of(world, name)
    e = world.employees["e1"]
    bits = world.bits(c, world.truth("employee", e))
    bodies = create_bodies(world, c, e)
    assert {k.split(" ")[0] for k in bodies} == set(world.policy.res) - {"employee", "exit"}, (
        "give each resource a body in create_bodies (the employee and the exit have tests "
        "of their own)")
    made = {}
    for key, body in bodies.items():
        res = key.split(" ")[0]
        row = dict(body)
        denied = [f for f in body if not world.policy.writes(bits, world.policy.cat(res, f, row))]
        n, before = world.count(res), world.last_audit()
        path = create_path(world, res, e, made)
        a = world.call(c, "POST", path, body)
        if denied:
            assert a.status == 403 and a.error["field"] in denied, (
                "%r POST %s %r: the policy denies %s, yet %r" % (c, path, body, denied, a))
            assert world.count(res) == n and world.last_audit() == before
            continue
        assert a.status == 201, "%r POST %s %r: the policy allows it, yet %r" % (c, path, body, a)
        rid = a.body["id"]
        world.records.append((res, rid))
        made[res] = rid
        why = differs(world, res, a.body, world.expected(c, res, world.truth(res, rid)))
        assert why is None, "%r POST %s answered: %s" % (c, path, why)
        cats = {world.policy.cat(res, f, row) for f in body}
        world.assert_audit(c, "POST " + path, before, e, world.table(res), cats, "create")
    # An exit closes the file: one fresh file per caller.
    f = world.make(world.callers["coordinator"], "employee", "/v1/employees",
                   {"structure_id": world.structures[0], "first_name": "Sortant",
                    "last_name": "Test", "birth_date": "1980-01-01", "prescriber_kind": "plie"})
    body = {"exit_date": "2025-12-01", "category": "sortie_positive"}
    a = world.call(c, "POST", "/v1/employees/%d/exits" % f, body)
    may = all(world.policy.writes(bits, world.policy.cat("exit", k, body)) for k in body)
    assert a.status == (201 if may else 403), (c, a)
    assert world.truth("employee", f)["status"] == ("exited" if may else "in_pathway")


def test_matrix__create_employee__who_may_open_a_file(world):
    """CIPs and the coordinator; the CIP who opens a file may name its first referent."""
    for name in ("eti", "cip", "cip2", "coordinator"):
        c = world.callers.get(name)
        if c is None:
            continue
        body = {"structure_id": world.structures[0], "first_name": "Ouvert",
                "last_name": "Par " + name, "birth_date": "1995-02-03",
                "prescriber_kind": "cap_emploi", "referent_cip_id": world.callers["cip"].staff_id}
        n = world.count("employee")
        a = world.call(c, "POST", "/v1/employees", body)
        if name == "eti":
            assert a.status == 403 and a.error["field"] in body, a
            assert world.count("employee") == n
        else:
            assert a.status == 201, (name, a)
            world.records.append(("employee", a.body["id"]))


# ---------------------------------------------------------------------------
# The referent


def test_referent__only_coordinator_or_referent_changes_it(world):
    C = world.callers
    cip, cip2 = C["cip"], C.get("cip2")
    e = world.make(C["coordinator"], "employee", "/v1/employees",
                   {"structure_id": world.structures[0], "first_name": "Référent",
                    "last_name": "Test", "birth_date": "1990-01-01",
                    "prescriber_kind": "spip", "referent_cip_id": None})
    path = "/v1/employees/%d" % e
    # No referent yet: a CIP may not take the file.
    a = world.call(cip, "PATCH", path, {"referent_cip_id": cip.staff_id})
    assert a.status == 403 and a.error["field"] == "referent_cip_id", a
    assert world.truth("employee", e)["referent_cip_id"] is None
    # The coordinator names one.
    a = world.call(C["coordinator"], "PATCH", path, {"referent_cip_id": cip.staff_id})
    assert a.status == 200 and a.body["referent_cip_id"] == cip.staff_id, a
    barrier = world.make(cip, "barrier", "/v1/employees/%d/barriers" % e,
                         {"category": "health", "severity": 3,
                          "detail": world.canary("RQTH")})
    assert "detail" in world.call(cip, "GET", "/v1/barriers/%d" % barrier).body
    if cip2 is None:
        return
    # Another CIP may neither take it nor clear it, and still reads no detail.
    for value in (cip2.staff_id, None):
        a = world.call(cip2, "PATCH", path, {"referent_cip_id": value})
        assert a.status == 403 and a.error["field"] == "referent_cip_id", a
    assert world.truth("employee", e)["referent_cip_id"] == cip.staff_id
    assert "detail" not in world.call(cip2, "GET", "/v1/barriers/%d" % barrier).body
    # The referent hands the file on: the rights follow.
    a = world.call(cip, "PATCH", path, {"referent_cip_id": cip2.staff_id})
    assert a.status == 200, a
    assert "detail" in world.call(cip2, "GET", "/v1/barriers/%d" % barrier).body
    assert "detail" not in world.call(cip, "GET", "/v1/barriers/%d" % barrier).body
    a = world.call(cip, "PATCH", "/v1/barriers/%d" % barrier, {"detail": "repris"})
    assert a.status == 403 and a.error["field"] == "detail", a


def test_barrier__non_referent_moves_a_sensitive_one_out__403(world):
    cip = world.callers["cip"]
    e2 = world.employees["e2"]
    if world.truth("employee", e2)["referent_cip_id"] is None:
        pytest.skip("no second CIP: e2 has no referent")
    hb = next(r for r in world.rows("barrier", e2) if r["category"] == "health" and r["detail"])
    a = world.call(cip, "PATCH", "/v1/barriers/%d" % hb["id"], {"category": "mobility"})
    assert a.status == 403 and a.error["field"] == "category", a
    assert world.truth("barrier", hb["id"]) == hb


# ---------------------------------------------------------------------------
# Events and the audit log


def test_events__ids_and_changed_keys_only(world):
    coord = world.callers["coordinator"]
    # A change of every kind first, so that updates are in the journal too.
    e1 = world.employees["e1"]
    cip = world.callers["cip"]
    b = next(r for r in world.rows("barrier", e1) if r["category"] == "mobility")
    assert world.call(cip, "PATCH", "/v1/barriers/%d" % b["id"],
                      {"severity": 3, "detail": world.canary("maj")}).status == 200
    world.canaries.append(("barrier", b["id"], "detail", world.truth("barrier", b["id"])["detail"]))
    events = world.d.list_all("/v1/events", "type=*", who=coord.user)
    # <record>.<what>: a plugin's record is named <plugin>.<record> (example.checkin).
    mine = [ev for ev in events if ev["type"].rsplit(".", 1)[0] in world.policy.res]
    assert {ev["type"].rsplit(".", 1)[0] for ev in mine} == set(world.policy.res)
    assert any(ev["type"] == "barrier.updated" for ev in mine)
    for ev in mine:
        kind, what = ev["type"].rsplit(".", 1)
        p = ev["payload"]
        # A nested record's event names its parent too: ids only.
        ids = {"id", "employee_id"} | ({world.policy.parent_col(kind)}
                                       if kind in world.policy.parent else set())
        assert set(p) == ids | {"changed"}, ev
        assert ev["subject"] == "%s/%d" % (kind, p["id"])
        assert set(p["changed"]) <= set(world.policy.fields(kind)), ev
        if what == "created":
            assert p["changed"] == [], ev
        assert all(isinstance(p[k], int) for k in ids)
    upd = [ev for ev in mine if ev["type"] == "barrier.updated" and ev["payload"]["id"] == b["id"]]
    assert sorted(upd[-1]["payload"]["changed"]) == ["detail", "severity"]
    # Not one value of a file anywhere in the journal, whoever reads it.
    for name in ("coordinator", "admin"):
        c = world.callers[name]
        world.assert_no_leak(c, "GET /v1/events", world.d.list_all("/v1/events", "type=*",
                                                                   who=c.user),
                             [x for x in world.canaries])


def test_audit__identity_reads_unrecorded__social_reads_and_writes_recorded(world):
    C = world.callers
    e1 = world.employees["e1"]
    before = world.last_audit()
    for name in ("eti", "cip", "coordinator"):
        assert world.call(C[name], "GET", "/v1/employees/%d" % e1).status == 200
        assert world.call(C[name], "GET", "/v1/employees").status == 200
    assert world.audit_since(before) == []
    note = next(r for r in world.rows("note", e1))
    assert world.call(C["cip"], "GET", "/v1/notes/%d" % note["id"]).status == 200
    hb = next(r for r in world.rows("barrier", e1) if r["category"] == "health" and r["detail"])
    assert world.call(C["cip"], "GET", "/v1/barriers/%d" % hb["id"]).status == 200
    a = world.call(C["cip"], "PATCH", "/v1/employees/%d" % e1, {"phone": "07 11 22 33 44"})
    assert a.status == 200, a
    got = world.call(C["coordinator"], "GET", "/v1/audit?employee_id=%d&limit=500" % e1)
    assert got.status == 200
    new = [x for x in got.body["items"] if x["id"] > before]
    assert [(x["action"], x["resource"], x["unix_user"]) for x in new] == [
        ("read", "notes", C["cip"].user), ("read", "barriers", C["cip"].user),
        ("update", "employees", C["cip"].user)]
    assert new[0]["categories"] == ["social"]
    assert "sensitive" in new[1]["categories"]
    assert new[2]["categories"] == ["identity"]
    for x in new:
        assert x["employee_id"] == e1 and x["staff_id"] == C["cip"].staff_id
    # Those who may not read it.
    for name in ("eti", "cip"):
        a = world.call(C[name], "GET", "/v1/audit")
        assert a.status == 403, a


# ---------------------------------------------------------------------------
# Records of nobody's, of the shipped plugins as the shipped configuration loads them


@pytest.fixture(scope="module")
def shipped(module_daemons):
    """The production and skills plugins loaded as etc/tremplin.conf loads them."""
    refs = os.path.join(tt.TOP_SRCDIR, "etc", "skills")
    d = module_daemons(plugin_files=["production", "skills"],
                       plugins={"production": {}, "skills": {"referentials_dir": refs}})
    a = d.get("/v1/policy", who="coordinator")
    assert a.status == 200, a
    return d, a.body


def nobodys_readers(policy, v):
    """The roles a record of nobody's lets in (GET): those its categories let read, ids
    and timestamps ("none") counting only for a record with no other category."""
    cats = {c for cs in v["fields"].values() for c in cs}
    if cats - {"none"}:
        cats -= {"none"}
    return {r for c in cats for r in policy["categories"][c]["read"]} - {"referent_cip"} | (
        {"cip"} if any("referent_cip" in policy["categories"][c]["read"] for c in cats)
        else set())


@pytest.mark.parametrize("role", ["eti", "cip", "coordinator", "admin"])
def test_nobodys__plugin_records__a_role_its_categories_do_not_let_read_gets_403(shipped, role):
    """Every plugin record of nobody's the policy lists: GET on an item (any id) answers
    403 to a role none of its categories lets read, and never 403 to one they do."""
    d, policy = shipped
    seen = 0
    for res, v in policy["resources"].items():
        if v["personal"] or v["module"] == "kernel" or v.get("item") is None:
            continue
        path = re.sub(r"\{[a-z_]*\}", "1", v["item"]) + "/999999"
        a = d.get(path, who=role)
        if role in nobodys_readers(policy, v):
            assert a.status != 403, (res, role, path, a)
        else:
            assert (a.status, a.error["code"]) == (403, "forbidden"), (res, role, path, a)
        seen += 1
    assert seen >= 3, "the plugins' records of nobody's were not found in the policy"


# Every field of every plugin record, per role: read and write as GET /v1/policy says


DEMO_STAFF = [{"name": "Opératrice", "unix_user": "@daemon", "role": "admin"}]
# The records the demo makes no row of (tested by their plugin's own tests); a new record the
# demo does not make fails the test below until the demo makes one or it is named here.
DEMO_HAS_NO_ROW = {"skills.badge"}
DEMO_AS = ["--as", "cip=" + tt.ROLE_USERS["cip"],
           "--as", "coordinator=" + tt.ROLE_USERS["coordinator"],
           "--as", "eti1=" + tt.ROLE_USERS["eti"]]


@pytest.fixture(scope="module")
def demo_plugins(module_daemons):
    """The shipped plugins and the example on tremplinctl demo's workshop: its rows of every
    production and skills record, its staff played by this machine's users (--as)."""
    import subprocess

    refs = os.path.join(tt.TOP_SRCDIR, "etc", "skills")
    conf = {"production": {}, "skills": {"referentials_dir": refs}, "example": {}}
    tt.openapi_plugins(conf)
    d = module_daemons(start=False, staff=DEMO_STAFF,
                       plugin_files=["production", "skills", "example"], plugins=conf)
    env = dict(os.environ, TREMPLIN_TEST_CLOCK="2026-03-02T10:00:00Z")
    r = subprocess.run([tt.TREMPLINCTL, "demo", "--database", d.database] + DEMO_AS,
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    d.start()
    a = d.get("/v1/policy", who="coordinator")
    assert a.status == 200, a
    staff = {s["unix_user"]: s["id"] for s in d.list_all("/v1/staff")}
    return d, a.body, staff


def plugin_rows(d, policy):
    """One row of each plugin record, found on its item path (ids from 1) by whoever reads
    it: resource -> (id, the union of what each role was shown)."""
    rows = {}
    for res, v in policy["resources"].items():
        if v["module"] not in ("production", "skills") or v.get("item") is None:
            continue
        for rid in range(1, 6):
            seen = {}
            for role in ("coordinator", "cip", "eti"):
                a = d.get("%s/%d" % (v["item"], rid), who=role)
                if a.status == 200:
                    seen.update(a.body)
            if seen:
                rows[res] = (rid, seen)
                break
    return rows


def rights_of(d, policy, staff, role, v, row):
    """The caller's rights on a row: its role, and referent_cip when the person's referent
    CIP is the caller (GET on the person, as the coordinator)."""
    bits = {role}
    if role == "cip" and v["owner"] == "person" and row.get("employee_id") is not None:
        e = d.get("/v1/employees/%d" % row["employee_id"], who="coordinator").body
        if e.get("referent_cip_id") == staff[tt.ROLE_USERS["cip"]]:
            bits.add("referent_cip")
    return bits


def field_cat(v, field, row):
    cats = v["fields"][field]
    when = v["sensitive_when"]
    if len(cats) == 2 and when is not None and row.get(when["field"]) in when["values"]:
        return cats[1]
    return cats[0]


@pytest.mark.parametrize("role", ["eti", "cip", "coordinator", "admin"])
def test_plugins__every_field_of_every_record__read_and_write_as_the_policy_says(
        demo_plugins, role):
    """Production's and skills' records, none named here: the policy's fields and categories
    say what each role is shown on GET and whether its PATCH of each field (the value the row
    holds, so that nothing changes) is answered or refused 403 naming the field."""
    d, policy, staff = demo_plugins
    cats = policy["categories"]
    rows = plugin_rows(d, policy)
    wanted = {r for r, v in policy["resources"].items()
              if v["module"] in ("production", "skills") and v.get("item") is not None}
    missing = wanted - set(rows)
    assert len(rows) >= 10 and not (missing - DEMO_HAS_NO_ROW), (
        "records the demo holds no row of: %s" % sorted(missing))
    personal_roles = set(policy["personal_data_roles"])
    reads = writes = 0
    for res, (rid, row) in sorted(rows.items()):
        v = policy["resources"][res]
        path = "%s/%d" % (v["item"], rid)
        bits = rights_of(d, policy, staff, role, v, row)
        shown = {f for f in v["fields"] if f in row
                 and bool(set(cats[field_cat(v, f, row)]["read"]) & bits)}
        a = d.get(path, who=role)
        if v["personal"] and role not in personal_roles:
            assert a.status == 403, (role, path, a)
            continue
        if not shown - {f for f in shown if field_cat(v, f, row) == "none"}:
            assert a.status in (403, 404), (role, path, "shown nothing, yet", a)
            continue
        assert a.status == 200, (role, path, sorted(bits), a)
        got = {f for f in v["fields"] if f in a.body}
        reads += len(v["fields"])
        assert got == shown, "%s GET %s (rights %s): shown %s, the policy says %s" % (
            role, path, sorted(bits), sorted(got), sorted(shown))
        if "update" not in v["ops"]:
            continue
        for f in v["fields"]:
            if f in v["server"] or f in v["fixed"] or f in v["computed"] or f not in row:
                continue
            cat = field_cat(v, f, row)
            before = d.get(path, who="coordinator").body
            p = d.call("PATCH", path, {f: row[f]}, who=role)
            may = bool(set(cats[cat]["write"]) & bits)
            writes += 1
            assert p.status == (200 if may else 403), (
                "%s PATCH %s {%s} (category %s, rights %s): %r" % (
                    role, path, f, cat, sorted(bits), p))
            # A role no category of a record of nobody's lets write is refused at the
            # route, before any field is looked at; else the refusal names the field.
            if not may:
                assert p.error["code"] == "forbidden" and p.error.get("field", f) == f, (
                    role, path, f, p)
            assert d.get(path, who="coordinator").body == before, (role, path, f)
    # The admin reads no person's file, and none of these records (their categories do not
    # let it): refused on each, above.
    assert role == "admin" or (reads >= 100 and writes >= 50), (reads, writes)
    # POST: a copy of the row, its fields the caller could name (none the server sets). A
    # role some field's category does not let write is refused 403 and nothing is made;
    # one that writes them all is not refused for its rights (the copy may break a rule of
    # the record, one per slot...: 409 or 422 then, never 403).
    for res, (rid, row) in sorted(rows.items()):
        v = policy["resources"][res]
        if "create" not in v["ops"] or role == "admin":
            continue
        body = {f: row[f] for f in v["fields"] if f in row and f not in v["server"]
                and f not in v["computed"] and row[f] is not None}
        if v["parent"] is not None:
            owner = row[v["parent"].split(".")[-1] + "_id"]
        elif "{id}" in v["collection"]:
            owner = row["employee_id"]
        else:
            owner = None
        path = v["collection"].replace("{id}", str(owner))
        bits = rights_of(d, policy, staff, role, v, row)
        denied = [f for f in body
                  if not set(cats[field_cat(v, f, row)]["write"]) & bits]
        a = d.call("POST", path, body, who=role)
        if denied:
            assert a.status == 403 and a.error["code"] == "forbidden" and \
                a.error.get("field", denied[0]) in denied, (role, path, body, denied, a)
        else:
            assert a.status in (201, 409, 422), (role, path, body, a)
            if a.status == 201 and "delete" in v["ops"]:
                d.call("DELETE", "%s/%d" % (v["item"], a.body["id"]), who="coordinator")
