"""OIDC token rules: authorization codes, grants, token families, rotation and revocation.

- A code is single-use and lives 60 s; presenting a used code again revokes every token its
  first exchange issued (RFC 6749 4.1.2, RFC 9700 4.14 - the code was stolen).
- Every token belongs to a grant; revoking the grant revokes the whole family.
- Refresh tokens rotate on every use; presenting a rotated one again revokes the family
  (RFC 9700 4.14.2, reuse detection).
- The token strings themselves (opaque or signed JWT) are made by the protocol layer; this
  module only stores their SHA-256 and decides whether they are still good.
- A token response writes nothing until its tokens are made: `redeem_code`, `rotate_refresh` and
  `client_grant` only read and check, and return an `Issuance`; `store_tokens` then spends the code
  or refresh token (the single-use UPDATE), inserts the grant and the tokens, right before the commit.
  So the database's write lock (SQLite has one per file) is held for three short statements, not
  across the signing of the tokens.
Errors are Authlib's OAuth error types (one class per RFC error code).
"""
import base64
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidScopeError
from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from idp.apps.catalogue import may_use
from idp.directory.account_state import login_block_reason
from idp.models import Account, Group
from idp.models.oidc import TOKEN_ACCESS, TOKEN_REFRESH, OidcAuthorizationCode, OidcGrant, OidcToken
from idp.oidc.clients import ADMIN_SCOPES
from idp.oidc.dpop import InvalidDpopProofError
from idp.platform.extensions import db
from idp.platform.persistence import connection as _connection
from idp.platform.persistence import insert_now, written
from idp.platform.random_tokens import digest, new_token, same

CODE_LIFETIME = timedelta(seconds=60)
OFFLINE_ACCESS = "offline_access"


def issue_code(tenant, client, sso_session, *, redirect_uri, scope, nonce, code_challenge, claims, now):
    """A fresh authorization code for the signed-in session; returns the raw code."""
    raw = new_token(32)
    insert_now(OidcAuthorizationCode(
        tenant_id=tenant.id, client_pk=client.id, code_hash=digest(raw), account_id=sso_session.account_id,
        sso_session_id=sso_session.id, redirect_uri=redirect_uri, scope=scope, nonce=nonce or "",
        code_challenge=code_challenge or "", claims=claims or "", auth_time=sso_session.auth_time,
        amr=sso_session.amr, sid=sso_session.sid, created_at=now, expires_at=now + CODE_LIFETIME))
    return raw


@dataclass
class Issuance:
    """What one token response writes once its tokens are made (`store_tokens`): the grant (a new one
    is inserted then) and the code or refresh token it spends, if any."""
    grant: OidcGrant
    spends: object = None
    new_grant: bool = False
    refresh_scope: str = None  # a rotated refresh token keeps the presented one's scope (RFC 6749 6)


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _check_pkce(code, verifier):
    """RFC 7636 4.6: S256 only; a verifier without a challenge (or the reverse) is refused."""
    if not code.code_challenge:
        if verifier:
            raise InvalidGrantError("code_verifier sent but no code_challenge was")
        return
    if not verifier or not (43 <= len(verifier) <= 128):
        raise InvalidGrantError("invalid code_verifier")
    try:
        ok = same(s256(verifier), code.code_challenge)
    except UnicodeEncodeError:
        ok = False
    if not ok:
        raise InvalidGrantError("code_verifier does not match the code_challenge")


def redeem_code(tenant, client, raw_code, *, redirect_uri, code_verifier, now):
    """Check a code for exchange; returns (Issuance of a new grant spending the code, nonce)."""
    code = _first_entity(_CODE_BY_HASH, {"tenant_id": tenant.id, "code_hash": digest(raw_code or "")})
    if code is None or code.client_pk != client.id:
        raise InvalidGrantError("invalid authorization code")
    if code.used_at is not None:
        grant = db.session.scalar(select(OidcGrant).where(OidcGrant.code_id == code.id))
        if grant is not None:
            revoke_grant(grant, now, "code_replay")
        raise InvalidGrantError("authorization code already used")
    if now >= code.expires_at:
        raise InvalidGrantError("authorization code expired")
    if redirect_uri != code.redirect_uri:
        raise InvalidGrantError("redirect_uri does not match the authorization request")
    _check_pkce(code, code_verifier)
    _check_account(code.account, client, now, spending=code)
    grant = _new_grant(tenant, client, now, account_id=code.account_id, account=code.account,
                       sso_session_id=code.sso_session_id, code_id=code.id, scope=code.scope, claims=code.claims,
                       auth_time=code.auth_time, amr=code.amr, sid=code.sid)
    return Issuance(grant, spends=code, new_grant=True), code.nonce


def client_grant(tenant, client, scope, now):
    """client_credentials: a new grant with no user. The admin API's scopes only for a client marked as an
    API client (RFC 6749 5.2 invalid_scope for any other: asking for them is a mistake to be told)."""
    if not client.api_client and set(scope.split()) & set(ADMIN_SCOPES):
        raise InvalidScopeError("admin:read and admin:write are only for clients registered as API clients")
    return Issuance(_new_grant(tenant, client, now, scope=scope), new_grant=True)


