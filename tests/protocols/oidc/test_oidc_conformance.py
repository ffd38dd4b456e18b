"""Behaviours the OpenID Foundation certification plans check (Basic OP, Config OP, RP-Initiated
Logout, Back-Channel Logout), one test per module that other files do not already cover; each test
names its module. The RP side verifies with joserfc against the published JWKS."""
import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt

from tests.protocols.oidc.conftest import ISSUER, POST_LOGOUT_URI, REDIRECT_URI, csrf_of, json_of

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _query(response):
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def _unsigned(claims):
    encode = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode({'alg': 'none'})}.{encode(claims)}."


def _bearer(rp, token, method="GET", where="header"):
    if where == "body":
        return rp.http.post("/t/acme/oidc/userinfo", data={"access_token": token})
    return rp.http.open("/t/acme/oidc/userinfo", method=method, headers={"Authorization": f"Bearer {token}"})


# --- Config OP: oidcc-discovery-endpoint-verification ---------------------------------------------

def test_discovery_endpoint_verification(client, acme):
    doc = client.get("/t/acme/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == ISSUER
    for field in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert doc[field].startswith(ISSUER + "/")
    assert "openid" in doc["scopes_supported"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "none" not in doc["id_token_signing_alg_values_supported"]
    assert doc["claims_parameter_supported"] is True and "sub" in doc["claims_supported"]
    # UserInfo answers plain JSON only, so no userinfo signing algorithm is claimed.
    assert "userinfo_signing_alg_values_supported" not in doc
    assert doc["request_parameter_supported"] is False and doc["request_uri_parameter_supported"] is False
    keys = client.get("/t/acme/oidc/jwks").get_json()["keys"]
    assert all({"kid", "use", "alg", "kty"} <= set(k) and "d" not in k for k in keys)


# --- Basic OP --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, where", [("GET", "header"), ("POST", "header"), ("POST", "body")])
def test_userinfo_get_post_header_post_body(rp, rp_client, method, where):
    """oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body."""
    body = rp.full_login(rp_client).get_json()
    sub = rp.verify(body["id_token"], rp_client.client_id).claims["sub"]
    info = _bearer(rp, body["access_token"], method, where)
    assert info.status_code == 200 and json_of(info)["sub"] == sub


def test_request_without_nonce_succeeds_for_code_flow(rp, rp_client):
    """oidcc-ensure-request-without-nonce-succeeds-for-code-flow."""
    body = rp.full_login(rp_client, nonce=None).get_json()
    assert "nonce" not in rp.verify(body["id_token"], rp_client.client_id).claims


@pytest.mark.parametrize("scope", ["openid address", "openid profile email address phone", "email openid profile"])
def test_scope_address_all_and_other_order(rp, rp_client, scope):
    """oidcc-scope-address (unsupported scope ignored), oidcc-scope-all, oidcc-ensure-other-scope-order-succeeds."""
    body = rp.full_login(rp_client, scope=scope).get_json()
    assert "address" not in body["scope"].split()
    info = json_of(_bearer(rp, body["access_token"]))
    if "email" in scope:
        assert info["email"] == "taro@acme.example.com"


@pytest.mark.parametrize("params", [
    {"display": "page"}, {"display": "popup"}, {"claims_locales": "ja en"}, {"acr_values": "1 2"},
    {"ui_locales": "se"}, {"login_hint": "taro@acme.example.com"}, {"extra_unknown": "x"},
])
def test_optional_parameters_are_accepted(rp, rp_client, params):
    """oidcc-display-page, -popup, oidcc-claims-locales, oidcc-ensure-request-with-acr-values-succeeds,
    oidcc-ui-locales, oidcc-login-hint, oidcc-ensure-request-with-unknown-parameter-succeeds."""
    body = rp.full_login(rp_client, **params).get_json()
    assert rp.verify(body["id_token"], rp_client.client_id)


def test_max_age_10000_does_not_force_a_login(rp, rp_client, clock):
    """oidcc-max-age-10000: the second request goes straight through, auth_time unchanged."""
    first = rp.verify(rp.full_login(rp_client).get_json()["id_token"], rp_client.client_id).claims
    clock.advance(seconds=5)
    code = rp.code_from(rp.authorize(rp_client, max_age="10000"))
    second = rp.verify(rp.exchange(rp_client, code).get_json()["id_token"], rp_client.client_id).claims
    assert second["auth_time"] == first["auth_time"]


def test_max_age_1_forces_a_new_login_with_a_later_auth_time(rp, rp_client, clock):
    """oidcc-max-age-1."""
    first = rp.verify(rp.full_login(rp_client).get_json()["id_token"], rp_client.client_id).claims
    clock.advance(seconds=2)
    assert "/login?" in rp.authorize(rp_client, max_age="1").headers["Location"]
    again = rp.exchange(rp_client, rp.code_from(rp.log_in_through(rp_client, max_age="1")))
    second = rp.verify(again.get_json()["id_token"], rp_client.client_id).claims
    assert second["auth_time"] > first["auth_time"]


def test_id_token_hint_with_prompt_none_returns_a_code(rp, rp_client):
    """oidcc-id-token-hint: the hint of the signed-in user with prompt=none goes straight through."""
    first = rp.full_login(rp_client).get_json()["id_token"]
    code = rp.code_from(rp.authorize(rp_client, prompt="none", id_token_hint=first))
    second = rp.verify(rp.exchange(rp_client, code).get_json()["id_token"], rp_client.client_id).claims
    assert second["sub"] == rp.verify(first, rp_client.client_id).claims["sub"]


def test_prompt_none_not_logged_in_answers_login_required_with_state(rp, rp_client):
    """oidcc-prompt-none-not-logged-in."""
    query = _query(rp.authorize(rp_client, prompt="none"))
    assert query["error"] == "login_required" and query["state"] == "st-1" and query["iss"] == ISSUER


REGISTERED_WITH_QUERY = "https://rp.example.com/callback?foo=bar"


def test_redirect_uri_with_query_is_kept(rp, register, acme):
    """oidcc-redirect-uri-query-ok: the registered query survives, the code is added to it."""
    registration = register(redirect_uris=(REGISTERED_WITH_QUERY,))
    query = _query(rp.log_in_through(registration, redirect_uri=REGISTERED_WITH_QUERY))
    assert query["foo"] == "bar" and query["code"]
    token = rp.token(registration, {"grant_type": "authorization_code", "code": query["code"],
                                    "redirect_uri": REGISTERED_WITH_QUERY})
    assert token.status_code == 200


@pytest.mark.parametrize("uri", [REGISTERED_WITH_QUERY + "&foo2=bar2", "https://rp.example.com/callback?foo=zot",
                                 "https://rp.example.com/callback"])
def test_redirect_uri_query_added_or_mismatched_is_an_error_page(rp, register, acme, uri):
    """oidcc-redirect-uri-query-added, oidcc-redirect-uri-query-mismatch."""
    registration = register(redirect_uris=(REGISTERED_WITH_QUERY,))
    response = rp.authorize(registration, redirect_uri=uri)
    assert response.status_code == 400 and "Location" not in response.headers


def test_registered_redirect_uri_with_fragment_is_refused(app, acme, clock):
    """oidcc-redirect-uri-regfrag (for static registration)."""
    from idp.logs.audit import OPERATOR
    from idp.oidc import clients as oidc_clients
    from idp.platform.errors import ValidationError
    from idp.tenancy import tenants
    with app.app_context():
        with pytest.raises(ValidationError):
            oidc_clients.register(
                tenants.get_by_slug("acme"), oidc_clients.ClientSettings(
                    name="frag", redirect_uris=["https://rp.example.com/cb#frag"]),
                now=clock.now(), actor=OPERATOR)


def test_refresh_token_of_one_client_is_refused_to_another(rp, rp_client, register):
    """oidcc-refresh-token: refresh works, but not for another client; the refreshed ID token keeps
    iss, sub, aud and auth_time (OIDC Core 12.2)."""
    other = register(name="別アプリ")
    body = rp.full_login(rp_client, scope="openid offline_access").get_json()
    stolen = rp.token(other, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    refreshed = rp.token(rp_client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    before = rp.verify(body["id_token"], rp_client.client_id).claims
    after = rp.verify(refreshed.get_json()["id_token"], rp_client.client_id).claims
    assert {k: after[k] for k in ("iss", "sub", "aud", "auth_time")} == \
        {k: before[k] for k in ("iss", "sub", "aud", "auth_time")}


def test_code_reuse_revokes_the_access_token(rp, rp_client, clock):
    """oidcc-codereuse-30seconds: the second use fails and the first exchange's token stops working."""
    code = rp.code_from(rp.log_in_through(rp_client))
    first = rp.exchange(rp_client, code).get_json()
    clock.advance(seconds=30)
    replay = rp.exchange(rp_client, code)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert _bearer(rp, first["access_token"]).status_code == 401


def test_unsigned_request_object_without_inline_redirect_uri_is_rejected_at_the_redirect_uri(rp, rp_client):
    """oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: only client_id and
    response_type outside the object (OIDC Core 6.1)."""
    request_object = _unsigned({"redirect_uri": REDIRECT_URI, "state": "in-object", "scope": "openid",
                                "client_id": rp_client.client_id, "response_type": "code", "nonce": "n"})
    response = rp.http.get("/t/acme/oidc/authorize", query_string={
        "client_id": rp_client.client_id, "response_type": "code", "scope": "openid", "request": request_object})
    query = _query(response)
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert query["error"] == "request_not_supported" and query["state"] == "in-object"


def test_request_object_naming_an_unregistered_redirect_uri_is_an_error_page(rp, rp_client):
    request_object = _unsigned({"redirect_uri": "https://evil.example.com/cb"})
    response = rp.http.get("/t/acme/oidc/authorize", query_string={
        "client_id": rp_client.client_id, "response_type": "code", "request": request_object})
    assert response.status_code == 400 and "Location" not in response.headers


def test_request_uri_without_inline_redirect_uri_uses_the_only_registered_one(rp, rp_client):
    """oidcc-request-uri-unsigned (rejected as unsupported)."""
    response = rp.http.get("/t/acme/oidc/authorize", query_string={
        "client_id": rp_client.client_id, "response_type": "code", "scope": "openid",
        "request_uri": "https://rp.example.com/request.jwt"})
    assert _query(response)["error"] == "request_uri_not_supported"


def test_redirect_uri_missing_is_an_error_page(rp, rp_client):
    """oidcc-ensure-redirect-uri-in-authorization-request."""
    response = rp.authorize(rp_client, redirect_uri=None)
    assert response.status_code == 400 and "Location" not in response.headers


# --- RP-Initiated Logout ---------------------------------------------------------------------------

def _logout(rp, **params):
    return rp.http.get("/t/acme/oidc/logout", query_string={k: v for k, v in params.items() if v is not None})


def _signed_in(rp, rp_client):
    return rp.code_from(rp.authorize(rp_client, prompt="none")) is not None


def test_rp_initiated_logout_no_state(rp, rp_client):
    """oidcc-rp-initiated-logout-no-state."""
    id_token = rp.full_login(rp_client).get_json()["id_token"]
    response = _logout(rp, id_token_hint=id_token, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert response.headers["Location"] == POST_LOGOUT_URI
    assert _query(rp.authorize(rp_client, prompt="none"))["error"] == "login_required"


def test_rp_initiated_logout_no_post_logout_redirect_uri(rp, rp_client):
    """oidcc-rp-initiated-logout-no-post-logout-redirect-uri: logged out, our own page."""
    id_token = rp.full_login(rp_client).get_json()["id_token"]
    response = _logout(rp, id_token_hint=id_token, state="s")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert _query(rp.authorize(rp_client, prompt="none"))["error"] == "login_required"


@pytest.mark.parametrize("params", [{}, {"state": "only-state"}])
def test_rp_initiated_logout_no_params_and_only_state_ask_then_log_out(rp, rp_client, params):
    """oidcc-rp-initiated-logout-no-params, oidcc-rp-initiated-logout-only-state."""
    rp.full_login(rp_client)
    page = _logout(rp, **params)
    assert page.status_code == 200 and _signed_in(rp, rp_client)
    done = rp.http.post("/t/acme/oidc/logout", data={"confirm": "1", "csrf_token": csrf_of(page), **params})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert _query(rp.authorize(rp_client, prompt="none"))["error"] == "login_required"


def test_rp_initiated_logout_no_id_token_hint_confirms_then_redirects_with_state(rp, rp_client):
    """oidcc-rp-initiated-logout-no-id-token-hint."""
    rp.full_login(rp_client)
    params = {"client_id": rp_client.client_id, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s-9"}
    page = _logout(rp, **params)
    assert page.status_code == 200
    done = rp.http.post("/t/acme/oidc/logout", data={"confirm": "1", "csrf_token": csrf_of(page), **params})
    assert done.headers["Location"] == f"{POST_LOGOUT_URI}?state=s-9"


@pytest.mark.parametrize("target", ["https://evil.example.com/bye", POST_LOGOUT_URI + "?foo=bar",
                                    POST_LOGOUT_URI + "/"])
def test_rp_initiated_logout_bad_or_query_added_post_logout_redirect_uri(rp, rp_client, target):
    """oidcc-rp-initiated-logout-bad-post-logout-redirect-uri,
    oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: an error page, still signed in."""
    id_token = rp.full_login(rp_client).get_json()["id_token"]
    response = _logout(rp, id_token_hint=id_token, post_logout_redirect_uri=target, state="s")
    assert response.status_code == 400 and "Location" not in response.headers
    assert _signed_in(rp, rp_client)


def test_rp_initiated_logout_modified_id_token_hint(rp, rp_client):
    """oidcc-rp-initiated-logout-modified-id-token-hint: a broken signature is an error page."""
    header, payload, signature = rp.full_login(rp_client).get_json()["id_token"].split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    response = _logout(rp, id_token_hint=f"{header}.{payload}.{flipped}", post_logout_redirect_uri=POST_LOGOUT_URI)
    assert response.status_code == 400 and "Location" not in response.headers
    assert _signed_in(rp, rp_client)


def test_rp_initiated_logout_with_an_expired_id_token_hint_still_works(rp, rp_client, clock):
    """OIDC RP-Initiated Logout 2: the OP should accept an expired hint it issued."""
    id_token = rp.full_login(rp_client).get_json()["id_token"]
    clock.advance(seconds=2 * 3600)
    response = _logout(rp, id_token_hint=id_token, post_logout_redirect_uri=POST_LOGOUT_URI, state="late")
    assert response.headers["Location"] == f"{POST_LOGOUT_URI}?state=late"


# --- Back-Channel Logout ---------------------------------------------------------------------------

def test_backchannel_receiver_error_does_not_block_the_redirect(rp, register, acme, app, logout_receiver):
    """oidcc-backchannel-rp-initiated-logout with an RP answering 400: the user still gets redirected;
    the logout token carries sid and sub, no nonce, typ logout+jwt, and verifies against the JWKS."""
    registration = register(backchannel_logout_uri=logout_receiver.url)
    logout_receiver.statuses = [400, 400, 400, 400]
    sender = app.extensions["oidc_backchannel"]
    sender.delays = (0.01, 0.01, 0.01)
    id_token = rp.full_login(registration).get_json()["id_token"]
    response = _logout(rp, id_token_hint=id_token, post_logout_redirect_uri=POST_LOGOUT_URI, state="bc")
    assert response.headers["Location"] == f"{POST_LOGOUT_URI}?state=bc"
    assert sender.flush(10)
    assert len(logout_receiver.received) == 4  # the first attempt and 3 retries, then given up
    token = jwt.decode(logout_receiver.received[0], rp.jwks(), algorithms=["RS256", "ES256"])
    id_claims = rp.verify(id_token, registration.client_id).claims
    assert token.header["typ"] == "logout+jwt" and "nonce" not in token.claims
    assert token.claims["iss"] == ISSUER and token.claims["aud"] == registration.client_id
    assert token.claims["sid"] == id_claims["sid"] and token.claims["sub"] == id_claims["sub"]
    assert token.claims["events"] == {LOGOUT_EVENT: {}} and token.claims["jti"]


def test_backchannel_logout_revokes_tokens_without_offline_access(rp, register, acme, app, logout_receiver):
    """Back-Channel Logout 2.7: refresh tokens without offline_access end with the session;
    offline ones survive."""
    registration = register(backchannel_logout_uri=logout_receiver.url)
    online = rp.full_login(registration).get_json()
    offline = rp.exchange(registration, rp.code_from(rp.authorize(registration, scope="openid offline_access")))
    offline = offline.get_json()
    _logout(rp, id_token_hint=online["id_token"])
    assert _bearer(rp, online["access_token"]).status_code == 401
    again = rp.token(registration, {"grant_type": "refresh_token", "refresh_token": offline["refresh_token"]})
    assert again.status_code == 200
