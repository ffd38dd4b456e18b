"""Accounts: creation (with the activation mail), look-up, profile edits, activation."""
from dataclasses import dataclass, replace
from datetime import date
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from idp.directory import links
from idp.directory.groups import default_group
from idp.directory.passwords import hash_password, policy_errors
from idp.logs.audit import NO_CLIENT, Actor, record_audit
from idp.models import Account, Group
from idp.models.account import ROLES, STATUS_ENABLED, STATUSES
from idp.platform import mail
from idp.platform.clock import local_date
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import Conflict, NotFound, ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import new_token
from idp.platform.urls import external_url
from idp.platform.validation import clean_phone, phone_errors, text_errors

PROFILE_FIELDS = ("name", "phone", "mobile", "organization", "department")


@dataclass
class CreatedAccount:
    account: Account
    activation_url: Optional[str]


def with_email(email, tenant_id=None):
    """Every account with this login ID (one per tenant at most), with its tenant (whose status decides
    whether it may log in), oldest tenant first; only the tenant's with `tenant_id`."""
    where = [Account.email_normalized == normalize_email(email)]
    if tenant_id is not None:
        where.append(Account.tenant_id == tenant_id)
    return db.session.scalars(select(Account).options(joinedload(Account.tenant)).where(*where)
                              .order_by(Account.tenant_id)).all()


def find_in_tenant(tenant, email):
    """The account of `tenant` with this login ID, or None; accounts of other tenants are never seen."""
    found = with_email(email, tenant.id)
    return found[0] if found else None


def get_in_tenant(tenant, email):
    """The account with `email` in `tenant`; an account of another tenant is 'not found'."""
    account = find_in_tenant(tenant, email)
    if account is None:
        raise NotFound(_l("アカウント「%(email)s」が見つかりません。", email=email))
    return account


def email_in_use(tenant, email):
    """Whether `tenant` has an account with this login ID (other tenants never count)."""
    return find_in_tenant(tenant, email) is not None


def list_accounts(tenant):
    return db.session.scalars(
        select(Account).where(Account.tenant_id == tenant.id).order_by(Account.email_normalized)).all()


def activation_url(raw_token):
    return external_url(f"/activate/{raw_token}")


@dataclass(frozen=True)
class NewAccount:
    """Who a new account is (an admin's form, a CSV row, the CLI, a sign-up)."""

    email: str
    name: str
    role: str = "user"
    group: Optional[Group] = None  # None: the tenant's default group
    phone: str = ""
    mobile: str = ""
    organization: str = ""
    department: str = ""
    status: str = STATUS_ENABLED
    valid_from: Optional[date] = None  # None: from today (Japan)
    valid_to: Optional[date] = None


def create_account(tenant, new, *, now, actor, password=None, client=NO_CLIENT, mail_template="account_created"):
    """Create an account. With `password` it is activated at once; otherwise an activation mail goes out.

    `mail_template=None` skips the mail (the caller sends its own, e.g. the service-start mail).
    """
    if not tenant.is_active:
        raise ServiceError(_l("この契約は終了しています。"))
    new = replace(new, email=clean_email(new.email), name=(new.name or "").strip(), phone=clean_phone(new.phone),
                  mobile=clean_phone(new.mobile))
    _raise_new_account_errors(tenant, new, password)
    if email_in_use(tenant, new.email):
        raise Conflict(_l("このメールアドレスはすでに登録されています。"))
    account = Account(
        tenant_id=tenant.id, group_id=(new.group or default_group(tenant)).id, subject=new_token(24),
        email=new.email, email_normalized=normalize_email(new.email), name=new.name, phone=new.phone or "",
        mobile=new.mobile or "", organization=new.organization or "", department=new.department or "",
        role=new.role, status=new.status, valid_from=new.valid_from or local_date(now), valid_to=new.valid_to,
        password_hash=hash_password(password) if password is not None else None,
        activated=password is not None, created_at=now, updated_at=now,
    )
    db.session.add(account)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="account.create", target=account, now=now,
                 changes={"email": new.email, "role": new.role, "group": account.group_id}, client=client)
    url = None
    if not account.activated:
        url = activation_url(links.issue(account, links.ACTIVATION, now))
        if mail_template:
            mail.send_after_commit(db.session, mail.build_message(
                account.email, mail_template, account=account, tenant=tenant, activation_url=url))
    return CreatedAccount(account, url)


