"""Owner services called directly: owner addresses per contract, link lifetimes, login results."""
from datetime import timedelta

import pytest

from idp.directory import links
from idp.logs.audit import NO_CLIENT, OPERATOR
from idp.owners import accounts as owners
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.owners import OWNER_EMAIL


@pytest.fixture
def owner(app, factory):
    factory.tenant()
    with app.app_context():
        [found] = owners.with_email(OWNER_EMAIL)
        yield found


def test_an_address_may_hold_the_contracts_of_several_companies(app, owner, clock):
    second = tenants.create_tenant(slug="second", company_name="二社目", owner_email=OWNER_EMAIL.upper(),
                                   admin_email="admin@second.example.com", now=clock.now(), actor=OPERATOR).owner
    password = "Contract-Holder-2026"
    for each in (owner, second):
        owners.set_password(each, password, password, clock.now())
    result = owners.authenticate(OWNER_EMAIL, password, now=clock.now(), client=NO_CLIENT)
    assert not result.ok and [o.id for o in result.choices] == [owner.id, second.id]
    chosen = owners.choose(second.id, now=clock.now(), client=NO_CLIENT)
    assert chosen.ok and chosen.owner is second and second.last_login_at == clock.now()
    owners.set_password(owner, "Other-Holder-2026", "Other-Holder-2026", clock.now())
    only = owners.authenticate(OWNER_EMAIL, "Other-Holder-2026", now=clock.now(), client=NO_CLIENT)
    assert only.ok and only.owner is owner and not only.choices


@pytest.mark.parametrize("purpose,lifetime_minutes", [
    (links.OWNER_ACTIVATION, 24 * 60), (links.OWNER_PASSWORD_RESET, 30), (links.OWNER_HANDOVER, 24 * 60)])
def test_link_lifetimes(app, owner, clock, purpose, lifetime_minutes):
    raw = links.issue(owner, purpose, clock.now())
    db.session.flush()
    later = clock.now()
    assert links.find_usable(raw, purpose, later) is not None
    assert links.find_usable(raw, purpose, later + timedelta(minutes=lifetime_minutes - 1)) is not None
    assert links.find_usable(raw, purpose, later + timedelta(minutes=lifetime_minutes)) is None
    other = links.OWNER_PASSWORD_RESET if purpose != links.OWNER_PASSWORD_RESET else links.OWNER_ACTIVATION
    assert links.find_usable(raw, other, later) is None


def test_password_login_and_activation_through_the_service(app, owner, clock):
    raw = links.issue(owner, links.OWNER_ACTIVATION, clock.now())
    assert owners.authenticate(OWNER_EMAIL, "Contract-Holder-2026", now=clock.now(), client=NO_CLIENT).error \
        == owners.INVALID_CREDENTIALS
    owners.set_password_by_link(raw, links.OWNER_ACTIVATION, password="Contract-Holder-2026",
                                confirm="Contract-Holder-2026", now=clock.now(), client=NO_CLIENT)
    result = owners.authenticate(OWNER_EMAIL, "Contract-Holder-2026", now=clock.now(), client=NO_CLIENT)
    assert result.ok and result.owner.id == owner.id and owner.last_login_at == clock.now()
