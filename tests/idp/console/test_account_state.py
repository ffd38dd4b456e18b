"""Disabling or deleting an account ends its sessions; outdated hashes are upgraded at login."""
from argon2 import PasswordHasher
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.console import accounts as console_accounts
from idp.logs.audit import OPERATOR
from idp.models import Account, AuditEvent, SsoSession
from idp.platform.extensions import db


def _setup(factory):
    factory.tenant()
    return factory.account()[0]


def test_disabling_ends_sessions_and_blocks_login(app, client, login, clock, factory):
    account_id = _setup(factory)
    login()
    with app.app_context():
        console_accounts.set_status(db.session.get(Account, account_id), "disabled", now=clock.now(), actor=OPERATOR)
        db.session.commit()
        assert db.session.scalar(select(SsoSession.end_reason)) == "account_disabled"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.update"))
    assert client.get("/").status_code == 302
    assert "ご利用いただけません" in login().get_data(as_text=True)
    with app.app_context():
        console_accounts.set_status(db.session.get(Account, account_id), "enabled", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert login().status_code == 302


def test_deleting_ends_sessions(app, client, login, clock, factory):
    account_id = _setup(factory)
    login()
    with app.app_context():
        console_accounts.delete_account(db.session.get(Account, account_id), now=clock.now(), actor=OPERATOR)
        db.session.commit()
        assert db.session.get(Account, account_id) is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.delete"))
    assert client.get("/").status_code == 302
    assert login().status_code == 200


def test_outdated_hash_is_rehashed_at_login(app, login, factory):
    account_id = _setup(factory)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(STRONG_PASSWORD)
    with app.app_context():
        db.session.get(Account, account_id).password_hash = weak
        db.session.commit()
    assert login().status_code == 302
    with app.app_context():
        upgraded = db.session.get(Account, account_id).password_hash
    assert upgraded != weak and "m=19456,t=2,p=1" in upgraded
    assert login().status_code == 302
