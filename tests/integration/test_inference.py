"""What the ETI must not infer: justice, health or disability told by another field.

DOMAIN.md keeps health, disability and justice details for the person's
referent CIP. The confidentiality audit of issue 9 found the ETI reading them
all the same, told by fields of other categories: the prescriber ("spip" is
the probation service, "cap_emploi" the service for people with a recognised
disability), an exit excluded from the rates ("exclue", "long illness"), the
names of a review's participants (the probation officer). Each test builds a
person with such facts, through the API, and reads everything the ETI may
read of them: the record, every list, the list filters, every nested record,
the welcome checklist, the Lua views a script with the eti role reads; the
export and the journal are refused to the ETI. The values must not appear,
while what the ETI needs for its daily work (contract dates and hours, that a
contract is suspended and until when, the PASS's validity, that the person
left and when) stays.

The legal reasons of contracts and PASSes (a suspension for detention, a
renewal or a prolongation for RQTH) are read by the referent CIP and the
coordinator (the employer's legal obligations); another CIP does not read
them.
"""

import itertools
import json
import os
import re

import pytest

import lua_support as ls
import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT, reason="calls the API as the users of the roles")

CLOCK = "2026-03-02T08:00:00Z"
_numbers = itertools.count(2000000 + os.getpid() % 1000 * 1000)

# Values that tell a justice, health or disability fact, as the API or the demo spells them.
TELLING = ("spip", "SPIP de la Creuse", "cap_emploi", "Cap emploi Creuse", "incarceration",
           "rqth", "illness", "exclue", "maladie", "Conseillère SPIP")
# A script with the eti role reads every view it may, when told, and logs what it read.
VIEW_PROBE = """
on("structure.created", function()
  local out = {}
  for _, name in ipairs({"structures.v1", "staff.v1", "contracts_ending.v1"}) do
    local ok, rows = pcall(view, name, name == "contracts_ending.v1"
      and {date = "2026-03-02", days = 3660} or nil)
    out[name] = ok and rows or tostring(rows)
  end
  log("info", "VIEWS " .. json.encode(out))
end)
"""


def leaks(body):
    text = json.dumps(body, ensure_ascii=False).lower()
    return [v for v in TELLING if v.lower() in text]



@pytest.fixture(scope="module")
def d(module_daemons):
    daemon = ls.script_daemon(module_daemons, {"eti_views": {"role": "eti"}},
                              {"rules/eti_views.lua": VIEW_PROBE}, start=False)
    ls.start_daemon(daemon, CLOCK)
    return daemon


@pytest.fixture(scope="module")
def w(d):
    """Two people referred by the SPIP and by Cap emploi, with the facts that follow."""
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    cip, eti = staff[tt.ROLE_USERS["cip"]]["id"], staff[tt.ROLE_USERS["eti"]]["id"]
    user2 = tt.free_unix_user(set(staff))
    if user2 is not None:
        d.create("/v1/staff", {"name": "Autre CIP", "unix_user": user2, "role": "cip"},
                 who="coordinator")
    aci = d.create("/v1/structures", tt.structure_body(kind="ACI"), who="coordinator")["id"]

    def person(kind, name):
        return d.create("/v1/employees", {
            "structure_id": aci, "first_name": "Yanis", "last_name": tt.unique("Rey"),
            "birth_date": "1975-05-17", "prescriber_kind": kind, "prescriber_name": name,
            "team": "Espaces verts", "referent_cip_id": cip, "referent_eti_id": eti},
            who="cip")["id"]

    spip, cap = person("spip", "SPIP de la Creuse"), person("cap_emploi", "Cap emploi Creuse")
    c = d.create("/v1/employees/%d/contracts" % spip,
                 {"start_date": "2026-01-15", "end_date": "2028-01-14", "weekly_hours": 26},
                 who="cip")["id"]
    renewal = d.create("/v1/contracts/%d/renewals" % c,
                       {"new_end_date": "2029-01-14", "reason": "rqth"}, who="cip")["id"]
    susp = d.create("/v1/contracts/%d/suspensions" % c,
                    {"start_date": "2026-03-02", "end_date": "2026-04-30",
                     "reason": "incarceration"}, who="cip")["id"]
    c2 = d.create("/v1/employees/%d/contracts" % cap,
                  {"start_date": "2026-01-15", "end_date": "2026-06-30", "weekly_hours": 24},
                  who="cip")["id"]
    d.create("/v1/contracts/%d/suspensions" % c2,
             {"start_date": "2026-02-02", "end_date": "2026-02-20", "reason": "illness"},
             who="cip")
    p = d.create("/v1/employees/%d/passes" % cap,
                 {"number": "99999%07d" % next(_numbers), "start_date": "2025-01-06"},
                 who="cip")["id"]
    prol = d.create("/v1/passes/%d/prolongations" % p, {"days": 90, "reason": "rqth"},
                    who="cip")["id"]
    review = d.create("/v1/employees/%d/reviews" % spip,
                      {"kind": "entry", "planned_on": "2026-02-10", "held_on": "2026-02-10",
                       "participants": ["Yanis", "Conseillère SPIP"],
                       "shared_with_eti": "Horaires à aménager"}, who="cip")["id"]
    # Left: an exit excluded from the rates, for a long illness.
    gone = person("france_travail", "France Travail Guéret")
    ex = d.create("/v1/employees/%d/exits" % gone,
                  {"exit_date": "2026-02-27", "category": "exclue",
                   "destination": "Arrêt maladie de longue durée"}, who="coordinator")["id"]
    return {"spip": spip, "cap": cap, "gone": gone, "contract": c, "renewal": renewal,
            "suspension": susp, "contract2": c2, "pass": p, "prolongation": prol,
            "review": review, "exit": ex, "cip2": user2}


