"""OIDC fixtures: a tenant with a user, registered clients, and an RP that verifies independently.

The RP side never calls the server's code: it speaks HTTP to the app and verifies tokens with
joserfc against the JWKS the server publishes."""
import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from conftest import STRONG_PASSWORD as STRONG  # noqa: F401  (re-exported for the tests)
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants

BASE = "http://127.0.0.1:8000"
ISSUER = f"{BASE}/t/acme"
REDIRECT_URI = "https://rp.example.com/callback"
POST_LOGOUT_URI = "https://rp.example.com/bye"


def epoch(dt):
    import calendar
    return calendar.timegm(dt.utctimetuple())


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@pytest.fixture
def acme(factory):
    factory.tenant("acme")
    factory.account("acme")
    return "acme"


@pytest.fixture
def register(app, clock):
    """register(tenant_slug="acme", **options) -> SimpleNamespace(client_id, client_secret, app_id)."""
    def _register(slug="acme", *, group_names=None, redirect_uris=(REDIRECT_URI,), **options):
        with app.app_context():
            tenant = tenants.get_by_slug(slug)
            chosen = ([groups.get_by_name(tenant, n) for n in group_names] if group_names is not None
                      else [groups.default_group(tenant)])
            created = oidc_clients.register(
                tenant, oidc_clients.ClientSettings(
                    name=options.pop("name", "経費精算"), redirect_uris=redirect_uris,
                    post_logout_redirect_uris=options.pop("post_logout", (POST_LOGOUT_URI,)), **options),
                groups=chosen, now=clock.now(), actor=OPERATOR)
            db.session.commit()
            return SimpleNamespace(**created.as_json())
    return _register


@pytest.fixture
def rp_client(register, acme):
    return register()


class RelyingParty:
    """Drives the code flow over HTTP like an app would, and checks tokens with joserfc."""

    def __init__(self, client, clock, login, slug="acme"):
        self.http, self.clock, self.login = client, clock, login
        self.issuer = f"{BASE}/t/{slug}"
        self.path = f"/t/{slug}"

    def authorize_url(self, registration, **params):
        query = {"response_type": "code", "client_id": registration.client_id, "redirect_uri": REDIRECT_URI,
                 "scope": "openid profile email", "state": "st-1", "nonce": "n-1", **params}
        query = {k: v for k, v in query.items() if v is not None}
        return f"{self.path}/oidc/authorize?{urlencode(query)}"

    def authorize(self, registration, **params):
        return self.http.get(self.authorize_url(registration, **params))

    def code_from(self, response, state="st-1"):
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?"), location
        query = parse_qs(urlsplit(location).query)
        assert query.get("state") == [state]
        assert query["iss"] == [self.issuer]
        return query["code"][0]

    def log_in_through(self, registration, email="taro@acme.example.com", **params):
        """authorize → /login → password → back to authorize → code."""
        first = self.authorize(registration, **params)
        assert first.status_code == 302 and "/login?" in first.headers["Location"], first.headers.get("Location")
        next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
        posted = self.login(email=email, next_url=next_url)
        assert posted.status_code == 302, posted.get_data(as_text=True)[:300]
        return self.http.get(posted.headers["Location"])

    def token(self, registration, data, auth="basic"):
        headers = {}
        if auth == "basic":
            raw = f"{registration.client_id}:{registration.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif auth == "post":
            data = {**data, "client_id": registration.client_id, "client_secret": registration.client_secret}
        elif auth == "none":
            data = {**data, "client_id": registration.client_id}
        return self.http.post(f"{self.path}/oidc/token", data=data, headers=headers)

    def exchange(self, registration, code, auth="basic", **extra):
        return self.token(registration, {"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": REDIRECT_URI, **extra}, auth=auth)

    def jwks(self):
        return KeySet.import_key_set(self.http.get(f"{self.path}/oidc/jwks").get_json())

    def verify(self, token, audience, typ=None):
        decoded = jwt.decode(token, self.jwks(), algorithms=["RS256", "ES256"])
        if typ:
            assert decoded.header["typ"] == typ
        JWTClaimsRegistry(now=epoch(self.clock.now()), iss={"essential": True, "value": self.issuer},
                          aud={"essential": True, "value": audience}, sub={"essential": True},
                          exp={"essential": True}, iat={"essential": True}).validate(decoded.claims)
        return decoded

    def full_login(self, registration, **params):
        return self.exchange(registration, self.code_from(self.log_in_through(registration, **params)))


@pytest.fixture
def rp(client, clock, login):
    return RelyingParty(client, clock, login)


class LogoutReceiver:
    """A local HTTP server recording back-channel logout POSTs (and their Host headers); answers
    `statuses` in turn, then 200; with `location` set, every answer carries that Location header."""

    def __init__(self):
        self.received, self.statuses, self.hosts, self.location = [], [], [], None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                receiver.received.append(parse_qs(body).get("logout_token", [""])[0])
                receiver.hosts.append(self.headers.get("Host"))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def logout_receiver():
    receiver = LogoutReceiver()
    yield receiver
    receiver.close()


def json_of(response):
    return json.loads(response.get_data(as_text=True))


def csrf_of(response):
    from conftest import csrf_token_from
    return csrf_token_from(response.get_data(as_text=True))
