"""Scopes and the `claims` request parameter → claims, mapped from the protocol-neutral Identity.

OIDC Core 5.4 (scopes), 5.5 (the `claims` parameter: requested claims we hold are returned,
essential or not). `groups` and `tenant` are always included.
"""
import json
from types import SimpleNamespace

from idp.authn.identity import identity_of

SCOPE_CLAIMS = {
    "profile": ("name",),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
}
SCOPES_SUPPORTED = ("openid", "profile", "email", "phone", "offline_access")
CLAIMS_SUPPORTED = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
                    "name", "email", "email_verified", "phone_number", "phone_number_verified", "groups", "tenant")


def identity_of_grant(grant):
    """The Identity as it was at the grant's authentication (the SSO session may be gone by now)."""
    return identity_of(SimpleNamespace(account=grant.account, amr=grant.amr, auth_time=grant.auth_time,
                                       sid=grant.sid))


def _all_claims(identity):
    phone = identity.mobile or identity.phone
    return {
        "name": identity.name,
        "email": identity.email,
        "email_verified": True,  # set by the activation link mailed to it
        "phone_number": phone or None,
        "phone_number_verified": False if phone else None,
        "groups": list(identity.groups),
        "tenant": identity.tenant_slug,
    }


def parse_claims_request(raw):
    """The `claims` parameter as a dict, or None if it is not a JSON object (→ invalid_request)."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(isinstance(value.get(k, {}) or {}, dict)
                                              for k in ("userinfo", "id_token")):
        return None
    return value


def requested_names(scope, claims_json, target):
    """Claim names for `target` ("userinfo" or "id_token") from the scopes and the claims parameter."""
    names = {"groups", "tenant"}
    for scope_name in scope.split():
        names.update(SCOPE_CLAIMS.get(scope_name, ()))
    requested = (parse_claims_request(claims_json) or {}).get(target) or {}
    names.update(n for n in requested if n in CLAIMS_SUPPORTED)
    return names


def user_claims(identity, scope, claims_json, target):
    values = _all_claims(identity)
    result = {"sub": identity.subject}
    for name in requested_names(scope, claims_json, target):
        if values.get(name) is not None:
            result[name] = values[name]
    return result
