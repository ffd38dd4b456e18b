"""Password reset through an emailed link ("パスワードを忘れた方はこちら").

Flow (the `password_reset` blueprint calls these):
  request_reset(email)   -> the same outcome whoever asks: for each account of the
                            address that may reset (one per tenant), the earlier
                            link is retired, a new one (24 h, single use) is issued,
                            and one mail after commit carries them all;
                            for an unknown email, or an account that may not
                            log in (disabled, out of validity, tenant
                            terminated), nothing is mailed. No password hashing
                            on either path, so the timing says nothing either.
  account_for_reset(raw) -> the account of a live link (the form page), or None
  reset_password(raw)    -> policy check, new password, account activated
                            (the mail proved the mailbox), lockout cleared,
                            every sign-in ended (`end_all_sign_ins`), link spent.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from idp.authn import lockout, sessions
from idp.directory import links
from idp.directory.account_state import NOT_ACTIVATED, login_block_reason
from idp.directory.accounts import set_password_by_link, with_email
from idp.logs.audit import Actor, record_audit
from idp.platform import mail, ratelimit, signals
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import ServiceError
from idp.platform.extensions import db
from idp.platform.urls import external_url

PURPOSE = links.PASSWORD_RESET
END_REASON = "password_reset"
MAIL_TEMPLATE = "password_reset"
# Login-block reasons that still allow a reset (None: the account may log in).
RESETTABLE = (None, NOT_ACTIVATED)
# Whoever submits the form is not signed in: the request is theirs, not the account's.
REQUESTER = Actor("anonymous", None, "")


def reset_url(raw_token):
    return external_url(f"/password/reset/{raw_token}")


def may_reset(account, now):
    """A reset must not open an account that could not log in afterwards; never activated is fine."""
    return login_block_reason(account, now) in RESETTABLE


def request_reset(email, *, now, client):
    """Mail reset links if `email` belongs to accounts that may reset; return nothing either way.

    An address with accounts in several tenants gets one mail with one link per company (each link
    resets that tenant's account only). Raises ValidationError only for an empty or malformed address
    (says nothing about accounts).
    """
    address = clean_email(email)
    ratelimit.guard("reset_request", client=client, account=normalize_email(address), login_id=address, now=now)
    resets = []
    for account in with_email(address):
        blocked = login_block_reason(account, now)
        allowed = blocked in RESETTABLE
        record_audit(tenant_id=account.tenant_id, actor=REQUESTER, action="password.reset_request",
                     target=account, now=now, client=client,
                     changes={"mail_sent": allowed, "blocked": blocked or ""})
        if allowed:
            resets.append(MailedLink(account, reset_url(links.issue(account, PURPOSE, now))))
    if resets:
        mail.send_after_commit(db.session, mail.build_message(resets[0].account.email, MAIL_TEMPLATE, resets=resets))


@dataclass(frozen=True)
class MailedLink:
    account: object
    url: str


def account_for_reset(raw_token, now):
    """The account a live reset link belongs to, or None (unknown, expired, used, or may no longer reset)."""
    token = _usable_token(raw_token, now)
    return token.account if token else None


def reset_password(raw_token, *, password, confirm, now, client, browser_session=None):
    """Set a new password through a reset link; the link is then spent.

    `browser_session` is the SSO session of the browser that uses the link (if any):
    it ends too, whichever account it belongs to, so that browser starts at the login page.
    """
    token = _usable_token(raw_token, now)
    if token is None:
        raise ServiceError(_l("このリンクは有効期限が切れているか、すでに使用されています。"))
    account = token.account
    changes = {"was_locked": lockout.is_locked(account, now), "activated": not account.activated}
    set_password_by_link(token, password=password, confirm=confirm, now=now)
    account.failed_login_count = 0
    account.locked_at = None
    links.retire(account, links.ACTIVATION, now)  # a pending activation link must not overwrite it
    end_all_sign_ins(account, now)
    if browser_session is not None:
        sessions.end(browser_session, now, reason=END_REASON)
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="password.reset",
                 target=account, now=now, changes=changes, client=client)
    return account


def end_all_sign_ins(account, now):
    """End everything signed in as `account` after its password was reset: its SSO sessions
    (subscribers send back-channel logouts) and, through the signal, its refresh tokens."""
    sessions.end_all_for_account(account.id, now, reason=END_REASON)
    signals.credentials_changed.send(account, reason=END_REASON, now=now)


def _usable_token(raw_token, now):
    token = links.find_usable(raw_token, PURPOSE, now)
    if token is None or not may_reset(token.account, now):
        return None
    return token
