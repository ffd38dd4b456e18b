"""Shared fixtures: the app on a fresh database, a frozen clock, the mail outbox, factories.

Database backends: SQLite always; with `--postgres` (what `make test` passes
when PostgreSQL is installed) every test that uses the app runs on PostgreSQL
too, against a throwaway server the session starts on 127.0.0.1 (under
pytest-xdist, one per worker). Tests marked `sqlite_only` stay on SQLite.
Each test starts on an empty database at the head revision: on SQLite a copy of
a file made once per session, on PostgreSQL the shared database emptied after
the test before it. tests/support/speedups.py: what else is done once per process.
"""
import email
import email.policy
import gc
import glob
import os
import re
import shutil
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import text

from idp import create_app
from idp.logs.audit import OPERATOR
from idp.platform.clock import FrozenClock
from idp.platform.extensions import db

START = datetime(2026, 4, 1, 0, 0, 0)  # 09:00 in Japan
STRONG_PASSWORD = "Sakura-Blossom-2026"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
RESTART_SEQUENCES = ("SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass, "
                     "start_value, false) FROM pg_sequences WHERE schemaname = current_schema()")


def pytest_addoption(parser):
    parser.addoption("--postgres", action="store_true",
                     help="also run every app test against a throwaway PostgreSQL server")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: run on SQLite only, even with --postgres")


def pytest_sessionstart(session):
    """Fewer, cheaper garbage collections (with the defaults a third of a test process's time went to them).
    Every test leaves a whole app, engine and statement cache behind in reference cycles: they outlive the
    young generations and wait for a full collection, which also walks every object of every imported
    module, more often the more there are. So the young generation is collected less often, and what is
    alive after the first tests (modules, compiled templates, mappers) is frozen: collections skip it."""
    gc.set_threshold(10_000, 10, 10)


_tests_run = 0


def pytest_runtest_logfinish(nodeid, location):
    global _tests_run
    _tests_run += 1
    if _tests_run in (1, 20):  # after the lazy imports and first-use set-ups of the first tests
        gc.collect()
        gc.freeze()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items):
    """Every test that launches Chromium (it uses `browser_page`) is marked `browser`."""
    for item in items:
        if "browser_page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def pytest_generate_tests(metafunc):
    if "database_backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.config.getoption("--postgres") and not metafunc.definition.get_closest_marker("sqlite_only"):
            backends.append("postgresql")
        metafunc.parametrize("database_backend", backends, scope="function")


@pytest.fixture(scope="session")
def postgres_url():
    from tests.support.postgres import PostgresServer
    server = PostgresServer()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory):
    """A SQLite file with the schema at the head revision and no rows, made once by create_app as a
    first start does; every SQLite test starts on a copy of it (create_app then finds it up to date)."""
    instance = tmp_path_factory.mktemp("sqlite-schema")
    path = instance / "idp.sqlite3"
    application = create_app({
        "IDP_INSTANCE_DIR": str(instance), "IDP_DATABASE_URL": "sqlite:///" + str(path),
        "IDP_SECRET_KEY": "test-secret-key", "IDP_BASE_URL": "http://127.0.0.1:8000", "IDP_MAIL_TRANSPORT": "outbox",
        "IDP_MAIL_ASYNC": False, "TESTING": True})
    with application.app_context():
        db.engine.dispose()
    connection = sqlite3.connect(str(path), isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, which is copied
        filled = [table.name for table in db.metadata.sorted_tables
                  if connection.execute(f'SELECT 1 FROM "{table.name}" LIMIT 1').fetchone()]
    finally:
        connection.close()
    assert not filled, f"start-up wrote rows, so a copy is not a fresh database: {filled}"
    return path


@pytest.fixture
def database_url(database_backend, request, tmp_path):
    if database_backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    path = tmp_path / "instance" / "idp.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(request.getfixturevalue("sqlite_schema"), path)
    return "sqlite:///" + str(path)


@pytest.fixture(scope="session")
def speedups():
    """tests/support/speedups.py: work a test cannot tell from fresh is done once per process."""
    from tests.support import speedups
    with pytest.MonkeyPatch.context() as session_patch:
        yield speedups.install(session_patch)


@pytest.fixture(autouse=True)
def _fresh_speedups(speedups):
    speedups.new_test()


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def config_overrides():
    """Tests override configuration by redefining or mutating this dict."""
    return {}


@pytest.fixture
def app(tmp_path, clock, database_url, config_overrides):
    config = {
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
        "IDP_DATABASE_URL": database_url,
        "IDP_SECRET_KEY": "test-secret-key",
        "IDP_BASE_URL": "http://127.0.0.1:8000",
        "IDP_MAIL_TRANSPORT": "outbox",
        "IDP_MAIL_ASYNC": False,  # delivered at commit; tests/idp/platform/test_mail.py covers the async worker
        "IDP_HELP_URL": "https://help.example.com/",
        "IDP_CLOCK": clock,
        "TESTING": True,
    }
    config.update(config_overrides)
    application = create_app(config)
    yield application
    with application.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # What TRUNCATE … RESTART IDENTITY CASCADE did, in ~3 ms instead of ~100 (TRUNCATE makes new
            # files for every table and index). Foreign keys are not checked (replica role): every table goes.
            deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(db.metadata.sorted_tables))
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(deletes))
                conn.execute(text(RESTART_SEQUENCES))
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token_from(html):
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def submit(client):
    """GET a form page, then POST `data` to it with the page's CSRF token (like a browser)."""
    def _submit(url, data, follow_redirects=False, post_url=None):
        page = client.get(url)
        token = csrf_token_from(page.get_data(as_text=True))
        return client.post(post_url or url, data={"csrf_token": token, **data},
                           follow_redirects=follow_redirects)
    return _submit