_NO_USER = {"account_id": None, "sso_session_id": None, "code_id": None, "claims": "", "auth_time": None, "amr": "",
            "sid": ""}


def _new_grant(tenant, client, now, **values):
    """A grant for `store_tokens` to insert, with every column given (`_insert_grant` writes them)."""
    return OidcGrant(tenant_id=tenant.id, client_pk=client.id, client=client, created_at=now, revoked_at=None,
                     revoke_reason="", **{**_NO_USER, **values})


def _insert_grant(connection, grant):
    """INSERT a `_new_grant` with one prebuilt Core statement and set its id. The instance never joins the
    session (it is only read afterwards; adding it would insert a second row)."""
    values = {key: grant.__dict__[key] for key in _GRANT_COLUMNS}
    grant.id = connection.execute(_GRANT_INSERT, values).inserted_primary_key[0]


def _flip_used(row, now):
    """Mark a code or refresh token used; single use even under concurrency: only one UPDATE can
    flip used_at from NULL. A plain conditional UPDATE on the connection (the row is updated here)."""
    flipped = _connection().execute(_FLIP_USED[type(row)], {"row_id": row.id, "now": now})
    if flipped.rowcount != 1:
        return False
    written(row, used_at=now)
    return True


def _check_account(account, client, now, spending):
    """The user may still use the app; otherwise the code or refresh token is spent for nothing."""
    if account is None or login_block_reason(account, now) is not None or not may_use(account, client):
        _flip_used(spending, now)
        raise InvalidGrantError("the user may no longer use this app")


def wants_refresh(client, grant):
    return client.allow_refresh and grant.account_id is not None and OFFLINE_ACCESS in grant.scope.split()


def store_tokens(issuance, now, tokens):
    """Write one token response: spend its code or refresh token, insert a new grant, and store the
    digests of its tokens, [(kind, raw, lifetime, scope or None[, DPoP key thumbprint or None])], in one INSERT.

    When a concurrent request spent the code or refresh token first, that is a replay like any other
    (RFC 6749 4.1.2, RFC 9700 4.14.2): what the winner was issued is revoked and InvalidGrantError
    raised; the caller commits the revocation."""
    spent = issuance.spends
    if spent is not None:
        if not _flip_used(spent, now):
            if isinstance(spent, OidcAuthorizationCode):
                winner = db.session.scalar(select(OidcGrant).where(OidcGrant.code_id == spent.id))
                if winner is not None:
                    revoke_grant(winner, now, "code_replay")
                raise InvalidGrantError("authorization code already used")
            revoke_grant(issuance.grant, now, "refresh_reuse")
            raise InvalidGrantError("refresh token already used")
        issuance.spends = None
    grant, connection = issuance.grant, _connection()
    if issuance.new_grant:
        _insert_grant(connection, grant)
        issuance.new_grant = False
    rows = [{"tenant_id": grant.tenant_id, "grant_id": grant.id, "kind": kind, "token_hash": digest(raw),
             "scope": scope if scope is not None else grant.scope, "created_at": now, "expires_at": now + lifetime,
             "used_at": None, "revoked_at": None, "dpop_jkt": bound[0] if bound else None}
            for kind, raw, lifetime, scope, *bound in tokens]
    connection.execute(_TOKEN_INSERT, rows[0] if len(rows) == 1 else rows)  # one row: no executemany


def new_refresh_token(client):
    """A fresh refresh token string and its lifetime (stored with `store_tokens`)."""
    return new_token(32), client.app.refresh_token_lifetime


# Statements built once (building and caching-key work per request costs more than running them).
# A code or token comes with its grant, account and the account's group in one statement (the account's
# state is checked and the ID token names the group), as a row of entities rather than joined eager
# loads, which cost the ORM a third more per row; `_first_entity` sets them as the relationships.
_codes, _tokens = OidcAuthorizationCode, OidcToken
_CODE_BY_HASH = (select(_codes, Account, Group).outerjoin(_codes.account).outerjoin(Account.group)
                 .where(_codes.tenant_id == bindparam("tenant_id"), _codes.code_hash == bindparam("code_hash")))
_TOKEN_BY_HASH = (select(_tokens, OidcGrant, Account, Group).join(_tokens.grant).outerjoin(OidcGrant.account)
                  .outerjoin(Account.group)
                  .where(_tokens.tenant_id == bindparam("tenant_id"), _tokens.token_hash == bindparam("token_hash")))
