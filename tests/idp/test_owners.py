"""Owner services called directly: unique owner addresses, link lifetimes, login results."""
from datetime import timedelta

import pytest

from idp import owner_tokens, owners, tenants
from idp.audit import NO_CLIENT, OPERATOR
from idp.errors import Conflict
from idp.extensions import db
from tests.support.owners import OWNER_EMAIL


@pytest.fixture
def owner(app, factory):
    factory.tenant()
    with app.app_context():
        yield owners.find_by_email(OWNER_EMAIL)


def test_an_address_owns_one_contract_at_most(app, owner, clock):
    with pytest.raises(Conflict):
        tenants.create_tenant(slug="second", company_name="二社目", owner_email=OWNER_EMAIL.upper(),
                              admin_email="admin@second.example.com", now=clock.now(), actor=OPERATOR)


@pytest.mark.parametrize("purpose,lifetime_minutes", [
    (owner_tokens.ACTIVATION, 24 * 60), (owner_tokens.PASSWORD_RESET, 30), (owner_tokens.HANDOVER, 24 * 60)])
def test_link_lifetimes(app, owner, clock, purpose, lifetime_minutes):
    raw = owner_tokens.issue(owner, purpose, clock.now())
    db.session.flush()
    later = clock.now()
    assert owner_tokens.find_usable(raw, purpose, later) is not None
    assert owner_tokens.find_usable(raw, purpose, later + timedelta(minutes=lifetime_minutes - 1)) is not None
    assert owner_tokens.find_usable(raw, purpose, later + timedelta(minutes=lifetime_minutes)) is None
    other = owner_tokens.PASSWORD_RESET if purpose != owner_tokens.PASSWORD_RESET else owner_tokens.ACTIVATION
    assert owner_tokens.find_usable(raw, other, later) is None


def test_password_login_and_activation_through_the_service(app, owner, clock):
    raw = owner_tokens.issue(owner, owner_tokens.ACTIVATION, clock.now())
    assert owners.authenticate(OWNER_EMAIL, "Contract-Holder-2026", now=clock.now(), client=NO_CLIENT).error \
        == owners.INVALID_CREDENTIALS
    owners.set_password_by_link(raw, owner_tokens.ACTIVATION, password="Contract-Holder-2026",
                                confirm="Contract-Holder-2026", now=clock.now(), client=NO_CLIENT)
    result = owners.authenticate(OWNER_EMAIL, "Contract-Holder-2026", now=clock.now(), client=NO_CLIENT)
    assert result.ok and result.owner.id == owner.id and owner.last_login_at == clock.now()
