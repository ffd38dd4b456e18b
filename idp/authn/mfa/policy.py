"""Who needs a second factor: a mode per tenant, optionally overridden per group.

Modes: `off`, `totp` (required, authenticator app), `sms` (required, SMS code),
`any` (required, the user's choice; a passkey counts), `passkey` (required, a passkey:
the first login after the password enrols one). A tenant without a row is `off`. A group
override wins over the tenant's mode; `inherit` removes a group's override.
Owners never use MFA here (they are not accounts). Changes are audit events.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import MfaPolicy
from idp.platform import config_cache
from idp.platform.errors import ValidationError
from idp.platform.extensions import db

OFF, TOTP, SMS, ANY, PASSKEY = "off", "totp", "sms", "any", "passkey"
MODES = (OFF, TOTP, SMS, ANY, PASSKEY)
INHERIT = "inherit"


def _row(tenant, group):
    query = select(MfaPolicy).where(MfaPolicy.tenant_id == tenant.id)
    query = query.where(MfaPolicy.group_id == group.id) if group is not None else query.where(
        MfaPolicy.group_id.is_(None))
    return db.session.scalar(query)


def get_policy(tenant, *, group=None):
    """The tenant's mode (default `off`), or a group's override (None when it has none)."""
    row = _row(tenant, group)
    if row is not None:
        return row.mode
    return None if group is not None else OFF


def set_policy(tenant, mode, *, group=None, now, actor, client=NO_CLIENT):
    """Set the tenant's mode, or a group's override (`inherit` removes the override)."""
    allowed = MODES + ((INHERIT,) if group is not None else ())
    if mode not in allowed:
        raise ValidationError({"mode": [_l("二段階認証の設定が正しくありません。")]},
                              detail=f"unknown MFA mode {mode!r}")
    if group is not None and group.tenant_id != tenant.id:
        raise ValidationError({"group": [_l("グループが見つかりません。")]}, detail="group of another tenant")
    row = _row(tenant, group)
    before = row.mode if row is not None else (None if group is not None else OFF)
    if mode == INHERIT:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(MfaPolicy(tenant_id=tenant.id, group_id=group.id if group else None, mode=mode,
                                 updated_at=now))
    else:
        row.mode, row.updated_at = mode, now
    record_audit(tenant_id=tenant.id, actor=actor, action="mfa.policy_set", now=now,
                 target=group if group is not None else tenant,
                 changes={"mode": [before, None if mode == INHERIT else mode]}, client=client)


def list_overrides(tenant):
    """{group_id: mode} of the groups that override the tenant's mode."""
    rows = db.session.scalars(select(MfaPolicy).where(MfaPolicy.tenant_id == tenant.id,
                                                      MfaPolicy.group_id.is_not(None)))
    return {row.group_id: row.mode for row in rows}


def _modes(tenant_id):
    """{group id, or None for the tenant: mode}, from this process's copy of the tenant's
    configuration (idp.platform.config_cache: a policy change bumps the tenant's version in its transaction)."""
    return config_cache.cached(tenant_id, "mfa_modes", lambda: {
        row.group_id: row.mode for row in db.session.scalars(select(MfaPolicy).where(
            MfaPolicy.tenant_id == tenant_id))})


def effective_mode(account):
    """The mode that applies to `account`: its group's override, else its tenant's mode."""
    modes = _modes(account.tenant_id)
    return modes.get(account.group_id) or modes.get(None) or OFF


def required_for(account):
    return effective_mode(account) != OFF


def needs_step_up(sso_session):
    """True when the policy now requires MFA for the session's account but the session was opened
    without it (it started before MFA became required, or before the account moved to such a group).

    What users of Okta and Keycloak expect: the session is not ended, but the next sign-in to an app
    (OIDC authorization, SAML SSO) asks for the password and the second factor (enrolling it if
    needed) before anything is issued; the portal itself stays usable. The protocol entry points
    treat a True here like a missing session (a re-authentication, `reauth=1`)."""
    if sso_session is None or "mfa" in (sso_session.amr or "").split():
        return False
    return required_for(sso_session.account)
