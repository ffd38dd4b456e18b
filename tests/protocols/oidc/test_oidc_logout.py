"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 (to a local receiver), and key rotation."""
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwt import JWTClaimsRegistry

from idp import keys
from idp.authn import sessions
from idp.models import SsoSession
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.protocols.oidc.conftest import ISSUER, POST_LOGOUT_URI, csrf_of, epoch

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _sender(app):
    sender = app.extensions["oidc_backchannel"]
    sender.delays = (0.05, 0.05)
    return sender


def test_logout_with_id_token_hint_ends_the_session_and_redirects_with_state(rp, rp_client):
    id_token = rp.full_login(rp_client).get_json()["id_token"]
    response = rp.http.get("/t/acme/oidc/logout", query_string={
        "id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "bye-1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{POST_LOGOUT_URI}?state=bye-1"
    assert "error=login_required" in rp.authorize(rp_client, prompt="none").headers["Location"]


def test_logout_without_hint_asks_for_confirmation(rp, rp_client):
    rp.full_login(rp_client)
    page = rp.http.get("/t/acme/oidc/logout", query_string={"client_id": rp_client.client_id,
                                                            "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert page.status_code == 200
    assert rp.code_from(rp.authorize(rp_client))  # still signed in
    forged = rp.http.post("/t/acme/oidc/logout", data={"confirm": "1", "client_id": rp_client.client_id})
    assert forged.status_code == 200  # no CSRF token: asked again
    confirmed = rp.http.post("/t/acme/oidc/logout", data={
        "confirm": "1", "csrf_token": csrf_of(page), "client_id": rp_client.client_id,
        "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert confirmed.headers["Location"] == POST_LOGOUT_URI
    assert "/login?" in rp.authorize(rp_client).headers["Location"]


@pytest.mark.parametrize("params", [
    {"post_logout_redirect_uri": "https://evil.example.com/"},
    {"post_logout_redirect_uri": POST_LOGOUT_URI},  # no client named: cannot be checked
    {"id_token_hint": "garbage"},
])
def test_unregistered_post_logout_redirect_is_an_error_page(rp, rp_client, params):
    rp.full_login(rp_client)
    response = rp.http.get("/t/acme/oidc/logout", query_string=params)
    assert response.status_code == 400 and "Location" not in response.headers


def test_backchannel_logout_token_reaches_the_receiver_after_logout(rp, register, acme, app, logout_receiver,
                                                                    clock):
    registration = register(backchannel_logout_uri=logout_receiver.url)
    logout_receiver.statuses = [500]  # first attempt fails: retried
    id_token = rp.full_login(registration).get_json()["id_token"]
    id_claims = rp.verify(id_token, registration.client_id).claims
    rp.http.get("/t/acme/oidc/logout", query_string={"id_token_hint": id_token})
    assert _sender(app).flush(10)
    assert len(logout_receiver.received) == 2
    token = jwt.decode(logout_receiver.received[-1], rp.jwks())
    assert token.header["typ"] == "logout+jwt"
    JWTClaimsRegistry(now=epoch(clock.now()), iss={"essential": True, "value": ISSUER},
                      aud={"essential": True, "value": registration.client_id}).validate(token.claims)
    assert token.claims["sub"] == id_claims["sub"] and token.claims["sid"] == id_claims["sid"]
    assert token.claims["events"] == {LOGOUT_EVENT: {}} and token.claims["jti"] and "nonce" not in token.claims


def test_password_reset_style_session_end_sends_backchannel_and_revokes_non_offline_tokens(
        rp, register, acme, app, logout_receiver, clock):
    registration = register(backchannel_logout_uri=logout_receiver.url)
    body = rp.full_login(registration).get_json()
    with app.app_context():
        live = db.session.query(SsoSession).filter(SsoSession.ended_at.is_(None)).all()
        sessions.end_many(live, clock.now(), reason="password_reset")
        db.session.commit()
    assert _sender(app).flush(10)
    assert len(logout_receiver.received) == 1
    info = rp.http.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 401


def test_rolled_back_session_end_sends_nothing(rp, register, acme, app, logout_receiver, clock):
    registration = register(backchannel_logout_uri=logout_receiver.url)
    rp.full_login(registration)
    with app.app_context():
        live = db.session.query(SsoSession).filter(SsoSession.ended_at.is_(None)).all()
        sessions.end_many(live, clock.now(), reason="logout")
        db.session.rollback()
    assert _sender(app).flush(5)
    assert logout_receiver.received == []


def test_private_targets_refused_when_the_idp_is_not_on_loopback(app, logout_receiver):
    from protocols.oidc.backchannel import Sender
    assert Sender(allow_private=False, delays=()).deliver(logout_receiver.url, "token") is False
    assert logout_receiver.received == []
    assert Sender(allow_private=True, delays=()).deliver(logout_receiver.url, "token") is True


def test_rotation_old_tokens_still_verify_and_jwks_lists_both(rp, rp_client, app, clock):
    old_token = rp.full_login(rp_client).get_json()["id_token"]
    with app.app_context():
        keys.rotate(tenants.get_by_slug("acme"), clock.now(), prepublish=3600)
        db.session.commit()
    assert len([k for k in rp.http.get("/t/acme/oidc/jwks").get_json()["keys"] if k["alg"] == "RS256"]) == 2
    clock.advance(seconds=3601)
    new_token = rp.exchange(rp_client, rp.code_from(rp.authorize(rp_client))).get_json()["id_token"]
    old_kid, new_kid = (jwt.decode(t, rp.jwks()).header["kid"] for t in (old_token, new_token))
    assert old_kid != new_kid
    assert jwt.decode(old_token, rp.jwks()).claims["aud"] == rp_client.client_id
    assert {old_kid, new_kid} <= {k["kid"] for k in rp.http.get("/t/acme/oidc/jwks").get_json()["keys"]}


def test_logout_state_only_when_given(rp, rp_client):
    id_token = rp.full_login(rp_client).get_json()["id_token"]
    response = rp.http.get("/t/acme/oidc/logout", query_string={"id_token_hint": id_token,
                                                                "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert "state" not in parse_qs(urlsplit(response.headers["Location"]).query)


@pytest.mark.parametrize("base, setting, allowed", [
    ("http://127.0.0.1:8000", "auto", True), ("https://idp.example.com", "auto", False),
    ("https://idp.example.com", "1", True), ("http://localhost:8000", "0", False)])
def test_private_backchannel_targets_follow_the_setting(base, setting, allowed):
    from protocols.oidc.backchannel import allow_private_targets
    assert allow_private_targets({"IDP_BASE_URL": base, "IDP_OIDC_BACKCHANNEL_ALLOW_PRIVATE": setting}) is allowed