_TOKEN_OF_KIND = _TOKEN_BY_HASH.where(_tokens.kind == bindparam("kind"))
_TOKEN_INSERT = OidcToken.__table__.insert()
_GRANT_INSERT = OidcGrant.__table__.insert()
_GRANT_COLUMNS = tuple(column.key for column in OidcGrant.__table__.c if not column.primary_key)
_FLIP_USED = {
    model: model.__table__.update()
    .where(model.__table__.c.id == bindparam("row_id"), model.__table__.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
    for model in (_codes, _tokens)}


def _find(tenant, raw, kind=None):
    if not raw or not isinstance(raw, str) or len(raw) > 8000:
        return None
    params = {"tenant_id": tenant.id, "token_hash": digest(raw)}
    if kind:
        return _first_entity(_TOKEN_OF_KIND, {**params, "kind": kind})
    return _first_entity(_TOKEN_BY_HASH, params)


def _first_entity(statement, params):
    """The code or token of a `_CODE_BY_HASH` or `_TOKEN_BY_HASH` row, or None, with the row's other
    entities set as its relationships (the session's identity map only holds them weakly)."""
    row = db.session.execute(statement, params).first()
    if row is None:
        return None
    *owners, account, group = row
    if account is not None:
        set_committed_value(account, "group", group)
    set_committed_value(owners[-1], "account", account)
    if len(owners) == 2:
        set_committed_value(owners[0], "grant", owners[1])
    return owners[0]


def _live(token, now):
    return (token is not None and token.revoked_at is None and token.grant.revoked_at is None
            and now < token.expires_at)


def rotate_refresh(tenant, client, raw, *, scope, now, jkt=None):
    """Check a refresh token for use: returns (Issuance spending it, granted scope).

    `scope` may only narrow the original grant (RFC 6749 6). A refresh token bound to a DPoP key (a
    public client's, RFC 9449 5) needs a proof with that key (`jkt`, the thumbprint of the checked proof)."""
    token = _find(tenant, raw, TOKEN_REFRESH)
    if token is None or token.grant.client_pk != client.id:
        raise InvalidGrantError("invalid refresh token")
    grant = token.grant
    if token.used_at is not None and grant.revoked_at is None:
        revoke_grant(grant, now, "refresh_reuse")
        db.session.flush()
        raise InvalidGrantError("refresh token already used")
    if not _live(token, now) or token.used_at is not None:
        raise InvalidGrantError("refresh token expired or revoked")
    _check_binding(token, jkt)
    requested = scope.split() if scope else token.scope.split()
    if not set(requested) <= set(token.scope.split()):
        raise InvalidScopeError("scope exceeds the original grant")
    _check_account(grant.account, client, now, spending=token)
    return Issuance(grant, spends=token, refresh_scope=token.scope), " ".join(requested)


def _check_binding(token, jkt):
    if token.dpop_jkt is None:
        return
    if jkt is None:
        raise InvalidDpopProofError("this refresh token is bound to a DPoP key: a DPoP proof is required")
    if not same(token.dpop_jkt, jkt):
        raise InvalidGrantError("the refresh token is bound to another DPoP key")


def revoke_grant(grant, now, reason):
    if grant.revoked_at is None:
        grant.revoked_at = now
        grant.revoke_reason = reason


def revoke_token(tenant, client, raw, now):
    """RFC 7009: a refresh token takes its family with it; an access token goes alone.
    Unknown tokens and tokens of other clients are ignored (the answer is the same)."""
    token = _find(tenant, raw)
    if token is None or token.grant.client_pk != client.id:
        return False
    if token.kind == TOKEN_REFRESH:
        revoke_grant(token.grant, now, "revoked")
    elif token.revoked_at is None:
        token.revoked_at = now
    return True


def live_access_token(tenant, raw, now):
    """The live access token (and its grant) for a bearer value, or None."""
    token = _find(tenant, raw, TOKEN_ACCESS)
    if not _live(token, now):
        return None
    account = token.grant.account
    if account is not None and login_block_reason(account, now) is not None:
        return None
    return token


def introspect(tenant, client, raw, now):
    """RFC 7662: what the calling client may learn about one of its own tokens, or None if inactive."""
    token = _find(tenant, raw)
    if token is None or token.grant.client_pk != client.id or not _live(token, now):
        return None
    if token.kind == TOKEN_REFRESH and token.used_at is not None:
        return None
    account = token.grant.account
    if account is not None and login_block_reason(account, now) is not None:
        return None
    return token


def revoke_for_account(account_id, now, reason):
    """Credentials changed (issue 5): every grant of the account is revoked."""
    grants = db.session.scalars(select(OidcGrant).where(OidcGrant.account_id == account_id,
                                                        OidcGrant.revoked_at.is_(None))).all()
    for grant in grants:
        revoke_grant(grant, now, reason)
    return grants


def grants_of_sessions(session_ids):
    if not session_ids:
        return []
    return db.session.scalars(select(OidcGrant).where(OidcGrant.sso_session_id.in_(session_ids))).all()


def end_sessions(session_ids, now, reason):
    """Back-Channel Logout 1.0 2.7: the sessions ended, so grants without offline_access are revoked.
    Returns every grant (revoked or not) that the sessions signed in, for the logout tokens."""
    grants = grants_of_sessions(session_ids)
    for grant in grants:
        if OFFLINE_ACCESS not in grant.scope.split():
            revoke_grant(grant, now, f"logout:{reason}"[:32])
    return grants
