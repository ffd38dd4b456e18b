"""Owners (契約者): contract login, first-login activation and password reset by mail.

Flow (the `contract` blueprint calls these, then `owner_sessions.start` on success):
  authenticate(email, password) -> the rules of staff logins: one verification
      per contract of the address, 5 failures lock for 30 minutes (unknown emails
      get a phantom lock), the same answer for unknown and known emails; then the
      owner-only reason (contract terminated); several opened contracts: `choices`.
  activation link (24 h, in the service-start mail) and reset link (30 min, the
      seed's rule for the contract login): single use, `set_password_by_link`
      sets the password; a reset also ends every owner session.
  request_reset(email) -> the same outcome whoever asks; mails only live owners (one
      mail, one link per company, when the address holds several contracts).
Owners are not accounts: nothing here opens a staff session.
"""
from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.authn import credentials, lockout
from idp.directory import links
from idp.directory.passwords import burn_time, hash_password, policy_errors
from idp.logs.audit import Actor, record_audit, record_login
from idp.models import Owner, Tenant
from idp.owners import sessions as owner_sessions
from idp.platform import mail, ratelimit
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.urls import external_url

INVALID_CREDENTIALS = "invalid_credentials"
LOCKED = credentials.LOCKED
NOT_ACTIVATED = "not_activated"
TENANT_TERMINATED = "tenant_terminated"
LOGIN_TARGET = "contract"
LINK_PATHS = {links.OWNER_ACTIVATION: "/contract/activate/", links.OWNER_PASSWORD_RESET: "/contract/password/reset/"}
ANONYMOUS = Actor("anonymous", None, "")


@dataclass
class OwnerLoginResult:
    owner: Optional[Owner] = None
    error: Optional[str] = None
    choices: tuple = ()  # the password opened the contracts of several companies: the owner picks one

    @property
    def ok(self):
        """Signed in (or on to the second factor): no error, and no company left to choose."""
        return self.error is None and not self.choices


def actor_of(owner):
    return Actor("owner", owner.id, owner.email)


def rate_limit_key(email):
    """Owner attempts count apart from staff logins with the same address."""
    return "owner:" + normalize_email(email)


def with_email(email):
    """The owners with this address (one per tenant; an address may hold several companies' contracts)."""
    return db.session.scalars(select(Owner).where(Owner.email_normalized == normalize_email(email))
                              .order_by(Owner.tenant_id)).all()


def authenticate(email, password, *, now, client):
    """The staff login's rules (idp/authn/login.py) for owners: each contract of the address checked,
    several opened ones are `choices`, then `choose`."""
    email = (email or "").strip()[:254]
    password = (password or "")[:1024]
    ratelimit.guard("login", client=client, account=rate_limit_key(email), login_id=email, now=now)
    found = with_email(email) if email and password else []
    if not found:
        return _unknown_owner(email, password, now, client)
    opened = credentials.opened_by(found, password)
    if not opened:
        all_locked = credentials.count_wrong_password(
            found, now, lambda owner, reason: _failure(owner, reason, now, client))
        return OwnerLoginResult(error=LOCKED if all_locked else INVALID_CREDENTIALS)
    usable = []
    for owner, needs_rehash in opened:
        reason = _block_reason(owner, now)
        if reason:
            _failure(owner, reason, now, client)
            continue
        if needs_rehash:
            owner.password_hash = hash_password(password)
        usable.append(owner)
    if not usable:
        return OwnerLoginResult(error=_block_reason(opened[0][0], now))
    if len(usable) > 1:
        return OwnerLoginResult(choices=tuple(usable))
    return success(usable[0], now, client)


def companies(owner_ids):
    """(owner id, company name) of the offered contracts, oldest tenant first: what the choice page shows."""
    return db.session.execute(select(Owner.id, Tenant.company_name).join(Tenant, Owner.tenant_id == Tenant.id)
                              .where(Owner.id.in_(owner_ids)).order_by(Owner.tenant_id)).all()


def choose(owner_id, *, now, client, protocol="password"):
    """Go on with the company's contract the owner picked among `choices` (of a password or a federated login)."""
    owner = db.session.get(Owner, owner_id)
    if owner is None:
        return OwnerLoginResult(error=INVALID_CREDENTIALS)
    reason = _block_reason(owner, now)
    if reason:
        return _failure(owner, reason, now, client, protocol)
    return success(owner, now, client, protocol)


def _block_reason(owner, now):
    if lockout.is_locked(owner, now):
        return LOCKED
    return None if owner.tenant.is_active else TENANT_TERMINATED


def success(owner, now, client, protocol="password"):
    lockout.register_success(owner)
    owner.last_login_at = now
    record_login(result="success", tenant_id=owner.tenant_id, login_id=owner.email, target=LOGIN_TARGET,
                 protocol=protocol, now=now, client=client)
    return OwnerLoginResult(owner=owner)


def _failure(owner, reason, now, client, protocol="password"):
    record_login(result="failure", reason=reason, tenant_id=owner.tenant_id, login_id=owner.email,
                 target=LOGIN_TARGET, protocol=protocol, now=now, client=client)
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
    """Mail reset links (30 min) if `email` is a live owner; return nothing either way. An owner of several
    companies gets one mail with one link per company."""
    address = clean_email(email)
    ratelimit.guard("reset_request", client=client, account=rate_limit_key(address), login_id=address, now=now)
    resets = []
    for owner in with_email(address):
        if not owner.tenant.is_active:
            continue
        url = link_url(links.OWNER_PASSWORD_RESET, links.issue(owner, links.OWNER_PASSWORD_RESET, now))
        record_audit(tenant_id=owner.tenant_id, actor=ANONYMOUS, action="owner.password_reset_request",
                     target=owner, now=now, client=client)
        resets.append(MailedLink(owner, url))
    if resets:
        mail.send_after_commit(db.session, mail.build_message(resets[0].owner.email, "owner_password_reset",
                                                              resets=resets))


@dataclass(frozen=True)
class MailedLink:
    owner: Owner
    url: str
