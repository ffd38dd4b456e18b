"""The signed-in contract pages share a bar and a menu like the rest of the product (issue 15, point 8):
the company, the owner (name and address, or the address alone), logout, and the menu between
契約情報, 契約者の切り替え and 利用終了; the termination button is a danger button, never blue."""
import re

import pytest
from sqlalchemy import select

from idp.models import Owner
from idp.platform.extensions import db
from tests.support.owners import OWNER_EMAIL, activate_owner, mailed_links, owner_login

PAGES = ("/contract/", "/contract/handover", "/contract/terminate", "/contract/logout")


@pytest.fixture
def signed_in(factory, submit, outbox, client):
    factory.tenant()
    activate_owner(submit, outbox)
    owner_login(client)


def _name_owner(app, name):
    with app.app_context():
        db.session.scalar(select(Owner)).name = name
        db.session.commit()


def _bar(html):
    match = re.search(r'<div class="contract-bar">(.*?)</nav>', html, re.S)
    assert match, "no contract bar"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


@pytest.mark.parametrize("path", PAGES)
def test_every_signed_in_page_has_the_bar_and_menu(signed_in, client, path):
    html = client.get(path).get_data(as_text=True)
    bar = _bar(html)
    for text in ("契約管理", "ACME株式会社", OWNER_EMAIL, "ログアウト", "契約情報", "契約者の切り替え", "利用終了"):
        assert text in bar, text
    for href in ('href="/contract/"', 'href="/contract/handover"', 'href="/contract/terminate"',
                 'href="/contract/logout"'):
        assert href in html
    assert "/static/contract.css" in html
    assert "まとめログイン" in html  # the product's top bar


@pytest.mark.parametrize("path,current", [("/contract/", "契約情報"), ("/contract/handover", "契約者の切り替え"),
                                          ("/contract/terminate", "利用終了")])
def test_the_menu_marks_the_current_page(signed_in, client, path, current):
    html = client.get(path).get_data(as_text=True)
    assert re.findall(r'aria-current="page">([^<]+)</a>', html) == [current]


def test_an_owner_without_a_name_is_shown_by_address_alone(signed_in, client):
    html = client.get("/contract/").get_data(as_text=True)
    assert f"（{OWNER_EMAIL}）" not in html
    assert re.search(rf"<dt>契約者</dt><dd>\s*{re.escape(OWNER_EMAIL)}\s*</dd>", html)


def test_an_owner_with_a_name_is_shown_as_name_and_address(signed_in, app, client):
    _name_owner(app, "田中 一郎")
    html = client.get("/contract/").get_data(as_text=True)
    assert f"田中 一郎（{OWNER_EMAIL}）" in html
    assert f"田中 一郎（{OWNER_EMAIL}）" in _bar(html).replace(" （", "（")


def test_a_staff_session_in_the_same_browser_does_not_show_its_menu(signed_in, client, login):
    login("admin@acme.example.com")
    html = client.get("/contract/").get_data(as_text=True)
    assert 'class="menu"' not in html and 'href="/admin/accounts"' not in html
    assert "ACME株式会社" in _bar(html)


def test_the_termination_button_is_a_danger_button(signed_in, client, app):
    html = client.get("/contract/terminate").get_data(as_text=True)
    [button] = re.findall(r'<button type="submit" class="([^"]+)">利用を終了する</button>', html)
    assert button.split() == ["danger"]  # not "primary" (blue) with red text
    css = app.test_client().get("/static/contract.css").get_data(as_text=True)
    rule = re.search(r"\.contract-page button\.danger[^{]*\{([^}]*)\}", css).group(1)
    assert "background: var(--error)" in rule and "color: #fff" in rule


def test_the_contract_page_explains_the_issuer(signed_in, client):
    html = client.get("/contract/").get_data(as_text=True)
    assert "http://127.0.0.1:8000/t/acme/login" in html
    assert "http://127.0.0.1:8000/t/acme</code>" in html
    assert "シングルサインオン（SSO）設定に、このURLを登録してください。" in html


def test_signed_out_pages_have_no_bar(factory, client):
    factory.tenant()
    for path in ("/contract/login", "/contract/password/forgot"):
        assert 'class="contract-bar"' not in client.get(path).get_data(as_text=True)


def test_the_handover_page_names_an_unnamed_owner_by_address(signed_in, app, submit, outbox):
    submit("/contract/handover", {"email": "hanako@acme.example.com", "name": "田中 花子"})
    [path] = mailed_links(outbox, "hanako@acme.example.com", "/contract/handover/")
    page = app.test_client().get(path).get_data(as_text=True)
    assert f"{OWNER_EMAIL} 様から 田中 花子 様に" in page and " 様から" not in page.replace(f"{OWNER_EMAIL} 様から", "")
