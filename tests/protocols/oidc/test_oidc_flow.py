"""Discovery, JWKS and the full code flow (+ PKCE) verified with joserfc against the published JWKS."""
import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from sqlalchemy import select

from idp.models import LoginEvent
from idp.platform.extensions import db
from tests.protocols.oidc.conftest import ISSUER, REDIRECT_URI, json_of, pkce_pair


def test_discovery_document_names_the_tenant_issuer_and_every_endpoint(client, acme):
    response = client.get("/t/acme/.well-known/openid-configuration")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    doc = response.get_json()
    assert doc["issuer"] == ISSUER
    for field, path in [("authorization_endpoint", "authorize"), ("token_endpoint", "token"),
                        ("userinfo_endpoint", "userinfo"), ("jwks_uri", "jwks"), ("revocation_endpoint", "revoke"),
                        ("introspection_endpoint", "introspect"), ("end_session_endpoint", "logout")]:
        assert doc[field] == f"{ISSUER}/oidc/{path}"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"} <= set(
        doc["token_endpoint_auth_methods_supported"])
    assert doc["backchannel_logout_supported"] is True
    assert {"openid", "profile", "email", "phone", "offline_access"} <= set(doc["scopes_supported"])
    assert {"sub", "email", "groups", "tenant"} <= set(doc["claims_supported"])
    assert doc["ui_locales_supported"] == ["ja", "en"]


def test_unknown_tenant_has_no_discovery(client, acme):
    assert client.get("/t/nope/.well-known/openid-configuration").status_code == 404


def test_jwks_publishes_public_keys_with_kid_use_alg(client, acme):
    keys = client.get("/t/acme/oidc/jwks").get_json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        assert "d" not in key


def test_full_code_flow_with_pkce_gives_tokens_that_verify(rp, rp_client, app):
    verifier, challenge = pkce_pair()
    back = rp.log_in_through(rp_client, code_challenge=challenge, code_challenge_method="S256")
    code = rp.code_from(back)
    response = rp.exchange(rp_client, code, code_verifier=verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert "refresh_token" not in body  # offline_access was not requested
    id_token = rp.verify(body["id_token"], rp_client.client_id)
    claims = id_token.claims
    assert claims["nonce"] == "n-1"
    assert claims["email"] == "taro@acme.example.com" and claims["name"] == "山田 太郎"
    assert claims["tenant"] == "acme" and claims["groups"] == ["ACME株式会社"]
    assert claims["amr"] == ["pwd"] and claims["acr"] and claims["sid"] and claims["auth_time"]
    assert "@" not in claims["sub"] and not claims["sub"].isdigit()
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert body["access_token"].count(".") == 0  # opaque by default (an app may choose RFC 9068 JWTs)

    info = rp.http.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.get_json() == {"sub": claims["sub"], "name": "山田 太郎", "email": "taro@acme.example.com",
                               "email_verified": True, "groups": ["ACME株式会社"], "tenant": "acme"}
    posted = rp.http.post("/t/acme/oidc/userinfo", data={"access_token": body["access_token"]})
    assert posted.status_code == 200 and posted.get_json()["sub"] == claims["sub"]
    with app.app_context():
        event = db.session.scalars(select(LoginEvent).where(LoginEvent.protocol == "oidc")).one()
        assert event.result == "success" and event.app_id == rp_client.app_id


def test_live_session_goes_straight_through_without_login_page(rp, rp_client):
    rp.code_from(rp.log_in_through(rp_client))
    again = rp.authorize(rp_client, state="st-2")
    assert rp.code_from(again, state="st-2")


def test_es256_client_gets_es256_id_token_and_post_auth_works(rp, register, acme):
    registration = register(id_token_alg="ES256")
    response = rp.exchange(registration, rp.code_from(rp.log_in_through(registration)), auth="post")
    assert response.status_code == 200
    token = rp.verify(response.get_json()["id_token"], registration.client_id)
    assert token.header["alg"] == "ES256"


def test_jwt_access_tokens_follow_rfc9068(rp, register, acme):
    registration = register(access_token_format="jwt")
    body = rp.full_login(registration).get_json()
    id_claims = rp.verify(body["id_token"], registration.client_id).claims
    access = rp.verify(body["access_token"], registration.client_id, typ="at+jwt")  # RFC 9068 2.1
    assert access.header["alg"] == "RS256"
    assert access.claims["client_id"] == registration.client_id and access.claims["sub"] == id_claims["sub"]
    assert access.claims["scope"] == body["scope"] and access.claims["jti"]
    assert access.claims["exp"] - access.claims["iat"] == body["expires_in"]
    info = rp.http.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and info.get_json()["sub"] == id_claims["sub"]


def test_public_client_with_pkce_and_no_secret(rp, register, acme):
    registration = register(public=True)
    assert registration.client_secret is None
    verifier, challenge = pkce_pair()
    code = rp.code_from(rp.log_in_through(registration, code_challenge=challenge, code_challenge_method="S256"))
    wrong = rp.exchange(registration, code, auth="none", code_verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    code = rp.code_from(rp.authorize(registration, code_challenge=challenge, code_challenge_method="S256"))
    ok = rp.exchange(registration, code, auth="none", code_verifier=verifier)
    assert ok.status_code == 200 and rp.verify(ok.get_json()["id_token"], registration.client_id)


def test_scopes_and_essential_claims_map_to_claims(rp, register, acme, app):
    registration = register()
    claims_param = '{"id_token": {"email": {"essential": true}}, "userinfo": {"name": null}}'
    body = rp.full_login(registration, scope="openid", claims=claims_param).get_json()
    id_claims = rp.verify(body["id_token"], registration.client_id).claims
    assert id_claims["email"] == "taro@acme.example.com" and "name" not in id_claims
    info = json_of(rp.http.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}))
    assert info["name"] == "山田 太郎" and "email" not in info


def test_userinfo_refuses_missing_and_bad_tokens(client, acme):
    missing = client.get("/t/acme/oidc/userinfo")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    bad = client.get("/t/acme/oidc/userinfo", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_code_issued_response_carries_iss_and_state_only(rp, rp_client):
    location = rp.log_in_through(rp_client).headers["Location"]
    assert location.startswith(REDIRECT_URI)
    assert set(parse_qs(urlsplit(location).query)) == {"code", "state", "iss"}


def test_id_token_header_names_a_published_kid(rp, rp_client):
    body = rp.full_login(rp_client).get_json()
    kid = jwt.decode(body["id_token"], rp.jwks()).header["kid"]
    assert kid in {k["kid"] for k in rp.http.get("/t/acme/oidc/jwks").get_json()["keys"]}
