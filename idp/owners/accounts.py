"""Owners (契約者): contract login, first-login activation and password reset by mail.

Flow (the `contract` blueprint calls these, then `owner_sessions.start` on success):
  authenticate(email, password) -> the rules of staff logins: one verification
      per attempt, 5 failures lock for 30 minutes (unknown emails get a phantom
      lock), the same answer for unknown and known emails; then the owner-only
      reasons (not activated yet, contract terminated).
  activation link (24 h, in the service-start mail) and reset link (30 min, the
      seed's rule for the contract login): single use, `set_password_by_link`
      sets the password; a reset also ends every owner session.
  request_reset(email) -> the same outcome whoever asks; mails only a live owner.
Owners are not accounts: nothing here opens a staff session.
"""
from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.authn import lockout
from idp.directory import links
from idp.directory.passwords import burn_time, hash_password, policy_errors, verify_password
from idp.logs.audit import Actor, record_audit, record_login
from idp.models import Owner
from idp.owners import sessions as owner_sessions
from idp.platform import mail, ratelimit
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.urls import external_url

INVALID_CREDENTIALS = "invalid_credentials"
LOCKED = "locked"
NOT_ACTIVATED = "not_activated"
TENANT_TERMINATED = "tenant_terminated"
LOGIN_TARGET = "contract"
LINK_PATHS = {links.OWNER_ACTIVATION: "/contract/activate/", links.OWNER_PASSWORD_RESET: "/contract/password/reset/"}
ANONYMOUS = Actor("anonymous", None, "")


@dataclass
class OwnerLoginResult:
    owner: Optional[Owner] = None
    error: Optional[str] = None

    @property
    def ok(self):
        return self.error is None


def actor_of(owner):
    return Actor("owner", owner.id, owner.email)


def rate_limit_key(email):
    """Owner attempts count apart from staff logins with the same address."""
    return "owner:" + normalize_email(email)


def find_by_email(email):
    """The owner with this address (owner addresses are unique IdP-wide)."""
    return db.session.scalar(select(Owner).where(Owner.email_normalized == normalize_email(email))
                             .order_by(Owner.id))


def email_in_use(email):
    return find_by_email(email) is not None


def authenticate(email, password, *, now, client):
    email = (email or "").strip()[:254]
    password = (password or "")[:1024]
    ratelimit.guard("login", client=client, account=rate_limit_key(email), login_id=email, now=now)
    owner = find_by_email(email) if email and password else None
    if owner is None:
        return _unknown_owner(email, password, now, client)
    if lockout.is_locked(owner, now):
        burn_time(password)
        return _failure(owner, LOCKED, now, client)
    ok, needs_rehash = verify_password(owner.password_hash, password)
    if not ok:
        locked = lockout.register_failure(owner, now)
        _failure(owner, "bad_password", now, client)
        return OwnerLoginResult(error=LOCKED if locked else INVALID_CREDENTIALS)
    if not owner.tenant.is_active:
        return _failure(owner, TENANT_TERMINATED, now, client)
    if needs_rehash:
        owner.password_hash = hash_password(password)
    lockout.register_success(owner)
    owner.last_login_at = now
    record_login(result="success", tenant_id=owner.tenant_id, login_id=owner.email, target=LOGIN_TARGET,
                 now=now, client=client)
    return OwnerLoginResult(owner=owner)


def _failure(owner, reason, now, client):
    record_login(result="failure", reason=reason, tenant_id=owner.tenant_id, login_id=owner.email,
                 target=LOGIN_TARGET, now=now, client=client)
    return OwnerLoginResult(error=reason if reason in (LOCKED, TENANT_TERMINATED) else INVALID_CREDENTIALS)


def _unknown_owner(email, password, now, client):
    burn_time(password)
    reason = "unknown_account" if email and password else "missing_input"
    locked = False
    if email:
        record = lockout.unknown_record(rate_limit_key(email), now, create=True)
        locked = lockout.is_locked(record, now) or lockout.register_failure(record, now)
    record_login(result="failure", reason=reason, login_id=email, target=LOGIN_TARGET, now=now, client=client)
    return OwnerLoginResult(error=LOCKED if locked else INVALID_CREDENTIALS)


def link_url(purpose, raw_token):
    return external_url(LINK_PATHS[purpose] + raw_token)


def issue_activation(owner, now):
    """A first-login link (24 h) for the service-start mail."""
    return link_url(links.OWNER_ACTIVATION, links.issue(owner, links.OWNER_ACTIVATION, now))


def owner_for_link(raw_token, purpose, now):
    """The owner of a live activation/reset link, or None (also once the contract has ended)."""
    token = _live_token(raw_token, purpose, now)
    return token.owner if token else None


def _live_token(raw_token, purpose, now):
    token = links.find_usable(raw_token, purpose, now)
    if token is None or not token.owner.tenant.is_active:
        return None
    return token


def set_password_by_link(raw_token, purpose, *, password, confirm, now, client):
    """Set the owner's password through an activation or reset link; the link is then spent."""
    token = _live_token(raw_token, purpose, now)
    if token is None:
        raise ServiceError(_l("このリンクは有効期限が切れているか、すでに使用されています。"))
    owner = token.owner
    set_password(owner, password, confirm, now)
    links.consume(token, now)
    for other in LINK_PATHS:  # a pending link of the other kind must not overwrite this password
        links.retire(owner, other, now)
    if purpose == links.OWNER_PASSWORD_RESET:
        owner_sessions.end_all_for_owner(owner.id, now, reason="password_reset")
    action = "owner.activate" if purpose == links.OWNER_ACTIVATION else "owner.password_reset"
    record_audit(tenant_id=owner.tenant_id, actor=actor_of(owner), action=action, target=owner, now=now,
                 client=client)
    return owner


def set_password(owner, password, confirm, now):
    """Check the account password policy, then store the password (activated, lockout cleared)."""
    errors = policy_errors(password or "", confirm or "", owner.email)
    if errors:
        raise ValidationError({"password": errors})
    owner.password_hash = hash_password(password)
    owner.activated = True
    owner.failed_login_count = 0
    owner.locked_at = None
    owner.updated_at = now


def request_reset(email, *, now, client):
    """Mail a reset link (30 min) if `email` is a live owner; return nothing either way."""
    address = clean_email(email)
    ratelimit.guard("reset_request", client=client, account=rate_limit_key(address), login_id=address, now=now)
    owner = find_by_email(address)
    if owner is None or not owner.tenant.is_active:
        return
    url = link_url(links.OWNER_PASSWORD_RESET, links.issue(owner, links.OWNER_PASSWORD_RESET, now))
    record_audit(tenant_id=owner.tenant_id, actor=ANONYMOUS, action="owner.password_reset_request",
                 target=owner, now=now, client=client)
    mail.send_after_commit(db.session, mail.build_message(
        owner.email, "owner_password_reset", owner=owner, tenant=owner.tenant, reset_url=url))
