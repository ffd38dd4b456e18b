"""Where a request's CPU goes (a script, not a test): the four scenarios of ../shared/perf/compare.sh
run in one process through Flask's test client, timed and profiled.

`.venv/bin/python bench/cpu_profile.py [-n 300] [--scenarios client_credentials,refresh,login_flow,saml_sso]
[--top 25] [--sort tottime|cumulative] [--no-hash]`

Each scenario is the same sequence of requests as the harness's (loadgen.py): client_credentials (one
token request, client_secret_basic), refresh (rotation, RS256 ID token), login_flow (authorize →
login page → POST password → back to authorize → token exchange with PKCE), saml_sso (an
SP-initiated HTTP-Redirect AuthnRequest answered with the signed auto-POST form, for a browser with
an SSO session). Prints the process CPU per operation (no HTTP server, so this is the application's
own work plus the test client's environ building, ~0.05 ms per request), then the profile's top
functions. `--no-hash` reports the login without argon2 (the hash is measured by bench/password_hashing.py).
"""
import argparse
import base64
import cProfile
import hashlib
import html
import os
import pstats
import re
import sys
import tempfile
import time
import zlib
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # not bench/: its scripts' names must not hide the packages they measure

PASSWORD = "Sakura-Blossom-2026"
REDIRECT_URI = "http://127.0.0.1:65010/oidc/callback"
SP_ENTITY = "https://sp.bench.example.com/metadata"
ACS_URL = "http://127.0.0.1:65011/saml/acs"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_RE = re.compile(r'name="SAMLResponse" value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
ACTION_RE = re.compile(r'<form method="post" action="([^"]*)"')
USERS = 8


def environment():
    instance = tempfile.mkdtemp(prefix="idp-profile-")
    os.environ.update({"IDP_INSTANCE_DIR": instance, "IDP_BASE_URL": "http://127.0.0.1:8000",
                       "IDP_RATELIMIT_ENABLED": "0", "IDP_MAIL_TRANSPORT": "outbox",
                       "IDP_SECRET_KEY": "profile-secret"})


def seed():
    """The harness's set-up through the services: tenant, group, users, one OIDC client, one SAML SP."""
    from idp import create_app
    from idp.directory import accounts, groups
    from idp.logs.audit import OPERATOR
    from idp.oidc import clients as oidc_clients
    from idp.platform.clock import utcnow
    from idp.platform.extensions import db
    from idp.saml import registry as saml_registry
    from idp.tenancy import tenants
    app = create_app()
    with app.app_context():
        now = utcnow()
        tenant = tenants.create_tenant(slug="perf", company_name="Perf", owner_email="owner@perf.example.com",
                                       admin_email="admin@perf.example.com", admin_password=PASSWORD,
                                       now=now, actor=OPERATOR).tenant
        for i in range(USERS):
            accounts.create_account(
                tenant, accounts.NewAccount(email=f"user{i}@perf.example.com", name=f"User {i}"),
                password=PASSWORD, now=now, actor=OPERATOR)
        everyone = [groups.default_group(tenant)]
        created = oidc_clients.register(
            tenant, oidc_clients.ClientSettings(name="Perf RP", redirect_uris=[REDIRECT_URI]),
            now=now, actor=OPERATOR, groups=everyone)
        saml_registry.register(
            tenant, saml_registry.SpSettings(name="Perf SP", entity_id=SP_ENTITY, acs_urls=[ACS_URL], sign="both"),
            now=now, actor=OPERATOR, groups=everyone)
        db.session.commit()
        return app, created.client.client_id, created.client_secret


class Flows:
    def __init__(self, app, client_id, secret):
        self.app, self.client_id = app, client_id
        self.basic = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
        self.number = 0

    def _user(self):
        self.number += 1
        return f"user{self.number % USERS}@perf.example.com"

    def client_credentials(self, _state):
        response = self.app.test_client().post("/t/perf/oidc/token", data={"grant_type": "client_credentials"},
                                               headers=self.basic)
        assert response.status_code == 200, response.get_data(as_text=True)

    def login_flow(self, _state=None, scope="openid email profile offline_access"):
        browser = self.app.test_client()
        verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT_URI,
                           "scope": scope, "state": "st", "nonce": "nn", "code_challenge": challenge,
                           "code_challenge_method": "S256"})
        response = browser.get(f"/t/perf/oidc/authorize?{query}")
        login_url = _local(response.headers["Location"])
        page = browser.get(login_url).get_data(as_text=True)
        form = {name: html.unescape(value) for name, value in HIDDEN_RE.findall(page)}
        form.update(email=self._user(), password=PASSWORD)
        action = html.unescape(ACTION_RE.search(page).group(1)) or login_url
        response = browser.post(_local(action), data=form)
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
        while not response.headers["Location"].startswith(REDIRECT_URI):
            response = browser.get(_local(response.headers["Location"]))
            assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        token = browser.post("/t/perf/oidc/token", headers=self.basic, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier})
        assert token.status_code == 200 and "id_token" in token.get_json(), token.get_data(as_text=True)
        return token.get_json()

    def refresh(self, state):
        if "refresh_token" not in state:
            state["refresh_token"] = self.login_flow()["refresh_token"]
        response = self.app.test_client().post("/t/perf/oidc/token", headers=self.basic, data={
            "grant_type": "refresh_token", "refresh_token": state["refresh_token"]})
        assert response.status_code == 200, response.get_data(as_text=True)
        state["refresh_token"] = response.get_json()["refresh_token"]

    def saml_sso(self, state):
        if "browser" not in state:
            browser = state["browser"] = self.app.test_client()
            page = browser.get("/login").get_data(as_text=True)
            browser.post("/login", data={"csrf_token": CSRF_RE.search(page).group(1), "email": self._user(),
                                         "password": PASSWORD, "next": "/"})
        self.number += 1
        instant = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
               f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_p{self.number:08d}" Version="2.0" '
               f'IssueInstant="{instant}" Destination="http://127.0.0.1:8000/t/perf/saml/sso" '
               f'AssertionConsumerServiceURL="{ACS_URL}"><saml:Issuer>{SP_ENTITY}</saml:Issuer>'
               f'</samlp:AuthnRequest>')
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        encoded = base64.b64encode(deflater.compress(xml.encode()) + deflater.flush()).decode()
        response = state["browser"].get(f"/t/perf/saml/sso?{urlencode({'SAMLRequest': encoded, 'RelayState': 'r'})}")
        assert response.status_code == 200 and FORM_RE.search(response.get_data(as_text=True)), response.status_code


