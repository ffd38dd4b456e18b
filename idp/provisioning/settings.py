"""An app's provisioning settings and status (the console's section of the app page, `idp provisioning`).

`save(app, …)` checks and stores the SCIM base URL, the bearer token (encrypted; a blank token keeps the
stored one), whether pushing is on and the deprovision action, audited as `app.update`. Turning pushing
on queues a full reconciliation, so the app gets the accounts that may already use it. `request_sync`
queues one on demand (「今すぐ同期」). `status(app)` is what the page shows, as plain values.
"""
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Account
from idp.models.provisioning import (DEACTIVATE, DEPROVISION_ACTIONS, FAILED, PENDING, RECONCILE_SUBJECT, SENDING,
                                     ProvisioningChange, ProvisioningTarget)
from idp.platform import encryption, outbound
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.provisioning import changes

MAX_URL = 2000
MAX_TOKEN = 4096
FAILURES_SHOWN = 10


@dataclass(frozen=True)
class Settings:
    base_url: str
    token: str  # "" keeps the stored token
    enabled: bool
    deprovision: str


def target_of(app):
    return db.session.scalar(select(ProvisioningTarget).where(ProvisioningTarget.app_id == app.id,
                                                              ProvisioningTarget.tenant_id == app.tenant_id))


def _url_errors(url):
    if not url:
        return []
    if len(url) > MAX_URL:
        return [_l("%(n)d文字以内で入力してください。", n=MAX_URL)]
    try:
        scheme, _, _, _ = outbound.target_of(url)
    except outbound.InvalidTarget:
        scheme = None
    if scheme == "https" or (scheme == "http" and outbound.private_targets_allowed(
            current_app.config, "IDP_PROVISIONING_PRIVATE_TARGETS")):
        return []
    return [_l("https:// で始まるURLを入力してください。")]


def _errors(settings, stored_token):
    errors = {"base_url": _url_errors(settings.base_url), "token": [], "deprovision": []}
    if settings.enabled and not settings.base_url:
        errors["base_url"].append(_l("有効にするには、SCIMのベースURLを入力してください。"))
    if len(settings.token) > MAX_TOKEN:
        errors["token"].append(_l("%(n)d文字以内で入力してください。", n=MAX_TOKEN))
    elif settings.enabled and not (settings.token or stored_token):
        errors["token"].append(_l("有効にするには、トークンを入力してください。"))
    if settings.deprovision not in DEPROVISION_ACTIONS:
        errors["deprovision"].append(_l("選択肢から選んでください。"))
    return errors


def save(app, settings, *, now, actor, client=NO_CLIENT):
    """Store the settings (ValidationError on bad input); returns the target row."""
    settings = Settings(settings.base_url.strip(), settings.token.strip(), bool(settings.enabled),
                        settings.deprovision)
    target = target_of(app)
    errors = _errors(settings, target.token if target else None)
    if any(errors.values()):
        raise ValidationError(errors)
    if target is None:
        target = ProvisioningTarget(app_id=app.id, tenant_id=app.tenant_id, base_url="", enabled=False,
                                    deprovision=DEACTIVATE, created_at=now, updated_at=now)
        db.session.add(target)
    before = {"scim_base_url": target.base_url, "scim_token": "set" if target.token else "",
              "provisioning": target.enabled, "deprovision": target.deprovision}
    target.base_url, target.enabled, target.deprovision = settings.base_url, settings.enabled, settings.deprovision
    if settings.token:
        target.token = encryption.encrypt(settings.token.encode("utf-8"))
    after = {"scim_base_url": target.base_url, "scim_token": "new" if settings.token else before["scim_token"],
             "provisioning": target.enabled, "deprovision": target.deprovision}
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changed:
        target.updated_at = now
        record_audit(tenant_id=app.tenant_id, actor=actor, action="app.update", target=app, now=now,
                     changes=changed, client=client)
    db.session.flush()
    if settings.enabled and not before["provisioning"]:
        changes.queue_reconcile(db.session(), app.tenant_id, app.id, now)
    return target


def request_sync(app, *, now, actor, client=NO_CLIENT):
    """Queue a full reconciliation (「今すぐ同期」); False when pushing is not on for the app."""
    target = target_of(app)
    if target is None or not target.enabled:
        return False
    record_audit(tenant_id=app.tenant_id, actor=actor, action="app.provisioning_sync", target=app, now=now,
                 client=client)
    changes.queue_reconcile(db.session(), app.tenant_id, app.id, now)
    return True


def counts(app_id):
    """{"pending": waiting or being sent, "failed": given up} for an app."""
    found = dict(db.session.execute(select(ProvisioningChange.state, func.count()).where(
        ProvisioningChange.app_id == app_id).group_by(ProvisioningChange.state)).all())
    return {"pending": found.get(PENDING, 0) + found.get(SENDING, 0), "failed": found.get(FAILED, 0)}


def failures(app, limit=FAILURES_SHOWN):
    """The latest changes that failed or wait for a retry after an error, newest first, with the app's error."""
    rows = db.session.execute(
        select(ProvisioningChange, Account.email).outerjoin(Account, (Account.subject == ProvisioningChange.subject)
                                                            & (Account.tenant_id == ProvisioningChange.tenant_id))
        .where(ProvisioningChange.app_id == app.id, ProvisioningChange.tenant_id == app.tenant_id,
               ProvisioningChange.last_error.is_not(None))
        .order_by(ProvisioningChange.created_at.desc(), ProvisioningChange.id.desc()).limit(limit)).all()
    return [{"id": row.id, "account": email or ("*" if row.subject == RECONCILE_SUBJECT else row.subject),
             "operation": row.operation, "state": row.state, "attempts": row.attempts,
             "created_at": row.created_at, "next_attempt_at": row.next_attempt_at if row.state != FAILED else None,
             "error": row.last_error} for row, email in rows]


def status(app):
    """Everything the app page's provisioning section shows, as plain values."""
    target = target_of(app)
    values = {"configured": target is not None, "enabled": False, "base_url": "", "token_set": False,
              "deprovision": DEACTIVATE, "last_sync_at": None, "last_error": None}
    if target is not None:
        values.update(enabled=target.enabled, base_url=target.base_url, token_set=bool(target.token),
                      deprovision=target.deprovision, last_sync_at=target.last_sync_at, last_error=target.last_error)
    values.update(counts(app.id), failures=failures(app) if target is not None else [])
    return values
