"""Security page: MFA policy (tenant, per group), key rotation; MFA reset and the SMS mobile rule on accounts."""
from sqlalchemy import select

from idp.authn.mfa import policy as mfa_policy
from idp.directory.groups import get_by_name
from idp.models import AuditEvent, MfaFactor
from idp.platform.extensions import db
from idp.tenancy import tenants

FORM = {"name": "鈴木 一郎", "role": "user", "status": "enabled", "valid_from": "2026-04-01"}


def _policies(app):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        sales = get_by_name(tenant, "営業")
        return mfa_policy.get_policy(tenant), mfa_policy.get_policy(tenant, group=sales)


def test_tenant_and_group_policy(admin, post, app, factory, acme):
    sales = factory.group("acme", "営業")
    html = admin.get("/admin/security").get_data(as_text=True)
    assert "二段階認証" in html and "営業" in html and "会社の設定に従う" in html
    post("/admin/security", "/admin/security/mfa", {"mode": "totp"})
    post("/admin/security", "/admin/security/mfa", {"mode": "sms", "group": str(sales)})
    assert _policies(app) == ("totp", "sms")
    post("/admin/security", "/admin/security/mfa", {"mode": "inherit", "group": str(sales)})
    assert _policies(app) == ("totp", None)
    response = post("/admin/security", "/admin/security/mfa", {"mode": "bogus"})
    assert response.status_code == 400 and _policies(app) == ("totp", None)
    with app.app_context():
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.policy_set",
                                                               AuditEvent.actor_type == "admin")).all()) == 3


def test_group_of_another_tenant_is_refused(admin, post, factory, acme):
    factory.tenant(slug="other", company="Other Inc.")
    foreign = factory.group("other", "営業")
    assert post("/admin/security", "/admin/security/mfa", {"mode": "sms", "group": str(foreign)}).status_code == 404


def test_mobile_is_required_under_the_sms_policy(admin, submit, post, app, factory, acme):
    sales = factory.group("acme", "営業")
    post("/admin/security", "/admin/security/mfa", {"mode": "sms", "group": str(sales)})
    data = {**FORM, "email": "ichiro@acme.example.com", "group": str(sales), "mobile": ""}
    response = submit("/admin/accounts/new", data)
    assert "二段階認証がSMSのため、携帯電話番号を入力してください。" in response.get_data(as_text=True)
    assert submit("/admin/accounts/new", {**data, "mobile": "09012345678"}).status_code == 302


def test_reset_mfa(admin, post, app, clock, factory, acme):
    taro, _ = factory.account()
    with app.app_context():
        db.session.add(MfaFactor(tenant_id=tenants.get_by_slug("acme").id, account_id=taro, method="totp",
                                 enrolled_at=clock.now()))
        db.session.commit()
    page = f"/admin/accounts/{taro}"
    assert "二段階認証リセット" in admin.get(page).get_data(as_text=True)
    response = post(page, f"{page}/reset-mfa")  # first a confirmation page; nothing is reset yet
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "山田 太郎さんの二段階認証の登録を削除します。" in html
    assert 'name="confirm" value="1"' in html
    with app.app_context():
        assert db.session.scalar(select(MfaFactor).where(MfaFactor.account_id == taro)) is not None
    response = post(page, f"{page}/reset-mfa", {"confirm": "1"}, follow_redirects=True)
    assert "二段階認証をリセットしました。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(MfaFactor).where(MfaFactor.account_id == taro)) is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.reset"))


def test_key_rotation_shows_current_and_next_key(admin, post, app, acme):
    html = admin.get("/admin/security").get_data(as_text=True)
    assert html.count("現在の鍵") == 2 and "次の鍵" not in html
    response = post("/admin/security", "/admin/security/keys/rotate", {"confirm": "1"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "新しい署名鍵を作成しました。" in html and html.count("次の鍵（公開済み・署名前）") == 2
    response = post("/admin/security", "/admin/security/keys/rotate", {"confirm": "1"}, follow_redirects=True)
    assert "新しい鍵がすでに準備中です。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "keys.rotate",
                                                          AuditEvent.actor_type == "admin"))


def _rotations(app):
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotate")).all())


def test_key_rotation_explains_what_happens_and_asks_first(admin, post, app, acme):
    """Issue 15 point 10: 鍵を更新する leads to a page that says what changes when, and only its button rotates.
    The times follow the settings (24 h before the new keys sign, the old ones published 48 h longer)."""
    security = admin.get("/admin/security").get_data(as_text=True)
    assert 'class="card wide key-card"' in security  # its own card, apart from the MFA policy
    page = post("/admin/security", "/admin/security/keys/rotate")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _rotations(app) == 0
    for text in ("新しい署名鍵（RS256とES256の2本）を作成します。", "今すぐ：新しい鍵を公開します（JWKSとSAMLメタデータ）。",
                 "2026/04/02 09:00：新しい鍵で署名を始めます。",
                 "2026/04/04 09:00まで：古い鍵も検証用に公開し続けます。",
                 "http://127.0.0.1:8000/t/acme/oidc/jwks", "http://127.0.0.1:8000/t/acme/saml/metadata",
                 "IdPの証明書を手で登録しているもの：署名が切り替わる前に", 'name="confirm" value="1"',
                 'href="/admin/security">キャンセル'):
        assert text in html, text
    post("/admin/security", "/admin/security/keys/rotate", {"confirm": "1"})
    assert _rotations(app) == 1
    again = post("/admin/security", "/admin/security/keys/rotate").get_data(as_text=True)
    assert "新しい鍵がすでに準備中です（2026/04/02 09:00に切り替わります）。" in again
    assert 'name="confirm"' not in again


def test_mobile_is_required_under_the_tenants_sms_policy_on_edit_too(admin, submit, post, app, factory, acme):
    taro, _ = factory.account()
    post("/admin/security", "/admin/security/mfa", {"mode": "sms"})
    with app.app_context():
        group = get_by_name(tenants.get_by_slug("acme"), "ACME株式会社").id
    response = submit(f"/admin/accounts/{taro}/edit", {**FORM, "group": str(group), "mobile": ""})
    assert "二段階認証がSMSのため、携帯電話番号を入力してください。" in response.get_data(as_text=True)
    assert submit(f"/admin/accounts/{taro}/edit", {**FORM, "group": str(group), "mobile": "09012345678"}
                  ).status_code == 302
