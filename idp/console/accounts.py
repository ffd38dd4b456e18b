"""What an admin does to the accounts of their tenant: create, edit, delete many, look at one.

Creation goes through `accounts.create_account` (activation mail); status changes through
`accounts.set_status` (a disabled account's sessions end); deletion through
`accounts.delete_account` (sessions end). An admin cannot lock themselves out: they may
not delete, disable or demote their own account.
"""
from dataclasses import dataclass
from datetime import date
from typing import Optional

from flask_babel import lazy_gettext as _l

from idp.apps import catalogue as apps
from idp.authn import second_factor, sessions
from idp.authn.lockout import is_locked
from idp.authn.mfa import policy as mfa_policy
from idp.console.tenant_rows import tenant_rows
from idp.directory.accounts import NewAccount, create_account
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Account, Group
from idp.models.account import ROLES, STATUS_ENABLED, STATUSES
from idp.platform import signals
from idp.platform.errors import NotFound, ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.validation import clean_phone, phone_errors, text_errors

EDITABLE = ("name", "phone", "mobile", "organization", "department", "role", "valid_from", "valid_to")


@dataclass
class AccountFields:
    """The admin-editable fields of an account (email only counts at creation)."""

    name: str = ""
    phone: str = ""
    mobile: str = ""
    organization: str = ""
    department: str = ""
    group_id: Optional[int] = None
    role: str = "user"
    status: str = "enabled"
    valid_from: Optional[date] = None
    valid_to: Optional[date] = None

    def cleaned(self):
        """Values as stored: text stripped, numbers as digits (`clean_phone`: 090-1234-5678 -> 09012345678)."""
        for key in ("name", "organization", "department"):
            setattr(self, key, (getattr(self, key) or "").strip())
        self.phone, self.mobile = clean_phone(self.phone), clean_phone(self.mobile)
        return self


def set_status(account, status, *, now, actor, client=NO_CLIENT):
    """Enable or disable an account; disabling ends its sessions at once."""
    if status not in STATUSES:
        raise ValidationError({"status": [_l("ステータスが正しくありません。")]})
    if status == account.status:
        return
    record_audit(tenant_id=account.tenant_id, actor=actor, action="account.update", target=account, now=now,
                 changes={"status": [account.status, status]}, client=client)
    account.status = status
    account.updated_at = now
    if status != STATUS_ENABLED:
        sessions.end_all_for_account(account.id, now, reason="account_disabled")
        signals.credentials_changed.send(account, reason="account_disabled", now=now)


def delete_account(account, *, now, actor, client=NO_CLIENT):
    """Delete an account; its sessions end first (so logout notifications can go out)."""
    sessions.end_all_for_account(account.id, now, reason="account_deleted")
    signals.credentials_changed.send(account, reason="account_deleted", now=now)
    record_audit(tenant_id=account.tenant_id, actor=actor, action="account.delete", target=account, now=now,
                 changes={"email": account.email}, client=client)
    db.session.delete(account)


def get_account(tenant, account_id):
    """The account with this id in `tenant`; another tenant's account is 'not found'."""
    account = db.session.get(Account, account_id)  # the identity map first (CSV import), then the database
    if account is None or account.tenant_id != tenant.id:
        raise NotFound(_l("アカウントが見つかりません。"))
    return account


def accounts_by_ids(tenant, ids):
    found = tenant_rows(Account, tenant, ids, order_by=(Account.name,))
    if not found:
        raise NotFound(_l("アカウントが見つかりません。"))
    return found


class TenantLookups:
    """Groups and MFA modes of one tenant, read once: the CSV import checks up to 300 rows with one."""

    def __init__(self, tenant):
        self.tenant = tenant
        self._modes = None
        self._groups = {}  # held here: the session's identity map only keeps objects something refers to

    def group(self, group_id):
        """The group of the tenant with this id, or None."""
        if group_id not in self._groups:
            group = db.session.get(Group, group_id) if group_id else None
            self._groups[group_id] = group if group is not None and group.tenant_id == self.tenant.id else None
        return self._groups[group_id]

    def mfa_mode(self, group_id):
        """The MFA mode an account in this group gets (the group's override, else the tenant's)."""
        if self._modes is None:
            self._modes = (mfa_policy.get_policy(self.tenant), mfa_policy.list_overrides(self.tenant))
        tenant_mode, overrides = self._modes
        return overrides.get(group_id) or tenant_mode


