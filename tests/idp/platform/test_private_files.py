"""The instance folder is 0700; the SQLite database, its -wal/-shm and the generated secrets are 0600
(issue 14, point 6): made so on a first start, and tightened at start-up when an earlier run or a copy
left them readable by other local users."""
import os
import sqlite3
import stat

import pytest

from idp.logs.audit import OPERATOR
from idp.platform.config import ensure_secret_file, make_private
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.apps import app_builder

pytestmark = pytest.mark.sqlite_only  # the default database: SQLite in the instance folder

SECRETS = ("secret_key", "key_encryption_key")
DATABASE = ("idp.sqlite3", "idp.sqlite3-wal", "idp.sqlite3-shm")


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    """The usual 022, whatever the test process was given: new files would be 0644, folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def start(tmp_path):
    """create_app on the instance folder, with the defaults: SQLite there, generated secrets; every app's
    engine is disposed at the end."""
    with app_builder(lambda _n, instance: {
            "IDP_INSTANCE_DIR": str(instance), "IDP_DATABASE_URL": None, "IDP_SECRET_KEY": None,
            "IDP_KEY_ENCRYPTION_KEY": None, "IDP_BASE_URL": "http://127.0.0.1:8000", "IDP_MAIL_TRANSPORT": "outbox",
            "IDP_MAIL_ASYNC": False, "TESTING": True}) as start_app:
        yield start_app


def _write(application, slug="acme"):
    """A committed write (a tenant, its admin and keys); the pooled connection keeps -wal and -shm."""
    with application.app_context():
        tenants.create_tenant(slug=slug, company_name="ACME株式会社", owner_email=f"owner@{slug}.example.com",
                              admin_email=f"admin@{slug}.example.com", admin_password="Sakura-Blossom-2026",
                              now=application.extensions["idp_clock"].now(), actor=OPERATOR)
        db.session.commit()
    assert application.test_client().get("/login").status_code == 200


def _modes(instance):
    return {name: _mode(instance / name) for name in (".", *SECRETS, *DATABASE)}


EXPECTED = {".": 0o700, **{name: 0o600 for name in SECRETS + DATABASE}}


def test_a_first_start_makes_the_folder_and_its_files_private(tmp_path, loose_umask, start):
    instance = tmp_path / "instance"
    application = start(instance)
    _write(application)
    assert _modes(instance) == EXPECTED


def test_a_start_tightens_what_an_earlier_run_left_readable(tmp_path, loose_umask, start):
    instance = tmp_path / "instance"
    _write(start(instance))
    other = sqlite3.connect(str(instance / "idp.sqlite3"))  # another process using the database: WAL files stay
    try:
        other.execute("PRAGMA journal_mode=WAL")
        other.execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER)")
        other.commit()
        for name, mode in EXPECTED.items():
            os.chmod(instance / name, 0o755 if name == "." else 0o644)
        application = start(instance)
        assert _modes(instance) == EXPECTED
        _write(application, slug="beta")
        assert _modes(instance) == EXPECTED
    finally:
        other.close()


def test_ensure_secret_file_and_make_private(tmp_path, loose_umask):
    path = tmp_path / "secret_key"
    path.write_text("kept")
    os.chmod(path, 0o644)
    assert ensure_secret_file(str(path)) == "kept" and _mode(path) == 0o600
    os.chmod(path, 0o400)
    assert make_private(str(path)) and _mode(path) == 0o400  # already private: left as it is
    assert make_private(str(tmp_path / "missing")) is False
