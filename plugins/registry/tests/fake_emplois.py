"""A fake of les emplois de l'inclusion's public API (/api/v1/), for the
registry plugin's tests, behaving as the platform is documented to:

- `Authorization: Token <key>`, else 401 {"detail": ...};
- page-number pagination, 20 a page: {count, next, previous, results} with
  absolute `next`/`previous` URLs; a page past the end is 404 {"detail": ...};
- `since=YYYY-MM-DD` (records changed on or after that day; anything else is
  400 {"detail": ...}) and `status=` filters;
- 60 requests a minute on employee records and 120 overall (both settable
  lower), beyond which 429 with Retry-After;
- dates in employee records as dd/mm/YYYY;
- employee-record-notifications/ (a PASS's dates changed), paginated and
  filtered by since= the same way, the record's shape with typeMouvement M.

Served over real TLS with the CA tests/net/make-ca.sh makes. It counts every
request (time, path, query, whether it carried the token) and can be told to
fail: down (502 on everything), fail_next (a list of statuses or "slow" or
"malformed" answered to the next employee-records requests), and
vanish_after_page1 (the records shrink once page 1 was served), vanish_after
(a list of page numbers: after serving that page, the records shrink to it, so
the next page is 404; each used once).

salarieLangueFrancaise (situationSalarie): a record made with french=<the
value in the ASP's meaning> is served with that meaning when the request
carries X-API-salarieLangueFrancaise-like-asp or once the inversion is
definitive (french_definitive, the platform from 15/11/2026), and inverted
otherwise, as the changelog of 2026-07-09 says.
"""

import datetime
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP_SRCDIR") or os.path.join(HERE, "..", "..", "..")
PAGE = 20


def make_pki(directory):
    """ca.pem, server.pem, server.key in directory (tests/net/make-ca.sh); made once."""
    if not os.path.exists(os.path.join(directory, "server.key")):
        subprocess.run(["sh", os.path.join(TOP, "tests", "net", "make-ca.sh"), directory],
                       check=True, capture_output=True)
    return os.path.join(directory, "ca.pem")


def ddmmyyyy(iso):
    return datetime.date.fromisoformat(iso).strftime("%d/%m/%Y")


def employee_record(siret, pass_number, first, last, birth, start, end, orienteur="PE",
                    modified="2026-01-01", raw_dates=None, french=None):
    """An employee record as the platform gives it (ASP shape); dates given ISO, sent dd/mm/YYYY.
    raw_dates: {field: text} sent as they are (a malformed date)."""
    pp = {
        "passIae": pass_number, "sufPassIae": None, "idItou": "h" + pass_number,
        "civilite": "M", "nomUsage": last, "nomNaissance": None, "prenom": first,
        "dateNaissance": ddmmyyyy(birth), "codeInseePays": "100",
        "passDateDeb": ddmmyyyy(start), "passDateFin": ddmmyyyy(end),
    }
    pp.update(raw_dates or {})
    return {
        "_modified": modified,
        "passIae": pass_number, "sufPassIae": None, "idItou": "h" + pass_number,
        "numeroAnnexe": "ACI023201111A0M0", "mesure": "ACI_DC", "siret": siret,
        "typeMouvement": "C", "personnePhysique": pp,
        "situationSalarie": {"orienteur": orienteur, "niveauFormation": "00",
                             "salarieEnEmploi": False},
        "status": "PROCESSED",
        "_french_asp": french,
    }


