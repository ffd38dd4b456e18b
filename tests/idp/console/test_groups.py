"""idp.console.groups without HTTP: tenant bounds, default group, members moved on deletion."""
import pytest

from idp.console import group_members
from idp.console import groups as console_groups
from idp.directory.groups import default_group
from idp.logs.audit import OPERATOR
from idp.models import Account
from idp.platform.errors import NotFound, ServiceError
from idp.platform.extensions import db
from idp.tenancy import tenants


@pytest.fixture
def acme(app, factory):
    factory.tenant()
    factory.tenant(slug="other", company="Other Inc.")
    with app.app_context():
        yield tenants.get_by_slug("acme")


def test_groups_of_another_tenant_are_not_found(acme, factory):
    foreign = factory.group("other", "営業")
    with pytest.raises(NotFound):
        console_groups.get_group(acme, foreign)
    with pytest.raises(NotFound):
        console_groups.delete_groups(acme, [foreign], now=None, actor=OPERATOR)


def test_default_group_is_refused_even_with_others(acme, factory, clock):
    sales = factory.group("acme", "営業")
    with pytest.raises(ServiceError):
        console_groups.delete_groups(acme, [sales, default_group(acme).id], now=clock.now(), actor=OPERATOR)


def test_delete_moves_members_and_add_members_ignores_foreign_accounts(acme, factory, clock):
    sales = factory.group("acme", "営業")
    taro, _ = factory.account()
    foreign, _ = factory.account("other", email="x@other.example.com")
    group = console_groups.get_group(acme, sales)
    assert group_members.add_members(group, [taro, foreign], now=clock.now(), actor=OPERATOR).added == 1
    db.session.commit()
    assert console_groups.delete_groups(acme, [sales], now=clock.now(), actor=OPERATOR) == 1
    db.session.commit()
    assert db.session.get(Account, taro).group_id == default_group(acme).id
    assert db.session.get(Account, foreign).tenant.slug == "other"
