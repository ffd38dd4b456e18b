"""Sessions opened before MFA became required: `mfa_policy.needs_step_up` and the re-authentication it leads to."""
import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.authn.mfa import policy as mfa_policy
from idp.directory import groups
from idp.models import Account, SsoSession
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.mfa import secret_on, set_mode, totp

EMAIL = "taro@acme.example.com"


@pytest.fixture
def acme(factory):
    factory.tenant()
    factory.group("acme", "営業部")
    factory.account()


def live_sessions(app):
    with app.app_context():
        rows = db.session.scalars(select(SsoSession).where(SsoSession.ended_at.is_(None))
                                  .order_by(SsoSession.id)).all()
        db.session.expunge_all()
        return rows


def needs_step_up(app):
    with app.app_context():
        [session] = db.session.scalars(select(SsoSession).where(SsoSession.ended_at.is_(None))).all()
        return mfa_policy.needs_step_up(session)


def test_password_session_needs_step_up_once_mfa_is_required(client, login, app, acme, clock):
    assert login().headers["Location"] == "/"
    assert needs_step_up(app) is False
    set_mode(app, clock, "totp")
    assert needs_step_up(app) is True
    set_mode(app, clock, "off", group=None)
    assert needs_step_up(app) is False


def test_group_override_decides(client, login, app, acme, clock):
    login()
    set_mode(app, clock, "sms", group="営業部")
    assert needs_step_up(app) is False  # taro is in the default group
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == EMAIL))
        account.group_id = groups.get_by_name(tenants.get_by_slug("acme"), "営業部").id
        db.session.commit()
    assert needs_step_up(app) is True


def test_no_session_needs_no_step_up(app):
    with app.app_context():
        assert mfa_policy.needs_step_up(None) is False


def test_reauthentication_gives_an_mfa_session_that_satisfies_the_policy(client, login, app, acme, clock):
    """What the protocol entry points do with it: /login?reauth=1, password, then the second factor."""
    login()
    [before] = live_sessions(app)
    set_mode(app, clock, "totp")
    assert client.get("/").status_code == 200  # the portal itself stays usable
    clock.advance(minutes=1)
    page = client.get("/login?reauth=1&next=/profile").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_token_from(page), "email": EMAIL,
                                           "password": "Sakura-Blossom-2026", "next": "/profile"})
    assert response.headers["Location"] == "/login/mfa"
    assert [s.id for s in live_sessions(app)] == [before.id]  # unchanged until the code
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    done = client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page),
                                                "code": totp(secret_on(page), clock)})
    assert 'href="/profile"' in done.get_data(as_text=True)
    [after] = live_sessions(app)
    assert after.id != before.id and after.amr == "pwd otp mfa"
    assert needs_step_up(app) is False
