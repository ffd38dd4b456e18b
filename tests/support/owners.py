"""Helpers for the owner (契約者) tests: mailed links and the contract login through HTTP."""
from conftest import STRONG_PASSWORD, csrf_token_from

BASE_URL = "http://127.0.0.1:8000"
OWNER_EMAIL = "owner@acme.example.com"
OWNER_PASSWORD = "Contract-Holder-2026"


def mailed_links(outbox, address, marker):
    """Paths of the links containing `marker` mailed to `address` (oldest first)."""
    return [link.removeprefix(BASE_URL) for m in outbox.to(address) for link in outbox.links(m)
            if marker in link]


def set_password(submit, path, password=OWNER_PASSWORD):
    return submit(path, {"password": password, "password_confirm": password})


def activate_owner(submit, outbox, address=OWNER_EMAIL, password=OWNER_PASSWORD):
    [path] = mailed_links(outbox, address, "/contract/activate/")
    response = set_password(submit, path, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def owner_login(client, email=OWNER_EMAIL, password=OWNER_PASSWORD):
    page = client.get("/contract/login")
    if page.status_code == 302:
        page = client.get("/contract/logout")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/contract/login", data={"csrf_token": token, "email": email, "password": password})


__all__ = ["BASE_URL", "OWNER_EMAIL", "OWNER_PASSWORD", "STRONG_PASSWORD", "activate_owner", "mailed_links",
           "owner_login", "set_password"]
