"""After termination: `idp tenant purge` after the retention period, `idp tenant restore SLUG` before it."""
import json

import pytest
from sqlalchemy import func, select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, AuditEvent, Group, Owner, SsoSession, Tenant
from idp.platform.extensions import db
from idp.tenancy import lifecycle as tenant_lifecycle
from tests.support.owners import OWNER_PASSWORD, activate_owner, owner_login


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def terminated(factory, submit, outbox, client, app):
    """Two tenants; `acme` terminated by its owner through HTTP, `other` left alone."""
    factory.tenant()
    factory.tenant(slug="other", company="他社")
    factory.account(email="taro@acme.example.com")
    activate_owner(submit, outbox)
    owner_login(client)
    response = submit("/contract/terminate", {"company_name": "ACME株式会社", "password": OWNER_PASSWORD})
    assert response.status_code == 200


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _slugs(app):
    with app.app_context():
        return db.session.scalars(select(Tenant.slug).order_by(Tenant.slug)).all()


def test_purge_waits_for_the_retention_period(terminated, app, cli, clock):
    clock.advance(days=29, hours=23)
    result = cli("tenant", "purge", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"purged": []}
    assert _slugs(app) == ["acme", "other"]
    clock.advance(hours=1)
    result = cli("tenant", "purge", "--json")
    assert json.loads(result.stdout) == {"purged": ["acme"]}
    assert _slugs(app) == ["other"]
    with app.app_context():
        other = db.session.scalar(select(Tenant))
        for model in (Account, Group, Owner, AuditEvent, SsoSession):
            assert db.session.scalar(select(func.count()).select_from(model)
                                     .where(model.tenant_id != other.id)) == 0


@pytest.mark.parametrize("config_overrides", [{"IDP_TENANT_RETENTION_DAYS": 7}])
def test_retention_is_configurable(terminated, app, cli, clock, config_overrides):
    clock.advance(days=7)
    assert json.loads(cli("tenant", "purge", "--json").stdout) == {"purged": ["acme"]}


def test_restore_brings_the_tenant_back(terminated, app, cli, clock):
    clock.advance(days=10)
    result = cli("tenant", "restore", "acme", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"slug": "acme", "status": "active"}
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"csrf_token": token, "email": "taro@acme.example.com",
                                            "password": STRONG_PASSWORD})
    assert response.status_code == 302
    clock.advance(days=30)
    assert json.loads(cli("tenant", "purge", "--json").stdout) == {"purged": []}
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.actor_type).where(AuditEvent.action == "tenant.restore")) \
            == "operator"


def test_restore_refuses_active_and_unknown_tenants(terminated, cli, clock):
    result = cli("tenant", "restore", "other")
    assert result.exit_code == 1 and "終了していません" in result.stderr
    clock.advance(days=30)
    cli("tenant", "purge")
    result = cli("tenant", "restore", "acme")
    assert result.exit_code == 1 and "見つかりません" in result.stderr


def test_purge_service_returns_nothing_without_terminated_tenants(factory, app, clock):
    factory.tenant()
    with app.app_context():
        assert tenant_lifecycle.purge(now=clock.now(), retention=tenant_lifecycle.retention_period(0)) == []
