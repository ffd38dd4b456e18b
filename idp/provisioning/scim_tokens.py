"""Bearer tokens of a tenant's SCIM endpoint: create (shown once), verify, revoke, last use, rate limit.

Only an HMAC-SHA256 of the token (keyed from SECRET_KEY) is stored; a request's token is found by its
digest within the tenant of the URL and compared in constant time, so a token of tenant A is unknown at
B. Unknown, revoked and expired tokens look alike to the caller. Every request counts against a
per-token moving-window limit (IDP_SCIM_RATELIMIT, default 600/minute) in the rate limiter's storage.
"""
import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.logs.audit import NO_CLIENT, Actor, record_audit
from idp.models.scim import SCOPE_WRITE, SCOPES, ScimToken
from idp.platform import ratelimit
from idp.platform.errors import NotFound, ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import new_token, same
from idp.platform.validation import text_errors

PREFIX = "scim_"
ACTOR_TYPE = "scim_token"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per token
RATE_SETTING = "IDP_SCIM_RATELIMIT"
RATE_DEFAULT = "600/minute"
MAX_EXPIRY_DAYS = 3650


def digest(raw):
    """The stored form of a token: HMAC-SHA256 keyed from SECRET_KEY (a leaked table yields no token)."""
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), b"idp.scim.token", hashlib.sha256).digest()
    return hmac.new(key, raw.encode("utf-8"), hashlib.sha256).hexdigest()


def actor_of(token):
    """Who a SCIM write is attributed to in the audit log: the token's name and id in the label (`Actor.id`
    names accounts only)."""
    return Actor(ACTOR_TYPE, None, f"SCIM token {token.name} (#{token.id})"[:200])


def token_errors(name, scope, expires_days):
    errors = {"name": text_errors(name, required=True, max_length=100,
                                  required_message=_l("名前を入力してください。")),
              "scope": [] if scope in SCOPES else [_l("権限が正しくありません。")]}
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        errors["expires_days"] = [_l("有効期限は1〜%(n)d日で指定してください。", n=MAX_EXPIRY_DAYS)]
    return {key: value for key, value in errors.items() if value}


def create_token(tenant, *, name, scope, expires_days, now, actor, client=NO_CLIENT):
    """A new token; returns (row, raw token). The raw token is shown once and never stored."""
    name = (name or "").strip()
    errors = token_errors(name, scope, expires_days)
    if errors:
        raise ValidationError(errors)
    raw = PREFIX + new_token(32)
    token = ScimToken(tenant_id=tenant.id, name=name, token_hash=digest(raw), scope=scope,
                      created_by=(actor.label or actor.type)[:300], created_at=now,
                      expires_at=now + timedelta(days=expires_days) if expires_days else None)
    db.session.add(token)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="scim_token.create", target=token, now=now,
                 changes={"name": name, "scope": scope,
                          "expires_at": token.expires_at.isoformat() if token.expires_at else None}, client=client)
    return token, raw


def list_tokens(tenant):
    """The tenant's tokens, newest first (revoked ones too: their last use stays visible)."""
    return db.session.scalars(select(ScimToken).where(ScimToken.tenant_id == tenant.id)
                              .order_by(ScimToken.created_at.desc(), ScimToken.id.desc())).all()


def get_token(tenant, token_id):
    token = db.session.get(ScimToken, token_id) if isinstance(token_id, int) else None
    if token is None or token.tenant_id != tenant.id:
        raise NotFound(_l("トークンが見つかりません。"))
    return token


def revoke_token(tenant, token_id, *, now, actor, client=NO_CLIENT):
    """Revoke a token of the tenant (at once: the next request with it is refused). Revoking twice is a no-op."""
    token = get_token(tenant, token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        record_audit(tenant_id=tenant.id, actor=actor, action="scim_token.revoke", target=token, now=now,
                     changes={"name": token.name}, client=client)
    return token


def is_usable(token, now):
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


def authenticate(tenant, raw, *, now):
    """The usable token of `tenant` with this raw value, or None (unknown, other tenant, revoked, expired)."""
    if not raw or len(raw) > 200:
        return None
    wanted = digest(raw)
    token = db.session.scalar(select(ScimToken).where(ScimToken.token_hash == wanted,
                                                      ScimToken.tenant_id == tenant.id))
    if token is None or not same(token.token_hash, wanted) or not is_usable(token, now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token


def may_write(token):
    return token.scope == SCOPE_WRITE


def check_rate(token):
    """Count one request of the token; raises ratelimit.RateLimited (429) when its limit is reached. Counted
    in the rate limiter's storage, or in this process's memory while it is unreachable, as every limit."""
    setting = current_app.config.get(RATE_SETTING) or RATE_DEFAULT
    ratelimit.limiter().hit_own("scim", "token", token.id, ratelimit.parse_limits(RATE_SETTING, setting))
