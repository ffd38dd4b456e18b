"""Signing in where a protocol sends the browser: the tenant's own login page (`/t/{tenant}/login?next=…`)."""
from urllib.parse import parse_qs, urlsplit

from conftest import STRONG_PASSWORD, csrf_token_from


def log_in_at(client, location, email, password=STRONG_PASSWORD, company=None):
    """Follow the protocol's redirect to the login page, post the credentials there, and come back."""
    page = client.get(location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:300]
    if company:
        assert f"{company} のアカウントでログインします。" in html
    next_url = (parse_qs(urlsplit(location).query).get("next") or [""])[0]
    posted = client.post(urlsplit(location).path, data={"csrf_token": csrf_token_from(html), "email": email,
                                                        "password": password, "next": next_url})
    assert posted.status_code == 302, posted.get_data(as_text=True)[:300]
    return client.get(posted.headers["Location"])
