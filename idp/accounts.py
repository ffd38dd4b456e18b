"""Accounts: creation (with the activation mail), look-up, profile edits, activation."""
from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import action_tokens, mail, sessions, signals
from .audit import NO_CLIENT, Actor, record_audit
from .clock import local_date
from .emails import clean_email, normalize_email
from .errors import Conflict, NotFound, ServiceError, ValidationError
from .extensions import db
from .groups import default_group
from .models import Account
from .models.account import ROLES, STATUS_ENABLED, STATUSES
from .passwords import hash_password, policy_errors
from .secrets_util import new_token
from .urls import external_url
from .validation import phone_errors, text_errors

PROFILE_FIELDS = ("name", "phone", "mobile", "organization", "department")


@dataclass
class CreatedAccount:
    account: Account
    activation_url: Optional[str]


def find_by_email(email):
    """The account with this login ID, with its tenant (whose status decides whether it may log in)."""
    return db.session.scalar(select(Account).options(joinedload(Account.tenant)).where(
        Account.email_normalized == normalize_email(email)))


def get_in_tenant(tenant, email):
    """The account with `email` in `tenant`; an account of another tenant is 'not found'."""
    account = find_by_email(email)
    if account is None or account.tenant_id != tenant.id:
        raise NotFound(_l("アカウント「%(email)s」が見つかりません。", email=email))
    return account


def email_in_use(email):
    return find_by_email(email) is not None


def list_accounts(tenant):
    return db.session.scalars(
        select(Account).where(Account.tenant_id == tenant.id).order_by(Account.email_normalized)).all()


def activation_url(raw_token):
    return external_url(f"/activate/{raw_token}")


def create_account(tenant, *, email, name, now, actor, client=NO_CLIENT, role="user", group=None,
                   password=None, phone="", mobile="", organization="", department="",
                   status=STATUS_ENABLED, valid_from=None, valid_to=None, mail_template="account_created"):
    """Create an account. With `password` it is activated at once; otherwise an activation mail goes out.

    `mail_template=None` skips the mail (the caller sends its own, e.g. the service-start mail).
    """
    if not tenant.is_active:
        raise ServiceError(_l("この契約は終了しています。"))
    email = clean_email(email)
    name = (name or "").strip()
    errors = {
        "name": text_errors(name, required=True, max_length=200, required_message=_l("名前を入力してください。")),
        "phone": phone_errors(phone),
        "mobile": phone_errors(mobile),
        "role": [] if role in ROLES else [_l("ユーザータイプが正しくありません。")],
        "status": [] if status in STATUSES else [_l("ステータスが正しくありません。")],
        "password": policy_errors(password, password, email) if password is not None else [],
    }
    if valid_to and valid_from and valid_to < valid_from:
        errors["valid_to"] = [_l("有効終了日は有効開始日以降の日付にしてください。")]
    if group is not None and group.tenant_id != tenant.id:
        errors["group"] = [_l("グループが見つかりません。")]
    if any(errors.values()):
        raise ValidationError(errors)
    if email_in_use(email):
        raise Conflict(_l("このメールアドレスはすでに登録されています。"))
    account = Account(
        tenant_id=tenant.id, group_id=(group or default_group(tenant)).id, subject=new_token(24),
        email=email, email_normalized=normalize_email(email), name=name, phone=phone or "",
        mobile=mobile or "", organization=organization or "", department=department or "",
        role=role, status=status, valid_from=valid_from or local_date(now), valid_to=valid_to,
        password_hash=hash_password(password) if password is not None else None,
        activated=password is not None, created_at=now, updated_at=now,
    )
    db.session.add(account)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="account.create", target=account, now=now,
                 changes={"email": email, "role": role, "group": account.group_id}, client=client)
    url = None
    if not account.activated:
        url = activation_url(action_tokens.issue(account, "activation", now))
        if mail_template:
            mail.send_after_commit(db.session, mail.build_message(
                account.email, mail_template, account=account, tenant=tenant, activation_url=url))
    return CreatedAccount(account, url)


def update_profile(account, *, now, client=NO_CLIENT, **fields):
    """A user edits their own profile (email and company stay read-only)."""
    values = {key: (fields.get(key) or "").strip() for key in PROFILE_FIELDS}
    errors = {
        "name": text_errors(values["name"], required=True, max_length=200,
                            required_message=_l("名前を入力してください。")),
        "phone": phone_errors(values["phone"]),
        "mobile": phone_errors(values["mobile"]),
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
    token = action_tokens.find_usable(raw_token, "activation", now)
    if token is None:
        raise ServiceError(_l("このリンクは有効期限が切れているか、すでに使用されています。"))
    account = token.account
    errors = policy_errors(password or "", confirm or "", account.email)
    if errors:
        raise ValidationError({"password": errors})
    account.password_hash = hash_password(password)
    account.activated = True
    account.updated_at = now
    action_tokens.consume(token, now)
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="account.activate",
                 target=account, now=now, client=client)
    return account


def account_for_activation(raw_token, now):
    token = action_tokens.find_usable(raw_token, "activation", now)
    return token.account if token else None


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


def resend_activation(account, *, now, actor, client=NO_CLIENT):
    """Mail a fresh activation link (the earlier one stops working); only before the first login."""
    if account.activated:
        raise ServiceError(_l("このアカウントは初期設定済みです。"))
    url = activation_url(action_tokens.issue(account, "activation", now))
    mail.send_after_commit(db.session, mail.build_message(
        account.email, "account_created", account=account, tenant=account.tenant, activation_url=url))
    record_audit(tenant_id=account.tenant_id, actor=actor, action="account.resend_activation", target=account,
                 now=now, client=client)
    return url
