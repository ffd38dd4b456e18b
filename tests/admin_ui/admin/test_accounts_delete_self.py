"""Deleting a selection that includes the admin's own account (select-all ticks it): the confirmation page
leaves the admin out with a note and the others are deleted; with only the admin selected, nothing can be
deleted and the page says so (issue 15)."""
import re

import pytest
from sqlalchemy import select

from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from tests.admin_ui.admin.conftest import ADMIN_EMAIL

NOTE = "ご自身のアカウント（管理者 <admin@acme.example.com>）は削除できないため、対象から除外しました。"
NOTHING_LEFT = "削除できるアカウントが選択されていません。"


def _ids(app):
    with app.app_context():
        return {a.email: a.id for a in db.session.scalars(select(Account))}


def _deleted(app):
    with app.app_context():
        return [e.changes["email"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account.delete"))]


@pytest.fixture
def others(factory, acme):
    factory.account(email="taro@acme.example.com")
    factory.account(email="jiro@acme.example.com", name="佐藤 次郎")


def _admin_name(app):
    with app.app_context():
        return db.session.scalar(select(Account.name).where(Account.email == ADMIN_EMAIL))


def test_select_all_leaves_the_admin_out_with_a_note_and_deletes_the_others(admin, post, app, others):
    ids = _ids(app)
    note = NOTE.replace("管理者", _admin_name(app))
    page = post("/admin/accounts", "/admin/accounts/delete", {"ids": [str(i) for i in ids.values()]})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and note.replace("<", "&lt;").replace(">", "&gt;") in html
    listed = re.findall(r"<li>(.*?)</li>", html[html.index("ログイン中のセッションも終了します"):])
    assert listed == ["佐藤 次郎 &lt;jiro@acme.example.com&gt;", "山田 太郎 &lt;taro@acme.example.com&gt;"]
    assert sorted(re.findall(r'name="ids" value="(\d+)"', html)) == sorted(
        str(ids[email]) for email in ("taro@acme.example.com", "jiro@acme.example.com"))
    done = post("/admin/accounts", "/admin/accounts/delete",
                {"ids": re.findall(r'name="ids" value="(\d+)"', html), "confirm": "1"}, follow_redirects=True)
    assert "2件のアカウントを削除しました。" in done.get_data(as_text=True)
    assert set(_ids(app)) == {ADMIN_EMAIL}


def test_a_confirmed_post_with_the_admin_among_the_ids_deletes_only_the_others(admin, post, app, others):
    ids = _ids(app)
    done = post("/admin/accounts", "/admin/accounts/delete",
                {"ids": [str(ids[ADMIN_EMAIL]), str(ids["taro@acme.example.com"])], "confirm": "1"},
                follow_redirects=True)
    assert "1件のアカウントを削除しました。" in done.get_data(as_text=True)
    assert _deleted(app) == ["taro@acme.example.com"]


@pytest.mark.parametrize("confirm", ["", "1"])
def test_only_the_admin_selected_says_so_and_offers_no_delete(admin, post, app, confirm):
    me = _ids(app)[ADMIN_EMAIL]
    page = post("/admin/accounts", "/admin/accounts/delete", {"ids": str(me), "confirm": confirm})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert NOTE.replace("管理者", _admin_name(app)).replace("<", "&lt;").replace(">", "&gt;") in html
    assert NOTHING_LEFT in html and "削除する</button>" not in html and "アカウント一覧に戻る" in html
    assert _ids(app)[ADMIN_EMAIL] == me and _deleted(app) == []
