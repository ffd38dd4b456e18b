"""`ui_locales` (OIDC Core 3.1.2.1) picks the login page language when we support it (ja, en)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import csrf_token_from


def _login_page(rp, rp_client, **params):
    first = rp.authorize(rp_client, **params)
    assert first.status_code == 302 and "/login?" in first.headers["Location"]
    return first.headers["Location"], rp.http.get(first.headers["Location"])


@pytest.mark.parametrize("ui_locales, heading", [
    ("en", "Log in"), ("en-US ja", "Log in"), ("fr-CA en", "Log in"), ("ja en", "ログイン"), ("fr de", "ログイン"),
])
def test_login_page_follows_ui_locales(rp, rp_client, ui_locales, heading):
    _url, page = _login_page(rp, rp_client, ui_locales=ui_locales)
    assert f"<h1>{heading}</h1>" in page.get_data(as_text=True)


def test_ui_locales_beats_accept_language_and_lasts_through_a_failed_attempt(rp, rp_client):
    first = rp.authorize(rp_client, ui_locales="en")
    login_url = first.headers["Location"]
    page = rp.http.get(login_url, headers={"Accept-Language": "ja"})
    assert "<h1>Log in</h1>" in page.get_data(as_text=True)
    next_url = parse_qs(urlsplit(login_url).query)["next"][0]
    failed = rp.http.post("/login", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                          "email": "taro@acme.example.com", "password": "wrong-password-1A",
                                          "next": next_url}, headers={"Accept-Language": "ja"})
    assert "Incorrect email address or password." in failed.get_data(as_text=True)


def test_without_ui_locales_accept_language_still_decides(rp, rp_client):
    first = rp.authorize(rp_client)
    page = rp.http.get(first.headers["Location"], headers={"Accept-Language": "en"})
    assert "<h1>Log in</h1>" in page.get_data(as_text=True)


def test_the_language_switch_of_the_user_wins_over_ui_locales(rp, rp_client):
    rp.http.get("/lang/ja")
    _url, page = _login_page(rp, rp_client, ui_locales="en")
    assert "<h1>ログイン</h1>" in page.get_data(as_text=True)


def test_error_page_of_the_authorization_endpoint_follows_ui_locales(rp, rp_client):
    page = rp.authorize(rp_client, redirect_uri="https://evil.example.com/cb", ui_locales="en")
    assert page.status_code == 400
    assert 'lang="en"' in page.get_data(as_text=True)
