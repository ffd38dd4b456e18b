"""Fixtures of the SCIM push tests: a SCIM server on loopback and the tenant acme with an app that pushes to it."""
from types import SimpleNamespace

import pytest

from idp.apps import catalogue
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.models import Account, Group
from idp.platform.extensions import db
from idp.provisioning import settings
from idp.tenancy import tenants
from tests.idp.provisioning.scim_target import TOKEN, ScimTarget
from tests.support.cli_runner import cli  # noqa: F401  (a fixture)


@pytest.fixture
def scim():
    target = ScimTarget().start()
    yield target
    target.stop()


def add_app(app, clock, scim_target, *, group_names=("営業",), deprovision="deactivate", enabled=True, name="Chat"):
    """acme's app `name` used by new groups `group_names`, pushing to `scim_target`; the world's ids."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        made = [groups.create_group(tenant, group_name, now=clock.now(), actor=OPERATOR) for group_name in group_names]
        app_row = catalogue.create_bookmark_app(tenant, name=name, launch_url="https://chat.example.com/",
                                                now=clock.now(), actor=OPERATOR, groups=made)
        db.session.commit()
        if scim_target is not None:
            settings.save(app_row, settings.Settings(scim_target.base_url, TOKEN, enabled, deprovision),
                          now=clock.now(), actor=OPERATOR)
            db.session.commit()
        return SimpleNamespace(app_id=app_row.id, tenant_id=tenant.id, groups={g.name: g.id for g in made},
                               default_group=groups.default_group(tenant).id)


@pytest.fixture
def world(app, factory, clock, scim):
    factory.tenant()
    return add_app(app, clock, scim)


def new_account(app, clock, email, group_id=None, name="山田 太郎", **fields):
    """An account of acme made through the directory's use-case (committed); its id."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        group = db.session.get(Group, group_id) if group_id else None
        created = accounts.create_account(tenant, accounts.NewAccount(email=email, name=name, group=group, **fields),
                                          now=clock.now(), actor=OPERATOR)
        db.session.commit()
        return created.account.id


def account_of(email):
    return db.session.scalar(db.select(Account).where(Account.email == email))
