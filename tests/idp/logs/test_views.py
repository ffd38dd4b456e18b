"""idp.logs.views without HTTP: Japan-day periods, retention, purge."""
from datetime import date, datetime, timedelta

import pytest

from idp.logs import views as log_views
from idp.logs.audit import record_login
from idp.logs.views import LogFilter
from idp.platform.extensions import db
from idp.tenancy import tenants


@pytest.fixture
def acme(app, factory):
    factory.tenant()
    with app.app_context():
        yield tenants.get_by_slug("acme")


def test_period_uses_japan_calendar_days(acme):
    now = datetime(2026, 4, 10)
    # 2026-04-01 14:59 UTC is 23:59 on 1 April in Japan; 15:00 UTC is already 2 April
    for minute, login_id in ((59, "late@acme"), (60, "next@acme")):
        record_login(result="success", now=datetime(2026, 4, 1, 14, 0) + timedelta(minutes=minute),
                     tenant_id=acme.id, login_id=login_id)
    db.session.flush()
    page = log_views.login_page(acme, LogFilter(date_from=date(2026, 4, 1), date_to=date(2026, 4, 1)), now=now)
    assert [row["user"] for row in page.rows] == ["late@acme"]


def test_a_period_of_the_first_to_the_last_calendar_day_shows_every_kept_row(acme):
    now = datetime(2026, 4, 10)
    record_login(result="success", now=now - timedelta(days=1), tenant_id=acme.id, login_id="kept@acme")
    db.session.flush()
    widest = LogFilter(date_from=date.min, date_to=date.max)
    assert [row["user"] for row in log_views.login_page(acme, widest, now=now).rows] == ["kept@acme"]
    assert log_views.audit_page(acme, widest, now=now).rows == log_views.audit_page(acme, LogFilter(), now=now).rows


def test_retention_hides_then_purge_deletes(acme):
    now = datetime(2026, 4, 10)
    record_login(result="success", now=now - log_views.RETENTION - timedelta(seconds=1), tenant_id=acme.id,
                 login_id="old@acme")
    record_login(result="success", now=now - log_views.RETENTION + timedelta(seconds=1), tenant_id=acme.id,
                 login_id="kept@acme")
    db.session.flush()
    assert [r["user"] for r in log_views.login_page(acme, LogFilter(), now=now).rows] == ["kept@acme"]
    assert log_views.purge(now)["login_events"] == 1


def test_filter_from_args_ignores_bad_values():
    filters = LogFilter.from_args({"from": "2026-02-30", "app": "x", "result": "maybe"})
    assert (filters.date_from, filters.app_id, filters.result) == (None, None, "")
