"""Errors of the authorization endpoint: an error page when the redirect URI cannot be trusted,
otherwise an error sent to the registered redirect URI with state and iss; prompt / max_age."""
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from idp.models import LoginEvent
from idp.platform.extensions import db
from tests.protocols.oidc.conftest import REDIRECT_URI, pkce_pair


def _error_of(response, state="st-1"):
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = parse_qs(urlsplit(location).query)
    assert query.get("state") == ([state] if state else None)
    assert "code" not in query
    return query["error"][0]


@pytest.mark.parametrize("params", [
    {"redirect_uri": "https://evil.example.com/callback"},
    {"redirect_uri": REDIRECT_URI + "/"},
    {"redirect_uri": None},
    {"client_id": "unknown-client"},
])
def test_untrusted_client_or_redirect_uri_gets_an_error_page_never_a_redirect(rp, rp_client, params):
    response = rp.authorize(rp_client, **params)
    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize("params, error", [
    ({"response_type": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ({"request_uri": "https://rp.example.com/req"}, "request_uri_not_supported"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "²"}, "invalid_request"),
    ({"claims": "not json"}, "invalid_request"),
    ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ({"id_token_hint": "not-a-token"}, "invalid_request"),
    ({"prompt": "none"}, "login_required"),
])
def test_bad_requests_are_answered_at_the_redirect_uri(rp, rp_client, params, error):
    assert _error_of(rp.authorize(rp_client, **params)) == error


def test_error_without_state_has_no_state(rp, rp_client):
    assert _error_of(rp.authorize(rp_client, state=None, response_type=None), state=None) == "invalid_request"


def test_public_client_without_pkce_is_refused(rp, register, acme):
    registration = register(public=True)
    assert _error_of(rp.authorize(registration)) == "invalid_request"


def test_unknown_parameters_are_ignored_and_post_works(rp, rp_client):
    rp.code_from(rp.log_in_through(rp_client, foo="bar", display="page", ui_locales="ja", acr_values="x"))
    form = {"response_type": "code", "client_id": rp_client.client_id, "redirect_uri": REDIRECT_URI,
            "scope": "openid", "state": "st-1"}
    assert rp.code_from(rp.http.post("/t/acme/oidc/authorize", data=form))


def test_prompt_none_with_live_session_returns_a_code(rp, rp_client):
    rp.code_from(rp.log_in_through(rp_client))
    assert rp.code_from(rp.authorize(rp_client, prompt="none"))


def test_login_hint_is_passed_to_the_login_page(rp, rp_client):
    response = rp.authorize(rp_client, login_hint="taro@acme.example.com")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["login_hint"] == ["taro@acme.example.com"]


def test_prompt_login_forces_reauthentication_then_resumes(rp, rp_client, clock):
    first_auth = rp.verify(rp.full_login(rp_client).get_json()["id_token"], rp_client.client_id).claims["auth_time"]
    clock.advance(minutes=5)
    response = rp.authorize(rp_client, prompt="login")
    assert "/login?" in response.headers["Location"]
    assert parse_qs(urlsplit(response.headers["Location"]).query)["reauth"] == ["1"]
    body = rp.full_login(rp_client, prompt="login").get_json()
    assert rp.verify(body["id_token"], rp_client.client_id).claims["auth_time"] > first_auth


def test_max_age_forces_reauthentication_once_exceeded(rp, rp_client, clock):
    rp.code_from(rp.log_in_through(rp_client))
    clock.advance(seconds=30)
    assert rp.code_from(rp.authorize(rp_client, max_age="60"))
    clock.advance(seconds=60)
    assert "/login?" in rp.authorize(rp_client, max_age="60").headers["Location"]
    assert _error_of(rp.authorize(rp_client, max_age="60", prompt="none")) == "login_required"
    assert rp.code_from(rp.log_in_through(rp_client, max_age="60"))


def test_user_whose_group_is_not_assigned_gets_access_denied_and_a_login_event(rp, register, acme, factory, app):
    factory.group("acme", "経理部")
    registration = register(group_names=["経理部"])
    assert _error_of(rp.log_in_through(registration)) == "access_denied"
    with app.app_context():
        event = db.session.scalars(select(LoginEvent).where(LoginEvent.protocol == "oidc")).one()
        assert (event.result, event.reason, event.app_id) == ("failure", "app_not_assigned", registration.app_id)


def test_pkce_challenge_accepted_for_confidential_client_and_verifier_required(rp, rp_client):
    _verifier, challenge = pkce_pair()
    code = rp.code_from(rp.log_in_through(rp_client, code_challenge=challenge, code_challenge_method="S256"))
    response = rp.exchange(rp_client, code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
