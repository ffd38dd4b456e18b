"""Schema migrations (idp/migrations, idp.platform.schema): what an operator's database goes through.

Each test gets a database of its own (a SQLite file, or a new database on the test PostgreSQL
server) and starts apps on it the way gunicorn and `idp` do. The first test is the guard that fails
when a model changes without a migration (docs/database.md, "Schema changes").
"""
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, select, text

import idp.models.keys  # noqa: F401  (the signing_keys table belongs to the models' schema too)
from conftest import START
from idp import create_app
from idp.logs.audit import OPERATOR
from idp.models import Account, Tenant
from idp.platform.clock import FrozenClock
from idp.platform.extensions import MIGRATIONS_DIR, db
from idp.platform.migrate import migrate
from idp.platform.schema import LegacySchemaError, SchemaError
from idp.tenancy import tenants

IDP_SCRIPT = os.path.join(os.path.dirname(sys.executable), "idp")
HEAD = ScriptDirectory(MIGRATIONS_DIR).get_current_head()
# the comparison `idp db migrate` makes
COMPARE_OPTIONS = {key: migrate.alembic_ctx_kwargs[key] for key in ("compare_type", "compare_server_default")}
# A later revision for the upgrade tests: a new column with a server default, and a changed column, which
# SQLite can only do by copying the table (batch mode), on `tenants`, which every other table references.
LATER_REVISION = '''
"""test: a later revision"""
from alembic import op
import sqlalchemy as sa

revision = "9000_test"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=20), server_default="none", nullable=False))
        batch_op.alter_column("company_name", existing_type=sa.String(length=200), type_=sa.String(length=300))


def downgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.alter_column("company_name", existing_type=sa.String(length=300), type_=sa.String(length=200))
        batch_op.drop_column("note")
'''


