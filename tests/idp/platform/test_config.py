"""Configuration: https-only base URL, HSTS and cookie flags, the generated secret key,
schema bootstrap (idempotent, safe when several workers start at once), SQLite pragmas,
security headers."""
import multiprocessing
import os
import stat
import traceback

import pytest
from sqlalchemy import func, inspect, select, text

from conftest import START, STRONG_PASSWORD, csrf_token_from
from idp import create_app
from idp.logs.audit import OPERATOR
from idp.models import Account, Tenant
from idp.platform.config import ConfigError, ensure_secret_file
from idp.platform.extensions import db
from idp.platform.urls import external_url
from idp.tenancy import tenants
from tests.support.apps import app_builder

HTTPS_BASE = "https://idp.example.com"
LOOPBACK_BASE = "http://127.0.0.1:8000"
EMAIL = "taro@acme.example.com"
SECRET_MODE = 0o600
WORKERS = 8


def _base_config(instance_dir, **overrides):
    """A config for create_app that ignores the environment (every IDP_* key is explicit)."""
    config = {
        "IDP_INSTANCE_DIR": str(instance_dir),
        "IDP_DATABASE_URL": None,  # the default SQLite file in the instance folder
        "IDP_SECRET_KEY": "test-secret-key",
        "IDP_BASE_URL": LOOPBACK_BASE,
        "IDP_MAIL_TRANSPORT": "outbox",
        "TESTING": True,
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_app():
    """create_app with a clean config; the engines of every app built are disposed afterwards."""
    with app_builder(lambda _n, instance_dir, **overrides: _base_config(instance_dir, **overrides)) as make:
        yield make


@pytest.fixture
def config_overrides(request):
    """Tests choose the base URL with `@pytest.mark.parametrize("config_overrides", [...], indirect=True)`."""
    return dict(getattr(request, "param", {}))


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _create_tenant(application, slug="acme"):
    with application.app_context():
        tenants.create_tenant(slug=slug, company_name="ACME株式会社", owner_email=f"owner@{slug}.example.com",
                              admin_email=f"admin@{slug}.example.com", admin_password=STRONG_PASSWORD,
                              now=START, actor=OPERATOR)
        db.session.commit()


# --- IDP_BASE_URL: https only, plain http on loopback -------------------------------------------

@pytest.mark.parametrize("base_url", [
    "http://idp.example.com",
    "http://10.0.0.5:8000",
    "ftp://x",
    "http://0.0.0.0:8000",
    "http://127.0.0.1.nip.io:8000",
    "https://",
    "idp.example.com",
])
def test_refuses_to_start_on_plain_http_off_loopback(tmp_path, make_app, base_url):
    instance = tmp_path / "instance"
    with pytest.raises(ConfigError, match="IDP_BASE_URL"):
        make_app(instance, IDP_BASE_URL=base_url)
    assert not instance.exists(), "the refusal happens before anything is written"


@pytest.mark.parametrize("base_url, https", [
    ("https://idp.example.com", True),
    ("https://idp.example.com:8443", True),
    ("http://127.0.0.1:8000", False),
    ("http://localhost:5000", False),
    ("http://[::1]:8000", False),
])
def test_starts_on_https_or_loopback_http(tmp_path, make_app, base_url, https):
    application = make_app(tmp_path / "instance", IDP_BASE_URL=base_url)
    assert application.config["IDP_HTTPS"] is https
    assert application.config["SESSION_COOKIE_SECURE"] is https
    assert application.config["IDP_BASE_URL"] == base_url


def test_trailing_slash_in_environment_base_url_is_dropped(tmp_path, make_app, monkeypatch):
    monkeypatch.setenv("IDP_BASE_URL", "https://idp.example.com/")
    application = create_app({"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_DATABASE_URL": None,
                              "IDP_SECRET_KEY": "k", "IDP_MAIL_TRANSPORT": "outbox"})
    with application.app_context():
        assert external_url("/activate/x") == "https://idp.example.com/activate/x"
        db.engine.dispose()


def test_trailing_slash_in_create_app_config_is_dropped(tmp_path, make_app):
    application = make_app(tmp_path / "instance", IDP_BASE_URL="https://idp.example.com/")
    with application.app_context():
        assert external_url("/activate/x") == "https://idp.example.com/activate/x"


# --- HSTS and cookie flags ----------------------------------------------------------------------

def _set_cookies(response):
    """{name: {"value": ..., attribute (lower-case): value or True}} from the Set-Cookie headers."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        parsed = {"value": value}
        for attribute in attributes:
            key, sep, attr_value = attribute.partition("=")
            parsed[key.lower()] = attr_value if sep else True
        cookies[name] = parsed
    return cookies


def _browser_login(client, base_url):
    """GET /login (the form session cookie and its CSRF token), then POST the credentials."""
    page = client.get("/login", base_url=base_url)
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login", base_url=base_url, headers={"Referer": f"{base_url}/login"},
                           data={"csrf_token": token, "email": EMAIL, "password": STRONG_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return page, response


def _assert_cookie_flags(cookie, secure):
    assert cookie.get("httponly") is True
    assert str(cookie.get("samesite")).lower() == "lax"
    assert cookie.get("path") == "/"
    assert bool(cookie.get("secure")) is secure


@pytest.mark.parametrize("config_overrides", [{"IDP_BASE_URL": HTTPS_BASE}], indirect=True)
def test_https_sends_hsts_and_secure_cookies(app, client, factory):
    factory.tenant()
    factory.account()
    page, response = _browser_login(client, HTTPS_BASE)

    for each in (page, response):
        hsts = each.headers.get("Strict-Transport-Security")
        assert hsts and int(hsts.split("max-age=")[1].split(";")[0]) >= 180 * 24 * 3600

    form_cookie = _set_cookies(page)["idp_form"]
    _assert_cookie_flags(form_cookie, secure=True)
    login_cookies = _set_cookies(response)
    sso = login_cookies["idp_sso"]
    _assert_cookie_flags(sso, secure=True)
    assert len(sso["value"]) >= 32 and int(sso["max-age"]) > 0
    # the form session is cleared at login: its deletion carries the same flags
    _assert_cookie_flags(login_cookies["idp_form"], secure=True)

    portal = client.get("/", base_url=HTTPS_BASE)
    assert portal.status_code == 200  # the Secure SSO cookie works over https
    lang = _set_cookies(client.get("/lang/en", base_url=HTTPS_BASE))["lang"]
    _assert_cookie_flags(lang, secure=True)


@pytest.mark.parametrize("config_overrides", [{"IDP_BASE_URL": LOOPBACK_BASE}], indirect=True)
def test_loopback_http_sends_no_hsts_and_plain_cookies(app, client, factory):
    factory.tenant()
    factory.account()
    page, response = _browser_login(client, LOOPBACK_BASE)

    for each in (page, response):
        assert "Strict-Transport-Security" not in each.headers
    # not even if the request claims https: HSTS would pin a development host to https
    assert "Strict-Transport-Security" not in client.get(
        "/login", base_url="https://127.0.0.1:8000").headers

    _assert_cookie_flags(_set_cookies(page)["idp_form"], secure=False)
    _assert_cookie_flags(_set_cookies(response)["idp_sso"], secure=False)
    assert client.get("/", base_url=LOOPBACK_BASE).status_code == 200
    _assert_cookie_flags(_set_cookies(client.get("/lang/en", base_url=LOOPBACK_BASE))["lang"], secure=False)


def test_security_headers_on_login_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {part.strip().split(" ", 1)[0]: part.strip().split(" ")[1:]
                  for part in csp.split(";") if part.strip()}
    assert "default-src" in directives
    script_sources = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in script_sources and "'unsafe-eval'" not in script_sources
    assert response.headers.get("X-Frame-Options") == "DENY" \
        or directives.get("frame-ancestors") == ["'none'"]
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin")


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                    "Permissions-Policy")


def _security_headers(response):
    return {name: response.headers.get(name) for name in SECURITY_HEADERS + ("Strict-Transport-Security",)}


@pytest.mark.parametrize("config_overrides", [{"IDP_BASE_URL": HTTPS_BASE, "IDP_TRUSTED_PROXIES": "1"}],
                         indirect=True)
def test_json_endpoints_keep_every_security_header_on_every_response(app, client, factory):
    """The apps' JSON endpoints reuse the headers made for their first response (idp.web.security_headers)."""
    factory.tenant()
    jwks = [client.get("/t/acme/oidc/jwks", base_url=HTTPS_BASE) for _ in range(3)]
    token = [client.post("/t/acme/oidc/token", data={"grant_type": "x"}, base_url=HTTPS_BASE) for _ in range(2)]
    for response in jwks + token:
        headers = _security_headers(response)
        assert all(headers.values()), headers
        assert headers == _security_headers(jwks[0]) and headers["X-Content-Type-Options"] == "nosniff"
    assert token[0].status_code == 401 and token[0].headers["Cache-Control"] == "no-store"
    # the same endpoint over plain http (a health check behind the proxy): no HSTS there
    plain = client.get("/t/acme/oidc/jwks", base_url="http://idp.example.com")
    assert "Strict-Transport-Security" not in plain.headers and plain.headers["X-Frame-Options"] == "DENY"
    # … and https again through a trusted TLS proxy that says so (IDP_TRUSTED_PROXIES): HSTS is back
    proxied = client.get("/t/acme/oidc/jwks", base_url="http://idp.example.com", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"] == jwks[0].headers["Strict-Transport-Security"]


# --- the generated secret key ---------------------------------------------------------------------

def test_secret_key_is_generated_private_and_reused(tmp_path, make_app):
    instance = tmp_path / "instance"
    first = make_app(instance, IDP_SECRET_KEY=None)
    path = instance / "secret_key"
    assert path.is_file()
    assert _mode(path) == SECRET_MODE
    secret = path.read_text().strip()
    assert len(secret) >= 32
    assert first.secret_key == secret

    second = make_app(instance, IDP_SECRET_KEY=None)
    assert second.secret_key == secret
    assert path.read_text().strip() == secret
    assert not [name for name in os.listdir(instance) if name.endswith(".tmp")]

    # a form session signed by the first instance is valid for the second (workers share the key)
    page = first.test_client().get("/login")
    cookie = _set_cookies(page)["idp_form"]["value"]
    client = second.test_client()
    client.set_cookie("idp_form", cookie)
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "email": "nobody@example.com",
                                           "password": "x"})
    assert response.status_code == 200
    assert "The CSRF" not in response.get_data(as_text=True)