class Outbox:
    """The mails the app wrote to {instance}/outbox, oldest first."""

    def __init__(self, directory):
        self.directory = directory

    def messages(self):
        paths = sorted(glob.glob(os.path.join(self.directory, "*.eml")))  # names sort in sending order
        result = []
        for path in paths:
            with open(path, "rb") as fh:
                result.append(email.message_from_binary_file(fh, policy=email.policy.default))
        return result

    def to(self, address):
        return [m for m in self.messages() if m["To"] == address]

    @staticmethod
    def body(message):
        return message.get_body(preferencelist=("plain",)).get_content()

    @classmethod
    def links(cls, message):
        return re.findall(r"https?://\S+", cls.body(message))


@pytest.fixture
def outbox(app):
    return Outbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "outbox"))


@pytest.fixture
def factory(app, clock):
    """Create tenants, groups and accounts through the services (committed)."""
    from idp.directory import accounts, groups
    from idp.tenancy import tenants

    class Factory:
        def tenant(self, slug="acme", company="ACME株式会社", admin_email=None, owner_email=None,
                   admin_password=STRONG_PASSWORD):
            admin_email = admin_email or f"admin@{slug}.example.com"
            with app.app_context():
                created = tenants.create_tenant(
                    slug=slug, company_name=company, owner_email=owner_email or f"owner@{slug}.example.com",
                    admin_email=admin_email, admin_password=admin_password, now=clock.now(), actor=OPERATOR)
                db.session.commit()
                return created.tenant.id

        def group(self, tenant_slug, name):
            with app.app_context():
                tenant = tenants.get_by_slug(tenant_slug)
                group = groups.create_group(tenant, name, now=clock.now(), actor=OPERATOR)
                db.session.commit()
                return group.id

        def account(self, tenant_slug="acme", email="taro@acme.example.com", name="山田 太郎",
                    password=STRONG_PASSWORD, **fields):
            with app.app_context():
                tenant = tenants.get_by_slug(tenant_slug)
                created = accounts.create_account(
                    tenant, accounts.NewAccount(email=email, name=name, **fields),
                    password=password, now=clock.now(), actor=OPERATOR)
                db.session.commit()
                return created.account.id, created.activation_url

    return Factory()


@pytest.fixture
def login(client):
    """Log in through the login form (like a browser, with its CSRF token); returns the response.

    A browser that is already signed in is sent past /login, so its token is taken from /logout.
    """
    def _login(email="taro@acme.example.com", password=STRONG_PASSWORD, next_url=None):
        page = client.get("/login" + (f"?next={next_url}" if next_url else ""))
        if page.status_code == 302:
            page = client.get("/logout")
        token = csrf_token_from(page.get_data(as_text=True))
        return client.post("/login", data={"csrf_token": token, "email": email, "password": password,
                                           "next": next_url or ""})
    return _login


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT_DIR = os.path.join(os.path.dirname(__file__), "tests", "output")


@pytest.fixture
def live_server(tmp_path, clock):
    """The app served over real HTTP on 127.0.0.1 (a thread), for browser tests."""
    import socket
    import threading
    from types import SimpleNamespace

    from werkzeug.serving import make_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    application = create_app({
        "IDP_INSTANCE_DIR": str(tmp_path / "live"), "IDP_SECRET_KEY": "live-secret",
        "IDP_BASE_URL": base_url, "IDP_CLOCK": clock, "IDP_HELP_URL": "https://help.example.com/",
    })
    server = make_server("127.0.0.1", port, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=base_url, app=application, outbox=Outbox(
        os.path.join(application.config["IDP_INSTANCE_DIR"], "outbox")))
    server.shutdown()
    thread.join(5)


def _settled_content(page):
    """page.content() that waits for the page a click began to load.

    A click that submits a form returns once the navigation has started; read at that instant
    (or between a POST's 302 and the GET), the document is empty or Playwright refuses because
    the page is navigating. Reading again until a loaded document with a body shows up keeps
    `assert "..." in page.content()` from failing on a slow machine.
    """
    from playwright.sync_api import Error as PlaywrightError
    read = page.content

    def content():
        html = ""
        for _ in range(100):  # 10 s at most
            try:
                page.wait_for_load_state()
                html = read()
            except PlaywrightError as error:
                if "navigating" not in str(error):
                    raise
                html = ""
            if "</body>" in html and not re.search(r"<body[^>]*>\s*</body>", html):
                return html
            page.wait_for_timeout(100)
        return html
    return content


@pytest.fixture
def browser_page():
    """A headless Debian Chromium page (Playwright); screenshots go to tests/output/."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="ja-JP")
        page.content = _settled_content(page)
        yield page
        browser.close()
