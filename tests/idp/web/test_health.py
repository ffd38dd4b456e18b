"""/healthz (no I/O, no session, no CSRF) and /readyz (database, and Redis when it holds the rate limits):
200 when every dependency answers, 503 quickly when one does not, never a secret in the body."""
import socket
import threading
import time

import pytest
from sqlalchemy import create_engine, event

from idp.platform.extensions import db
from idp.web import health
from tests.support.apps import app_builder
from tests.support.redis import RedisServer, require_redis_server

FAST = 2.0  # seconds: a failing /readyz answers within this


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound without listen: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def statements(app):
    """The SQL statements the app's engine runs from now on."""
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def _timed_get(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


def test_healthz_answers_without_io_session_or_cookie(app, client, statements, monkeypatch):
    from idp.authn import sessions
    monkeypatch.setattr(sessions, "resolve", lambda *args: pytest.fail("/healthz looked up the SSO session"))
    client.set_cookie("idp_sso", "some-session-token")
    for _ in range(50):  # never rate-limited
        response = client.get("/healthz")
        assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert statements == []
    assert client.head("/healthz").status_code == 200
    monkeypatch.undo()  # a 405 page is an ordinary error page (it has no endpoint, so it looks the session up)
    assert client.post("/healthz").status_code == 405  # not a CSRF error (400)


def test_readyz_answers_ok_when_the_database_does(app, client, monkeypatch):
    from idp.authn import sessions
    monkeypatch.setattr(sessions, "resolve", lambda *args: pytest.fail("/readyz looked up the SSO session"))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}  # memory:// rate limits
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def unreachable_database(app, closed_port):
    """The app's engine replaced by one at a closed port (with a password that must never be shown)."""
    with app.app_context():
        engines = db.engines
        real = engines[None]
        dead = create_engine(f"postgresql+psycopg2://idp:s3cret@127.0.0.1:{closed_port}/idp")
        engines[None] = dead
    yield
    with app.app_context():
        engines[None] = real
    dead.dispose()


def test_readyz_is_503_quickly_when_the_database_is_unreachable(app, client, unreachable_database, caplog):
    response, elapsed = _timed_get(client, "/readyz")
    assert response.status_code == 503 and elapsed < FAST
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "unavailable"}}
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert "s3cret" not in body and "127.0.0.1" not in body and "postgresql" not in body
    assert "readiness check database failed" in caplog.text and "s3cret" not in caplog.text
    assert client.get("/healthz").status_code == 200  # the process itself is fine


def test_a_hanging_check_is_answered_timeout_without_piling_up(app, client, monkeypatch):
    release = threading.Event()
    started = []

    def hanging(_engine):
        started.append(1)
        release.wait(30)
        return True

    monkeypatch.setattr(health, "_select_one", hanging)
    monkeypatch.setattr(health, "READY_TIMEOUT", 0.3)
    try:
        first, elapsed = _timed_get(client, "/readyz")
        assert first.status_code == 503 and elapsed < FAST
        assert first.get_json() == {"status": "unavailable", "checks": {"database": "timeout"}}
        assert client.get("/readyz").get_json()["checks"] == {"database": "timeout"}
        assert len(started) == 1  # the second probe waited on the first run instead of starting another
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while app.extensions[health.PROBES]["database"].thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.get("/readyz").status_code == 200  # a finished run is followed by a fresh one


@pytest.fixture
def instance(app, tmp_path):
    """Another instance of the app on the same database, with some settings of its own."""
    with app_builder(lambda n, **overrides: {
            "IDP_INSTANCE_DIR": str(tmp_path / f"instance{n + 1}"), "IDP_SECRET_KEY": "test-secret-key",
            "IDP_DATABASE_URL": app.config["IDP_DATABASE_URL"], "IDP_BASE_URL": "http://127.0.0.1:8000",
            "IDP_MAIL_TRANSPORT": "outbox", "TESTING": True, **overrides}) as make:
        yield make


def test_readyz_is_503_quickly_when_the_configured_redis_is_down(instance, closed_port):
    application = instance(IDP_RATELIMIT_STORAGE=f"redis://:s3cret@127.0.0.1:{closed_port}/0")
    response, elapsed = _timed_get(application.test_client(), "/readyz")
    assert response.status_code == 503 and elapsed < FAST
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "unavailable"}}
    assert "s3cret" not in response.get_data(as_text=True)


def test_readyz_checks_a_running_redis(instance):
    server = RedisServer(require_redis_server())
    try:
        application = instance(IDP_RATELIMIT_STORAGE=server.start())
        response = application.test_client().get("/readyz")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
        server.stop()
        response, elapsed = _timed_get(application.test_client(), "/readyz")
        assert response.status_code == 503 and elapsed < FAST
        assert response.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}
    finally:
        server.stop()


def test_readyz_pings_redis_itself_not_through_the_rate_limiter(instance, closed_port, monkeypatch):
    """A rate limiter that counts in memory while Redis is down must not make the instance look ready."""
    application = instance(IDP_RATELIMIT_STORAGE=f"redis://127.0.0.1:{closed_port}/0")
    from idp.platform import ratelimit
    with application.app_context():
        monkeypatch.setattr(ratelimit.limiter().storage, "check", lambda: True)
    response, elapsed = _timed_get(application.test_client(), "/readyz")
    assert response.status_code == 503 and elapsed < FAST
    assert response.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}


def test_readyz_leaves_redis_out_when_rate_limits_are_off(instance, closed_port):
    application = instance(IDP_RATELIMIT_STORAGE=f"redis://127.0.0.1:{closed_port}/0", IDP_RATELIMIT_ENABLED="0")
    response = application.test_client().get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"] == {"database": "ok"}
