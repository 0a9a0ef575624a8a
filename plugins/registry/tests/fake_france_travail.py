"""A fake of France Travail's partner APIs for the registry plugin's tests,
behaving as they are documented to:

- POST /connexion/oauth2/access_token?realm=/partenaire, a form body
  (grant_type=client_credentials, client_id, client_secret, scope): 200
  {access_token, token_type: Bearer, expires_in, scope}; the realm missing
  from the query is 400 {"error": "invalid_client"}, a wrong client 401
  {"error": "invalid_client"};
- GET /partenaire/rome-fiches-metiers/v1/fiches-rome/fiche-metier/<code>
  with `Authorization: Bearer <token>`: the fiche; a token unknown, revoked
  or past its expires_in is 401; an unknown code 404.

Served over real TLS with the certificate fake_emplois.make_pki made. It
counts the token requests and the API requests (with the token each used).
"""

import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FICHE = "/partenaire/rome-fiches-metiers/v1/fiches-rome/fiche-metier/"


def fiche(code, label, competences):
    return {"code": code, "metier": {"code": code, "libelle": label},
            "groupesCompetencesMobilisees": [
                {"enjeu": {"code": "E1", "libelle": "Réalisation"},
                 "competences": [{"code": c, "libelle": l, "type": "COMPETENCE-DETAILLEE"}
                                 for c, l in competences]}]}


class FakeFranceTravail:
    def __init__(self, pki_dir, client_id="tremplin-test", secret="s3cret-client",
                 expires_in=1499):
        self.client_id, self.secret, self.expires_in = client_id, secret, expires_in
        self.fiches = {}
        self.tokens = {}  # token -> monotonic expiry
        self.token_requests = []  # (query, form)
        self.api_requests = []  # (code, token, status)
        self.lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(pki_dir, "server.pem"),
                            os.path.join(pki_dir, "server.key"))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with fake.lock:
                    fake.get(self)

            def do_POST(self):
                with fake.lock:
                    fake.post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        port = self.server.server_address[1]
        self.token_url = "https://127.0.0.1:%d/connexion/oauth2/access_token" % port
        self.api_url = "https://127.0.0.1:%d/partenaire/" % port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def revoke(self):
        with self.lock:
            self.tokens.clear()

    def answer(self, h, status, body):
        raw = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    def post(self, h):
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        n = int(h.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(h.rfile.read(n).decode()))
        self.token_requests.append((query, form))
        if url.path != "/connexion/oauth2/access_token":
            return self.answer(h, 404, {"error": "not_found"})
        if query.get("realm") != "/partenaire":
            return self.answer(h, 400, {"error": "invalid_client",
                                        "error_description": "realm missing"})
        if (form.get("grant_type") != "client_credentials"
                or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.secret):
            return self.answer(h, 401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.expires_in
        return self.answer(h, 200, {"access_token": token, "token_type": "Bearer",
                                    "expires_in": self.expires_in,
                                    "scope": form.get("scope", "")})

    def get(self, h):
        url = urllib.parse.urlsplit(h.path)
        auth = h.headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        code = url.path[len(FICHE):] if url.path.startswith(FICHE) else None
        if token is None or self.tokens.get(token, 0) < time.monotonic():
            self.api_requests.append((code, token, 401))
            return self.answer(h, 401, {"message": "Token invalide ou expiré"})
        if code not in self.fiches:
            self.api_requests.append((code, token, 404))
            return self.answer(h, 404, {"message": "Fiche inconnue"})
        self.api_requests.append((code, token, 200))
        return self.answer(h, 200, self.fiches[code])
