"""設定 › SCIM連携: an admin creates a token (shown once), sees its last use, revokes it."""
import re

from sqlalchemy import select

from idp.models import AuditEvent
from idp.platform.extensions import db

PAGE = "/admin/scim-tokens"


def _token_in(html):
    match = re.search(r'<code class="secret">(scim_[^<]+)</code>', html)
    return match.group(1) if match else None


def _scim_get(client, token):
    return client.get("/t/acme/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})


def test_create_shows_the_token_once_and_it_works(admin, post, app):
    page = admin.get(PAGE).get_data(as_text=True)
    assert "SCIM連携" in page and "http://127.0.0.1:8000/t/acme/scim/v2" in page and "トークンはまだありません" in page
    response = post(PAGE, PAGE, {"name": "Entra ID", "scope": "write", "expires_days": "90"})
    html = response.get_data(as_text=True)
    token = _token_in(html)
    assert response.status_code == 200 and token and "この画面でしか表示されません" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert _scim_get(app.test_client(), token).status_code == 200
    again = admin.get(PAGE).get_data(as_text=True)
    assert _token_in(again) is None and token not in again
    assert "Entra ID" in again and "読み書き" in again and "2026-06-30" in again.replace("/", "-")


def test_last_use_and_revoke(admin, post, app, clock):
    token = _token_in(post(PAGE, PAGE, {"name": "人事システム", "scope": "read", "expires_days": ""})
                      .get_data(as_text=True))
    assert "未使用" in admin.get(PAGE).get_data(as_text=True)
    _scim_get(app.test_client(), token)
    html = admin.get(PAGE).get_data(as_text=True)
    assert "未使用" not in html and "読み取り" in html and "無期限" in html
    token_id = re.search(r'name="token" value="(\d+)"', html).group(1)
    response = post(PAGE, f"{PAGE}/revoke", {"token": token_id}, follow_redirects=True)
    assert "「人事システム」を無効にしました" in response.get_data(as_text=True)
    assert _scim_get(app.test_client(), token).status_code == 401
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("scim_token.%"))).all()
        assert sorted(actions) == ["scim_token.create", "scim_token.revoke"]


def test_invalid_input_and_csrf(admin, post, client):
    response = post(PAGE, PAGE, {"name": "", "scope": "write", "expires_days": "90"})
    assert response.status_code == 400 and "名前を入力してください" in response.get_data(as_text=True)
    assert post(PAGE, PAGE, {"name": "x", "scope": "root", "expires_days": ""}).status_code == 400
    assert post(PAGE, PAGE, {"name": "x", "scope": "read", "expires_days": "9999"}).status_code == 400
    assert client.post(PAGE, data={"name": "x", "scope": "read"}).status_code == 400  # no CSRF token
    assert post(PAGE, f"{PAGE}/revoke", {"token": "999"}).status_code == 404


def test_the_menu_links_the_page_and_users_are_refused(admin, client, factory, login):
    assert f'href="{PAGE}"' in admin.get("/admin/security").get_data(as_text=True)
    factory.account()
    login()
    assert client.get(PAGE).status_code == 403
