"""One address with accounts in two tenants (issue 14): each tenant's OIDC apps get that tenant's account
only, signed in at the tenant's own login page, never the other's."""
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, Tenant
from idp.platform.extensions import db
from tests.protocols.oidc.conftest import RelyingParty
from tests.support.tenant_login import log_in_at

SAME = "same@example.com"
COMPANIES = {"alpha": "アルファ株式会社", "beta": "ベータ株式会社"}


@pytest.fixture
def apps(factory, register):
    for slug, company in COMPANIES.items():
        factory.tenant(slug, company=company)
        factory.account(slug, email=SAME)  # the same password in both: only the tenant decides
    return {slug: register(slug) for slug in COMPANIES}


def _subject(app, slug):
    with app.app_context():
        return db.session.scalar(select(Account.subject).join(Tenant, Account.tenant_id == Tenant.id)
                                 .where(Tenant.slug == slug, Account.email_normalized == SAME))


def _id_token(rp, registration, response):
    tokens = rp.exchange(registration, rp.code_from(response)).get_json()
    return rp.verify(tokens["id_token"], registration.client_id).claims


def test_each_tenant_signs_in_its_own_account(app, client, clock, login, apps):
    alpha, beta = RelyingParty(client, clock, login, "alpha"), RelyingParty(client, clock, login, "beta")
    first = alpha.authorize(apps["alpha"])
    assert first.headers["Location"].startswith("/t/alpha/login?")
    claims = _id_token(alpha, apps["alpha"], log_in_at(client, first.headers["Location"], SAME,
                                                       company=COMPANIES["alpha"]))
    assert claims["sub"] == _subject(app, "alpha") and claims["email"] == SAME

    # the browser is signed in to alpha: beta's app must not see alpha's account
    silent = beta.authorize(apps["beta"], prompt="none")
    assert parse_qs(urlsplit(silent.headers["Location"]).query)["error"] == ["login_required"]
    second = beta.authorize(apps["beta"])
    location = second.headers["Location"]
    assert location.startswith("/t/beta/login?") and "reauth=1" in location
    claims = _id_token(beta, apps["beta"], log_in_at(client, location, SAME, company=COMPANIES["beta"]))
    assert claims["sub"] == _subject(app, "beta") != _subject(app, "alpha")

    # now signed in to beta: alpha's app asks for a login again
    assert alpha.authorize(apps["alpha"]).headers["Location"].startswith("/t/alpha/login?")


def test_the_other_tenants_password_does_not_open_the_tenant_login(app, client, clock, login, factory, register):
    for slug, company in COMPANIES.items():
        factory.tenant(slug, company=company)
    factory.account("alpha", email=SAME, password="Alpha-Sakura-2026")
    factory.account("beta", email=SAME)
    rp = RelyingParty(client, clock, login, "alpha")
    registration = register("alpha")
    location = rp.authorize(registration).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    refused = client.post(urlsplit(location).path, data={
        "csrf_token": csrf_token_from(page), "email": SAME, "password": STRONG_PASSWORD,
        "next": parse_qs(urlsplit(location).query)["next"][0]})
    assert refused.status_code == 200 and "正しくありません" in refused.get_data(as_text=True)
    claims = _id_token(rp, registration, log_in_at(client, location, SAME, "Alpha-Sakura-2026"))
    assert claims["sub"] == _subject(app, "alpha")
