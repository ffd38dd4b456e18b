"""Single-use emailed links (activation, password reset) valid for a fixed time.

The raw token appears only in the mailed URL; the table keeps its SHA-256.
Issuing a new token for the same purpose invalidates the earlier ones.
"""
from datetime import timedelta

from sqlalchemy import select, update

from .extensions import db
from .models import ActionToken
from .secrets_util import digest, new_token

LIFETIMES = {
    "activation": timedelta(hours=24),
    "password_reset": timedelta(hours=24),
}


def issue(account, purpose, now):
    """Create a token for `account`, retiring earlier unused ones; return the raw token."""
    db.session.execute(
        update(ActionToken)
        .where(ActionToken.account_id == account.id, ActionToken.purpose == purpose,
               ActionToken.used_at.is_(None))
        .values(used_at=now)
    )
    raw = new_token()
    db.session.add(ActionToken(
        token_hash=digest(raw), purpose=purpose, tenant_id=account.tenant_id,
        account_id=account.id, created_at=now, expires_at=now + LIFETIMES[purpose],
    ))
    return raw


def find_usable(raw, purpose, now):
    """The live token for `raw`, or None when unknown, expired, used or of another purpose."""
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(select(ActionToken).where(ActionToken.token_hash == digest(raw)))
    if token is None or token.purpose != purpose or token.used_at is not None or now >= token.expires_at:
        return None
    return token


def consume(token, now):
    token.used_at = now
