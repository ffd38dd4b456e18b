"""The database unreachable (PostgreSQL down or restarting): every request answers 503 at once, a page for
browsers and an OAuth `temporarily_unavailable` body from the JSON APIs, with Retry-After; never a 500 and
never a secret; requests succeed again as soon as the database is back (tests/e2e/test_topology.py restarts
a real PostgreSQL under two instances)."""
import socket
import time

import pytest
from sqlalchemy import create_engine

from idp.platform.extensions import db

FAST = 2.0  # seconds


@pytest.fixture
def acme(factory):
    factory.tenant("acme")


@pytest.fixture
def database_down(app):
    """Switch the app's engine to a closed port (with a password that must never be shown); back on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with app.app_context():
            engines = db.engines
            real = engines[None]
            dead = create_engine(f"postgresql+psycopg2://idp:s3cret@127.0.0.1:{port}/idp")

        def switch(down):
            engines[None] = dead if down else real
        switch(True)
        yield switch
        switch(False)
        dead.dispose()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("url", ["/login", "/", "/t/acme/oidc/authorize?client_id=x", "/admin/accounts"])
def test_pages_answer_503_quickly_while_the_database_is_down(client, acme, database_down, caplog, url):
    client.set_cookie("idp_sso", "a-session-token")  # a signed-in browser: its session cannot be looked up
    response, elapsed = timed(lambda: client.get(url))
    assert response.status_code == 503 and elapsed < FAST
    assert response.headers["Retry-After"] == "5"
    body = response.get_data(as_text=True)
    assert "ただいまサービスを利用できません。しばらく待ってから再度お試しください。" in body
    assert "s3cret" not in body and "psycopg2" not in body and "Traceback" not in body
    assert "database unavailable: OperationalError" in caplog.text and "s3cret" not in caplog.text


def test_the_token_endpoint_answers_an_oauth_error(client, acme, database_down):
    response, elapsed = timed(lambda: client.post("/t/acme/oidc/token", data={"grant_type": "client_credentials"},
                                                  headers={"Authorization": "Basic eDp5"}))
    assert response.status_code == 503 and elapsed < FAST
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Retry-After"] == "5"


def test_requests_succeed_again_once_the_database_is_back(client, acme, database_down):
    client.set_cookie("idp_sso", "a-session-token")
    assert client.get("/login").status_code == 503
    database_down(False)
    assert client.get("/login").status_code == 200  # the unknown session is simply not signed in
    assert client.get("/t/acme/.well-known/openid-configuration").status_code == 200
