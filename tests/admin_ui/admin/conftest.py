"""Fixtures of the admin console tests: the admin of `acme` (tests/admin_ui/conftest.py) signed in."""
import io

import pytest

from conftest import STRONG_PASSWORD, csrf_token_from

ADMIN_EMAIL = "admin@acme.example.com"


@pytest.fixture
def admin(client, login, acme):
    """The browser of acme's admin, signed in."""
    response = login(email=ADMIN_EMAIL)
    assert response.status_code == 302
    return client


@pytest.fixture
def post(client):
    """POST with a CSRF token taken from `page_url` (the page that holds the form)."""
    def _post(page_url, url, data=None, **kwargs):
        token = csrf_token_from(client.get(page_url).get_data(as_text=True))
        return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)
    return _post


@pytest.fixture
def other_browser(app):
    """Log in with a second, independent browser (the admin's stays signed in)."""
    def _login(email, password=STRONG_PASSWORD):
        browser = app.test_client()
        token = csrf_token_from(browser.get("/login").get_data(as_text=True))
        browser.post("/login", data={"csrf_token": token, "email": email, "password": password})
        return browser
    return _login


@pytest.fixture
def upload(admin, post):
    """Upload a CSV file as the admin; returns the review page (HTML) and its URL."""
    def _upload(data):
        response = post("/admin/accounts/import", "/admin/accounts/import",
                        {"file": (io.BytesIO(data), "accounts.csv")}, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)
        url = response.headers["Location"]
        return admin.get(url).get_data(as_text=True), url
    return _upload


@pytest.fixture
def apply(post):
    """Press 取り込む on the review page at `review_url`; returns the page it leads to (HTML)."""
    def _apply(review_url):
        return post(review_url, review_url + "/apply", follow_redirects=True).get_data(as_text=True)
    return _apply
