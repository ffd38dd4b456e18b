"""The contract page and the hand-over (契約者の切り替え) through HTTP."""
import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import AuditEvent, Owner
from idp.platform.extensions import db
from tests.support.owners import OWNER_EMAIL, activate_owner, mailed_links, owner_login, set_password

NEW_OWNER = "hanako@acme.example.com"
NEW_PASSWORD = "Sakura-Contract-99"


@pytest.fixture
def signed_in(factory, submit, outbox, client):
    factory.tenant()
    activate_owner(submit, outbox)
    owner_login(client)


def test_contract_page_shows_the_contract(signed_in, factory, client):
    factory.account(email="jiro@acme.example.com", name="鈴木 次郎", role="admin")
    factory.account(email="saburo@acme.example.com", name="佐藤 三郎")
    factory.group("acme", "営業部")
    html = client.get("/contract/").get_data(as_text=True)
    for expected in ("ACME株式会社", "acme", "無料プラン", "2026/04/01", "利用中",
                     "http://127.0.0.1:8000/t/acme", "http://127.0.0.1:8000/t/acme/saml/metadata",
                     "admin@acme.example.com", "jiro@acme.example.com", "鈴木 次郎"):
        assert expected in html
    assert "saburo@acme.example.com" not in html  # users are counted, not listed
    assert "<dd>3</dd>" in html and "<dd>2</dd>" in html and "<dd>0</dd>" in html


def test_contract_page_requires_the_owner_login(factory, client, login):
    factory.tenant()
    login("admin@acme.example.com")  # a staff session is no owner session
    response = client.get("/contract/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/contract/login")


def _hand_over(submit, email=NEW_OWNER, name="田中 花子"):
    return submit("/contract/handover", {"email": email, "name": name})


def test_handover_request_mails_the_new_owner(signed_in, submit, outbox, client):
    response = _hand_over(submit)
    assert response.status_code == 302
    [path] = mailed_links(outbox, NEW_OWNER, "/contract/handover/")
    [mail] = outbox.to(NEW_OWNER)
    assert "契約者の切り替え" in mail["Subject"] and "24時間" in outbox.body(mail)
    assert client.get("/contract/").status_code == 200  # nothing changes before acceptance
    page = client.get(path).get_data(as_text=True)
    assert NEW_OWNER in page and "ACME株式会社" in page


@pytest.mark.parametrize("email,name,message", [
    ("", "田中 花子", "メールアドレスを入力してください。"),
    (NEW_OWNER, "", "名前を入力してください。"),
    (OWNER_EMAIL, "自分", "現在の契約者とは別のメールアドレスを入力してください。"),
])
def test_handover_request_validation(signed_in, factory, submit, email, name, message):
    factory.tenant(slug="other", company="他社")
    response = _hand_over(submit, email, name)
    assert response.status_code == 200 and message in response.get_data(as_text=True)


def test_accepting_hands_over_and_ends_the_old_owner(app, signed_in, submit, outbox, client, clock):
    _hand_over(submit)
    [path] = mailed_links(outbox, NEW_OWNER, "/contract/handover/")
    new_browser = app.test_client()
    page = new_browser.get(path)
    token = csrf_token_from(page.get_data(as_text=True))
    response = new_browser.post(path, data={"csrf_token": token, "password": NEW_PASSWORD,
                                            "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/contract/").status_code == 302  # the old owner's session ended
    assert "正しくありません" in owner_login(client).get_data(as_text=True)
    assert owner_login(new_browser, NEW_OWNER, NEW_PASSWORD).status_code == 302
    assert "田中 花子" in new_browser.get("/contract/").get_data(as_text=True)
    assert any("切り替え完了" in m["Subject"] for m in outbox.to(OWNER_EMAIL))
    assert any("切り替え完了" in m["Subject"] for m in outbox.to(NEW_OWNER))
    assert new_browser.get(path).status_code == 410
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "owner.handover"))
        assert event.changes["email"] == [OWNER_EMAIL, NEW_OWNER]
        assert db.session.scalar(select(Owner.email)) == NEW_OWNER


def test_handover_link_expires_after_24_hours(signed_in, submit, outbox, client, clock):
    _hand_over(submit)
    [path] = mailed_links(outbox, NEW_OWNER, "/contract/handover/")
    clock.advance(hours=24)
    assert client.get(path).status_code == 410


def test_a_new_handover_request_retires_the_old_link(signed_in, submit, outbox, client):
    _hand_over(submit)
    _hand_over(submit, "ichiro@acme.example.com", "一郎")
    [path] = mailed_links(outbox, NEW_OWNER, "/contract/handover/")
    assert client.get(path).status_code == 410


def test_weak_password_keeps_the_old_owner(app, signed_in, submit, outbox, client):
    _hand_over(submit)
    [path] = mailed_links(outbox, NEW_OWNER, "/contract/handover/")
    response = set_password(submit, path, "weak")
    assert response.status_code == 200
    assert client.get("/contract/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Owner.email)) == OWNER_EMAIL
