"""Password login: one verification per attempt whatever the outcome, and a login event.

Flow (the views call `authenticate`, then `sessions.start` on success):
  locked (30 min after 5 failures) -> LOCKED, whatever the password
  unknown email      -> dummy verification; counts towards a phantom lock
  wrong password     -> INVALID_CREDENTIALS (the 5th in a row: LOCKED)
  right password but the account may not log in -> a specific reason (safe:
                        only someone who knows the password learns it)
  success            -> counter reset, last login updated, rehash if outdated
  success, MFA required by policy -> second_factor=True; the counter and the
                        success event wait for the code (idp/authn/second_factor.py calls `complete`)
Unknown and known emails get the same answers, in about the same time.
"""
from dataclasses import dataclass
from typing import Optional

from idp.authn import lockout
from idp.authn.mfa import policy as mfa_policy
from idp.directory.account_state import login_block_reason
from idp.directory.accounts import find_by_email
from idp.directory.passwords import burn_time, hash_password, verify_password
from idp.logs.audit import record_login
from idp.models import Account
from idp.platform import ratelimit
from idp.platform.email_address import normalize_email
from idp.platform.persistence import insert_now

INVALID_CREDENTIALS = "invalid_credentials"
LOCKED = "locked"


@dataclass
class LoginResult:
    account: Optional[Account] = None
    error: Optional[str] = None
    second_factor: bool = False  # password ok; the login goes on with MFA (idp/authn/second_factor.py)

    @property
    def ok(self):
        return self.error is None


def authenticate(email, password, *, now, client):
    email = (email or "").strip()
    password = password or ""
    ratelimit.guard("login", client=client, account=normalize_email(email[:254]), login_id=email, now=now)
    if not email or not password or len(email) > 254 or len(password) > 1024:
        burn_time(password[:1024])
        record_login(result="failure", reason="missing_input", login_id=email[:254], now=now, client=client)
        return LoginResult(error=INVALID_CREDENTIALS)
    account = find_by_email(email)
    if account is None:
        return _unknown_account(email, password, now, client)
    if lockout.is_locked(account, now):
        burn_time(password)
        record_login(result="failure", reason="locked", account=account, now=now, client=client)
        return LoginResult(error=LOCKED)
    ok, needs_rehash = verify_password(account.password_hash, password)
    if not ok:
        locked = lockout.register_failure(account, now)
        record_login(result="failure", reason="bad_password", account=account, now=now, client=client)
        return LoginResult(error=LOCKED if locked else INVALID_CREDENTIALS)
    blocked = login_block_reason(account, now)
    if blocked:
        record_login(result="failure", reason=blocked, account=account, now=now, client=client)
        return LoginResult(error=blocked)
    if needs_rehash:
        account.password_hash = hash_password(password)
    if mfa_policy.required_for(account):  # the failure count stays until the code (idp/authn/second_factor.py)
        return LoginResult(account=account, second_factor=True)
    complete(account, now=now, client=client)
    return LoginResult(account=account)


def complete(account, *, now, client):
    """Every credential of the login checked: reset the counter, note the login, record the event."""
    lockout.register_success(account)
    account.previous_login_at = account.last_login_at
    account.last_login_at = now
    insert_now(record_login(result="success", account=account, now=now, client=client))  # no flush bookkeeping


def record_rate_limited(event):
    """Keep a refused (HTTP 429) attempt as a login event, attributed to the account if the ID is known."""
    account = find_by_email(event["login_id"]) if event.get("login_id") else None
    record_login(account=account, **event)


def _unknown_account(email, password, now, client):
    burn_time(password)
    record = lockout.unknown_record(email, now, create=True)
    already = lockout.is_locked(record, now)
    locked = already or lockout.register_failure(record, now)
    record_login(result="failure", reason="unknown_account", login_id=email, now=now, client=client)
    return LoginResult(error=LOCKED if locked else INVALID_CREDENTIALS)
