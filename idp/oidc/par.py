"""Pushed Authorization Requests (RFC 9126): the pushed parameters kept for one use.

A client pushes its authorization request (authenticated as at the token endpoint, the parameters
checked as the authorization endpoint checks them) and gets a `request_uri`
(`urn:ietf:params:oauth:request_uri:<random>`) that the browser brings to /oidc/authorize within
EXPIRES_IN seconds. The row is stored under the SHA-256 of the request_uri (a database table, so every
instance sees it), spent at its first use at the authorization endpoint (`used_at`, a conditional
UPDATE: of two concurrent uses exactly one wins) and refused when unknown, expired, used or of another
client. A login between the first use and the code resumes the spent request by its id (`resume`, the id
signed in the login's return URL by protocols.oidc.authorize) for LOGIN_LIFETIME, so the parameters never
travel through the browser; rows are deleted at a later push once that time has passed too.
"""
import json
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import delete, select, update

from idp.models.oidc import OidcPushedRequest
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
EXPIRES_IN = 60  # seconds (RFC 9126 2.2: short-lived)
MAX_REQUEST_URI = 200
LOGIN_LIFETIME = timedelta(hours=1)  # to log in (password reset, MFA) after the first use


class PushedRequest(NamedTuple):
    id: int
    parameters: dict


def push(client, parameters, now):
    """Keep the (already checked) parameters for `client`; returns the new request_uri."""
    db.session.execute(delete(OidcPushedRequest).where(OidcPushedRequest.tenant_id == client.tenant_id,
                                                       OidcPushedRequest.expires_at < now - LOGIN_LIFETIME))
    request_uri = REQUEST_URI_PREFIX + new_token(32)
    db.session.add(OidcPushedRequest(
        tenant_id=client.tenant_id, client_pk=client.id, request_uri_hash=digest(request_uri),
        parameters=json.dumps(parameters, ensure_ascii=False, sort_keys=True), created_at=now,
        expires_at=now + timedelta(seconds=EXPIRES_IN)))
    return request_uri


def is_pushed_uri(value):
    return isinstance(value, str) and value.startswith(REQUEST_URI_PREFIX)


def spend(tenant, client, request_uri, now):
    """The PushedRequest of this client under `request_uri`, marked used; None when it is unknown,
    expired, already used or was pushed by another client (then it stays as it was)."""
    if not is_pushed_uri(request_uri) or len(request_uri) > MAX_REQUEST_URI or client is None:
        return None
    row = db.session.scalar(select(OidcPushedRequest).where(
        OidcPushedRequest.tenant_id == tenant.id, OidcPushedRequest.request_uri_hash == digest(request_uri)))
    if row is None or row.client_pk != client.id or row.used_at is not None or row.expires_at <= now:
        return None
    spent = db.session.execute(update(OidcPushedRequest).where(
        OidcPushedRequest.id == row.id, OidcPushedRequest.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:
        return None  # used concurrently
    return PushedRequest(row.id, json.loads(row.parameters))


def resume(tenant, pushed_id, now):
    """The parameters of a request spent less than LOGIN_LIFETIME ago (its login under way), or None."""
    row = db.session.get(OidcPushedRequest, pushed_id) if isinstance(pushed_id, int) else None
    if row is None or row.tenant_id != tenant.id or row.used_at is None or row.used_at < now - LOGIN_LIFETIME:
        return None
    return json.loads(row.parameters)
