"""A person in a browser: log in as the demo user, see the portal, edit the profile, log out."""
import os

import pytest

from conftest import SCREENSHOT_DIR
from idp.platform.extensions import db
from idp.tenancy.demo import ensure_demo

pytestmark = pytest.mark.sqlite_only


def _shot(page, name):
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, f"{name}.png"), full_page=True)


def test_demo_user_logs_in_edits_profile_and_logs_out(live_server, browser_page, clock):
    with live_server.app.app_context():
        credentials = ensure_demo(now=clock.now(), new_password=lambda: "Demo-Password-2026")["credentials"]
        db.session.commit()
    user = credentials["user"]
    page = browser_page

    page.goto(live_server.url + "/")
    assert page.url.endswith("/login?next=/")
    _shot(page, "login")
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", "wrong-Password-1")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "メールアドレスまたはパスワードが正しくありません。"
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", user["password"])
    page.click("button[type=submit]")

    assert page.url == live_server.url + "/"
    assert page.locator(".tile-name").all_inner_texts() == ["サンプルアプリ"]
    assert page.locator(".user-name").inner_text() == "デモ 太郎"
    _shot(page, "portal")

    page.click("text=プロフィール")
    page.click("text=編集")
    page.fill("input[name=mobile]", "090-1234-567")
    page.click("button:has-text('保存')")
    assert "070・080・090で始まる11桁" in page.locator(".field-error").inner_text()
    _shot(page, "profile_error")
    page.fill("input[name=mobile]", "090-1234-5678")
    page.fill("input[name=department]", "開発部")
    page.click("button:has-text('保存')")
    assert page.url == live_server.url + "/profile"
    assert "プロフィールを更新しました。" in page.content()
    assert "開発部" in page.locator(".details").inner_text()
    _shot(page, "profile")

    page.click("a.logout")
    assert "ログアウトしますか？" in page.content()
    page.click("button:has-text('ログアウト')")
    assert page.url == live_server.url + "/login"
    page.goto(live_server.url + "/profile")
    assert "/login" in page.url
