"""Token endpoint: code replay and expiry, refresh rotation and reuse detection, client auth errors
(RFC 6749 5.2), client_credentials, private_key_jwt, revocation (RFC 7009), introspection (RFC 7662),
revocation on credential changes, and cross-tenant isolation."""
import base64
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.authn import password_change
from idp.models import Account
from idp.models.oidc import TOKEN_ACCESS
from idp.oidc import clients as oidc_clients
from idp.oidc import tokens as oidc_tokens
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.protocols.oidc.conftest import REDIRECT_URI, STRONG, epoch

OFFLINE = "openid profile offline_access"


def _refresh(rp, registration, token, **extra):
    return rp.token(registration, {"grant_type": "refresh_token", "refresh_token": token, **extra})


def _bearer(rp, token):
    return rp.http.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(rp, rp_client):
    code = rp.code_from(rp.log_in_through(rp_client, scope=OFFLINE))
    first = rp.exchange(rp_client, code).get_json()
    assert _bearer(rp, first["access_token"]).status_code == 200
    replay = rp.exchange(rp_client, code)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert _bearer(rp, first["access_token"]).status_code == 401
    assert _refresh(rp, rp_client, first["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_code_expires_after_60_seconds(rp, rp_client, clock):
    code = rp.code_from(rp.log_in_through(rp_client))
    clock.advance(seconds=61)
    assert rp.exchange(rp_client, code).get_json()["error"] == "invalid_grant"


def test_code_bound_to_its_client_and_redirect_uri(rp, register, acme):
    one, other = register(), register(name="別アプリ")
    code = rp.code_from(rp.log_in_through(one))
    assert rp.exchange(other, code).get_json()["error"] == "invalid_grant"
    code = rp.code_from(rp.authorize(one))
    wrong_uri = rp.token(one, {"grant_type": "authorization_code", "code": code,
                               "redirect_uri": "https://rp.example.com/other"})
    assert wrong_uri.get_json()["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(rp, rp_client):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    first_refresh = body["refresh_token"]
    rotated = _refresh(rp, rp_client, first_refresh)
    assert rotated.status_code == 200
    new = rotated.get_json()
    assert new["refresh_token"] != first_refresh
    claims = rp.verify(new["id_token"], rp_client.client_id).claims
    assert "nonce" not in claims
    assert _bearer(rp, new["access_token"]).status_code == 200
    reuse = _refresh(rp, rp_client, first_refresh)
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    assert _refresh(rp, rp_client, new["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert _bearer(rp, new["access_token"]).status_code == 401


def test_refresh_scope_may_only_narrow(rp, rp_client):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    assert _refresh(rp, rp_client, body["refresh_token"], scope="openid email").get_json()["error"] == "invalid_scope"
    narrowed = _refresh(rp, rp_client, body["refresh_token"], scope="openid offline_access").get_json()
    assert narrowed["scope"] == "openid offline_access"


def test_no_refresh_token_when_the_app_does_not_allow_it(rp, register, acme):
    registration = register(allow_refresh=False)
    assert "refresh_token" not in rp.full_login(registration, scope=OFFLINE).get_json()


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_wrong_secret_is_invalid_client_401(rp, rp_client, auth):
    rp_client.client_secret = "wrong"
    response = rp.token(rp_client, {"grant_type": "client_credentials"}, auth=auth)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_confidential_client_cannot_skip_authentication(rp, rp_client):
    response = rp.token(rp_client, {"grant_type": "client_credentials"}, auth="none")
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("data, error", [
    ({}, "invalid_request"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": "authorization_code"}, "invalid_request"),
    ({"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://rp.example.com/callback"},
     "invalid_grant"),
    ({"grant_type": "refresh_token", "refresh_token": "x"}, "invalid_grant"),
])
def test_token_request_errors(rp, rp_client, data, error):
    response = rp.token(rp_client, data)
    assert response.status_code == 400 and response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_client_credentials_for_confidential_apps_only(rp, register, acme):
    api_client = register(access_token_format="jwt", name="バッチ")
    body = rp.token(api_client, {"grant_type": "client_credentials"}).get_json()
    assert "id_token" not in body and "refresh_token" not in body
    assert rp.verify(body["access_token"], api_client.client_id).claims["sub"] == api_client.client_id
    public = register(public=True, name="SPA")
    refused = rp.token(public, {"grant_type": "client_credentials"}, auth="none")
    assert refused.get_json()["error"] == "unauthorized_client"


def test_private_key_jwt_client_authentication(rp, register, acme, clock):
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-1", "alg": "RS256"})
    registration = register(jwks='{"keys": [%s]}' % __import__("json").dumps(key.as_dict(private=False)))

    def assertion(aud="http://127.0.0.1:8000/t/acme/oidc/token", signer=key):
        claims = {"iss": registration.client_id, "sub": registration.client_id, "aud": aud,
                  "jti": str(uuid.uuid4()), "iat": epoch(clock.now()), "exp": epoch(clock.now()) + 60}
        return jwt.encode({"alg": "RS256", "kid": "rp-1"}, claims, signer)

    code = rp.code_from(rp.log_in_through(registration))
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.com/callback",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    other_key = RSAKey.generate_key(2048)
    bad = rp.http.post("/t/acme/oidc/token", data={**data, "client_assertion": assertion(signer=other_key)})
    assert bad.status_code == 401 and bad.get_json()["error"] == "invalid_client"
    wrong_aud = rp.http.post("/t/acme/oidc/token", data={**data, "client_assertion": assertion(aud="https://x")})
    assert wrong_aud.status_code == 401
    ok = rp.http.post("/t/acme/oidc/token", data={**data, "client_assertion": assertion()})
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert rp.verify(ok.get_json()["id_token"], registration.client_id)


def test_revoking_a_refresh_token_revokes_its_family(rp, rp_client):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    revoke = rp.http.post("/t/acme/oidc/revoke", data={"token": body["refresh_token"]},
                          headers=_basic(rp_client))
    assert revoke.status_code == 200
    assert _refresh(rp, rp_client, body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert _bearer(rp, body["access_token"]).status_code == 401
    unknown = rp.http.post("/t/acme/oidc/revoke", data={"token": "unknown"}, headers=_basic(rp_client))
    assert unknown.status_code == 200


def test_revocation_requires_client_authentication(rp, rp_client):
    response = rp.http.post("/t/acme/oidc/revoke", data={"token": "x", "client_id": rp_client.client_id})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_introspection_reports_active_then_inactive(rp, rp_client, register):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    info = rp.http.post("/t/acme/oidc/introspect", data={"token": body["access_token"]},
                        headers=_basic(rp_client)).get_json()
    assert info["active"] is True and info["client_id"] == rp_client.client_id and "openid" in info["scope"]
    assert info["sub"] == rp.verify(body["id_token"], rp_client.client_id).claims["sub"]
    other = register(name="別アプリ")
    assert rp.http.post("/t/acme/oidc/introspect", data={"token": body["access_token"]},
                        headers=_basic(other)).get_json() == {"active": False}
    rp.http.post("/t/acme/oidc/revoke", data={"token": body["access_token"]}, headers=_basic(rp_client))
    assert rp.http.post("/t/acme/oidc/introspect", data={"token": body["access_token"]},
                        headers=_basic(rp_client)).get_json() == {"active": False}
    refresh = rp.http.post("/t/acme/oidc/introspect", data={"token": body["refresh_token"]},
                           headers=_basic(rp_client)).get_json()
    assert refresh["active"] is True
    unauthenticated = rp.http.post("/t/acme/oidc/introspect", data={"token": body["access_token"]})
    assert unauthenticated.status_code == 401


def test_access_token_expires(rp, rp_client, clock):
    body = rp.full_login(rp_client).get_json()
    clock.advance(seconds=3601)
    assert _bearer(rp, body["access_token"]).status_code == 401


def test_password_change_revokes_refresh_tokens(rp, rp_client, app, clock):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    with app.app_context():
        account = db.session.query(Account).filter_by(email="taro@acme.example.com").one()
        password_change.change_password(account, current=STRONG, new="Another-Passw0rd-2026",
                                        confirm="Another-Passw0rd-2026", now=clock.now(), keep_session_id=None)
        db.session.commit()
    assert _refresh(rp, rp_client, body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert _bearer(rp, body["access_token"]).status_code == 401


def test_client_of_tenant_a_is_unknown_at_tenant_b(rp, rp_client, factory):
    factory.tenant("beta")
    url = rp.authorize_url(rp_client).replace("/t/acme/", "/t/beta/")
    response = rp.http.get(url)
    assert response.status_code == 400 and "Location" not in response.headers
    wrong_tenant = rp.http.post("/t/beta/oidc/token", data={"grant_type": "client_credentials"},
                                headers=_basic(rp_client))
    assert wrong_tenant.status_code == 401


def test_user_of_tenant_a_cannot_log_into_tenant_b_apps(rp, rp_client, factory, register, login):
    factory.tenant("beta")
    beta_app = register("beta")
    rp.code_from(rp.log_in_through(rp_client))  # signed in at acme
    from tests.protocols.oidc.conftest import RelyingParty
    beta = RelyingParty(rp.http, rp.clock, login, slug="beta")
    response = beta.authorize(beta_app, prompt="none")
    assert "error=login_required" in response.headers["Location"]
    # logging in with the acme account through beta's flow gives no code for beta
    back = beta.log_in_through(beta_app)
    assert back.status_code == 302 and "/login?" in back.headers["Location"]


def _basic(registration):
    raw = f"{registration.client_id}:{registration.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def test_a_narrowed_refresh_keeps_the_refresh_tokens_scope(rp, rp_client):
    """RFC 6749 6: the access token may be narrowed; the new refresh token's scope is the presented one's."""
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    narrowed = _refresh(rp, rp_client, body["refresh_token"], scope="openid offline_access").get_json()
    assert narrowed["scope"] == "openid offline_access"
    again = _refresh(rp, rp_client, narrowed["refresh_token"], scope=OFFLINE).get_json()
    assert again.get("error") is None and again["scope"] == OFFLINE


def test_losing_the_race_for_a_refresh_token_revokes_the_family(rp, rp_client):
    """Another request spends the refresh token between this one's checks and its single-use UPDATE:
    a reuse like any other (RFC 9700 4.14.2)."""
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    real = oidc_tokens._flip_used

    def spent_meanwhile(row, now):
        real(row, now)  # the concurrent request wins
        return real(row, now)

    with mock.patch.object(oidc_tokens, "_flip_used", spent_meanwhile):
        lost = _refresh(rp, rp_client, body["refresh_token"])
    assert lost.status_code == 400 and lost.get_json()["error"] == "invalid_grant"
    assert _bearer(rp, body["access_token"]).status_code == 401


def test_losing_the_race_for_a_code_revokes_what_the_winner_got(rp, rp_client, app, clock):
    """Two exchanges of one code pass their checks; the first writes, the second finds the code spent and
    revokes the first one's tokens (RFC 6749 4.1.2)."""
    code = rp.code_from(rp.log_in_through(rp_client, scope=OFFLINE))
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        client = oidc_clients.find(tenant, rp_client.client_id)
        now = clock.now()
        first, _ = oidc_tokens.redeem_code(tenant, client, code, redirect_uri=REDIRECT_URI, code_verifier=None,
                                           now=now)
        second, _ = oidc_tokens.redeem_code(tenant, client, code, redirect_uri=REDIRECT_URI, code_verifier=None,
                                            now=now)
        oidc_tokens.store_tokens(first, now, [(TOKEN_ACCESS, "winner-access-token", timedelta(hours=1), None)])
        db.session.commit()
        with pytest.raises(InvalidGrantError):
            oidc_tokens.store_tokens(second, now, [(TOKEN_ACCESS, "loser-access-token", timedelta(hours=1), None)])
        db.session.commit()
    assert _bearer(rp, "winner-access-token").status_code == 401
    assert _bearer(rp, "loser-access-token").status_code == 401
