"""A person in a browser signs into a SaaS app over OpenID Connect.

The app is a small relying party of its own (a local HTTP server): it starts the code flow with
PKCE, exchanges the code over HTTP and checks the ID token with joserfc against the published JWKS;
none of the IdP's code runs on its side. The portal tile starts the same login (third-party initiated).
"""
import base64
import hashlib
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
EMAIL = "taro@acme.example.com"


class RelyingParty:
    """/start begins the login; /cb finishes it and greets the user by the ID token's name."""

    def __init__(self):
        self.issuer = self.client_id = self.client_secret = None
        self.pending = {}
        rp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                status, body, location = rp.start() if path == "/start" else rp.callback(parse_qs(query))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def start(self):
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)  # RFC 7636 4.1: 43 to 128 characters
        self.pending[state] = (nonce, verifier)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        config = requests.get(self.issuer + "/.well-known/openid-configuration").json()
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.url + "/cb",
                           "scope": "openid profile email", "state": state, "nonce": nonce,
                           "code_challenge": challenge, "code_challenge_method": "S256"})
        return 302, "", f"{config['authorization_endpoint']}?{query}"

    def callback(self, query):
        nonce, verifier = self.pending.pop(query["state"][0])
        config = requests.get(self.issuer + "/.well-known/openid-configuration").json()
        tokens = requests.post(config["token_endpoint"], auth=(self.client_id, self.client_secret), data={
            "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": self.url + "/cb",
            "code_verifier": verifier}).json()
        keys = KeySet.import_key_set(requests.get(config["jwks_uri"]).json())
        claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "ES256"]).claims
        assert claims["iss"] == self.issuer and claims["aud"] == self.client_id and claims["nonce"] == nonce
        return 200, f"<h1 id=welcome>ようこそ {claims['name']} さん ({claims['email']})</h1>", None

    def close(self):
        self.server.shutdown()


@pytest.fixture
def relying_party():
    rp = RelyingParty()
    yield rp
    rp.close()


def test_login_to_an_oidc_app_then_sso_from_the_portal_tile(live_server, browser_page, clock, relying_party):
    with live_server.app.app_context():
        created = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                        admin_email=EMAIL, admin_name="山田 太郎", admin_password=STRONG_PASSWORD,
                                        now=clock.now(), actor=OPERATOR)
        client = oidc_clients.register(
            created.tenant, oidc_clients.ClientSettings(
                name="経費精算", redirect_uris=[relying_party.url + "/cb"],
                initiate_login_uri=relying_party.url + "/start"),
            now=clock.now(), actor=OPERATOR, groups=[groups.default_group(created.tenant)]).as_json()
        db.session.commit()
    relying_party.issuer = live_server.url + "/t/acme"
    relying_party.client_id, relying_party.client_secret = client["client_id"], client["client_secret"]
    page = browser_page

    page.goto(relying_party.url + "/start")
    assert urlsplit(page.url).path == "/t/acme/login"  # the tenant's own login page
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(relying_party.url + "/cb?*")
    assert page.locator("#welcome").inner_text() == f"ようこそ 山田 太郎 さん ({EMAIL})"
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "oidc_app.png"))

    page.goto(live_server.url + "/")  # the portal: the app's tile starts a login at the app, no password asked
    page.click("text=経費精算")
    page.wait_for_url(relying_party.url + "/cb?*")
    assert page.locator("#welcome").inner_text().startswith("ようこそ 山田 太郎")
