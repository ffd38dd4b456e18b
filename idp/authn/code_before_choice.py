"""The second factor before the company's choice (an address with accounts in several tenants).

When the password opens several accounts (idp/authn/login.py `choices`), a company is named to the
person only once its account is authenticated as its policy asks:
- `ready`: no second factor is due, or none is enrolled yet (the enrolment comes after the choice,
  as for a single company: the password is what lets a new user set up a factor);
- `guarded`: the policy requires MFA and a factor is enrolled. One code page comes first, naming no
  company: the code (authenticator app, SMS, or a recovery code) is checked against each guarded
  account's factor, and those that accept it join the choice. A wrong code counts as one failure for
  each guarded account (the lockout counter shared with passwords), as a wrong password does.
SMS: one code per number, valid for each guarded account with that number (`send_sms`).
After the choice, `finish` completes a verified account's login (its `amr` says which factor), or opens
its half-done login at a new method's enrolment when the policy asks for another one.
"""
from idp.authn import lockout, login, second_factor
from idp.authn.mfa import policy as mfa_policy
from idp.authn.mfa import sms as mfa_sms
from idp.authn.mfa.policy import SMS
from idp.logs.audit import record_login
from idp.models import Account
from idp.platform import ratelimit, sms
from idp.platform.extensions import db


def guarded(accounts):
    """The accounts whose company waits for a second factor before it is offered."""
    return [account for account in accounts
            if mfa_policy.required_for(account) and second_factor.factor_of(account) is not None]


def accounts(ids):
    """The accounts of the ids kept in the browser's form session (those deleted meanwhile left out)."""
    return [account for account in (db.session.get(Account, i) for i in ids) if account is not None]


def _sms_holders(accounts):
    """{number: [accounts]} of the SMS factors among `accounts`."""
    holders = {}
    for account in accounts:
        factor = second_factor.factor_of(account)
        if factor is not None and factor.method == SMS:
            holders.setdefault(factor.phone, []).append(account)
    return holders


def masked_numbers(accounts):
    return [sms.mask(number) for number in _sms_holders(accounts)]


def send_sms(accounts, now):
    """One code to each number of the accounts' SMS factors; the first refusal (SmsThrottled, SmsNotSent)
    is raised only when no SMS at all went out."""
    sent, refusal = 0, None
    for number, holders in _sms_holders(accounts).items():
        try:
            mfa_sms.send_code(holders[0], number, now, also=holders[1:])
            sent += 1
        except (mfa_sms.SmsThrottled, mfa_sms.SmsNotSent) as exc:
            refusal = refusal or exc
    if not sent and refusal is not None:
        raise refusal
    return sent


def verify(accounts, code, *, now, client, sms_since):
    """Check `code` against each guarded account's factor: ({account id: kind} accepted, error or None)."""
    code = (code or "").strip()[:64]
    live = [account for account in accounts if not lockout.is_locked(account, now)]
    for account in live:
        ratelimit.guard("code", client=client, account=f"account:{account.id}", login_id=account.email, now=now)
    accepted = {}
    for account in live:
        kind = second_factor.check_factor(account, second_factor.factor_of(account), code, now, sms_since)
        if kind is not None:
            accepted[account.id] = kind
    if accepted:
        return accepted, None
    locked = []
    for account in live:
        locked.append(lockout.register_failure(account, now))
        record_login(result="failure", reason="bad_code", account=account, now=now, client=client,
                     protocol=second_factor.factor_of(account).method)
    return {}, (second_factor.LOCKED if all(locked) else second_factor.INVALID_CODE)


def finish(account, kind, *, now, client, next_url):
    """The chosen account's factor was checked before the choice: (amr, None) once the login is complete,
    or (None, half-done login token) when the policy now asks for another method to enrol."""
    if second_factor.needs_new_method(account):
        return None, second_factor.begin(account, now, next_url, factor_verified=True)
    login.complete(account, now=now, client=client, method=kind)
    return second_factor.AMR[kind], None