def eti_get(d, path):
    a = d.get(path, who="eti")
    assert a.status == 200, (path, a)
    return a.body


def test_eti__prescriber__absent_from_the_record_and_every_list(d, w):
    for key in ("spip", "cap"):
        e = eti_get(d, "/v1/employees/%d" % w[key])
        assert "prescriber_kind" not in e and "prescriber_name" not in e, e
        assert not leaks(e), e
        # What the ETI works with stays.
        assert e["team"] == "Espaces verts" and e["status"] == "in_pathway", e
    for query in ("", "team=Espaces%20verts", "status=in_pathway", "status=exited"):
        items = d.list_all("/v1/employees", query, who="eti")
        assert items and not leaks(items), (query, leaks(items))
        assert all("prescriber_kind" not in i for i in items), query


def test_eti__prescriber_filter__refused_naming_it(d, w):
    """A filter the ETI could use would tell the prescriber by which rows come back."""
    for q in ("prescriber_kind=spip", "prescriber_name=SPIP%20de%20la%20Creuse"):
        a = d.get("/v1/employees?" + q, who="eti")
        assert a.status == 400, a
        assert (a.error["code"], a.error["field"]) == ("bad_request", q.split("=")[0]), a


def test_cip_and_coordinator__read_the_prescriber(d, w):
    for who in ("cip", "coordinator"):
        e = d.get("/v1/employees/%d" % w["spip"], who=who).body
        assert (e["prescriber_kind"], e["prescriber_name"]) == ("spip", "SPIP de la Creuse")
        items = d.list_all("/v1/employees", who=who)
        assert {i["prescriber_kind"] for i in items} >= {"spip", "cap_emploi"}
    if w["cip2"] is not None:
        e = d.get("/v1/employees/%d" % w["spip"], who=w["cip2"]).body
        assert e["prescriber_kind"] == "spip", e


def test_eti__contract_reasons__absent_dates_and_hours_kept(d, w):
    c = eti_get(d, "/v1/contracts/%d" % w["contract"])
    assert not leaks(c), leaks(c)
    assert (c["start_date"], c["end_date"], c["weekly_hours"]) == \
        ("2026-01-15", "2029-01-14", 26)
    # That it is suspended, and until when, is the ETI's: it plans the work.
    assert [(s["start_date"], s["end_date"]) for s in c["suspensions"]] == \
        [("2026-03-02", "2026-04-30")]
    assert [r["new_end_date"] for r in c["renewals"]] == ["2029-01-14"]
    for path in ("/v1/contract_renewals/%d" % w["renewal"],
                 "/v1/contract_suspensions/%d" % w["suspension"],
                 "/v1/contracts/%d" % w["contract2"]):
        body = eti_get(d, path)
        assert not leaks(body) and "reason" not in body, (path, body)
    for key in ("spip", "cap"):
        items = d.list_all("/v1/employees/%d/contracts" % w[key], who="eti")
        assert items and not leaks(items), leaks(items)


def test_eti__pass_prolongation_reason__absent_validity_kept(d, w):
    p = eti_get(d, "/v1/passes/%d" % w["pass"])
    assert not leaks(p), leaks(p)
    assert p["end_date"] == "2027-04-05" and p["status"] == "VALID", p  # 730 + 90 days
    assert [x["days"] for x in p["prolongations"]] == [90]
    body = eti_get(d, "/v1/pass_prolongations/%d" % w["prolongation"])
    assert not leaks(body) and "reason" not in body, body
    assert not leaks(d.list_all("/v1/employees/%d/passes" % w["cap"], who="eti"))


