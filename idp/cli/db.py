"""`idp db backup FILE [--json]`: a consistent copy of the SQLite database while the server runs.

Beside Flask-Migrate's `idp db upgrade|current|…` in the same `db` group. SQLite's online backup API
(`sqlite3.Connection.backup`) copies the pages of one snapshot, the committed contents of the WAL
included, while instances keep reading and writing; the copy is written next to FILE under a temporary
name, made self-contained (rollback journal instead of WAL, so it is one file), checked
(`PRAGMA quick_check`), made private (0600: it holds password hashes and encrypted keys) and only then
renamed to FILE. An existing FILE is never overwritten. On PostgreSQL the command refuses with one line:
`pg_dump` is the tool there (docs/deploy.md, Backups).
"""
import os
import sqlite3

import click
from flask_migrate.cli import db as db_cli
from sqlalchemy.engine import make_url

from idp.cli.output import emit, json_option
from idp.platform.extensions import db

PAGES_PER_STEP = 1024  # pages copied per step of the backup; writers get the lock between steps


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@json_option
def backup(file, as_json):
    """Copy the SQLite database to FILE (online; FILE must not exist). PostgreSQL: use pg_dump."""
    url = make_url(str(db.engine.url))
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(f"idp db backup copies SQLite databases only; this one is "
                                   f"{url.get_backend_name()}: back it up with pg_dump (docs/deploy.md, Backups)")
    source, target = url.database, os.path.abspath(file)
    if not source or source == ":memory:" or not os.path.exists(source):
        raise click.ClickException(f"no SQLite database file at {source or '(in memory)'}")
    if os.path.exists(target):
        raise click.ClickException(f"{target} already exists; choose a new file name")
    if not os.path.isdir(os.path.dirname(target)):
        raise click.ClickException(f"the folder of {target} does not exist")
    try:
        size = _copy(source, target)
    except (sqlite3.Error, OSError) as exc:
        raise click.ClickException(f"the backup failed, nothing was written: {exc}")
    emit(as_json, {"file": target, "bytes": size, "database": "sqlite"},
         f"Backed up the SQLite database to {target} ({size} bytes)")


def _copy(source, target):
    """Back `source` up into a temporary file beside `target`, check it, then rename it; -> its size."""
    partial = f"{target}.{os.getpid()}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    try:
        with _connect(source) as origin, _connect(partial) as copy:
            origin.execute("PRAGMA busy_timeout=10000")
            origin.backup(copy, pages=PAGES_PER_STEP)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"the copy does not pass quick_check: {verdict}")
        os.link(partial, target)  # fails if `target` appeared meanwhile: never overwrite
    finally:
        os.unlink(partial)
    return os.path.getsize(target)


class _connect:
    """sqlite3.connect as a context manager that closes (sqlite3's own only ends the transaction)."""

    def __init__(self, *args, **kwargs):
        self.connection = sqlite3.connect(*args, isolation_level=None, **kwargs)

    def __enter__(self):
        return self.connection

    def __exit__(self, *_):
        self.connection.close()
