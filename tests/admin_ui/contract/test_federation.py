"""Contract login delegated to an upstream OpenID Connect provider: another tenant of this same IdP.

Everything runs over real HTTP (the live server): our contract login sends the browser to the
upstream tenant's /oidc/authorize, the person logs in there, and the callback exchanges the code
server-to-server and verifies the ID token against the upstream JWKS."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import STRONG_PASSWORD
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
OWNER = "owner@acme.example.com"
STRANGER = "stranger@upstream.example.com"
CALLBACK = "/contract/login/federated/callback"


@pytest.fixture
def upstream(live_server, clock):
    """Tenant acme (owner OWNER) and tenant `upstream`, where OWNER and STRANGER have accounts."""
    app = live_server.app
    with app.app_context():
        now = clock.now()
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email=OWNER,
                              admin_email="admin@acme.example.com", admin_password=STRONG_PASSWORD, now=now,
                              actor=OPERATOR)
        created = tenants.create_tenant(slug="upstream", company_name="上流株式会社",
                                        owner_email="owner@upstream.example.com", admin_email=OWNER,
                                        admin_password=STRONG_PASSWORD, now=now, actor=OPERATOR)
        from idp.directory import accounts
        accounts.create_account(
            created.tenant, accounts.NewAccount(email=STRANGER, name="部外者"),
            password=STRONG_PASSWORD, now=now, actor=OPERATOR)
        client = oidc_clients.register(
            created.tenant, oidc_clients.ClientSettings(
                name="契約管理", redirect_uris=[live_server.url + CALLBACK]),
            now=now, actor=OPERATOR, groups=[groups.default_group(created.tenant)])
        db.session.commit()
        registration = client.as_json()
    app.config.update(IDP_OWNER_OIDC_ISSUER=live_server.url + "/t/upstream",
                      IDP_OWNER_OIDC_CLIENT_ID=registration["client_id"],
                      IDP_OWNER_OIDC_CLIENT_SECRET=registration["client_secret"])
    return live_server


def _csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _through_upstream(server, email):
    """Start the federated login and log in upstream; return (browser, the callback response)."""
    browser = requests.Session()
    assert "外部IDでログイン" in browser.get(server.url + "/contract/login").text
    start = browser.get(server.url + "/contract/login/federated", allow_redirects=False)
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(server.url + "/t/upstream/oidc/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    to_login = browser.get(authorize, allow_redirects=False)
    login_url = server.url + to_login.headers["Location"]
    next_url = parse_qs(urlsplit(login_url).query)["next"][0]
    posted = browser.post(server.url + "/login", allow_redirects=False, data={
        "csrf_token": _csrf(browser.get(login_url).text), "email": email, "password": STRONG_PASSWORD,
        "next": next_url})
    assert posted.status_code == 302
    back = browser.get(server.url + posted.headers["Location"], allow_redirects=False)
    assert back.headers["Location"].startswith(server.url + CALLBACK + "?")
    return browser, browser.get(back.headers["Location"], allow_redirects=False)


def test_owner_logs_in_through_the_upstream_tenant(upstream):
    browser, callback = _through_upstream(upstream, OWNER)
    assert callback.status_code == 302, callback.text[:300]
    assert callback.headers["Location"].endswith("/contract/")
    page = browser.get(upstream.url + "/contract/")
    assert page.status_code == 200 and "ACME株式会社" in page.text


def test_an_upstream_person_who_owns_nothing_is_refused(upstream):
    browser, callback = _through_upstream(upstream, STRANGER)
    assert callback.status_code == 401 and "外部IDでのログインに失敗しました" in callback.text
    assert browser.get(upstream.url + "/contract/", allow_redirects=False).status_code == 302


def test_a_callback_with_a_forged_state_is_refused(upstream):
    browser = requests.Session()
    browser.get(upstream.url + "/contract/login/federated", allow_redirects=False)
    forged = browser.get(upstream.url + CALLBACK + "?code=abc&state=forged", allow_redirects=False)
    assert forged.status_code == 401
    assert browser.get(upstream.url + "/contract/", allow_redirects=False).status_code == 302


def test_federation_is_off_unless_configured(client):
    assert client.get("/contract/login/federated").status_code == 404
    assert "外部IDでログイン" not in client.get("/contract/login").get_data(as_text=True)


def test_with_federation_the_local_password_login_is_off(upstream):
    browser = requests.Session()
    page = browser.get(upstream.url + "/contract/login").text
    assert "外部IDでログイン" in page and 'name="password"' not in page
    posted = browser.post(upstream.url + "/contract/login", allow_redirects=False, data={
        "csrf_token": _csrf(page if "csrf_token" in page else browser.get(upstream.url + "/login").text),
        "email": OWNER, "password": STRONG_PASSWORD})
    assert posted.status_code == 404
    assert browser.get(upstream.url + "/contract/password/forgot").status_code == 404


def test_local_login_can_be_kept_next_to_the_federation(upstream):
    upstream.app.config["IDP_OWNER_LOCAL_LOGIN"] = "1"
    page = requests.get(upstream.url + "/contract/login").text
    assert "外部IDでログイン" in page and 'name="password"' in page


def test_an_owner_of_two_companies_picks_one_after_the_upstream_login(upstream, clock):
    with upstream.app.app_context():
        tenants.create_tenant(slug="second", company_name="二社目株式会社", owner_email=OWNER,
                              admin_email="admin@second.example.com", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    browser, callback = _through_upstream(upstream, OWNER)
    assert callback.status_code == 302 and callback.headers["Location"].endswith("/contract/login/choose")
    page = browser.get(upstream.url + "/contract/login/choose").text
    assert "ACME株式会社" in page and "二社目株式会社" in page
    second = re.search(r'value="(\d+)">二社目株式会社', page).group(1)
    chosen = browser.post(upstream.url + "/contract/login/choose", allow_redirects=False,
                          data={"csrf_token": _csrf(page), "account": second})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/contract/")
    assert "二社目株式会社" in browser.get(upstream.url + "/contract/").text
