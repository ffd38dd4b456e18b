"""Logs pages: login and operation logs, filters, pagination, CSV download, 730-day retention, purge."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from idp import tenants
from idp.audit import OPERATOR, record_audit, record_login
from idp.extensions import db
from idp.models import AuditEvent, LoginEvent


@pytest.fixture
def events(app, clock, factory, other_browser, acme):
    """taro: one failure and one success now; one login and one operation 800 days ago (beyond retention)."""
    factory.account()
    other_browser("taro@acme.example.com", "Wrong-Password-99")
    other_browser("taro@acme.example.com")
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        record_login(result="success", now=clock.now() - timedelta(days=800), tenant_id=tenant.id,
                     login_id="ancient@acme.example.com")
        record_audit(tenant_id=tenant.id, actor=OPERATOR, action="ancient.action",
                     now=clock.now() - timedelta(days=800))
        db.session.commit()


def test_login_log_lists_filters_and_hides_old_entries(admin, events):
    html = admin.get("/admin/logs/logins").get_data(as_text=True)
    assert "taro@acme.example.com" in html and "成功" in html and "失敗" in html
    assert "ancient@" not in html
    html = admin.get("/admin/logs/logins?result=failure&user=taro").get_data(as_text=True)
    assert "taro@acme.example.com" in html and "<td>成功</td>" not in html
    html = admin.get("/admin/logs/logins?from=2026-04-02").get_data(as_text=True)
    assert "taro@acme.example.com" not in html and "該当するログはありません。" in html
    html = admin.get("/admin/logs/logins?from=2026-04-01&to=2026-04-01").get_data(as_text=True)
    assert "taro@acme.example.com" in html


def test_login_log_csv_holds_the_filtered_rows(admin, events):
    response = admin.get("/admin/logs/logins.csv?result=failure")
    assert response.headers["Content-Disposition"].startswith("attachment")
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("日時,ユーザー,サービス")
    assert len(lines) == 2 and "taro@acme.example.com" in lines[1] and "failure" in lines[1]
    assert "2026/04/01 09:00:00" in lines[1]  # Japan time


def test_operation_log_shows_admin_actions_and_filters(admin, submit, app, events):
    submit("/admin/groups/new", {"name": "営業"})
    html = admin.get("/admin/logs/operations").get_data(as_text=True)
    assert "group.create" in html and "admin@acme.example.com" in html and "ancient.action" not in html
    html = admin.get("/admin/logs/operations?action=group.create").get_data(as_text=True)
    assert "group.create" in html and "account.create</td>" not in html
    response = admin.get("/admin/logs/operations.csv?action=group.create&user=admin@acme")
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "group.create" in lines[1] and "営業" in lines[1]


def test_pagination(admin, app, clock, acme):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        for i in range(60):
            record_login(result="success", now=clock.now() - timedelta(minutes=i), tenant_id=tenant.id,
                         login_id=f"u{i:02d}@acme.example.com")
        db.session.commit()
    html = admin.get("/admin/logs/logins").get_data(as_text=True)
    assert "u00@" in html and "u59@" not in html and "page=2" in html
    html = admin.get("/admin/logs/logins?page=2").get_data(as_text=True)
    assert "u59@" in html and "u00@" not in html


def test_other_tenants_logs_are_not_shown(admin, app, clock, factory, acme):
    factory.tenant(slug="other", company="Other Inc.")
    with app.app_context():
        other = tenants.get_by_slug("other")
        record_login(result="success", now=clock.now(), tenant_id=other.id, login_id="x@other.example.com")
        db.session.commit()
    assert "x@other.example.com" not in admin.get("/admin/logs/logins").get_data(as_text=True)
    assert "other" not in admin.get("/admin/logs/operations.csv").get_data().decode("utf-8-sig")


def test_purge_command_deletes_entries_older_than_730_days(app, events):
    result = app.test_cli_runner().invoke(args=["logs", "purge", "--json"])
    assert result.exit_code == 0, result.output
    assert '"login_events": 1' in result.output and '"audit_events": 1' in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(LoginEvent.id))) == 2
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "ancient.action")) is None
