"""MFA policy per tenant and per group, the admin reset, and the `idp mfa` commands."""
import json

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.authn import second_factor
from idp.authn.mfa import policy as mfa_policy
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR, Actor
from idp.models import Account, AuditEvent, MfaFactor, MfaRecoveryCode
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.mfa import recovery_codes_on, secret_on, totp

EMAIL = "taro@acme.example.com"


@pytest.fixture
def acme(app, factory):
    factory.tenant()
    factory.group("acme", "営業部")
    factory.account()
    factory.account(email="jiro@acme.example.com", group=None)
    factory.tenant("other")
    factory.group("other", "営業部")


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def _account(email):
    return db.session.scalar(select(Account).where(Account.email == email))


def test_tenant_default_is_off_and_group_overrides_win(app, acme, clock):
    with app.app_context():
        acme_tenant, other = tenants.get_by_slug("acme"), tenants.get_by_slug("other")
        sales = groups.get_by_name(acme_tenant, "営業部")
        taro = _account(EMAIL)
        assert mfa_policy.get_policy(acme_tenant) == "off" and not mfa_policy.required_for(taro)
        mfa_policy.set_policy(acme_tenant, "totp", now=clock.now(), actor=OPERATOR)
        assert mfa_policy.effective_mode(taro) == "totp"
        taro.group_id = sales.id
        mfa_policy.set_policy(acme_tenant, "off", group=sales, now=clock.now(), actor=OPERATOR)
        assert mfa_policy.get_policy(acme_tenant, group=sales) == "off"
        assert not mfa_policy.required_for(taro)
        assert mfa_policy.effective_mode(_account("jiro@acme.example.com")) == "totp"
        assert mfa_policy.get_policy(other) == "off"  # another tenant is untouched
        mfa_policy.set_policy(acme_tenant, "inherit", group=sales, now=clock.now(), actor=OPERATOR)
        assert mfa_policy.get_policy(acme_tenant, group=sales) is None
        assert mfa_policy.effective_mode(taro) == "totp"
        changes = [e.changes for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mfa.policy_set").order_by(AuditEvent.id))]
        assert changes == [{"mode": ["off", "totp"]}, {"mode": [None, "off"]}, {"mode": ["off", None]}]


def test_bad_mode_and_foreign_group_are_refused(app, acme, clock):
    with app.app_context():
        acme_tenant, other = tenants.get_by_slug("acme"), tenants.get_by_slug("other")
        with pytest.raises(ValidationError):
            mfa_policy.set_policy(acme_tenant, "email", now=clock.now(), actor=OPERATOR)
        with pytest.raises(ValidationError):
            mfa_policy.set_policy(acme_tenant, "inherit", now=clock.now(), actor=OPERATOR)
        with pytest.raises(ValidationError):
            mfa_policy.set_policy(acme_tenant, "sms", group=groups.get_by_name(other, "営業部"),
                                  now=clock.now(), actor=OPERATOR)


def test_group_policy_applies_at_login(client, login, app, acme, cli):
    assert cli("mfa", "set", "--tenant", "acme", "--group", "営業部", "sms").exit_code == 0
    assert login(email="jiro@acme.example.com").headers["Location"] == "/"  # default group: off
    client.get("/logout")
    with app.app_context():
        _account(EMAIL).group_id = groups.get_by_name(tenants.get_by_slug("acme"), "営業部").id
        db.session.commit()
    client.delete_cookie("idp_sso")
    assert login().headers["Location"] == "/login/mfa"


def test_cli_set_and_show(cli, acme):
    result = cli("mfa", "set", "--tenant", "acme", "any", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"tenant": "acme", "group": None, "mode": "any"}
    assert cli("mfa", "set", "--tenant", "acme", "--group", "営業部", "off").exit_code == 0
    shown = json.loads(cli("mfa", "show", "--tenant", "acme", "--json").stdout)
    assert shown == {"tenant": "acme", "mode": "any", "groups": {"営業部": "off"}}
    bad = cli("mfa", "set", "--tenant", "acme", "--group", "なし", "sms")
    assert bad.exit_code != 0 and "なし" in bad.stderr
    assert cli("mfa", "set", "--tenant", "acme", "inherit").exit_code != 0
    assert cli("mfa", "set", "--tenant", "nope", "totp").exit_code != 0


def enrol_totp(client, login, clock):
    login()
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    done = client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page), "code": totp(secret, clock)})
    return recovery_codes_on(done.get_data(as_text=True))


def test_reset_makes_the_user_enrol_again(client, login, app, acme, cli, clock):
    cli("mfa", "set", "--tenant", "acme", "totp")
    assert len(enrol_totp(client, login, clock)) == 10
    result = cli("mfa", "reset", "--tenant", "acme", EMAIL, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["reset"] is True
    with app.app_context():
        assert db.session.scalars(select(MfaFactor)).all() == []
        assert db.session.scalars(select(MfaRecoveryCode)).all() == []
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.reset"))
        assert event.target_label == EMAIL and event.changes == {"method": ["totp", None]}
    client.delete_cookie("idp_sso")
    login()
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/totp"
    assert cli("mfa", "reset", "--tenant", "other", EMAIL).exit_code != 0  # not that tenant's account


def test_reset_service_by_an_admin(app, acme, clock):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        admin = accounts.get_in_tenant(tenant, "admin@acme.example.com")
        taro = _account(EMAIL)
        second_factor.reset_mfa(taro, now=clock.now(), actor=Actor.of_account(admin))
        db.session.commit()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.reset"))
        assert (event.actor_type, event.actor_id, event.tenant_id) == ("admin", admin.id, tenant.id)
        assert second_factor.status(taro) == {"method": None, "enrolled_at": None, "recovery_codes_left": 0,
                                              "mode": "off"}


def test_owners_never_get_a_second_factor(client, factory, cli, submit, outbox):
    """The owner's login is the contract login: a tenant requiring MFA changes nothing there."""
    from tests.support.owners import activate_owner, owner_login
    factory.tenant()
    assert cli("mfa", "set", "--tenant", "acme", "totp").exit_code == 0
    activate_owner(submit, outbox)
    response = owner_login(client)
    assert response.status_code == 302 and "/login/mfa" not in response.headers["Location"]
    assert client.get("/contract/").status_code == 200
