"""Password login: one verification per account of the address whatever the outcome, and login events.

An address may be an account in several tenants (idp/models/account.py). With `tenant` (the tenant's
login page `/t/{tenant}/login`, where the protocols send their browsers) only that tenant's account
counts, as if the others did not exist. Without it (`/login`) the password is checked against each
account of the address, and the result names the ones it opened: one goes on at once; several are
`choices`, and the person picks the company (`choose`). Nothing is told about the others.

Flow (the views call `authenticate`, then `sessions.start` on success):
  unknown email      -> dummy verification; counts towards a phantom lock
  wrong password     -> each account counts a failure (the 5th in a row: locked); INVALID_CREDENTIALS,
                        or LOCKED once every account of the address is locked
  right password but the account is locked (30 min after 5 failures) -> LOCKED
  right password but the account may not log in -> a specific reason (safe:
                        only someone who knows the password learns it)
  success            -> counter reset, last login updated, rehash if outdated
  success, MFA required by policy -> second_factor=True; the counter and the
                        success event wait for the code (idp/authn/second_factor.py calls `complete`)
Unknown and known emails get the same answers, in about the same time.
"""
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select

from idp.authn import credentials, lockout
from idp.authn.mfa import policy as mfa_policy
from idp.directory.account_state import login_block_reason
from idp.directory.accounts import with_email
from idp.directory.passwords import burn_time, hash_password
from idp.logs.audit import record_login
from idp.models import Account, Tenant
from idp.platform import ratelimit
from idp.platform.email_address import normalize_email
from idp.platform.extensions import db
from idp.platform.persistence import insert_now

INVALID_CREDENTIALS = "invalid_credentials"
LOCKED = credentials.LOCKED


@dataclass
class LoginResult:
    account: Optional[Account] = None
    error: Optional[str] = None
    second_factor: bool = False  # password ok; the login goes on with MFA (idp/authn/second_factor.py)
    choices: tuple = ()  # the password opened accounts in several tenants: the person picks one (`choose`)

    @property
    def ok(self):
        """Signed in (or on to the second factor): no error, and no company left to choose."""
        return self.error is None and not self.choices


def authenticate(email, password, *, now, client, tenant=None):
    email = (email or "").strip()
    password = password or ""
    tenant_id = tenant.id if tenant is not None else None
    ratelimit.guard("login", client=client, account=normalize_email(email[:254]), login_id=email, now=now,
                    tenant_id=tenant_id)
    if not email or not password or len(email) > 254 or len(password) > 1024:
        burn_time(password[:1024])
        record_login(result="failure", reason="missing_input", login_id=email[:254], tenant_id=tenant_id, now=now,
                     client=client)
        return LoginResult(error=INVALID_CREDENTIALS)
    candidates = with_email(email, tenant_id)
    if not candidates:
        return _unknown_account(email, password, tenant_id, now, client)
    opened = credentials.opened_by(candidates, password)
    if not opened:
        all_locked = credentials.count_wrong_password(candidates, now, lambda account, reason: record_login(
            result="failure", reason=reason, account=account, now=now, client=client))
        return LoginResult(error=LOCKED if all_locked else INVALID_CREDENTIALS)
    usable = []
    for account, rehash in opened:
        reason = LOCKED if lockout.is_locked(account, now) else login_block_reason(account, now)
        if reason:
            record_login(result="failure", reason=reason, account=account, now=now, client=client)
            continue
        if rehash:
            account.password_hash = hash_password(password)
        usable.append(account)
    if not usable:
        first = opened[0][0]
        return LoginResult(error=LOCKED if lockout.is_locked(first, now) else login_block_reason(first, now))
    if len(usable) > 1:
        return LoginResult(choices=tuple(usable))
    return proceed(usable[0], now=now, client=client)


def choose(account_id, *, now, client):
    """Go on with the account the person picked among `choices` (the view keeps which ones they were)."""
    result = chosen(account_id, now=now, client=client)
    return proceed(result.account, now=now, client=client) if result.error is None else result


def chosen(account_id, *, now, client):
    """The picked account if it may still log in (not locked, not blocked meanwhile), else the reason."""
    account = db.session.get(Account, account_id)
    if account is None:
        return LoginResult(error=INVALID_CREDENTIALS)
    reason = LOCKED if lockout.is_locked(account, now) else login_block_reason(account, now)
    if reason:
        record_login(result="failure", reason=reason, account=account, now=now, client=client)
        return LoginResult(error=reason)
    return LoginResult(account=account)


def companies(account_ids):
    """(account id, company name) of the offered accounts, oldest tenant first: what the choice page shows."""
    return db.session.execute(select(Account.id, Tenant.company_name).join(Tenant, Account.tenant_id == Tenant.id)
                              .where(Account.id.in_(account_ids)).order_by(Account.tenant_id)).all()


def proceed(account, *, now, client):
    """The password of `account` is right and it may log in: the second factor if the policy asks, else done."""
    if mfa_policy.required_for(account):  # the failure count stays until the code (idp/authn/second_factor.py)
        return LoginResult(account=account, second_factor=True)
    complete(account, now=now, client=client)
    return LoginResult(account=account)


def complete(account, *, now, client, method="password"):
    """Every credential of the login checked: reset the counter, note the login, record the event."""
    lockout.register_success(account)
    account.previous_login_at = account.last_login_at
    account.last_login_at = now
    insert_now(record_login(result="success", account=account, now=now, client=client,
                            protocol=method))  # no flush bookkeeping


def record_rate_limited(event):
    """Keep a refused (HTTP 429) attempt as a login event, attributed to the accounts of the ID if known
    (in the tenant of the page, if it named one)."""
    tenant_id = event.pop("tenant_id", None)
    found = with_email(event["login_id"], tenant_id) if event.get("login_id") else []
    for account in found or [None]:
        record_login(account=account, tenant_id=tenant_id, **event)


def _unknown_account(email, password, tenant_id, now, client):
    burn_time(password)
    # a tenant's login page keeps its own phantom counter: it answers as if the other tenants did not exist
    record = lockout.unknown_record(email if tenant_id is None else f"tenant:{tenant_id}:{email}", now, create=True)
    already = lockout.is_locked(record, now)
    locked = already or lockout.register_failure(record, now)
    record_login(result="failure", reason="unknown_account", login_id=email, tenant_id=tenant_id, now=now,
                 client=client)
    return LoginResult(error=LOCKED if locked else INVALID_CREDENTIALS)
