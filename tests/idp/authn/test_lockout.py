"""Lockout: 5 consecutive failures lock for 30 minutes; unknown emails behave the same."""
import re

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.authn import lockout
from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.models import Account, AuditEvent, LoginEvent
from idp.platform.extensions import db
from idp.tenancy import tenants

LOCKED_MESSAGE = ("ログインに連続で失敗したため、このアカウントはロックされています。"
                  "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。")
GENERIC = "メールアドレスまたはパスワードが正しくありません。"
EMAIL = "taro@acme.example.com"
WRONG = "Wrong-Password-99"


@pytest.fixture
def account_id(factory):
    factory.tenant()
    return factory.account()[0]


def _fail(login, times, email=EMAIL):
    return [login(email=email, password=WRONG) for _ in range(times)]


def _locked_at(app, account_id):
    with app.app_context():
        return db.session.get(Account, account_id).locked_at


def test_fifth_failure_locks_even_the_right_password(login, app, clock, account_id):
    responses = _fail(login, 5)
    assert all(GENERIC in r.get_data(as_text=True) for r in responses[:4])
    assert LOCKED_MESSAGE in responses[4].get_data(as_text=True)
    assert _locked_at(app, account_id) == clock.now()
    right = login()
    assert right.status_code == 200 and LOCKED_MESSAGE in right.get_data(as_text=True)
    with app.app_context():
        reasons = db.session.scalars(select(LoginEvent.reason).order_by(LoginEvent.id)).all()
        assert reasons == ["bad_password"] * 5 + ["locked"]


def test_lock_lifts_by_itself_after_30_minutes(login, app, clock, account_id):
    _fail(login, 5)
    clock.advance(minutes=29, seconds=59)
    assert LOCKED_MESSAGE in login().get_data(as_text=True)
    clock.advance(seconds=1)
    assert login().status_code == 302
    assert _locked_at(app, account_id) is None


def test_after_expiry_the_count_starts_again(login, app, clock, account_id):
    _fail(login, 5)
    clock.advance(minutes=30)
    responses = _fail(login, 4)
    assert all(GENERIC in r.get_data(as_text=True) for r in responses)
    assert LOCKED_MESSAGE in _fail(login, 1)[0].get_data(as_text=True)


def test_success_resets_the_counter(login, client, app, account_id):
    _fail(login, 4)
    assert login().status_code == 302
    client.get("/logout")
    with app.app_context():
        assert db.session.get(Account, account_id).failed_login_count == 0
    responses = _fail(login, 4)
    assert all(GENERIC in r.get_data(as_text=True) for r in responses)


def test_counter_is_shared_by_every_credential_check(login, app, clock, account_id):
    """MFA code failures call lockout.register_failure on the same counter as passwords."""
    _fail(login, 3)
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert lockout.register_failure(account, clock.now()) is False  # 4th: e.g. a wrong code
        db.session.commit()
    assert LOCKED_MESSAGE in _fail(login, 1)[0].get_data(as_text=True)


def test_unknown_email_locks_like_a_real_one(login, account_id):
    """Same answers, in the same order, for a registered and an unregistered address."""
    def transcript(email):
        pages = [r.get_data(as_text=True) for r in _fail(login, 6, email)]
        return [(GENERIC in p, LOCKED_MESSAGE in p) for p in pages], pages

    known, known_pages = transcript(EMAIL)
    unknown, unknown_pages = transcript("ghost@acme.example.com")
    assert known == unknown == [(True, False)] * 4 + [(False, True)] * 2

    def strip(html, email):
        return re.sub(r'name="csrf_token" value="[^"]+"', "", html).replace(email, "X")
    assert strip(known_pages[-1], EMAIL) == strip(unknown_pages[-1], "ghost@acme.example.com")


def test_admin_unlock_via_cli(app, login, clock, account_id):
    _fail(login, 5)
    result = app.test_cli_runner().invoke(args=["account", "unlock", "--tenant", "acme", EMAIL, "--json"])
    assert result.exit_code == 0, result.output
    assert login().status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.unlock"))
        assert event.actor_type == "operator" and event.changes == {"was_locked": True}


def test_unlock_refuses_an_account_of_another_tenant(app, factory, account_id):
    factory.tenant(slug="other", company="Other")
    result = app.test_cli_runner().invoke(args=["account", "unlock", "--tenant", "other", EMAIL])
    assert result.exit_code != 0
    assert "見つかりません" in result.output


def test_unlock_service_clears_the_lock(app, clock, login, account_id):
    _fail(login, 5)
    with app.app_context():
        account = accounts.get_in_tenant(tenants.get_by_slug("acme"), EMAIL)
        assert lockout.is_locked(account, clock.now())
        lockout.unlock(account, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert login(password=STRONG_PASSWORD).status_code == 302


def test_failures_sent_in_parallel_all_count(app, factory, clock):
    """Two requests load the account, both check a wrong password, both count: two failures, not one."""
    factory.tenant()
    factory.account()
    with app.app_context():
        account_id = db.session.scalar(select(Account.id))
        now = clock.now()
        with app.app_context():  # request 1, its own session
            first = db.session.get(Account, account_id)
            assert first.failed_login_count == 0
            with app.app_context():  # request 2 at the same time
                second = db.session.get(Account, account_id)
                assert second.failed_login_count == 0
                lockout.register_failure(second, now)
                db.session.commit()
            assert lockout.register_failure(first, now) is False and first.failed_login_count == 2
            db.session.commit()
        assert db.session.get(Account, account_id).failed_login_count == 2
