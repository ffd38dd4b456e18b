"""The whole life of a login driven by pyoidc (`oic`, an OpenID-certified RP library), over real HTTPS:
discovery → authorize (PKCE, through our login form) → token → ID token validation (signature from
the JWKS, iss, aud, exp, nonce, at_hash) → userinfo → refresh → RP-initiated logout → back-channel
logout token verified by pyoidc. Nothing here calls the server's code."""
from urllib.parse import parse_qs, urlsplit

import requests
from oic import rndstr
from oic.oic import Client
from oic.oic.message import AuthorizationResponse, BackChannelLogoutRequest, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.settings import OicClientSettings

from tests.protocols.oidc.conftest import POST_LOGOUT_URI, REDIRECT_URI, STRONG
from tests.protocols.oidc.live_server import config_overrides, live, tls  # noqa: F401  (fixtures)

CSRF_MARK = 'name="csrf_token" value="'


def _rp(issuer, registration, ca_path):
    rp = Client(client_authn_method=CLIENT_AUTHN_METHOD, settings=OicClientSettings(verify_ssl=ca_path))
    rp.provider_config(issuer)  # Discovery: pyoidc checks that the document's issuer is exactly this
    rp.store_registration_info(RegistrationResponse(
        client_id=registration.client_id, client_secret=registration.client_secret, redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI], token_endpoint_auth_method="client_secret_basic"))
    rp.redirect_uris = [REDIRECT_URI]
    return rp


def _browser_login(browser, url, base):
    """The user agent: authorize → our login form → password → back to authorize → the RP's redirect."""
    first = browser.get(url, allow_redirects=False)
    assert first.status_code == 302 and "/login?" in first.headers["Location"], first.text[:300]
    login_url = first.headers["Location"]
    page = browser.get(base + login_url if login_url.startswith("/") else login_url)
    csrf = page.text.split(CSRF_MARK, 1)[1].split('"', 1)[0]
    posted = browser.post(f"{base}/login", allow_redirects=False, headers={"Referer": page.url}, data={
        "csrf_token": csrf, "email": "taro@acme.example.com", "password": STRONG,
        "next": parse_qs(urlsplit(login_url).query)["next"][0]})
    assert posted.status_code == 302, posted.text[:300]
    back = browser.get(base + posted.headers["Location"], allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(REDIRECT_URI + "?")
    return back.headers["Location"]


def test_pyoidc_rp_full_lifecycle(live, tls, register, acme, logout_receiver):  # noqa: F811  (imported fixtures)
    registration = register(backchannel_logout_uri=logout_receiver.url)
    issuer = f"{live}/t/acme"
    rp = _rp(issuer, registration, tls["cert"])
    assert rp.provider_info["issuer"] == issuer
    assert rp.provider_info["code_challenge_methods_supported"] == ["S256"]

    state, nonce = rndstr(), rndstr()
    pkce, verifier = rp.add_code_challenge()
    request = rp.construct_AuthorizationRequest(request_args={
        "client_id": rp.client_id, "response_type": "code", "scope": ["openid", "profile", "email", "offline_access"],
        "redirect_uri": REDIRECT_URI, "state": state, "nonce": nonce, **pkce})
    browser = requests.Session()
    browser.verify, browser.trust_env = tls["cert"], False
    callback = _browser_login(browser, request.request(rp.authorization_endpoint), live)

    answer = rp.parse_response(AuthorizationResponse, info=urlsplit(callback).query, sformat="urlencoded")
    assert answer["state"] == state and answer["iss"] == issuer

    # Token: pyoidc verifies the ID token's signature (JWKS), iss, aud, exp, nonce and at_hash.
    tokens = rp.do_access_token_request(state=state, request_args={"code": answer["code"], "code_verifier": verifier},
                                        authn_method="client_secret_basic")
    id_token = tokens["id_token"]
    assert id_token["iss"] == issuer and id_token["aud"] == [rp.client_id] and id_token["nonce"] == nonce
    assert id_token["at_hash"] and id_token["sid"] and tokens["refresh_token"]
    subject = id_token["sub"]
    assert "@" not in subject

    info = rp.do_user_info_request(state=state)
    assert info["sub"] == subject and info["email"] == "taro@acme.example.com" and info["name"] == "山田 太郎"

    # Refresh: a new pair; the ID token of the refresh keeps the subject (OIDC Core 12.2).
    first_refresh = tokens["refresh_token"]
    refreshed = rp.do_access_token_refresh(state=state, authn_method="client_secret_basic")
    assert refreshed["refresh_token"] != first_refresh and refreshed["access_token"] != tokens["access_token"]
    assert refreshed["id_token"]["sub"] == subject
    assert rp.do_user_info_request(state=state)["sub"] == subject

    # RP-initiated logout through the browser, with the ID token as hint.
    logout = rp.construct_EndSessionRequest(state=state, request_args={
        "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "bye-1"})
    ended = browser.get(logout.request(rp.end_session_endpoint), allow_redirects=False)
    assert ended.status_code == 302
    assert ended.headers["Location"] == f"{POST_LOGOUT_URI}?state=bye-1"

    # Back-channel logout token, verified by pyoidc against the OP's keys.
    _wait_for(lambda: logout_receiver.received)
    message = BackChannelLogoutRequest(logout_token=logout_receiver.received[0])
    assert message.verify(keyjar=rp.keyjar, iss=issuer, aud=rp.client_id)
    logout_token = message["logout_token"]
    assert logout_token["sub"] == subject and logout_token["sid"] == id_token["sid"]

    # The SSO session is over: prompt=none now answers login_required.
    again = rp.construct_AuthorizationRequest(request_args={
        "client_id": rp.client_id, "response_type": "code", "scope": ["openid"], "redirect_uri": REDIRECT_URI,
        "state": "s2", "nonce": "n2", "prompt": "none"})
    refused = browser.get(again.request(rp.authorization_endpoint), allow_redirects=False)
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["error"] == ["login_required"]


def _wait_for(condition, timeout=10):
    import time
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()
