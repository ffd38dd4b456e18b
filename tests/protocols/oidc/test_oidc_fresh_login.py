"""prompt=login, max_age=0 and a step-up ask for this request's own login (OIDC Core 3.1.2.1), to the instant.

The clock is frozen and never advanced: the login and the forcing request happen in the same instant (not
even a millisecond apart), which a comparison of clocks cannot tell apart. The login made for the request's
return URL counts exactly once; a replay of that URL, also after another login, asks for the password again."""
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.mfa import post_form, recovery_codes_on, secret_on, set_mode, totp


def to_login(response):
    """The `next` of a redirect to the login page that asks for the password again (reauth=1)."""
    assert response.status_code == 302 and "/login?" in response.headers["Location"], response.headers.get("Location")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["reauth"] == ["1"]
    return query["next"][0]


def claims_of(rp, registration, response):
    body = rp.exchange(registration, rp.code_from(response)).get_json()
    return rp.verify(body["id_token"], registration.client_id).claims


@pytest.mark.parametrize("forcing", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "login", "max_age": "0"}])
def test_a_login_in_the_same_instant_before_the_request_does_not_count(rp, rp_client, forcing):
    first = claims_of(rp, rp_client, rp.log_in_through(rp_client))
    return_url = to_login(rp.authorize(rp_client, **forcing))  # same instant as that login: still asked
    posted = rp.login(next_url=return_url)
    assert posted.headers["Location"] == return_url
    again = claims_of(rp, rp_client, rp.http.get(return_url))  # the login made for this request: accepted
    assert again["sid"] != first["sid"] and again["auth_time"] == first["auth_time"]  # a new session, same second
    to_login(rp.http.get(return_url))  # the same return URL again: that login was spent


@pytest.mark.parametrize("forcing", [{"prompt": "login"}, {"max_age": "0"}])
def test_a_replayed_return_url_after_another_login_asks_again(rp, rp_client, forcing):
    rp.log_in_through(rp_client)
    return_url = to_login(rp.authorize(rp_client, **forcing))
    rp.login(next_url=return_url)
    assert rp.code_from(rp.http.get(return_url))
    rp.login()  # another login (the portal's), not for that request
    to_login(rp.http.get(return_url))
    fresh = to_login(rp.authorize(rp_client, **forcing))  # and the request itself asks for its own login
    assert fresh != return_url
    rp.login(next_url=fresh)
    assert rp.code_from(rp.http.get(fresh))


def test_max_age_0_with_prompt_none_is_login_required_right_after_a_login(rp, rp_client):
    rp.log_in_through(rp_client)
    response = rp.authorize(rp_client, prompt="none", max_age="0")
    assert "error=login_required" in response.headers["Location"]


def test_a_hand_made_marker_does_not_count(rp, rp_client):
    rp.log_in_through(rp_client)
    return_url = to_login(rp.authorize(rp_client, prompt="login"))
    forged = return_url.replace("_login=", "_login=x")
    to_login(rp.http.get(forged))  # no login was made for this marker


def test_a_plain_request_after_a_login_in_the_same_instant_goes_through(rp, rp_client):
    rp.log_in_through(rp_client)
    assert rp.code_from(rp.authorize(rp_client))
    assert rp.code_from(rp.authorize(rp_client, max_age="1"))  # 0 seconds old: not more than 1


def test_step_up_with_prompt_login_in_the_same_instant(app, rp, rp_client, clock):
    """The MFA policy changes in the instant of the login; the next request steps up (password and a newly
    enrolled factor, then the recovery codes' page) and its return URL is accepted exactly once."""
    first = claims_of(rp, rp_client, rp.log_in_through(rp_client))
    set_mode(app, clock, "totp")
    assert "error=login_required" in rp.authorize(rp_client, prompt="none").headers["Location"]
    return_url = to_login(rp.authorize(rp_client, prompt="login"))
    assert rp.login(next_url=return_url).headers["Location"] == "/login/mfa"
    secret = secret_on(rp.http.get("/login/mfa/totp").get_data(as_text=True))
    codes_page = post_form(rp.http, "/login/mfa/totp", {"code": totp(secret, clock)})
    assert codes_page.status_code == 200 and recovery_codes_on(codes_page.get_data(as_text=True))
    stepped_up = claims_of(rp, rp_client, rp.http.get(return_url))
    assert "mfa" in stepped_up["amr"] and stepped_up["sid"] != first["sid"]
    to_login(rp.http.get(return_url))  # spent
    assert rp.code_from(rp.authorize(rp_client))  # the stepped-up session goes through plain requests
