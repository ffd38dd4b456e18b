"""Termination (利用終了) through HTTP: CSV exports first, confirmation, and its immediate effect."""
import csv
import io

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import SsoSession, Tenant
from idp.platform import signals
from idp.platform.extensions import db
from tests.support.owners import OWNER_EMAIL, OWNER_PASSWORD, activate_owner, owner_login

USER = "taro@acme.example.com"
ADMIN = "admin@acme.example.com"
ENDED = "ご契約が終了しているため、ログインできません。"


@pytest.fixture
def signed_in(factory, submit, outbox, client):
    factory.tenant()
    factory.account(email=USER, name="山田 太郎", organization="=HYPERLINK(\"http://evil\")")
    activate_owner(submit, outbox)
    owner_login(client)


def _staff_browser(app, email):
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"csrf_token": token, "email": email, "password": STRONG_PASSWORD})
    assert response.status_code == 302
    return browser


def _terminate(submit, company="ACME株式会社", password=OWNER_PASSWORD):
    return submit("/contract/terminate", {"company_name": company, "password": password})


@pytest.mark.parametrize("kind,expected", [
    ("accounts", USER), ("audit", "アカウントの登録"), ("logins", "契約管理")])
def test_exports_download_csv(signed_in, client, kind, expected):
    response = client.get(f"/contract/export/{kind}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) >= 2 and any(expected in cell for row in rows[1:] for cell in row)


def test_export_neutralises_formulas_and_needs_the_owner(signed_in, app, client):
    text = client.get("/contract/export/accounts.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert app.test_client().get("/contract/export/accounts.csv").status_code == 302
    assert client.get("/contract/export/secrets.csv").status_code == 404


@pytest.mark.parametrize("company,password,message", [
    ("ACME", OWNER_PASSWORD, "会社名が一致しません。"),
    ("ACME株式会社", "Wrong-Password-1", "パスワードが正しくありません。"),
])
def test_termination_needs_password_and_company_name(signed_in, app, submit, company, password, message):
    response = _terminate(submit, company, password)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Tenant.status)) == "active"


def test_wrong_passwords_lock_termination(signed_in, app, submit):
    """A refused termination keeps its failure count: after five wrong passwords even the right one is refused."""
    for attempt in range(5):
        assert "パスワードが正しくありません。" in _terminate(submit, password=f"Wrong-Password-{attempt}").get_data(
            as_text=True)
    response = _terminate(submit)
    assert response.status_code == 200
    assert "パスワードの入力に連続で失敗したため、しばらく操作できません。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Tenant.status)) == "active"


def test_termination_ends_everything_at_once(signed_in, app, submit, client, outbox, login):
    user_browser = _staff_browser(app, USER)
    admin_browser = _staff_browser(app, ADMIN)
    assert user_browser.get("/").status_code == 200
    ended, revoked = [], []

    def on_ended(sessions, reason, now):
        ended.extend((s.account.email, reason) for s in sessions)

    def on_credentials(account, reason, now):
        revoked.append((account.email, reason))

    with signals.sessions_ended.connected_to(on_ended), signals.credentials_changed.connected_to(on_credentials):
        response = _terminate(submit)
    assert response.status_code == 200 and "ご利用を終了しました" in response.get_data(as_text=True)
    assert sorted(ended) == [(ADMIN, "tenant_terminated"), (USER, "tenant_terminated")]
    assert sorted(revoked) == [(ADMIN, "tenant_terminated"), (USER, "tenant_terminated")]
    for browser in (user_browser, admin_browser):
        assert browser.get("/").status_code == 302
    assert ENDED in login(USER).get_data(as_text=True)
    assert client.get("/contract/").status_code == 302
    assert ENDED in owner_login(client).get_data(as_text=True)
    assert any("利用終了" in m["Subject"] for m in outbox.to(ADMIN))
    assert any("利用終了" in m["Subject"] for m in outbox.to(OWNER_EMAIL))
    assert not any("利用終了" in m["Subject"] for m in outbox.to(USER))  # users are not admins
    with app.app_context():
        tenant = db.session.scalar(select(Tenant))
        assert tenant.status == "terminated" and tenant.terminated_at is not None
        live = db.session.scalars(select(SsoSession).where(SsoSession.ended_at.is_(None))).all()
        assert live == []
