"""Password login: one verification per attempt whatever the outcome, and a login event.

Flow (the views call `authenticate`, then `sessions.start` on success):
  unknown email      -> dummy hash verification, generic failure
  wrong password     -> generic failure (same message, about the same time)
  right password but the account may not log in -> a specific reason (safe:
                        only someone who knows the password learns it)
  success            -> counters reset, last login updated, rehash if outdated
"""
from dataclasses import dataclass
from typing import Optional

from .accounts import find_by_email
from .accounts_state import login_block_reason
from .audit import record_login
from .models import Account
from .passwords import burn_time, hash_password, verify_password

INVALID_CREDENTIALS = "invalid_credentials"


@dataclass
class LoginResult:
    account: Optional[Account] = None
    error: Optional[str] = None

    @property
    def ok(self):
        return self.error is None


def authenticate(email, password, *, now, client):
    email = (email or "").strip()
    password = password or ""
    if not email or not password or len(email) > 254 or len(password) > 1024:
        burn_time(password[:1024])
        record_login(result="failure", reason="missing_input", login_id=email[:254], now=now, client=client)
        return LoginResult(error=INVALID_CREDENTIALS)
    account = find_by_email(email)
    if account is None:
        burn_time(password)
        record_login(result="failure", reason="unknown_account", login_id=email, now=now, client=client)
        return LoginResult(error=INVALID_CREDENTIALS)
    ok, needs_rehash = verify_password(account.password_hash, password)
    if not ok:
        account.failed_login_count += 1
        record_login(result="failure", reason="bad_password", account=account, now=now, client=client)
        return LoginResult(error=INVALID_CREDENTIALS)
    blocked = login_block_reason(account, now)
    if blocked:
        record_login(result="failure", reason=blocked, account=account, now=now, client=client)
        return LoginResult(error=blocked)
    if needs_rehash:
        account.password_hash = hash_password(password)
    account.failed_login_count = 0
    account.previous_login_at = account.last_login_at
    account.last_login_at = now
    record_login(result="success", account=account, now=now, client=client)
    return LoginResult(account=account)