def _raise_new_account_errors(tenant, new, password):
    errors = {
        "name": text_errors(new.name, required=True, max_length=200, required_message=_l("名前を入力してください。")),
        "phone": phone_errors(new.phone),
        "mobile": phone_errors(new.mobile, mobile=True),
        "role": [] if new.role in ROLES else [_l("ユーザータイプが正しくありません。")],
        "status": [] if new.status in STATUSES else [_l("ステータスが正しくありません。")],
        "password": policy_errors(password, password, new.email) if password is not None else [],
    }
    if new.valid_to and new.valid_from and new.valid_to < new.valid_from:
        errors["valid_to"] = [_l("有効終了日は有効開始日以降の日付にしてください。")]
    if new.group is not None and new.group.tenant_id != tenant.id:
        errors["group"] = [_l("グループが見つかりません。")]
    if any(errors.values()):
        raise ValidationError(errors)


def update_profile(account, *, now, client=NO_CLIENT, **fields):
    """A user edits their own profile (email and company stay read-only)."""
    values = {key: (fields.get(key) or "").strip() for key in PROFILE_FIELDS}
    values["phone"], values["mobile"] = clean_phone(values["phone"]), clean_phone(values["mobile"])
    errors = {
        "name": text_errors(values["name"], required=True, max_length=200,
                            required_message=_l("名前を入力してください。")),
        "phone": phone_errors(values["phone"]),
        "mobile": phone_errors(values["mobile"], mobile=True),
        "organization": text_errors(values["organization"], required=False, max_length=200),
        "department": text_errors(values["department"], required=False, max_length=200),
    }
    if any(errors.values()):
        raise ValidationError(errors)
    changes = {key: [getattr(account, key), value] for key, value in values.items()
               if getattr(account, key) != value}
    for key, (_old, new) in changes.items():
        setattr(account, key, new)
    if changes:
        account.updated_at = now
        record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="profile.update",
                     target=account, now=now, changes=changes, client=client)
    return changes


def activate(raw_token, *, password, confirm, now, client=NO_CLIENT):
    """Set the first password through an activation link; the link is then spent."""
    token = links.find_usable(raw_token, links.ACTIVATION, now)
    if token is None:
        raise ServiceError(_l("このリンクは有効期限が切れているか、すでに使用されています。"))
    account = set_password_by_link(token, password=password, confirm=confirm, now=now)
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="account.activate",
                 target=account, now=now, client=client)
    return account


def set_password_by_link(token, *, password, confirm, now):
    """The link's account gets `password` (policy-checked: ValidationError on `password`) and counts as
    activated; the link is spent. The caller ends what its kind of link ends and records the event."""
    account = token.account
    errors = policy_errors(password or "", confirm or "", account.email)
    if errors:
        raise ValidationError({"password": errors})
    account.password_hash = hash_password(password)
    account.activated = True
    account.updated_at = now
    links.consume(token, now)
    return account


def account_for_activation(raw_token, now):
    token = links.find_usable(raw_token, links.ACTIVATION, now)
    return token.account if token else None


def resend_activation(account, *, now, actor, client=NO_CLIENT):
    """Mail a fresh activation link (the earlier one stops working); only before the first login."""
    if account.activated:
        raise ServiceError(_l("このアカウントは初期設定済みです。"))
    url = activation_url(links.issue(account, links.ACTIVATION, now))
    mail.send_after_commit(db.session, mail.build_message(
        account.email, "account_created", account=account, tenant=account.tenant, activation_url=url))
    record_audit(tenant_id=account.tenant_id, actor=actor, action="account.resend_activation", target=account,
                 now=now, client=client)
    return url