def test_explicit_secret_key_writes_no_file(tmp_path, make_app):
    application = make_app(tmp_path / "instance", IDP_SECRET_KEY="from-the-environment")
    assert application.secret_key == "from-the-environment"
    assert not (tmp_path / "instance" / "secret_key").exists()


def _race_for_secret(path, barrier, results):
    try:
        barrier.wait(timeout=30)
        results.put(("ok", ensure_secret_file(path)))
    except BaseException:  # report everything to the parent
        results.put(("error", traceback.format_exc()))


def _run_racers(target, args_for, count=WORKERS, timeout=120):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args_for(i), barrier, results)) for i in range(count)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=timeout) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    errors = [detail for status, *detail in outcomes if status != "ok"]
    assert not errors, errors
    assert all(process.exitcode == 0 for process in processes)
    return [detail for _status, *detail in outcomes]


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_ensure_secret_file_agrees_on_one_secret(tmp_path, round_):
    path = str(tmp_path / "secret_key")
    values = [value for (value,) in _run_racers(_race_for_secret, lambda _i: (path,))]
    assert len(values) == WORKERS
    assert len(set(values)) == 1
    with open(path) as fh:
        assert fh.read().strip() == values[0]
    assert _mode(path) == SECRET_MODE
    assert os.listdir(tmp_path) == ["secret_key"], "no temporary files are left behind"


