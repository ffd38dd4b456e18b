"""Sign-up in plain words (issue 15, point 9): a first admin other than the owner is asked for and
given their own name (never the company's); the テナントID step and the 発行者URL are explained."""
import re

import pytest
from sqlalchemy import func, select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, Tenant
from idp.platform.extensions import db
from tests.support.owners import mailed_links, set_password

OWNER = "yamada@sakura.example.com"
ADMIN = "it@sakura.example.com"
COMPANY = "Sakura Trading 株式会社"
NAME_REQUIRED = "管理者の氏名を入力してください。"


def _verify_path(submit, outbox, admin_email=""):
    submit("/signup", {"company_name": COMPANY, "owner_name": "山田 花子", "owner_email": OWNER,
                       "admin_email": admin_email, "agreed": "y"})
    [path] = mailed_links(outbox, OWNER, "/signup/verify/")
    return path


def _admins(app):
    with app.app_context():
        return db.session.execute(select(Account.email, Account.name)).all()


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_form_says_the_admin_name_comes_next(client):
    assert "確認画面でその方の氏名を伺います" in client.get("/signup").get_data(as_text=True)


def test_another_admin_is_asked_for_a_name(submit, outbox, client):
    html = client.get(_verify_path(submit, outbox, ADMIN)).get_data(as_text=True)
    field = re.search(r'<label class="field">\s*<span class="label">最初の管理者の氏名(.*?)</label>', html, re.S)
    assert field and 'name="admin_name"' in field.group(1) and "required" in field.group(1)


def test_the_owner_as_admin_may_leave_the_name_empty(submit, outbox, client):
    html = client.get(_verify_path(submit, outbox)).get_data(as_text=True)
    field = re.search(r'<label class="field">\s*<span class="label">最初の管理者の氏名(.*?)</label>', html, re.S)
    assert field and not re.search(r"\brequired\b", field.group(1))


@pytest.mark.parametrize("pending_admin,posted_admin", [(ADMIN, ADMIN), ("", ADMIN)])
def test_another_admin_without_a_name_is_refused(app, submit, outbox, pending_admin, posted_admin):
    """Also when the admin address is changed on the confirmation page itself."""
    response = submit(_verify_path(submit, outbox, pending_admin),
                      {"slug": "sakura", "admin_email": posted_admin, "admin_name": "  "})
    assert response.status_code == 200 and NAME_REQUIRED in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_another_admin_gets_their_own_name(app, submit, outbox, client):
    response = submit(_verify_path(submit, outbox, ADMIN),
                      {"slug": "sakura", "admin_email": ADMIN, "admin_name": " 佐藤 次郎 "})
    page = _text(response.get_data(as_text=True))
    assert "管理者 佐藤 次郎 様（it@sakura.example.com）には、初回ログインのご案内をお送りしました。" in page
    assert _admins(app) == [(ADMIN, "佐藤 次郎")]
    [link] = mailed_links(outbox, ADMIN, "/activate/")
    assert set_password(submit, link, STRONG_PASSWORD).status_code == 302
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "email": ADMIN, "password": STRONG_PASSWORD})
    header = re.search(r'<header class="topbar">.*?</header>', client.get("/").get_data(as_text=True), re.S).group(0)
    assert '<span class="user-name">佐藤 次郎</span>' in header
    assert header.count(COMPANY) == 1  # the company once, as the company (not also as the admin's name)


def test_the_owner_as_admin_keeps_the_owner_name(app, submit, outbox):
    submit(_verify_path(submit, outbox), {"slug": "sakura", "admin_email": OWNER, "admin_name": ""})
    assert _admins(app) == [(OWNER, "山田 花子")]


def test_the_tenant_id_is_explained(submit, outbox, client):
    page = _text(client.get(_verify_path(submit, outbox)).get_data(as_text=True))
    for text in ("御社専用のログイン画面のURLや、各アプリのシングルサインオン設定に使われます。",
                 "例： http://127.0.0.1:8000/t/sakura-trading/login", "後から変更できません。",
                 "半角英小文字（a〜z）・数字（0〜9）・ハイフン（-）"):
        assert text in page, text


def test_the_example_url_follows_a_valid_typed_id_only(submit, outbox):
    path = _verify_path(submit, outbox)
    typed = _text(submit(path, {"slug": "acme", "admin_email": ADMIN}).get_data(as_text=True))
    assert "http://127.0.0.1:8000/t/acme/login" in typed  # refused for the missing name, example follows
    wrong = _text(submit(path, {"slug": "Bad ID!", "admin_email": OWNER}).get_data(as_text=True))
    assert "/t/sakura-trading/login" in wrong and "/t/Bad" not in wrong


def test_the_done_page_says_what_the_issuer_is_for(submit, outbox):
    response = submit(_verify_path(submit, outbox), {"slug": "sakura", "admin_email": OWNER})
    page = _text(response.get_data(as_text=True))
    for text in ("http://127.0.0.1:8000/t/sakura/login", "http://127.0.0.1:8000/t/sakura ",
                 "ご利用のアプリ（SaaS）のシングルサインオン（SSO）設定に、このURLを登録してください。",
                 "http://127.0.0.1:8000/t/sakura/saml/metadata"):
        assert text in page, text
    assert "初回ログインのご案内" not in page  # the owner is the admin: no second mail to mention


@pytest.mark.parametrize("name,message", [("佐" * 201, "200文字以内で入力してください。"),
                                          ("佐藤\x07次郎", "制御文字は使用できません。")])
def test_the_admin_name_is_checked_like_an_account_name(app, submit, outbox, name, message):
    response = submit(_verify_path(submit, outbox, ADMIN), {"slug": "sakura", "admin_email": ADMIN, "admin_name": name})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _admins(app) == []
