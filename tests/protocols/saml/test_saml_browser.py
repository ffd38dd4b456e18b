"""A real browser (Chromium): the response form submits itself under our Content-Security-Policy, and
logging out from the portal sends LogoutRequests through hidden frames, then reaches the login page
even though one SP never answers."""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import STRONG_PASSWORD
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only


class SpServer:
    """A loopback SP that records what reaches it: POSTs to /acs*, GETs to /slo."""

    def __init__(self):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                seen.append(("POST", self.path, parse_qs(body)))
                self._ok()

            def do_GET(self):
                seen.append(("GET", urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)))
                self._ok()

            def _ok(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<p>sp</p>")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def sp_server():
    server = SpServer()
    yield server
    server.close()


@pytest.fixture
def silent_sp():
    """Accepts connections and never answers (an SP that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_form_posts_itself_and_portal_logout_does_not_wait_for_a_silent_sp(live_server, browser_page, clock,
                                                                           sp_server, silent_sp, sp_keys):
    with live_server.app.app_context():
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email="admin@acme.example.com", admin_password=STRONG_PASSWORD,
                                       now=clock.now(), actor=OPERATOR).tenant
        accounts.create_account(
            tenant, accounts.NewAccount(email="taro@acme.example.com", name="山田 太郎"),
            password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        everyone = [groups.default_group(tenant)]
        answering = saml_registry.register(
            tenant, saml_registry.SpSettings(
                name="経費精算", entity_id="https://sp1.example.com", acs_urls=[sp_server.url + "/acs"],
                slo_url=sp_server.url + "/slo", signing_cert=sp_keys.cert),
            now=clock.now(), actor=OPERATOR, groups=everyone).sp.id
        silent = saml_registry.register(
            tenant, saml_registry.SpSettings(
                name="勤怠", entity_id="https://sp2.example.com", acs_urls=[sp_server.url + "/acs2"],
                slo_url=silent_sp + "/slo", signing_cert=sp_keys.cert),
            now=clock.now(), actor=OPERATOR, groups=everyone).sp.id
        db.session.commit()
    page = browser_page
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "taro@acme.example.com")
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    assert page.url == live_server.url + "/"

    for sp_id, path in ((answering, "/acs"), (silent, "/acs2")):
        page.goto(f"{live_server.url}/t/acme/saml/launch/{sp_id}")
        page.wait_for_url(sp_server.url + path)  # posted by the page's script, no click
        posts = [fields for method, seen_path, fields in sp_server.seen if (method, seen_path) == ("POST", path)]
        assert len(posts) == 1 and "SAMLResponse" in posts[0]  # (the browser may ask for a favicon as well)

    page.goto(live_server.url + "/logout")
    started = time.monotonic()
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/login", timeout=15_000)
    assert time.monotonic() - started < 12  # the silent SP held nobody up for long (5 s at most)
    assert "ログアウトしました" in page.content()
    requests_seen = [q for method, path, q in sp_server.seen if method == "GET" and path == "/slo"]
    assert len(requests_seen) == 1 and "SAMLRequest" in requests_seen[0] and "Signature" in requests_seen[0]
    page.goto(live_server.url + "/")
    assert "/login" in page.url


def test_portal_logout_posts_to_an_sp_that_reads_only_http_post(live_server, browser_page, clock, sp_server,
                                                                sp_keys):
    """One SP reads only HTTP-POST (its SLO URL says so), another HTTP-Redirect: the page's script posts the
    first one's LogoutRequest into its frame, both frames load and the browser goes on without the 5 s wait."""
    with live_server.app.app_context():
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email="admin@acme.example.com", admin_password=STRONG_PASSWORD,
                                       now=clock.now(), actor=OPERATOR).tenant
        accounts.create_account(
            tenant, accounts.NewAccount(email="taro@acme.example.com", name="山田 太郎"),
            password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        ids = [saml_registry.register(
            tenant, saml_registry.SpSettings(
                name=name, entity_id=f"https://{name}.example.com", acs_urls=[f"{sp_server.url}/acs-{name}"],
                slo_url=slo_url, slo_binding=name, signing_cert=sp_keys.cert),
            now=clock.now(), actor=OPERATOR, groups=[groups.default_group(tenant)]).sp.id
            for name, slo_url in (("post", f"{sp_server.url}/slo-post"), ("redirect", f"{sp_server.url}/slo"))]
        db.session.commit()
    page = browser_page
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "taro@acme.example.com")
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    for sp_id, name in zip(ids, ("post", "redirect")):
        page.goto(f"{live_server.url}/t/acme/saml/launch/{sp_id}")
        page.wait_for_url(f"{sp_server.url}/acs-{name}")
    page.goto(live_server.url + "/logout")
    started = time.monotonic()
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/login", timeout=15_000)
    assert time.monotonic() - started < 4.5  # both frames loaded: no waiting for the 5 s fallback
    posted = [fields for method, path, fields in sp_server.seen if (method, path) == ("POST", "/slo-post")]
    assert len(posted) == 1 and set(posted[0]) == {"SAMLRequest"}
    redirected = [q for method, path, q in sp_server.seen if (method, path) == ("GET", "/slo")]
    assert len(redirected) == 1 and "Signature" in redirected[0]
