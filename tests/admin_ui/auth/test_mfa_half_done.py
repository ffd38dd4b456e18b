"""The half-done login (password ok, code pending): 10 minutes, one use, cleaned up afterwards."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.authn import second_factor
from idp.models import Account, MfaPendingLogin, MfaSmsCode
from idp.platform.extensions import db
from tests.support.mfa import secret_on, set_mode, totp


@pytest.fixture
def acme(app, factory, clock):
    factory.tenant()
    factory.account()
    set_mode(app, clock, "totp")


def pending_rows(app):
    with app.app_context():
        return [(row.id, row.ended_at, row.expires_at) for row in db.session.scalars(select(MfaPendingLogin))]


def test_still_usable_just_before_ten_minutes(client, login, acme, clock):
    login()
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    clock.advance(minutes=9, seconds=59)
    response = client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page),
                                                    "code": totp(secret_on(page), clock)})
    assert response.status_code == 200 and client.get_cookie("idp_sso") is not None


def test_expired_one_sends_every_step_back_to_the_login(client, login, acme, clock):
    login()
    client.get("/login/mfa/totp")
    clock.advance(minutes=10)
    for path in ("/login/mfa", "/login/mfa/totp", "/login/mfa/code", "/login/mfa/sms", "/login/mfa/phone",
                 "/login/mfa/choose"):
        assert client.get(path).headers["Location"] == "/login", path


def test_used_once_then_gone(client, login, app, acme, clock):
    login()
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    secret = secret_on(page)
    [(pending_id, _, _)] = pending_rows(app)
    raw_token = None
    with client.session_transaction() as form_session:
        raw_token = form_session["mfa_login"]
    client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page), "code": totp(secret, clock)})
    with client.session_transaction() as form_session:
        assert "mfa_login" not in form_session
    with app.app_context():
        assert second_factor.resolve(raw_token, clock.now()) is None  # a copied token opens nothing afterwards
        assert db.session.get(MfaPendingLogin, pending_id).ended_at == clock.now()


def test_ended_and_expired_ones_are_purged_at_the_next_login(client, login, app, factory, acme, clock):
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"csrf_token": csrf_token_from(page), "email": "taro@acme.example.com",
                               "password": "Sakura-Blossom-2026"})  # live, expires in 10 minutes
    login()
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    client.post("/login/mfa/cancel", data={"csrf_token": csrf_token_from(page)})  # ended
    with app.app_context():
        account = db.session.scalar(select(Account))
        db.session.add(MfaSmsCode(tenant_id=account.tenant_id, account_id=account.id, code_hash="x" * 64,
                                  phone="+819012345678", created_at=clock.now() - timedelta(hours=1),
                                  expires_at=clock.now() - timedelta(minutes=55)))
        db.session.add(MfaSmsCode(tenant_id=account.tenant_id, account_id=account.id, code_hash="y" * 64,
                                  phone="+819012345678", created_at=clock.now() - timedelta(minutes=59),
                                  expires_at=clock.now() - timedelta(minutes=54)))
        db.session.commit()
    assert sorted(ended is None for _, ended, _ in pending_rows(app)) == [False, True]
    clock.advance(minutes=5)
    login()  # a new half-done login: the cancelled one goes, the live one stays
    rows = pending_rows(app)
    assert len(rows) == 2 and all(ended is None for _, ended, _ in rows)
    with app.app_context():
        assert db.session.scalars(select(MfaSmsCode)).all() == []  # both left the throttle's hour
    clock.advance(minutes=5)  # the second browser's one expires
    assert login().status_code == 302
    rows = pending_rows(app)  # the expired one and this browser's previous one went
    assert len(rows) == 1 and rows[0][1] is None and rows[0][2] == clock.now() + timedelta(minutes=10)


def test_purge_function(app, acme, clock):
    with app.app_context():
        account = db.session.scalar(select(Account))
        second_factor.begin(account, clock.now())
        db.session.commit()
        assert second_factor.purge_expired(clock.now() + timedelta(minutes=9)) == (0, 0)
        assert second_factor.purge_expired(clock.now() + timedelta(minutes=10)) == (1, 0)
