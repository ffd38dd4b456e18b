"""Server-side SSO sessions: absolute lifetime 10 h, several per account allowed.

The browser holds a random token; the table holds its SHA-256, so a database
read does not yield usable cookies. A session stops working as soon as its
account may no longer log in (disabled, out of validity, tenant terminated).
"""
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from idp.directory.account_state import login_block_reason
from idp.models import Account, SsoSession
from idp.platform import signals
from idp.platform.extensions import db
from idp.platform.persistence import insert_now
from idp.platform.random_tokens import digest, new_token

SSO_LIFETIME = timedelta(hours=10)


def start(account, now, client, amr=("pwd",)):
    """Open a new session for `account`; return (raw_token, session)."""
    raw = new_token()
    session = SsoSession(
        token_hash=digest(raw), sid=new_token(24), tenant_id=account.tenant_id, account_id=account.id,
        auth_time=now, amr=" ".join(amr), created_at=now, expires_at=now + SSO_LIFETIME,
        ip=client.ip[:45], user_agent=client.user_agent[:400],
    )
    insert_now(session)  # one INSERT now, not the unit of work's flush at the commit (every login)
    return raw, session


def resolve(raw, now):
    """The live session for a cookie value, or None."""
    if not raw or len(raw) > 200:
        return None
    session = db.session.scalar(_BY_TOKEN_HASH, {"token_hash": digest(raw)})
    if session is None or session.ended_at is not None or now >= session.expires_at:
        return None
    if login_block_reason(session.account, now) is not None:
        return None
    return session


# Built once; the account (its state is checked on every request) and its group (SAML attributes, ID
# token claims) come in the same statement.
_BY_TOKEN_HASH = select(SsoSession).options(joinedload(SsoSession.account).joinedload(Account.group)).where(
    SsoSession.token_hash == bindparam("token_hash"))


def end(session, now, reason="logout"):
    end_many([session], now, reason)


def end_many(sso_sessions, now, reason):
    """End the given sessions; subscribers (back-channel logout) hear about the ones that were live."""
    ended = []
    for session in sso_sessions:
        if session.ended_at is None:
            session.ended_at = now
            session.end_reason = reason
            ended.append(session)
    if ended:
        db.session.flush()
        signals.sessions_ended.send(ended, reason=reason, now=now)
    return ended


def live_for_account(account_id, now):
    return db.session.scalars(
        select(SsoSession).where(SsoSession.account_id == account_id, SsoSession.ended_at.is_(None),
                                 SsoSession.expires_at > now)).all()


def end_all_for_account(account_id, now, reason, keep_session_id=None):
    """End every live session of an account (optionally keeping the current one)."""
    live = [s for s in live_for_account(account_id, now) if s.id != keep_session_id]
    return end_many(live, now, reason)