def test_eti__exit_category_and_destination__absent_date_kept(d, w):
    x = eti_get(d, "/v1/exits/%d" % w["exit"])
    assert "category" not in x and "destination" not in x, x
    assert x["exit_date"] == "2026-02-27" and not leaks(x), x
    items = d.list_all("/v1/employees/%d/exits" % w["gone"], who="eti")
    assert [i["id"] for i in items] == [w["exit"]] and not leaks(items), items
    assert eti_get(d, "/v1/employees/%d" % w["gone"])["status"] == "exited"
    # The coordinator counts exits by category (the rate of sorties dynamiques).
    x = d.get("/v1/exits/%d" % w["exit"], who="coordinator").body
    assert (x["category"], x["destination"]) == ("exclue", "Arrêt maladie de longue durée")


def test_eti__review_participants__absent_the_shared_part_kept(d, w):
    r = eti_get(d, "/v1/reviews/%d" % w["review"])
    assert "participants" not in r and not leaks(r), r
    assert (r["kind"], r["held_on"], r["shared_with_eti"]) == \
        ("entry", "2026-02-10", "Horaires à aménager")
    items = d.list_all("/v1/employees/%d/reviews" % w["spip"], who="eti")
    assert items and not leaks(items), items
    r = d.get("/v1/reviews/%d" % w["review"], who="cip").body
    assert r["participants"] == ["Yanis", "Conseillère SPIP"]


def test_eti__whole_file__nothing_telling_anywhere_it_reads(d, w):
    """Every path the ETI reads of these files; the export and the journal are refused."""
    for key in ("spip", "cap", "gone"):
        e = w[key]
        paths = ["/v1/employees/%d" % e, "/v1/employees/%d/welcome" % e,
                 "/v1/employees/%d/ai_hours" % e]
        paths += ["/v1/employees/%d/%s?limit=500" % (e, r) for r in (
            "contracts", "passes", "reviews", "exits", "observations", "barriers")]
        for path in paths:
            body = eti_get(d, path)
            assert not leaks(body), (path, leaks(body))
        a = d.get("/v1/employees/%d/export" % e, who="eti")
        assert a.status == 403 and not leaks(a.body), a
    a = d.get("/v1/events?type=*", who="eti")
    assert a.status == 403 and not leaks(a.body), a


def test_eti__lua_views__nothing_telling(d, w):
    offset = d.log_size()
    d.create("/v1/structures", tt.structure_body(), who="coordinator")
    seen = {}

    def read():
        for line in ls.script_lines(d, "eti_views", offset):
            m = re.match(r"VIEWS (.*)$", line)
            if m:
                seen.update(json.loads(m.group(1)))
        return seen.get("contracts_ending.v1")

    tt.wait_for("the eti script's views", read)
    rows = seen["contracts_ending.v1"]
    assert isinstance(rows, list), rows
    assert {r["contract_id"] for r in rows} >= {w["contract"], w["contract2"]}, rows
    assert not leaks(seen), leaks(seen)


def test_other_cip__contract_and_pass_reasons__absent(d, w):
    """Detention, illness and disability are the referent CIP's: another CIP reads dates."""
    if w["cip2"] is None:
        pytest.skip("no free system user for a second CIP account")
    other = w["cip2"]
    for path in ("/v1/contracts/%d" % w["contract"], "/v1/passes/%d" % w["pass"],
                 "/v1/contract_suspensions/%d" % w["suspension"]):
        a = d.get(path, who=other)
        assert a.status == 200, (path, a)
        assert not leaks(a.body) and '"reason"' not in json.dumps(a.body), (path, a.body)
    # Nor may it write one: a reason is a fact about the person.
    a = d.post("/v1/contracts/%d/suspensions" % w["contract2"],
               {"start_date": "2026-03-02", "end_date": "2026-03-06", "reason": "illness"},
               who=other)
    assert a.status == 403 and a.error["field"] == "reason", a
    # The referent and the coordinator read them.
    for who in ("cip", "coordinator"):
        s = d.get("/v1/contract_suspensions/%d" % w["suspension"], who=who).body
        assert s["reason"] == "incarceration", (who, s)
        p = d.get("/v1/pass_prolongations/%d" % w["prolongation"], who=who).body
        assert p["reason"] == "rqth", (who, p)
