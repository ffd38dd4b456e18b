"""The end of a contract: termination by the owner, purge after retention, restore by an operator.

  terminate(owner, password, company_name) -> at once: tenant status terminated, every SSO
      session of its accounts ends (subscribers send back-channel logouts), credentials_changed
      fires for each account (refresh tokens revoked), owner sessions end, admins and owner mailed.
      Logins and live sessions are refused from then on (accounts_state: tenant_terminated).
  purge(now, retention)  -> deletes tenants terminated longer ago than `retention` (every row of
      the tenant goes with it: foreign keys cascade)
  restore(tenant)        -> a terminated, not yet purged tenant becomes active again
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from idp.authn import lockout, sessions
from idp.directory.passwords import burn_time, verify_password
from idp.logs.audit import record_audit
from idp.models import Account, Tenant
from idp.models.account import ROLE_ADMIN
from idp.models.tenancy import TENANT_ACTIVE, TENANT_TERMINATED
from idp.owners import sessions as owner_sessions
from idp.owners.accounts import actor_of
from idp.platform import mail, signals
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db

END_REASON = "tenant_terminated"


def terminate(owner, *, password, company_name, now, retention, client):
    """Check the owner's password and the typed company name, then end the service at once."""
    tenant = owner.tenant
    errors = {}
    if (company_name or "").strip() != tenant.company_name:
        errors["company_name"] = [_l("会社名が一致しません。")]
    if lockout.is_locked(owner, now):
        burn_time(password)
        errors["password"] = [_l("パスワードの入力に連続で失敗したため、しばらく操作できません。")]
    elif not verify_password(owner.password_hash, (password or "")[:1024])[0]:
        lockout.register_failure(owner, now)
        errors["password"] = [_l("パスワードが正しくありません。")]
    if errors:
        raise ValidationError(errors)
    if not tenant.is_active:
        raise ServiceError(_l("この契約はすでに終了しています。"))
    lockout.register_success(owner)
    tenant.status = TENANT_TERMINATED
    tenant.terminated_at = now
    accounts = db.session.scalars(select(Account).where(Account.tenant_id == tenant.id)).all()
    for account in accounts:
        sessions.end_all_for_account(account.id, now, reason=END_REASON)
        signals.credentials_changed.send(account, reason=END_REASON, now=now)
    owner_sessions.end_all_for_owner(owner.id, now, reason=END_REASON)
    record_audit(tenant_id=tenant.id, actor=actor_of(owner), action="tenant.terminate", target=tenant, now=now,
                 changes={"accounts": len(accounts)}, client=client)
    recipients = {owner.email_normalized: (owner.email, owner.name)}
    for account in accounts:
        if account.role == ROLE_ADMIN:
            recipients.setdefault(account.email_normalized, (account.email, account.name))
    for address, name in recipients.values():
        mail.send_after_commit(db.session, mail.build_message(
            address, "owner_tenant_terminated", tenant=tenant, name=name or address,
            retention_days=retention.days))
    return tenant


def purge(*, now, retention):
    """Delete the tenants terminated before `now - retention`; return their slugs."""
    due = db.session.scalars(select(Tenant).where(
        Tenant.status == TENANT_TERMINATED, Tenant.terminated_at <= now - retention).order_by(Tenant.slug)).all()
    slugs = [tenant.slug for tenant in due]
    for tenant in due:
        db.session.expunge(tenant)
        db.session.execute(delete(Tenant).where(Tenant.id == tenant.id))
    return slugs


def restore(tenant, *, now, actor):
    """Reactivate a terminated tenant (its data is intact until purged); sessions stay ended."""
    if tenant.is_active:
        raise ServiceError(_l("テナント「%(slug)s」は終了していません。", slug=tenant.slug))
    record_audit(tenant_id=tenant.id, actor=actor, action="tenant.restore", target=tenant, now=now,
                 changes={"terminated_at": tenant.terminated_at.isoformat()})
    tenant.status = TENANT_ACTIVE
    tenant.terminated_at = None
    return tenant


def retention_period(days):
    return timedelta(days=int(days))