def _local(location):
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def per_request(app, step, state, n):
    """{"METHOD path": mean CPU seconds inside the app} over n more operations."""
    inner, times = app.wsgi_app, {}

    def timed(environ, start_response):
        started = time.process_time()
        body = list(inner(environ, start_response))
        times.setdefault(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}", []).append(
            time.process_time() - started)
        return body
    app.wsgi_app = timed
    try:
        for _ in range(n):
            step(state)
    finally:
        app.wsgi_app = inner
    return {request: sum(values) / len(values) for request, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--scenarios", default="client_credentials,refresh,login_flow,saml_sso")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--filter", default="", help="only functions whose file matches this regex "
                        "(e.g. 'main/(idp|protocols)/')")
    parser.add_argument("--no-hash", action="store_true", help="leave argon2 out of the login's figure")
    parser.add_argument("--per-request", action="store_true", help="also the CPU of each request of a scenario "
                        "inside the app (without the test client)")
    args = parser.parse_args()
    environment()
    app, client_id, secret = seed()
    flows = Flows(app, client_id, secret)
    if args.no_hash:
        from idp.authn import credentials
        real = credentials.verify_password
        credentials.verify_password = lambda stored, given: ((given == PASSWORD, False) if stored
                                                             else real(stored, given))
    for name in args.scenarios.split(","):
        step, state = getattr(flows, name), {}
        for _ in range(20):  # warm-up: caches, first-request work
            step(state)
        started = time.process_time()
        for _ in range(args.n):
            step(state)
        per_op = (time.process_time() - started) / args.n * 1000
        print(f"{name:<20} {per_op:7.2f} ms CPU per operation (n={args.n})", flush=True)
        if args.per_request:
            for request, seconds in per_request(app, step, state, args.n).items():
                print(f"    {request:<44} {seconds * 1000:7.3f} ms", flush=True)
        if args.top:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.n):
                step(state)
            profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(*([args.filter] if args.filter else []), args.top)


if __name__ == "__main__":
    main()
