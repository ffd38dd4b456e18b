"""The database schema at start-up: create it, upgrade it, or refuse a database we cannot place.

`prepare()` looks at the database once, inside one transaction:

- no table of ours and no `alembic_version`: an empty database. `create_all()` and stamp the head
  revision (fast; what the tests and a first `make run` do).
- `alembic_version` present: run the migration scripts in idp/migrations up to the head (nothing
  to do when it is already there, the usual case).
- our tables but no `alembic_version`: a database made before migrations existed. Its schema is
  unknown, so we refuse with one message saying what to do (`LegacySchemaError`).

The caller serialises start-ups on one host (a file lock, see `idp._init_database`); on PostgreSQL
an advisory lock also serialises hosts. `idp db …` (Flask-Migrate) skips all this and works on the
database as it is. How to write a migration: docs/database.md.
"""
import fcntl
import functools
import logging
import os
import sys

import click
from flask import current_app
from sqlalchemy import event, inspect, text

from idp.platform.config import make_private, private_folder
from idp.platform.extensions import db

VERSION_TABLE = "alembic_version"
ADVISORY_LOCK_KEY = 0x6964_7073  # "idps": one key for every start-up on this database
log = logging.getLogger(__name__)


class SchemaError(click.ClickException):
    """The database cannot be brought to the schema this version expects; the message says what to do.

    A ClickException, so the `idp` CLI prints it as one `Error: …` line instead of a traceback.
    """


class LegacySchemaError(SchemaError):
    pass


def migration_command_running():
    """True inside `idp db …`: the operator is handling the schema, start-up leaves it alone. (Alembic and
    Flask-Migrate are imported where they are used: a worker of `idp serve` never loads them.)"""
    db_cli = getattr(sys.modules.get("flask_migrate.cli"), "db", None)  # not imported: no `idp db` command
    ctx = click.get_current_context(silent=True)
    while ctx is not None and db_cli is not None:
        if ctx.command is db_cli:
            return True
        ctx = ctx.parent
    return False


def prepare():
    """Bring the app's database to the head revision (see the module docstring). Needs an app context."""
    from alembic.runtime.migration import MigrationContext
    directory = current_app.extensions["migrate"].directory
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        tables = set(inspect(connection).get_table_names())
        if VERSION_TABLE in tables:
            _upgrade(connection, directory)
        elif tables & set(db.metadata.tables):
            raise LegacySchemaError(legacy_message(connection))
        else:
            db.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(script_directory(directory), "heads")
            log.info("database schema created at revision %s", ", ".join(head_revisions(directory)))
        connection.commit()


@functools.cache
def script_directory(directory):
    """The migration scripts, read once per process (they do not change while it runs)."""
    from alembic.script import ScriptDirectory
    return ScriptDirectory(directory)


def head_revisions(directory):
    return tuple(sorted(script_directory(directory).get_heads()))


def _upgrade(connection, directory):
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError
    current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    heads = head_revisions(directory)
    if current == heads:
        return
    scripts = script_directory(directory)
    for revision in current:
        try:
            scripts.get_revision(revision)
        except CommandError:
            raise SchemaError(
                f"the database is at schema revision {revision}, which this version of the identity provider "
                "does not know (was it upgraded by a newer version?). Run the newer version, or downgrade the "
                "database with it first (`idp db downgrade`, docs/database.md).") from None
    config = Config()
    config.set_main_option("script_location", directory)
    config.attributes["connection"] = connection  # idp/migrations/env.py runs on it, inside our lock
    log.warning("upgrading the database schema from %s to %s", ", ".join(current) or "(none)", ", ".join(heads))
    command.upgrade(config, "heads")


def legacy_message(connection):
    """What to do with a database that has our tables but no migration history."""
    url = connection.engine.url
    missing = _missing_parts(connection)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        state = f"It lacks what this version needs ({shown})."
        adopt = "Bring it to the current models by hand, then mark it with `idp db stamp head`"
    else:
        state = "Its tables and columns match the current models."
        adopt = "Check it, then mark it with `idp db stamp head`"
    fix = f"{adopt} (docs/database.md)."
    if url.get_backend_name() == "sqlite":
        fix = (f"For the local SQLite database of `make run` (demo data only), delete {url.database} "
               f"(or the whole instance folder) and start again. Otherwise: {fix[0].lower()}{fix[1:]}")
    return (f"the database {url.render_as_string(hide_password=True)} has the identity provider's tables but no "
            f"schema migration history ({VERSION_TABLE} table): it was created before schema migrations. "
            f"{state} {fix}")


def _missing_parts(connection):
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    missing = []
    for table in db.metadata.sorted_tables:
        if table.name not in existing:
            missing.append(f"table {table.name}")
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing.extend(f"column {table.name}.{column.name}" for column in table.columns if column.name not in columns)
    return missing


def init_app(app, prepare_schema=True):
    """Create or upgrade the schema at start-up (serialised across workers by a file lock).

    Under `idp db …` the operator handles the schema: start-up leaves the database as it is; so does a
    worker of `idp serve` (`prepare_schema` False), whose main process prepared it before starting the workers.
    The instance folder is made 0700 and a SQLite database 0600 first (`private_sqlite_files`).
    """
    with app.app_context():
        private_folder(app.instance_path)
        if db.engine.dialect.name == "sqlite":
            private_sqlite_files(db.engine.url.database)
            event.listen(db.engine, "connect", _sqlite_pragmas)
        if not prepare_schema or migration_command_running():
            return
        lock_path = os.path.join(app.instance_path, ".schema.lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                prepare()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def private_sqlite_files(path):
    """The SQLite file 0600 from the start (created empty so, which SQLite takes as a new database), and
    its -wal/-shm/-journal made private if an earlier run left them readable. SQLite creates those with
    the main file's permissions, so new ones are 0600 too. In-memory and `file:` URI databases: nothing.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        make_private(path + suffix)


def _sqlite_pragmas(dbapi_connection, _record):
    """WAL + busy timeout so the CLI works while the server runs on the same file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit; durable at checkpoints, never corrupt
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
