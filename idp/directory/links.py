"""Single-use emailed links, one service for every kind: account activation and password reset,
owner activation, password reset and hand-over.

The raw token appears only in the mailed URL; the tables keep its SHA-256 (an account's links in
`action_tokens`, an owner's in `owner_tokens`). Issuing a new link for the same holder and purpose
retires the earlier unused ones. A link is live until it is used, retired or past its lifetime.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from idp.models import ActionToken
from idp.models.owner import OwnerToken
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token

ACTIVATION = "activation"
PASSWORD_RESET = "password_reset"
OWNER_ACTIVATION = "owner_activation"
OWNER_PASSWORD_RESET = "owner_password_reset"
OWNER_HANDOVER = "owner_handover"


@dataclass(frozen=True)
class LinkKind:
    model: type  # the table of the holder's links
    holder: str  # its column naming the holder (an account or an owner)
    lifetime: timedelta


_ACCOUNT = dict(model=ActionToken, holder="account_id")
_OWNER = dict(model=OwnerToken, holder="owner_id")
KINDS = {
    ACTIVATION: LinkKind(**_ACCOUNT, lifetime=timedelta(hours=24)),
    PASSWORD_RESET: LinkKind(**_ACCOUNT, lifetime=timedelta(hours=24)),
    OWNER_ACTIVATION: LinkKind(**_OWNER, lifetime=timedelta(hours=24)),
    OWNER_PASSWORD_RESET: LinkKind(**_OWNER, lifetime=timedelta(minutes=30)),  # the contract login's rule
    OWNER_HANDOVER: LinkKind(**_OWNER, lifetime=timedelta(hours=24)),
}


def issue(holder, purpose, now, payload=None):
    """Create a link token for `holder` (an account or an owner), retiring earlier unused ones of
    `purpose`; return the raw token. Only an owner's links carry a payload (the hand-over's new owner)."""
    kind = KINDS[purpose]
    retire(holder, purpose, now)
    raw = new_token()
    extra = {"payload": payload or {}} if kind.model is OwnerToken else {}
    db.session.add(kind.model(token_hash=digest(raw), purpose=purpose, tenant_id=holder.tenant_id,
                              created_at=now, expires_at=now + kind.lifetime, **{kind.holder: holder.id}, **extra))
    return raw


def retire(holder, purpose, now):
    kind = KINDS[purpose]
    db.session.execute(
        update(kind.model)
        .where(getattr(kind.model, kind.holder) == holder.id, kind.model.purpose == purpose,
               kind.model.used_at.is_(None))
        .values(used_at=now))


def find_usable(raw, purpose, now):
    """The live token for `raw`, or None when unknown, expired, used or of another purpose."""
    if not raw or not isinstance(raw, str) or len(raw) > 200:
        return None
    model = KINDS[purpose].model
    token = db.session.scalar(select(model).where(model.token_hash == digest(raw)))
    if token is None or token.purpose != purpose or token.used_at is not None or now >= token.expires_at:
        return None
    return token


def consume(token, now):
    token.used_at = now