def field_errors(tenant, fields, lookups=None):
    """Field -> messages for the admin form and the CSV import (which maps them to its columns)."""
    lookups = lookups or TenantLookups(tenant)
    with db.session.no_autoflush:  # the look-ups never depend on unflushed accounts (import speed)
        group = lookups.group(fields.group_id)
        sms = group is not None and not fields.mobile and lookups.mfa_mode(group.id) == mfa_policy.SMS
    errors = {
        "name": text_errors(fields.name, required=True, max_length=200,
                            required_message=_l("名前を入力してください。")),
        "phone": phone_errors(fields.phone),
        "mobile": phone_errors(fields.mobile, mobile=True),
        "organization": text_errors(fields.organization, required=False, max_length=200),
        "department": text_errors(fields.department, required=False, max_length=200),
        "role": [] if fields.role in ROLES else [_l("ユーザータイプが正しくありません。")],
        "status": [] if fields.status in STATUSES else [_l("ステータスが正しくありません。")],
        "valid_from": [] if fields.valid_from else [_l("有効開始日を入力してください。")],
        "group": [] if group else [_l("グループが見つかりません。")],
    }
    if sms:
        errors["mobile"] = [_l("二段階認証がSMSのため、携帯電話番号を入力してください。")]
    if fields.valid_to and fields.valid_from and fields.valid_to < fields.valid_from:
        errors["valid_to"] = [_l("有効終了日は有効開始日以降の日付にしてください。")]
    return {key: value for key, value in errors.items() if value}


def create(tenant, email, fields, *, now, actor, client=NO_CLIENT, lookups=None):
    """Create an account as an admin; the activation mail goes out after the commit."""
    lookups = lookups or TenantLookups(tenant)
    fields.cleaned()
    errors = field_errors(tenant, fields, lookups)
    if errors:
        raise ValidationError(errors)
    return create_account(
        tenant, NewAccount(email=email, name=fields.name, role=fields.role, group=lookups.group(fields.group_id),
                           phone=fields.phone, mobile=fields.mobile, organization=fields.organization,
                           department=fields.department, status=fields.status, valid_from=fields.valid_from,
                           valid_to=fields.valid_to),
        now=now, actor=actor, client=client).account


def update(account, fields, *, now, actor, client=NO_CLIENT, lookups=None):
    """Apply an admin's edit; returns the changes {field: [old, new]} (audited)."""
    fields.cleaned()
    errors = field_errors(account.tenant, fields, lookups)
    if actor.is_account(account) and (fields.role != account.role or fields.status != account.status):
        errors["role"] = [_l("自分自身のユーザータイプとステータスは変更できません。")]
    if errors:
        raise ValidationError(errors)
    changes = {key: [getattr(account, key), getattr(fields, key)] for key in EDITABLE
               if getattr(account, key) != getattr(fields, key)}
    if account.group_id != fields.group_id:
        changes["group"] = [account.group_id, fields.group_id]
        account.group_id = fields.group_id
    for key in EDITABLE:
        setattr(account, key, getattr(fields, key))
    if changes:
        account.updated_at = now
        record_audit(tenant_id=account.tenant_id, actor=actor, action="account.update", target=account, now=now,
                     changes={k: [_plain(old), _plain(new)] for k, (old, new) in changes.items()}, client=client)
    set_status(account, fields.status, now=now, actor=actor, client=client)
    return changes


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def delete_many(tenant, account_ids, *, now, actor, client=NO_CLIENT):
    """Delete the given accounts of `tenant` (never the acting admin); their sessions end."""
    doomed = accounts_by_ids(tenant, account_ids)
    if any(actor.is_account(account) for account in doomed):
        raise ServiceError(_l("自分自身のアカウントは削除できません。"))
    for account in doomed:
        delete_account(account, now=now, actor=actor, client=client)
    return len(doomed)


def detail_values(account, now):
    """Everything the detail page shows, as plain values."""
    return {
        "id": account.id, "email": account.email, "name": account.name, "company": account.tenant.company_name,
        "phone": account.phone, "mobile": account.mobile, "organization": account.organization,
        "department": account.department, "group_id": account.group_id, "group": account.group.name,
        "role": account.role, "status": account.status, "valid_from": account.valid_from,
        "valid_to": account.valid_to, "activated": account.activated, "last_login_at": account.last_login_at,
        "updated_at": account.updated_at, "created_at": account.created_at, "locked_at": account.locked_at,
        "locked": is_locked(account, now), "apps": apps.tiles_for(account), "mfa": second_factor.status(account),
    }


def fields_of(account):
    return AccountFields(name=account.name, phone=account.phone, mobile=account.mobile,
                         organization=account.organization, department=account.department,
                         group_id=account.group_id, role=account.role, status=account.status,
                         valid_from=account.valid_from, valid_to=account.valid_to)
