"""idp.console.account_search without HTTP: filters, tenant bound, paging."""
from datetime import date

import pytest

from idp.authn.lockout import LOCK_PERIOD
from idp.console import account_search
from idp.console.account_search import AccountFilter
from idp.directory.groups import default_group
from idp.models import Account
from idp.platform.extensions import db
from idp.tenancy import tenants


@pytest.fixture
def tenant(app, clock, factory):
    factory.tenant()
    factory.tenant(slug="other", company="Other Inc.")
    with app.app_context():
        acme = tenants.get_by_slug("acme")
        for i, other in enumerate([tenants.get_by_slug("other")] + [acme] * 4):
            db.session.add(Account(
                tenant_id=other.id, group_id=default_group(other).id, subject=f"s{i}", email=f"u{i}@x.example.com",
                email_normalized=f"u{i}@x.example.com", name=f"name_{i}%", valid_from=date(2026, 4, 1),
                locked_at=clock.now() if i == 2 else (clock.now() - LOCK_PERIOD if i == 3 else None),
                created_at=clock.now(), updated_at=clock.now()))
        db.session.commit()
        yield acme


def _emails(tenant, clock, **kwargs):
    page = account_search.search(tenant, AccountFilter(**kwargs), now=clock.now(), per_page=2)
    return page.total, [row["email"] for row in page.rows]


def test_search_is_bounded_by_the_tenant(tenant, clock):
    total, _ = _emails(tenant, clock)
    assert total == 5  # the admin + 4, never the other tenant's u0
    assert _emails(tenant, clock, email="u0@") == (0, [])


def test_lock_state_follows_the_lock_period(tenant, clock):
    assert _emails(tenant, clock, lock="locked") == (1, ["u2@x.example.com"])
    assert _emails(tenant, clock, lock="unlocked")[0] == 4


def test_like_wildcards_are_literal_and_pages(tenant, clock):
    assert _emails(tenant, clock, name="_1%")[0] == 1
    page = account_search.search(tenant, AccountFilter(sort="email"), now=clock.now(), page=3, per_page=2)
    assert (page.pages, [r["email"] for r in page.rows]) == (3, ["u4@x.example.com"])


def test_from_args_ignores_bad_values():
    filters = AccountFilter.from_args({"role": "root", "group": "x", "sort": "password_hash", "lock": "?"})
    assert (filters.role, filters.group_id, filters.sort, filters.lock) == ("", None, "name", "")
