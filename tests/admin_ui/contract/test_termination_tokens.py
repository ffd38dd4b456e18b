"""Termination ends OIDC sign-ins at once: back-channel logout sent, refresh and access tokens refused.

The app side is the OIDC test relying party (HTTP only, tokens checked with joserfc)."""
import time
from types import SimpleNamespace

import pytest

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.protocols.oidc.conftest import REDIRECT_URI, LogoutReceiver, RelyingParty
from tests.support.owners import OWNER_PASSWORD, activate_owner, owner_login

OFFLINE = "openid profile offline_access"


@pytest.fixture
def receiver():
    server = LogoutReceiver()
    yield server
    server.close()


@pytest.fixture
def registration(app, factory, clock, receiver):
    factory.tenant()
    factory.account()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = oidc_clients.register(
            tenant, oidc_clients.ClientSettings(
                name="経費精算", redirect_uris=[REDIRECT_URI], backchannel_logout_uri=receiver.url),
            now=clock.now(), actor=OPERATOR, groups=[tenant.groups[0]])
        db.session.commit()
        return SimpleNamespace(**created.as_json())


def _relying_party(app, clock):
    """The app's user signs in through the login form in a browser of its own (rp.http)."""
    browser = app.test_client()

    def login(email="taro@acme.example.com", next_url=None):
        token = csrf_token_from(browser.get("/login").get_data(as_text=True))
        return browser.post("/login", data={"csrf_token": token, "email": email, "password": STRONG_PASSWORD,
                                            "next": next_url or ""})
    return RelyingParty(browser, clock, login)


def test_termination_ends_tokens_and_sends_backchannel_logout(app, registration, receiver, client, clock,
                                                              submit, outbox):
    reg = registration
    rp = _relying_party(app, clock)
    body = rp.full_login(reg, scope=OFFLINE).get_json()
    assert "refresh_token" in body
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert rp.http.get("/t/acme/oidc/userinfo", headers=bearer).status_code == 200

    activate_owner(submit, outbox)
    owner_login(client)
    response = submit("/contract/terminate", {"company_name": "ACME株式会社", "password": OWNER_PASSWORD})
    assert "ご利用を終了しました" in response.get_data(as_text=True)

    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.received) == 1  # the logout token for the app's session
    refreshed = rp.token(reg, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code >= 400 and "access_token" not in refreshed.get_data(as_text=True)
    userinfo = rp.http.get("/t/acme/oidc/userinfo", headers=bearer)
    assert userinfo.status_code >= 400 and "taro@acme.example.com" not in userinfo.get_data(as_text=True)