class FakeEmplois:
    def __init__(self, workdir, token="fake-token-123", limit_er=60, limit_all=120,
                 window=60.0, retry_after=1):
        self.token = token
        self.records = []
        self.notifications = []  # employee-record-notifications/: the same shape
        self.limit_er, self.limit_all, self.window = limit_er, limit_all, window
        self.retry_after = retry_after
        self.requests = []  # (monotonic time, path, query dict, authorised, status)
        self.down = False
        self.fail_next = []
        self.vanish_after_page1 = False
        self.vanish_after = []
        self.french_definitive = False
        self.french_header = []  # per employee-records request: the opt-in header's value
        self._asp = False
        self.slow_s = 0.0  # every employee-records answer waits this long
        self.slow_answer_s = 1.5  # a "slow" in fail_next: past a 1 s timeout
        self.lock = threading.Lock()
        self.blocked_until = 0.0  # the last 429's Retry-After end
        self.early = 0  # requests that came before a Retry-After had passed
        ca = make_pki(workdir)
        self.ca = ca
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(workdir, "server.pem"),
                            os.path.join(workdir, "server.key"))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = "https://127.0.0.1:%d/api/v1/" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- what the tests read ------------------------------------------------

    def er_requests(self):
        return [r for r in self.requests if r[1].endswith("/employee-records/")]

    def max_in_window(self, window, which=None):
        times = [r[0] for r in (which if which is not None else self.requests)]
        best = 0
        for i, t in enumerate(times):
            best = max(best, sum(1 for u in times[i:] if u - t < window))
        return best

    # -- serving ----------------------------------------------------------

    def answer(self, h, status, body, headers=()):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)
        return status

    def handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        now = time.monotonic()
        authorised = h.headers.get("Authorization") == "Token " + self.token
        with self.lock:
            if now < self.blocked_until:
                self.early += 1
            self.requests.append([now, url.path, query, authorised, None])
            entry = self.requests[-1]
            hv = h.headers.get("X-API-salarieLangueFrancaise-like-asp")
            self._asp = hv is not None
            if url.path.endswith("/employee-records/"):
                self.french_header.append(hv)
            status = self.route(h, url, query, now, authorised)
            entry[4] = status

    def limited(self, now, path):
        recent = [r for r in self.requests[:-1] if now - r[0] < self.window]
        er = [r for r in recent if r[1] == path and path.endswith("/employee-records/")]
        return len(recent) >= self.limit_all or (
            path.endswith("/employee-records/") and len(er) >= self.limit_er)

    def route(self, h, url, query, now, authorised):
        if self.down:
            return self.answer(h, 502, b"<html>Bad Gateway</html>")
        if not authorised:
            return self.answer(h, 401, {"detail": "Informations d'authentification non fournies."})
        if self.limited(now, url.path):
            self.blocked_until = now + self.retry_after
            return self.answer(h, 429, {"detail": "Requête ralentie."},
                               [("Retry-After", str(self.retry_after))])
        if url.path == "/api/v1/employee-record-notifications/":
            return self.listing(h, "employee-record-notifications/", self.notifications, query)
        if url.path != "/api/v1/employee-records/":
            return self.answer(h, 404, {"detail": "Pas trouvé."})
        if self.fail_next:
            what = self.fail_next.pop(0)
            if what == "slow":
                time.sleep(self.slow_answer_s)
                return self.answer(h, 200, {"count": 0, "next": None, "previous": None,
                                            "results": []})
            if what == "malformed":
                return self.answer(h, 200, b'{"count": 3, "results": [')
            return self.answer(h, what, {"detail": "Erreur du serveur."})
        if self.slow_s:
            time.sleep(self.slow_s)
        return self.listing(h, "employee-records/", self.records, query)

    def served(self, r):
        out = {k: v for k, v in r.items() if not k.startswith("_")}
        asp = r.get("_french_asp")
        if asp is not None:
            meaning_asp = self._asp or self.french_definitive
            out["situationSalarie"] = dict(out["situationSalarie"],
                                           salarieLangueFrancaise=asp if meaning_asp else not asp)
        return out

    def listing(self, h, endpoint, rows, query):
        since = query.get("since")
        if since is not None:
            try:
                datetime.date.fromisoformat(since)
                assert len(since) == 10
            except (ValueError, AssertionError):
                return self.answer(h, 400, {"detail": "since: format YYYY-MM-DD attendu."})
            rows = [r for r in rows if r["_modified"] >= since]
        if "status" in query:
            rows = [r for r in rows if r["status"] == query["status"]]
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            page = 0
        pages = max(1, (len(rows) + PAGE - 1) // PAGE)
        if page < 1 or page > pages:
            return self.answer(h, 404, {"detail": "Page non valide."})
        results = [self.served(r) for r in rows[(page - 1) * PAGE:page * PAGE]]

        def link(n):
            q = dict(query, page=str(n))
            return self.base + endpoint + "?" + urllib.parse.urlencode(q)

        body = {"count": len(rows), "next": link(page + 1) if page < pages else None,
                "previous": link(page - 1) if page > 1 else None, "results": results}
        if page == 1 and self.vanish_after_page1 and endpoint == "employee-records/":
            self.vanish_after_page1 = False
            del self.records[len(self.records) - PAGE:]
        if (endpoint == "employee-records/" and self.vanish_after
                and self.vanish_after[0] == page):
            self.vanish_after.pop(0)
            del self.records[page * PAGE:]
        return self.answer(h, 200, body)
