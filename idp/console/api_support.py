"""What the admin REST API (protocols/api, docs/api.md) reads beyond the console's pages: whole accounts
rather than the list's columns. Every change still goes through the console's own use-cases
(idp.console.accounts, groups, group_members; lockout, second factor, activation mail).

- `account_page`: the console's account search (same filters, order and paging), each row the account's
  values as the API shows them (one more query for the page's accounts, one for their second factors).
- `account_values`: one account as the API shows it; `group_values`: a group with its member count and apps.
"""
from sqlalchemy import func, select

from idp.authn.lockout import is_locked
from idp.console import account_search
from idp.models import Account, Group
from idp.models.mfa import MfaFactor
from idp.platform.extensions import db


def _mfa_methods(tenant_id, account_ids):
    if not account_ids:
        return {}
    return dict(db.session.execute(select(MfaFactor.account_id, MfaFactor.method).where(
        MfaFactor.tenant_id == tenant_id, MfaFactor.account_id.in_(account_ids))).all())


def account_values(account, now, *, group_name=None, mfa_method=None, mfa_known=False):
    """The account's fields, its group's name, lock and second-factor state (plain values, times naive UTC)."""
    if group_name is None:
        group_name = db.session.scalar(select(Group.name).where(Group.id == account.group_id))
    if not mfa_known:
        mfa_method = _mfa_methods(account.tenant_id, [account.id]).get(account.id)
    return {
        "id": account.id, "subject": account.subject, "email": account.email, "name": account.name,
        "phone": account.phone, "mobile": account.mobile, "organization": account.organization,
        "department": account.department, "group_id": account.group_id, "group": group_name,
        "role": account.role, "status": account.status, "valid_from": account.valid_from,
        "valid_to": account.valid_to, "activated": account.activated, "locked": is_locked(account, now),
        "mfa_method": mfa_method, "last_login_at": account.last_login_at, "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def account_page(tenant, filters, *, now, page, per_page):
    """One page of the console's account search (`account_search.search`) with whole accounts as rows."""
    found = account_search.search(tenant, filters, now=now, page=page, per_page=per_page)
    ids = [row["id"] for row in found.rows]
    groups = {row["id"]: row["group"] for row in found.rows}
    accounts = {a.id: a for a in account_search.matching_accounts(tenant, filters, now, ids=ids)} if ids else {}
    methods = _mfa_methods(tenant.id, ids)
    found.rows = [account_values(accounts[i], now, group_name=groups[i], mfa_method=methods.get(i), mfa_known=True)
                  for i in ids if i in accounts]
    return found


def group_values(group):
    """The group, its number of members and its apps."""
    members = db.session.scalar(select(func.count(Account.id)).where(Account.tenant_id == group.tenant_id,
                                                                     Account.group_id == group.id))
    return {"id": group.id, "name": group.name, "description": group.description, "is_default": group.is_default,
            "members": members, "created_at": group.created_at,
            "apps": [{"id": app.id, "name": app.name, "protocol": app.protocol}
                     for app in sorted(group.apps, key=lambda app: (app.name, app.id))]}
