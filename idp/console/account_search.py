"""Account search for the admin console: filters, sorting and pagination on one tenant.

Fast on 100,000 accounts: every query is bounded by `tenant_id` (leading column of the
account indexes), the page is fetched with LIMIT/OFFSET on an indexed sort key plus the
row id as tie-breaker, and the total comes from one COUNT over the same filters.
`bench/admin.py` measures it.
"""
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from idp.authn.lockout import LOCK_PERIOD
from idp.models import Account, Group
from idp.models.account import ROLES, STATUSES
from idp.platform.extensions import db
from idp.platform.paging import contains, fetch_page
from idp.platform.validation import parse_number

PER_PAGE = 50
MAX_PAGE = 10_000
LOCKED = "locked"
UNLOCKED = "unlocked"
SORTS = {
    "name": Account.name,
    "email": Account.email_normalized,
    "created": Account.created_at,
    "last_login": Account.last_login_at,
}


@dataclass(frozen=True)
class AccountFilter:
    """What the admin searched for; empty values mean 'any'. Built from query-string values."""

    name: str = ""
    email: str = ""
    group_id: int = None
    role: str = ""
    status: str = ""
    lock: str = ""
    organization: str = ""
    department: str = ""
    sort: str = "name"
    descending: bool = False

    @classmethod
    def from_args(cls, args):
        group = (args.get("group") or "").strip()
        return cls(
            name=(args.get("name") or "").strip()[:200], email=(args.get("email") or "").strip()[:254],
            group_id=parse_number(group),
            role=args.get("role") if args.get("role") in ROLES else "",
            status=args.get("status") if args.get("status") in STATUSES else "",
            lock=args.get("lock") if args.get("lock") in (LOCKED, UNLOCKED) else "",
            organization=(args.get("organization") or "").strip()[:200],
            department=(args.get("department") or "").strip()[:200],
            sort=args.get("sort") if args.get("sort") in SORTS else "name",
            descending=args.get("dir") == "desc",
        )

    def as_args(self):
        """The non-empty values as query-string arguments (for pagination and export links)."""
        values = {"name": self.name, "email": self.email, "group": self.group_id or "", "role": self.role,
                  "status": self.status, "lock": self.lock, "organization": self.organization,
                  "department": self.department, "sort": self.sort if self.sort != "name" else "",
                  "dir": "desc" if self.descending else ""}
        return {key: value for key, value in values.items() if value}


def conditions(tenant, filters, now):
    """The WHERE clauses of a search (always bounded by the tenant)."""
    where = [Account.tenant_id == tenant.id]
    if filters.name:
        where.append(contains(Account.name, filters.name))
    if filters.email:
        where.append(contains(Account.email_normalized, filters.email.lower()))
    if filters.group_id:
        where.append(Account.group_id == filters.group_id)
    if filters.role:
        where.append(Account.role == filters.role)
    if filters.status:
        where.append(Account.status == filters.status)
    if filters.organization:
        where.append(contains(Account.organization, filters.organization))
    if filters.department:
        where.append(contains(Account.department, filters.department))
    lock_start = now - LOCK_PERIOD
    if filters.lock == LOCKED:
        where.append(Account.locked_at > lock_start)
    elif filters.lock == UNLOCKED:
        where.append(or_(Account.locked_at.is_(None), Account.locked_at <= lock_start))
    return where


def search(tenant, filters, *, now, page=1, per_page=PER_PAGE):
    """One page of matching accounts as plain values, with the total count."""
    where = conditions(tenant, filters, now)
    query = select(Account, Group.name).join(Group, Group.id == Account.group_id).where(*where)
    return fetch_page(query.order_by(*_order(filters)), select(func.count(Account.id)).where(*where),
                      page=min(page, MAX_PAGE), per_page=per_page,
                      values=lambda account, group_name: row_values(account, group_name, now))


def matching_accounts(tenant, filters, now, ids=None):
    """Every matching account (for the CSV export), optionally only the given ids, in sort order."""
    where = conditions(tenant, filters, now)
    if ids is not None:
        where.append(Account.id.in_(ids))
    return db.session.scalars(select(Account).where(*where).order_by(*_order(filters))).all()


def _order(filters):
    """The chosen sort key, then the row id as tie-breaker (a stable order for paging)."""
    key = SORTS[filters.sort]
    return (key.desc(), Account.id.desc()) if filters.descending else (key.asc(), Account.id.asc())


def row_values(account, group_name, now):
    return {
        "id": account.id, "name": account.name, "email": account.email, "group": group_name,
        "role": account.role, "status": account.status, "organization": account.organization,
        "department": account.department, "last_login_at": account.last_login_at,
        "locked": account.locked_at is not None and now < account.locked_at + LOCK_PERIOD,
        "locked_at": account.locked_at, "activated": account.activated,
    }
