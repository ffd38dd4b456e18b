"""Single-use emailed links of owners: activation (24 h), password reset (30 min), hand-over (24 h).

The same rules as `idp.action_tokens` (which serves accounts): the raw token
only appears in the mailed URL, the table keeps its SHA-256, and issuing a new
link for the same owner and purpose retires the earlier ones.
"""
from datetime import timedelta

from sqlalchemy import select, update

from .extensions import db
from .models.owner import OwnerToken
from .secrets_util import digest, new_token

ACTIVATION = "owner_activation"
PASSWORD_RESET = "owner_password_reset"
HANDOVER = "owner_handover"
LIFETIMES = {
    ACTIVATION: timedelta(hours=24),
    PASSWORD_RESET: timedelta(minutes=30),  # the seed's rule for the contract login
    HANDOVER: timedelta(hours=24),
}


def issue(owner, purpose, now, payload=None):
    """Create a link token for `owner`, retiring earlier unused ones of `purpose`; return the raw token."""
    retire(owner, purpose, now)
    raw = new_token()
    db.session.add(OwnerToken(
        token_hash=digest(raw), purpose=purpose, tenant_id=owner.tenant_id, owner_id=owner.id,
        payload=payload or {}, created_at=now, expires_at=now + LIFETIMES[purpose]))
    return raw


def retire(owner, purpose, now):
    db.session.execute(
        update(OwnerToken)
        .where(OwnerToken.owner_id == owner.id, OwnerToken.purpose == purpose, OwnerToken.used_at.is_(None))
        .values(used_at=now))


def find_usable(raw, purpose, now):
    """The live token for `raw`, or None when unknown, expired, used or of another purpose."""
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(select(OwnerToken).where(OwnerToken.token_hash == digest(raw)))
    if token is None or token.purpose != purpose or token.used_at is not None or now >= token.expires_at:
        return None
    return token


def consume(token, now):
    token.used_at = now
