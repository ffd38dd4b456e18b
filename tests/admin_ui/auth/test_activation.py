"""First login through the activation link mailed at account creation."""
import pytest
from sqlalchemy import select

from idp.models import Account, AuditEvent
from idp.platform.extensions import db

EMAIL = "hanako@acme.example.com"
NEW_PASSWORD = "Fuji-Mountain-3776"


@pytest.fixture
def link(factory, outbox):
    factory.tenant()
    _id, url = factory.account(email=EMAIL, name="佐藤 花子", password=None)
    mails = outbox.to(EMAIL)
    assert len(mails) == 1
    assert mails[0]["Subject"] == "【まとめログイン】アカウント登録通知"
    assert url in outbox.links(mails[0])
    return url.removeprefix("http://127.0.0.1:8000")


def test_activation_sets_password_and_allows_login(client, submit, login, app, link):
    page = client.get(link)
    assert page.status_code == 200
    assert EMAIL in page.get_data(as_text=True)
    response = submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "パスワードを設定しました。" in page
    assert f'value="{EMAIL}"' in page  # the login ID is filled in, once
    assert f'value="{EMAIL}"' not in client.get("/login").get_data(as_text=True)
    assert login(email=EMAIL, password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Account.activated).where(Account.email == EMAIL)) is True
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.activate"))


def test_link_is_single_use(client, submit, link):
    submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    again = client.get(link)
    assert again.status_code == 410
    html = again.get_data(as_text=True)
    assert "有効期限が切れているか、すでに使用されています" in html and "再送" in html


def test_link_expires_after_24_hours(client, clock, link):
    clock.advance(hours=23, minutes=59)
    assert client.get(link).status_code == 200
    clock.advance(minutes=1)
    assert client.get(link).status_code == 410


def test_link_expiry_applies_to_the_post_too(client, submit, clock, login, link):
    page_token = client.get(link)
    clock.advance(hours=24)
    from conftest import csrf_token_from
    token = csrf_token_from(page_token.get_data(as_text=True))
    response = client.post(link, data={"csrf_token": token, "password": NEW_PASSWORD,
                                       "password_confirm": NEW_PASSWORD})
    assert response.status_code == 410
    assert login(email=EMAIL, password=NEW_PASSWORD).status_code == 200


def test_unknown_link(client):
    assert client.get("/activate/not-a-real-token").status_code == 410


@pytest.mark.parametrize("password, confirm, message", [
    ("Short-1a", "Short-1a", "10文字以上"),
    ("alllowercase123", "alllowercase123", "3種類以上"),
    ("ＦｕｌｌＷｉｄｔｈ－１２３４", "ＦｕｌｌＷｉｄｔｈ－１２３４", "半角英数字と記号のみ"),
    ("Hanako-Secret-2026", "Hanako-Secret-2026", "メールアドレスの@より前の部分"),
    (NEW_PASSWORD, NEW_PASSWORD + "x", "確認用のパスワードが一致しません。"),
])
def test_password_policy_on_activation(client, submit, app, link, password, confirm, message):
    response = submit(link, {"password": password, "password_confirm": confirm})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Account.activated).where(Account.email == EMAIL)) is False
    assert client.get(link).status_code == 200  # the link is still usable


def test_activation_needs_csrf(client, link):
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
