"""Logs pages: login and operation logs, filters, pagination, CSV download, 730-day retention, purge."""
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from idp.logs.audit import OPERATOR, record_audit, record_login
from idp.models import AuditEvent, LoginEvent
from idp.platform.extensions import db
from idp.tenancy import tenants


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
    assert "taro@acme.example.com" in html and ">成功</td>" not in html
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
    assert ">グループの登録</td>" in html and "admin@acme.example.com" in html and "ancient.action" not in html
    html = admin.get("/admin/logs/operations?action=group.create").get_data(as_text=True)
    assert ">グループの登録</td>" in html and ">アカウントの登録</td>" not in html
    response = admin.get("/admin/logs/operations.csv?action=group.create&user=admin@acme")
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and ",グループの登録," in lines[1] and ",group.create," in lines[1] and "営業" in lines[1]


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


@pytest.fixture
def app_logins(app, clock, factory, acme):
    """Two logins to two apps (OIDC success, SAML failure) besides the portal ones."""
    from idp.apps import catalogue as apps
    from idp.logs.audit import ClientInfo
    factory.account()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        ids = [apps.create_bookmark_app(tenant, name=name, launch_url=f"https://{name}.example.com/",
                                        now=clock.now(), actor=OPERATOR).id for name in ("経費精算", "勤怠")]
        record_login(result="success", now=clock.now(), tenant_id=tenant.id, login_id="taro@acme.example.com",
                     app_id=ids[0], protocol="oidc", target="app", client=ClientInfo("203.0.113.7", "test"))
        record_login(result="failure", now=clock.now(), tenant_id=tenant.id, login_id="jiro@acme.example.com",
                     app_id=ids[1], protocol="saml", target="app", reason="not_allowed")
        db.session.commit()
        return ids


def test_login_log_filters_by_app_and_shows_every_column(admin, app_logins):
    html = admin.get(f"/admin/logs/logins?app={app_logins[0]}").get_data(as_text=True)
    assert "taro@acme.example.com" in html and "jiro@" not in html
    for text in ("経費精算", "OpenID Connect", "203.0.113.7", "2026/04/01 09:00", "成功"):
        assert text in html
    html = admin.get(f"/admin/logs/logins?app={app_logins[1]}&result=failure").get_data(as_text=True)
    assert "jiro@acme.example.com" in html and "SAML 2.0" in html and "not_allowed" in html and "taro@" not in html
    assert f'<option value="{app_logins[0]}" selected>経費精算</option>' in admin.get(
        f"/admin/logs/logins?app={app_logins[0]}").get_data(as_text=True)
    lines = admin.get(f"/admin/logs/logins.csv?app={app_logins[1]}").get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].split(",")[1:] == ["jiro@acme.example.com", "勤怠", "SAML 2.0", "失敗",
                                                           "not_allowed", "", "saml", "failure", "not_allowed"]


def test_operation_log_period_filter_and_pagination(admin, app, clock, acme):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        for i in range(55):
            record_audit(tenant_id=tenant.id, actor=OPERATOR, action="test.bulk", target_type=f"t{i:02d}",
                         now=clock.now() - timedelta(days=i))
        db.session.commit()
    html = admin.get("/admin/logs/operations?action=test.bulk").get_data(as_text=True)
    assert "55件中 1 / 2 ページ" in html and ">t00</td>" in html and ">t54</td>" not in html
    html = admin.get("/admin/logs/operations?action=test.bulk&page=2").get_data(as_text=True)
    assert ">t54</td>" in html and ">t00</td>" not in html
    # Japan calendar days: t01 is 2026-03-31 09:00 JST, t03 2026-03-29
    html = admin.get("/admin/logs/operations?action=test.bulk&from=2026-03-29&to=2026-03-31").get_data(as_text=True)
    assert "3件中" in html and all(f">t0{i}</td>" in html for i in (1, 2, 3)) and ">t00</td>" not in html
    lines = admin.get("/admin/logs/operations.csv?action=test.bulk&from=2026-03-29&to=2026-03-31").get_data()
    assert len(lines.decode("utf-8-sig").splitlines()) == 4


def test_csv_never_holds_entries_older_than_730_days(admin, events):
    assert "ancient@" not in admin.get("/admin/logs/logins.csv").get_data().decode("utf-8-sig")
    assert "ancient.action" not in admin.get("/admin/logs/operations.csv").get_data().decode("utf-8-sig")
    assert "ancient@" not in admin.get("/admin/logs/logins?from=2020-01-01").get_data(as_text=True)


def test_log_downloads_are_audited(admin, app, events):
    admin.get("/admin/logs/logins.csv?result=failure")
    admin.get("/admin/logs/operations.csv")
    with app.app_context():
        events = {e.action: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.actor_type == "admin"))}
        assert events["logs.login_export"].changes == {"count": 1, "filters": {"result": "failure"}}
        assert events["logs.login_export"].actor_label == "admin@acme.example.com"
        assert "logs.audit_export" in events


def test_csv_cells_never_start_a_formula(admin, submit, factory, other_browser, acme):
    """Addresses and names end up in the admin's spreadsheet: they must stay text there."""
    email = "=1+2@acme.example.com"  # a valid address that Excel would run as a formula
    factory.account(email=email)
    other_browser(email)
    submit("/admin/groups/new", {"name": "@SUM(1+1)"})
    for url, column, value in (("/admin/logs/logins.csv", 1, email), ("/admin/logs/operations.csv", 3, "@SUM(1+1)")):
        rows = list(csv.reader(io.StringIO(admin.get(url).get_data().decode("utf-8-sig"))))
        assert ["'" + value] == [r[column] for r in rows if r[column].endswith(value)], url
        assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r), url
