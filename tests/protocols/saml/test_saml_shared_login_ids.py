"""One address with accounts in two tenants (issue 14): each tenant's SAML apps get that tenant's account,
signed in at the tenant's own login page; an SP of one tenant never receives the other's account."""
import pytest
from sqlalchemy import select

from idp.models import Account, LoginEvent
from idp.platform.extensions import db
from tests.protocols.saml.conftest import OneLoginSp
from tests.support.tenant_login import log_in_at

SAME = "same@example.com"
COMPANIES = {"alpha": "アルファ株式会社", "beta": "ベータ株式会社"}


@pytest.fixture
def sps(factory, register, client, sp_keys):
    for slug, company in COMPANIES.items():
        factory.tenant(slug, company=company)
        factory.account(slug, email=SAME, name=f"{company} 太郎")
        register(slug)  # the same SaaS (entity ID) in both companies
    return {slug: OneLoginSp(client, sp_keys, slug=slug) for slug in COMPANIES}


def _successes(app):
    with app.app_context():
        return [(event.tenant_id, event.account_id) for event in db.session.scalars(
            select(LoginEvent).where(LoginEvent.result == "success", LoginEvent.protocol == "saml")
            .order_by(LoginEvent.id))]


def _account(app, slug):
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.email_normalized == SAME)).all()
        return next((a.tenant_id, a.id) for a in account if a.tenant.slug == slug)


def test_each_tenant_signs_in_its_own_account(app, client, sps):
    first = client.get(sps["alpha"].login_url())
    assert first.headers["Location"].startswith("/t/alpha/login?")
    auth = sps["alpha"].accept(log_in_at(client, first.headers["Location"], SAME, company=COMPANIES["alpha"]))
    assert auth.get_nameid() == SAME  # validated against alpha's metadata: alpha's issuer and key
    assert _successes(app) == [_account(app, "alpha")]

    second = client.get(sps["beta"].login_url())  # signed in to alpha: beta asks for beta's login
    location = second.headers["Location"]
    assert location.startswith("/t/beta/login?") and "reauth=1" in location
    sps["beta"].accept(log_in_at(client, location, SAME, company=COMPANIES["beta"]))
    assert _successes(app) == [_account(app, "alpha"), _account(app, "beta")]

    launched = client.get("/t/alpha/saml/launch/1")  # IdP-initiated at alpha, signed in to beta
    assert launched.status_code == 302 and launched.headers["Location"].startswith("/t/alpha/login?")