# --- schema bootstrap -----------------------------------------------------------------------------

def test_schema_is_created_on_first_start_and_create_app_is_idempotent(tmp_path, make_app):
    instance = tmp_path / "fresh" / "instance"
    first = make_app(instance)
    assert (instance / "idp.sqlite3").is_file()
    with first.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"tenants", "groups", "accounts", "owners", "audit_events", "login_events",
            "sso_sessions", "action_tokens", "apps", "group_apps"} <= tables
    _create_tenant(first)
    with first.app_context():
        db.engine.dispose()

    second = make_app(instance)
    with second.app_context():
        assert db.session.scalar(select(Tenant.slug)) == "acme"
        assert db.session.scalar(select(Account.email)) == "admin@acme.example.com"
    _create_tenant(second, slug="beta")
    third = make_app(instance)
    with third.app_context():
        assert db.session.scalars(select(Tenant.slug).order_by(Tenant.slug)).all() == ["acme", "beta"]


def _race_to_create_app(instance_dir, barrier, results):
    try:
        barrier.wait(timeout=30)
        application = create_app(_base_config(instance_dir, IDP_SECRET_KEY=None))
        with application.app_context():
            tenant_count = db.session.scalar(select(func.count()).select_from(Tenant))
            journal_mode = db.session.execute(text("PRAGMA journal_mode")).scalar()
            db.session.remove()
            db.engine.dispose()
        results.put(("ok", application.secret_key, tenant_count, journal_mode))
    except BaseException:  # report everything to the parent
        results.put(("error", traceback.format_exc()))


@pytest.mark.sqlite_only
def test_concurrent_first_start_on_a_fresh_instance(tmp_path, make_app):
    instance = str(tmp_path / "instance")
    outcomes = _run_racers(_race_to_create_app, lambda _i: (instance,))
    assert len({secret for secret, _count, _mode in outcomes}) == 1
    assert all(count == 0 for _secret, count, _mode in outcomes)
    assert all(mode == "wal" for _secret, _count, mode in outcomes)
    assert not [name for name in os.listdir(instance) if name.endswith(".tmp")]
    assert _mode(os.path.join(instance, "secret_key")) == SECRET_MODE

    application = make_app(instance, IDP_SECRET_KEY=None)
    assert application.secret_key == outcomes[0][0]
    _create_tenant(application)
    with application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1


# --- SQLite pragmas -------------------------------------------------------------------------------

@pytest.mark.sqlite_only
def test_sqlite_uses_wal_and_a_busy_timeout(app):
    with app.app_context():
        assert db.engine.dialect.name == "sqlite"
        db.engine.dispose()
        with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):  # every pooled connection, not only the first
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.sqlite_only
def test_sqlite_readers_are_not_blocked_by_a_writer(app, factory):
    """WAL: the CLI can read while the server holds a write transaction on the same file."""
    factory.tenant()
    with app.app_context():
        with db.engine.connect() as writer, db.engine.connect() as reader:
            writer.execute(text("UPDATE tenants SET company_name = 'changed' WHERE slug = 'acme'"))
            assert writer.in_transaction()
            assert reader.execute(text("SELECT company_name FROM tenants")).scalar() == "ACME株式会社"
            writer.rollback()
