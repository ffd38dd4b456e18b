"""The password reset service, called directly (no HTTP) with the frozen clock."""
import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.authn import lockout, password_reset, sessions
from idp.directory.passwords import verify_password
from idp.logs.audit import ClientInfo
from idp.models import Account, ActionToken, AuditEvent, SsoSession
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db

EMAIL = "taro@acme.example.com"
NEW_PASSWORD = "Fuji-Mountain-3776"
CLIENT = ClientInfo(ip="192.0.2.10", user_agent="pytest")


@pytest.fixture
def account_id(factory):
    factory.tenant()
    return factory.account()[0]


def _raw_token(outbox):
    [mail] = outbox.to(EMAIL)
    [link] = outbox.links(mail)
    return link.rsplit("/", 1)[1]


def _request(app, clock, email=EMAIL):
    with app.app_context():
        password_reset.request_reset(email, now=clock.now(), client=CLIENT)
        db.session.commit()


def test_request_issues_one_hashed_token_and_mails_it_after_commit(app, clock, outbox, account_id):
    with app.app_context():
        password_reset.request_reset(EMAIL, now=clock.now(), client=CLIENT)
        assert outbox.to(EMAIL) == []  # queued, not sent before the commit
        db.session.commit()
    raw = _raw_token(outbox)
    with app.app_context():
        token = db.session.scalar(select(ActionToken).where(ActionToken.purpose == "password_reset"))
        assert token.account_id == account_id and raw not in token.token_hash
        assert (token.expires_at - token.created_at).total_seconds() == 24 * 3600
        assert password_reset.account_for_reset(raw, clock.now()).id == account_id


def test_request_for_an_unknown_email_does_nothing(app, clock, outbox, account_id):
    before = len(outbox.messages())
    _request(app, clock, "ghost@acme.example.com")
    assert len(outbox.messages()) == before
    with app.app_context():
        assert db.session.scalar(select(ActionToken).where(ActionToken.purpose == "password_reset")) is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("password.%"))) is None


def test_request_rejects_a_malformed_address(app, clock):
    with app.app_context(), pytest.raises(ValidationError) as info:
        password_reset.request_reset("no at sign", now=clock.now(), client=CLIENT)
    assert list(info.value.errors) == ["email"]


def test_reset_password_does_everything_a_reset_promises(app, clock, outbox, account_id):
    _request(app, clock)
    raw = _raw_token(outbox)
    with app.app_context():
        account = db.session.get(Account, account_id)
        for _ in range(lockout.MAX_FAILURES):
            lockout.register_failure(account, clock.now())
        sessions.start(account, clock.now(), CLIENT)
        db.session.commit()
    clock.advance(minutes=10)  # still locked
    with app.app_context():
        account = password_reset.reset_password(raw, password=NEW_PASSWORD, confirm=NEW_PASSWORD,
                                                now=clock.now(), client=CLIENT)
        db.session.commit()
        assert verify_password(account.password_hash, NEW_PASSWORD)[0]
        assert account.failed_login_count == 0 and account.locked_at is None and account.activated
        assert account.updated_at == clock.now()
        session = db.session.scalar(select(SsoSession))
        assert (session.ended_at, session.end_reason) == (clock.now(), "password_reset")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password.reset"))
        assert event.changes == {"was_locked": True, "activated": False}
        assert (event.ip, event.user_agent) == ("192.0.2.10", "pytest")
        assert password_reset.account_for_reset(raw, clock.now()) is None  # spent
        with pytest.raises(ServiceError):
            password_reset.reset_password(raw, password="Momiji-Autumn-2027", confirm="Momiji-Autumn-2027",
                                          now=clock.now(), client=CLIENT)


def test_policy_errors_change_nothing(app, clock, outbox, account_id):
    _request(app, clock)
    raw = _raw_token(outbox)
    with app.app_context():
        with pytest.raises(ValidationError) as info:
            password_reset.reset_password(raw, password="short", confirm="short", now=clock.now(),
                                          client=CLIENT)
        assert list(info.value.errors) == ["password"]
        db.session.rollback()
        assert verify_password(db.session.get(Account, account_id).password_hash, STRONG_PASSWORD)[0]
        assert password_reset.account_for_reset(raw, clock.now()) is not None


def test_link_is_valid_until_just_before_24_hours(app, clock, outbox, account_id):
    _request(app, clock)
    raw = _raw_token(outbox)
    with app.app_context():
        clock.advance(hours=23, minutes=59, seconds=59)
        assert password_reset.account_for_reset(raw, clock.now()) is not None
        clock.advance(seconds=1)
        assert password_reset.account_for_reset(raw, clock.now()) is None


def test_an_activation_token_is_not_a_reset_token(app, clock, factory):
    factory.tenant()
    _id, activation_url = factory.account(email="hanako@acme.example.com", name="佐藤 花子", password=None)
    raw = activation_url.rsplit("/", 1)[1]
    with app.app_context():
        assert password_reset.account_for_reset(raw, clock.now()) is None


def test_end_all_sign_ins_is_the_hook_for_everything_signed_in(app, clock, account_id):
    with app.app_context():
        account = db.session.get(Account, account_id)
        sessions.start(account, clock.now(), CLIENT)
        sessions.start(account, clock.now(), CLIENT)
        password_reset.end_all_sign_ins(account, clock.now())
        db.session.commit()
        assert set(db.session.scalars(select(SsoSession.end_reason))) == {"password_reset"}
