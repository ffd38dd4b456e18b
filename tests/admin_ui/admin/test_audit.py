"""Every action of the console writes an audit event naming the admin (one walk through all of them)."""
import io

from sqlalchemy import select

from idp.models import Account, AuditEvent, MfaFactor
from idp.platform.extensions import db
from tests.admin_ui.admin.conftest import ADMIN_EMAIL
from tests.admin_ui.admin.test_accounts_csv import csv_bytes, row

FORM = {"name": "鈴木 一郎", "role": "user", "status": "enabled", "valid_from": "2026-04-01"}


def _admin_actions(app):
    with app.app_context():
        admin_id = db.session.scalar(select(Account.id).where(Account.email_normalized == ADMIN_EMAIL))
        return [(e.action, e.actor_id) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_type == "admin").order_by(AuditEvent.id))], admin_id


def test_every_console_action_is_audited(admin, submit, post, app, clock, factory, acme):
    taro, _ = factory.account()
    jiro, _ = factory.account(email="jiro@acme.example.com", name="佐藤 次郎", password=None)
    group = factory.group("acme", "営業")
    detail = f"/admin/accounts/{taro}"
    with app.app_context():
        db.session.get(Account, taro).locked_at = clock.now()
        db.session.add(MfaFactor(tenant_id=db.session.get(Account, taro).tenant_id, account_id=taro, method="totp",
                                 enrolled_at=clock.now()))
        default = db.session.get(Account, taro).group_id
        db.session.commit()

    def upload_and_apply():
        response = post("/admin/accounts/import", "/admin/accounts/import",
                        {"file": (io.BytesIO(csv_bytes([row()])), "a.csv")}, content_type="multipart/form-data")
        review = response.headers["Location"]
        return post(review, review + "/apply")

    steps = [
        ("account.create", lambda: submit("/admin/accounts/new", {**FORM, "email": "new@acme.example.com",
                                                                  "group": str(group)})),
        ("account.update", lambda: submit(f"{detail}/edit", {**FORM, "name": "山田 太郎2", "group": str(default)})),
        ("account.unlock", lambda: post(detail, f"{detail}/unlock")),
        ("mfa.reset", lambda: post(detail, f"{detail}/reset-mfa", {"confirm": "1"})),
        ("account.resend_activation", lambda: post(f"/admin/accounts/{jiro}",
                                                   f"/admin/accounts/{jiro}/resend-activation")),
        ("account.csv_export", lambda: admin.get("/admin/accounts/export")),
        ("account.csv_import", upload_and_apply),
        ("account.delete", lambda: post("/admin/accounts", "/admin/accounts/delete",
                                        {"ids": str(jiro), "confirm": "1"})),
        ("group.create", lambda: submit("/admin/groups/new", {"name": "開発"})),
        ("group.update", lambda: submit(f"/admin/groups/{group}/edit", {"name": "営業部"})),
        ("account.update", lambda: post(f"/admin/groups/{group}/members", f"/admin/groups/{group}/members",
                                        {"ids": str(taro)})),
        ("group.delete", lambda: post("/admin/groups", "/admin/groups/delete", {"ids": str(group), "confirm": "1"})),
        ("mfa.policy_set", lambda: post("/admin/security", "/admin/security/mfa", {"mode": "totp"})),
        ("keys.rotate", lambda: post("/admin/security", "/admin/security/keys/rotate", {"confirm": "1"})),
        ("logs.login_export", lambda: admin.get("/admin/logs/logins.csv")),
        ("logs.audit_export", lambda: admin.get("/admin/logs/operations.csv")),
    ]
    for action, step in steps:
        before, admin_id = _admin_actions(app)
        response = step()
        assert response.status_code in (200, 302), (action, response.status_code)
        after, _ = _admin_actions(app)
        new = after[len(before):]
        assert (action, admin_id) in new, (action, new)
