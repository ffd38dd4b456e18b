"""The プロビジョニング section of an app's page: settings (token write-only, audited), status numbers, the
app's error text, 「今すぐ同期」, CSRF, admins only."""
import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import AuditEvent
from idp.models.provisioning import ProvisioningTarget
from idp.platform.extensions import db
from tests.idp.provisioning.conftest import add_app, new_account
from tests.idp.provisioning.scim_target import TOKEN, ScimTarget


@pytest.fixture
def scim():
    target = ScimTarget().start()
    yield target
    target.stop()


@pytest.fixture
def chat(app, clock, acme):
    """acme's app Chat (group 営業), not yet pushing."""
    return add_app(app, clock, None)


def _page(admin, chat):
    return admin.get(f"/admin/apps/{chat.app_id}")


def _settings(admin, chat, **data):
    token = csrf_token_from(_page(admin, chat).get_data(as_text=True))
    return admin.post(f"/admin/apps/{chat.app_id}/provisioning", data={"csrf_token": token, **data})


def test_turning_pushing_on_stores_the_token_encrypted_and_syncs(app, clock, admin, chat, scim):
    new_account(app, clock, "hanako@acme.example.com", chat.groups["営業"])
    page = _page(admin, chat).get_data(as_text=True)
    assert "プロビジョニング" in page and "今すぐ同期" not in page
    response = _settings(admin, chat, base_url=scim.base_url, token=TOKEN, deprovision="deactivate", enabled="y")
    assert response.status_code == 302 and response.headers["Location"].endswith("#provisioning")
    assert "hanako@acme.example.com" in scim.users()  # the first full sync ran after the commit
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "プロビジョニングの設定を保存しました。" in page
    assert "今すぐ同期" in page and "設定済み（変更するときだけ入力）" in page
    assert TOKEN not in page
    with app.app_context():
        target = db.session.scalar(select(ProvisioningTarget))
        assert target.enabled and TOKEN not in target.token
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "app.update")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.changes["provisioning"] == [False, True] and TOKEN not in str(event.changes)


def test_a_blank_token_keeps_the_stored_one(app, clock, admin, chat, scim):
    _settings(admin, chat, base_url=scim.base_url, token=TOKEN, deprovision="deactivate", enabled="y")
    response = _settings(admin, chat, base_url=scim.base_url, token="", deprovision="delete", enabled="y")
    assert response.status_code == 302
    new_account(app, clock, "hanako@acme.example.com", chat.groups["営業"])
    assert "hanako@acme.example.com" in scim.users()  # still authorised with the stored token


@pytest.mark.parametrize("data, field_error", [
    ({"base_url": "", "token": "t", "enabled": "y", "deprovision": "deactivate"},
     "有効にするには、SCIMのベースURLを入力してください。"),
    ({"base_url": "ftp://scim.example.com/", "token": "t", "deprovision": "deactivate"},
     "https:// で始まるURLを入力してください。"),
    ({"base_url": "https://scim.example.com/v2", "token": "", "enabled": "y", "deprovision": "deactivate"},
     "有効にするには、トークンを入力してください。"),
    ({"base_url": "https://scim.example.com/v2", "token": "t", "deprovision": "erase"}, "選択肢から選んでください。"),
])
def test_bad_settings_are_refused_with_the_fields_message(app, admin, chat, data, field_error):
    response = _settings(admin, chat, **data)
    assert response.status_code == 400
    assert field_error in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ProvisioningTarget)) is None


def test_the_status_shows_pending_failed_and_the_apps_error(app, clock, admin, chat, scim):
    _settings(admin, chat, base_url=scim.base_url, token=TOKEN, deprovision="deactivate", enabled="y")
    scim.app.bearer_tokens = {"rotated-on-the-saas-side"}
    new_account(app, clock, "hanako@acme.example.com", chat.groups["営業"])
    page = _page(admin, chat).get_data(as_text=True)
    assert '<dd class="provisioning-pending">1件</dd>' in page
    assert '<dd class="provisioning-failed">0件</dd>' in page
    assert "hanako@acme.example.com" in page and "ScimError: HTTP 401" in page
    assert "再試行待ち（1回目まで失敗）" in page
    clock.advance(hours=25)
    with app.app_context():
        app.extensions["idp_provisioning"].deliver()  # the last try, 24 h after the change: given up
    clock.advance(hours=-25)  # (the admin's session is still valid)
    page = _page(admin, chat).get_data(as_text=True)
    assert '<dd class="provisioning-pending">0件</dd>' in page
    assert '<dd class="provisioning-failed">1件</dd>' in page and "失敗（再試行を終了）" in page


def test_sync_now_reconciles_the_app(app, clock, admin, chat, scim):
    _settings(admin, chat, base_url=scim.base_url, token=TOKEN, deprovision="deactivate", enabled="y")
    new_account(app, clock, "jiro@acme.example.com")  # not in 営業
    scim.add_user("jiro@acme.example.com")
    token = csrf_token_from(_page(admin, chat).get_data(as_text=True))
    response = admin.post(f"/admin/apps/{chat.app_id}/provisioning/sync", data={"csrf_token": token})
    assert response.status_code == 302
    assert scim.users()["jiro@acme.example.com"]["active"] is False
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "同期を開始しました。" in page
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "app.provisioning_sync"))


def test_sync_now_of_an_app_that_does_not_push_says_so(admin, chat):
    token = csrf_token_from(_page(admin, chat).get_data(as_text=True))
    response = admin.post(f"/admin/apps/{chat.app_id}/provisioning/sync", data={"csrf_token": token},
                          follow_redirects=True)
    assert "プロビジョニングが有効になっていないため、同期できません。" in response.get_data(as_text=True)


def test_forms_need_the_csrf_token(admin, chat):
    assert admin.post(f"/admin/apps/{chat.app_id}/provisioning", data={"base_url": "https://x.example/"}
                      ).status_code == 400
    assert admin.post(f"/admin/apps/{chat.app_id}/provisioning/sync").status_code == 400


def test_users_and_other_tenants_cannot_reach_it(app, clock, factory, client, login, chat):
    factory.account()
    login()
    assert client.get(f"/admin/apps/{chat.app_id}").status_code == 403
    token = csrf_token_from(client.get("/logout").get_data(as_text=True))
    assert client.post(f"/admin/apps/{chat.app_id}/provisioning/sync", data={"csrf_token": token}).status_code == 403
    factory.tenant("other")
    login("admin@other.example.com")
    token = csrf_token_from(client.get("/logout").get_data(as_text=True))
    assert client.post(f"/admin/apps/{chat.app_id}/provisioning/sync", data={"csrf_token": token}).status_code == 404
