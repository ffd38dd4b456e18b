"""Numbers the authorization request may carry in any length (OIDC Core 3.1.2.1 max_age: seconds). A max_age
longer than MAX_AGE (ten years, far longer than an SSO session lives) asks for nothing more and is read as
MAX_AGE; never a 500 (a timedelta of 10**20 seconds overflows). Not a number is invalid_request, at the
redirect URI with state (RFC 6749 4.1.2.1)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from protocols.oidc.authorize import MAX_AGE
from tests.protocols.oidc.conftest import REDIRECT_URI


@pytest.mark.parametrize("max_age", [str(MAX_AGE + 1), "99999999999999999999", "9" * 5000])
def test_a_max_age_beyond_any_session_lets_a_live_session_through(rp, rp_client, clock, max_age):
    rp.code_from(rp.log_in_through(rp_client))
    clock.advance(hours=9)
    assert rp.code_from(rp.authorize(rp_client, max_age=max_age))
    assert rp.code_from(rp.authorize(rp_client, max_age=max_age, prompt="none"))


def test_a_max_age_beyond_any_session_still_logs_in_without_one(rp, rp_client):
    first = rp.authorize(rp_client, max_age="99999999999999999999")
    assert first.status_code == 302 and "/login?" in first.headers["Location"]
    assert rp.code_from(rp.log_in_through(rp_client, max_age="99999999999999999999"))


def test_leading_zeros_do_not_make_a_max_age_longer(rp, rp_client, clock):
    rp.code_from(rp.log_in_through(rp_client))
    clock.advance(seconds=61)
    assert "/login?" in rp.authorize(rp_client, max_age="0" * 30 + "60").headers["Location"]


@pytest.mark.parametrize("max_age", ["1e30", "-99999999999999999999", "9" * 30 + "x"])
def test_a_max_age_that_is_not_a_number_is_invalid_request(rp, rp_client, max_age):
    response = rp.authorize(rp_client, max_age=max_age)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_URI + "?")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["st-1"]
