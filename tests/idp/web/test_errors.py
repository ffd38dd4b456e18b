"""A request body over MAX_CONTENT_LENGTH (2 MiB) is a 413 wherever it is posted, anonymous or not: an error
page for browsers, an OAuth error body (RFC 6749 5.2) from the JSON APIs apps call; never a 500, nothing
logged as an error (the page's language is chosen without reading the body)."""
import io
import logging

import pytest

OVERSIZED = b"next=%2Ft%2Facme%2Foidc%2Fauthorize%3Fui_locales%3Den&a=" + b"x" * (2 * 1024 * 1024)
FORM = "application/x-www-form-urlencoded"

PAGES = ["/login", "/signup", "/password/forgot", "/contract/login", "/activate/not-a-token",
         "/t/acme/saml/sso", "/t/acme/saml/slo", "/t/acme/oidc/authorize", "/t/acme/oidc/logout"]
JSON_APIS = ["/t/acme/oidc/token", "/t/acme/oidc/introspect", "/t/acme/oidc/revoke", "/t/acme/oidc/userinfo"]


@pytest.fixture
def acme(factory):
    factory.tenant("acme")


@pytest.fixture
def errors_logged(caplog):
    caplog.set_level(logging.INFO)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("url", PAGES)
def test_an_oversized_form_gets_the_413_page(client, acme, errors_logged, url):
    response = client.post(url, data=OVERSIZED, content_type=FORM)
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "送信されたデータが大きすぎます。" in response.get_data(as_text=True)
    assert errors_logged() == []


@pytest.mark.parametrize("url", JSON_APIS)
def test_an_oversized_request_to_a_json_api_gets_an_oauth_error(client, acme, errors_logged, url):
    response = client.post(url, data=OVERSIZED, content_type=FORM, headers={"Origin": "https://rp.example.com"})
    assert response.status_code == 413 and response.mimetype == "application/json"
    assert response.get_json() == {"error": "invalid_request", "error_description": "the request body is too large"}
    assert response.headers["Cache-Control"] == "no-store"
    assert errors_logged() == []


def test_an_oversized_multipart_upload_of_a_signed_in_admin_gets_the_413_page(client, login, acme, errors_logged):
    assert login(email="admin@acme.example.com").status_code == 302
    body = {"file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "accounts.csv")}
    response = client.post("/admin/accounts/import", data=body, content_type="multipart/form-data")
    assert response.status_code == 413 and "送信されたデータが大きすぎます。" in response.get_data(as_text=True)
    assert errors_logged() == []


def test_other_errors_of_the_json_apis_are_unchanged(client, acme):
    assert client.get("/t/acme/oidc/token").status_code == 405
    assert client.post("/t/nowhere/oidc/token").status_code == 404