@pytest.fixture
def instance_dir(tmp_path):
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def database_url(database_backend, instance_dir, request):
    """An empty database of its own (the shared test database is left to the other tests)."""
    if database_backend == "sqlite":
        yield "sqlite:///" + str(instance_dir / "idp.sqlite3")
        return
    server = make_url(request.getfixturevalue("postgres_url"))
    name = "idp_migrations_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def later_revision(tmp_path, monkeypatch):
    """Our migration scripts plus LATER_REVISION, in a copy that create_app then uses."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "versions" / "20990101_9000_test.py").write_text(LATER_REVISION.format(head=HEAD))
    monkeypatch.setattr(migrate, "directory", str(directory))
    return str(directory)


def app_config(url, instance):
    return {"IDP_INSTANCE_DIR": str(instance), "IDP_DATABASE_URL": url, "IDP_SECRET_KEY": "test-secret-key",
            "IDP_BASE_URL": "http://127.0.0.1:8000", "IDP_MAIL_TRANSPORT": "outbox", "IDP_MAIL_ASYNC": False,
            "IDP_CLOCK": FrozenClock(START), "TESTING": True}


@contextmanager
def started_app(url, instance):
    """create_app as gunicorn does, then its app context; the engine is closed afterwards."""
    app = create_app(app_config(url, instance))
    try:
        with app.app_context():
            yield app
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


@contextmanager
def connected(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def revisions(url):
    with connected(url) as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def table_names(url):
    with connected(url) as connection:
        return set(inspect(connection).get_table_names())


def schema_differences(url):
    with connected(url) as connection:
        return compare_metadata(MigrationContext.configure(connection, opts=COMPARE_OPTIONS), db.metadata)


def run_idp(url, instance, *args):
    """The installed console script, as an operator runs it."""
    env = {**os.environ, "IDP_DATABASE_URL": url, "IDP_INSTANCE_DIR": str(instance), "IDP_SECRET_KEY": "test"}
    return subprocess.run([IDP_SCRIPT, *args], env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120, cwd=str(instance))


def make_tenant(slug="acme"):
    tenant = tenants.create_tenant(slug=slug, company_name="ACME株式会社", owner_email=f"owner@{slug}.test",
                                   admin_email=f"admin@{slug}.test", now=START, actor=OPERATOR).tenant
    db.session.commit()
    return tenant.id


def test_migration_scripts_build_exactly_the_models_schema(database_url, instance_dir):
    """`idp db upgrade` on an empty database; fails when a model changed without a migration."""
    result = run_idp(database_url, instance_dir, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert revisions(database_url) == {HEAD}
    assert schema_differences(database_url) == []

    current = run_idp(database_url, instance_dir, "db", "current")
    assert current.returncode == 0, current.stderr
    assert f"{HEAD} (head)" in current.stdout


def test_downgrade_to_base_removes_every_table(database_url, instance_dir):
    assert run_idp(database_url, instance_dir, "db", "upgrade").returncode == 0
    result = run_idp(database_url, instance_dir, "db", "downgrade", "base")
    assert result.returncode == 0, result.stderr
    assert table_names(database_url) == {"alembic_version"}
    assert revisions(database_url) == set()


def test_idp_db_history_lists_the_revisions(database_url, instance_dir):
    result = run_idp(database_url, instance_dir, "db", "history")
    assert result.returncode == 0, result.stderr
    assert f"-> {HEAD} (head)" in result.stdout
    assert table_names(database_url) == set()  # `idp db …` leaves the database to the command


def test_start_up_on_an_empty_database_creates_the_schema_at_head(database_url, instance_dir):
    with started_app(database_url, instance_dir):
        make_tenant()
    assert revisions(database_url) == {HEAD}
    assert schema_differences(database_url) == []


def test_start_up_on_a_migrated_database_changes_nothing_and_keeps_data(database_url, instance_dir):
    assert run_idp(database_url, instance_dir, "db", "upgrade").returncode == 0
    with started_app(database_url, instance_dir):
        tenant_id = make_tenant()
    with started_app(database_url, instance_dir):
        assert db.session.get(Tenant, tenant_id).slug == "acme"
    assert revisions(database_url) == {HEAD}


def test_start_up_upgrades_an_older_database_in_place(database_url, instance_dir, later_revision):
    with started_app(database_url, instance_dir):  # at HEAD; the copy's head is 9000_test
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD})
        db.session.commit()
        tenant_id = make_tenant()
        accounts = db.session.scalars(select(Account.email).where(Account.tenant_id == tenant_id)).all()
    assert revisions(database_url) == {HEAD}

    with started_app(database_url, instance_dir):
        row = db.session.execute(text("SELECT slug, note FROM tenants WHERE id = :id"), {"id": tenant_id}).one()
        assert tuple(row) == ("acme", "none")
        # the copied `tenants` table kept the rows that reference it (no cascade while copying)
        assert db.session.scalars(select(Account.email).where(Account.tenant_id == tenant_id)).all() == accounts
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert revisions(database_url) == {"9000_test"}
    with connected(database_url) as connection:
        lengths = {c["name"]: getattr(c["type"], "length", None) for c in inspect(connection).get_columns("tenants")}
    assert lengths["company_name"] == 300


def test_a_database_of_the_previous_release_upgrades_and_keeps_its_config_versions(database_url, instance_dir):
    """0003 renames oidc_cache_versions to config_cache_versions: the rows (and tenants) stay."""
    assert run_idp(database_url, instance_dir, "db", "upgrade", "0002_saml_encryption").returncode == 0
    with connected(database_url) as connection:
        connection.execute(text("INSERT INTO tenants (slug, company_name, status, plan, created_at) "
                                "VALUES ('acme', 'ACME株式会社', 'active', 'free', :now)"), {"now": START})
        connection.execute(text("INSERT INTO oidc_cache_versions (tenant_id, version) "
                                "SELECT id, 4242 FROM tenants WHERE slug = 'acme'"))
        connection.commit()

    result = run_idp(database_url, instance_dir, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert revisions(database_url) == {HEAD}
    assert "oidc_cache_versions" not in table_names(database_url)
    assert schema_differences(database_url) == []
    with connected(database_url) as connection:
        assert connection.execute(text("SELECT version FROM config_cache_versions")).scalars().all() == [4242]


def test_accounts_of_the_previous_release_keep_working_with_login_ids_per_tenant(database_url, instance_dir):
    """0004 (issue 14): the IdP-wide unique address becomes unique per tenant; existing accounts stay."""
    assert run_idp(database_url, instance_dir, "db", "upgrade", "0003_config_cache").returncode == 0
    with connected(database_url) as connection:
        for slug in ("acme", "beta"):
            connection.execute(text("INSERT INTO tenants (slug, company_name, status, plan, created_at) "
                                    "VALUES (:slug, :slug, 'active', 'free', :now)"), {"slug": slug, "now": START})
            connection.execute(text("INSERT INTO groups (tenant_id, name, description, is_default, created_at) "
                                    "SELECT id, slug, '', :yes, :now FROM tenants WHERE slug = :slug"),
                               {"slug": slug, "now": START, "yes": True})
        connection.execute(text(
            "INSERT INTO accounts (tenant_id, group_id, subject, email, email_normalized, name, phone, mobile, "
            "organization, department, role, status, valid_from, activated, failed_login_count, created_at, "
            "updated_at) SELECT t.id, g.id, :subject, 'Taro@X.test', 'taro@x.test', '太郎', '', '', '', '', "
            "'user', 'enabled', :today, :yes, 0, :now, :now FROM tenants t JOIN groups g ON g.tenant_id = t.id "
            "WHERE t.slug = :slug"), {"subject": "s-acme", "today": START.date(), "yes": True, "now": START,
                                      "slug": "acme"})
        connection.commit()

    assert run_idp(database_url, instance_dir, "db", "upgrade").returncode == 0
    assert schema_differences(database_url) == []
    with started_app(database_url, instance_dir):
        from idp.directory import accounts
        [kept] = accounts.with_email("TARO@x.test")
        assert (kept.subject, kept.email, kept.tenant.slug) == ("s-acme", "Taro@X.test", "acme")
        beta = tenants.get_by_slug("beta")
        accounts.create_account(beta, accounts.NewAccount(email="taro@x.test", name="別の太郎"), now=START,
                                actor=OPERATOR)
        db.session.commit()
        assert sorted(a.tenant.slug for a in accounts.with_email("taro@x.test")) == ["acme", "beta"]


def test_start_up_runs_the_first_time_only(database_url, instance_dir, later_revision):
    with started_app(database_url, instance_dir):
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD})
        db.session.commit()
    with started_app(database_url, instance_dir):
        pass
    with started_app(database_url, instance_dir):  # at 9000_test already: adding the column again would fail
        pass
    assert revisions(database_url) == {"9000_test"}


def test_a_database_made_before_migrations_is_refused_with_what_to_do(database_url, instance_dir):
    with connected(database_url) as connection:
        db.metadata.create_all(connection)
        connection.exec_driver_sql("DROP TABLE config_cache_versions")
        connection.commit()

    with pytest.raises(LegacySchemaError) as refused:
        create_app(app_config(database_url, instance_dir))
    message = str(refused.value)
    assert "no schema migration history" in message
    assert "table config_cache_versions" in message
    assert "idp db stamp head" in message and "docs/database.md" in message
    if database_url.startswith("sqlite"):
        assert f"delete {instance_dir / 'idp.sqlite3'}" in message
    assert "alembic_version" not in table_names(database_url)  # refused, not half-upgraded


def test_a_database_made_before_migrations_can_be_adopted_with_stamp(database_url, instance_dir):
    with connected(database_url) as connection:
        db.metadata.create_all(connection)
        connection.commit()
    with pytest.raises(LegacySchemaError, match="Its tables and columns match the current models"):
        create_app(app_config(database_url, instance_dir))

    result = run_idp(database_url, instance_dir, "db", "stamp", "head")
    assert result.returncode == 0, result.stderr
    with started_app(database_url, instance_dir):
        make_tenant()
    assert revisions(database_url) == {HEAD}


def test_the_cli_prints_the_refusal_as_one_error_line(database_url, instance_dir):
    with connected(database_url) as connection:
        db.metadata.create_all(connection)
        connection.commit()
    result = run_idp(database_url, instance_dir, "tenant", "list", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: the database ") and "Traceback" not in result.stderr


def test_a_database_from_a_newer_version_is_refused(database_url, instance_dir):
    with started_app(database_url, instance_dir):
        db.session.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
        db.session.commit()
    with pytest.raises(SchemaError, match="schema revision ffffffffffff, which this version"):
        create_app(app_config(database_url, instance_dir))


# A worker: create_app, held back just before its schema step (lock, then database) until the test says go.
STARTER = textwrap.dedent("""
    import os, sys, time
    url, instance, go, ready, directory = sys.argv[1:6]
    import idp
    from idp.platform.migrate import migrate
    if directory:
        migrate.directory = directory
    from idp.platform import schema
    init_database = schema.init_app
    def init_database_on_go(app, **options):
        open(ready, "w").close()
        while not os.path.exists(go):
            time.sleep(0.001)
        init_database(app, **options)
    schema.init_app = init_database_on_go
    idp.create_app({"IDP_INSTANCE_DIR": instance, "IDP_DATABASE_URL": url, "IDP_SECRET_KEY": "test"})
    print("started")
""")


@pytest.mark.parametrize("pending", ["empty database", "later revision"])
def test_several_apps_starting_at_once_do_not_fail(database_url, instance_dir, tmp_path, request, pending):
    """Workers start together. On SQLite they share the instance folder (its file lock); on PostgreSQL
    each has its own, like separate hosts, and the advisory lock serialises them."""
    directory = ""
    if pending == "later revision":
        directory = request.getfixturevalue("later_revision")
        with started_app(database_url, instance_dir):
            db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD})
            db.session.commit()
    go = tmp_path / "go"
    separate = database_url.startswith("postgresql")
    workers = []
    for number in range(3):
        instance = tmp_path / f"host{number}" if separate else instance_dir
        instance.mkdir(exist_ok=True)
        workers.append(subprocess.Popen(
            [sys.executable, "-c", STARTER, database_url, str(instance), str(go), str(tmp_path / f"ready{number}"),
             directory],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path)))
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{number}").exists() for number in range(3)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # all at the gate: they look at the database at the same moment
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0 and out.strip() == "started", err
    assert revisions(database_url) == ({"9000_test"} if directory else {HEAD})
    if not directory:
        assert schema_differences(database_url) == []
