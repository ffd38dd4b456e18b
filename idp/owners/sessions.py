"""Contract-login (owner) sessions: absolute lifetime 10 h, separate from staff SSO sessions.

The browser holds a random token in its own cookie (`idp_owner`, path /contract),
the table its SHA-256. A session stops working once the tenant is terminated or
the owner handed the contract over.
"""
from datetime import timedelta

from sqlalchemy import select

from idp.models.owner import OwnerSession
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token

LIFETIME = timedelta(hours=10)


def start(owner, now, client):
    """Open a session for `owner`; return (raw_token, session)."""
    raw = new_token()
    session = OwnerSession(token_hash=digest(raw), tenant_id=owner.tenant_id, owner_id=owner.id,
                           created_at=now, expires_at=now + LIFETIME, ip=client.ip[:45],
                           user_agent=client.user_agent[:400])
    db.session.add(session)
    return raw, session


def resolve(raw, now):
    """The live session for a cookie value, or None."""
    if not raw or len(raw) > 200:
        return None
    session = db.session.scalar(select(OwnerSession).where(OwnerSession.token_hash == digest(raw)))
    if session is None or session.ended_at is not None or now >= session.expires_at:
        return None
    if not session.owner.tenant.is_active:
        return None
    return session


def end(session, now, reason="logout"):
    if session.ended_at is None:
        session.ended_at = now
        session.end_reason = reason


def end_all_for_owner(owner_id, now, reason):
    live = db.session.scalars(select(OwnerSession).where(
        OwnerSession.owner_id == owner_id, OwnerSession.ended_at.is_(None), OwnerSession.expires_at > now)).all()
    for session in live:
        end(session, now, reason)
    return live
