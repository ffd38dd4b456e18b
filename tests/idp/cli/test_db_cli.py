"""`idp db backup FILE [--json]`: a SQLite copy made while the app is open, which opens on its own with every
row; an existing file is never overwritten; on PostgreSQL one error line pointing to pg_dump.

The installed console script runs the command (as an operator's cron job would), on the test's database."""
import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from idp.platform.extensions import db

IDP_SCRIPT = os.path.join(os.path.dirname(sys.executable), "idp")


def run_idp(app, *args, database_url=None):
    env = {**os.environ, "IDP_INSTANCE_DIR": app.config["IDP_INSTANCE_DIR"], "IDP_SECRET_KEY": "test-secret-key",
           "IDP_DATABASE_URL": database_url or app.config["IDP_DATABASE_URL"]}
    return subprocess.run([IDP_SCRIPT, *args], env=env, capture_output=True, text=True, timeout=60)


def single_error_line(result):
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.mark.sqlite_only
def test_a_backup_of_the_open_database_holds_every_row_in_one_private_file(app, factory, tmp_path):
    factory.tenant("acme", company="ACME株式会社")
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))  # the app holds the database open (WAL) while the copy is made
        target = tmp_path / "backups" / "idp-2026-04-01.sqlite3"
        target.parent.mkdir()
        result = run_idp(app, "db", "backup", str(target), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == {"file": str(target), "bytes": target.stat().st_size, "database": "sqlite"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(target.parent)) == [target.name]  # one self-contained file, nothing left over
    copy = sqlite3.connect(str(target))
    try:
        assert copy.execute("SELECT company_name FROM tenants WHERE slug = 'acme'").fetchall() == [("ACME株式会社",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        copy.close()


@pytest.mark.sqlite_only
def test_an_existing_file_is_never_overwritten(app, factory, tmp_path):
    factory.tenant("acme")
    target = tmp_path / "idp.backup"
    target.write_text("yesterday's backup")
    result = run_idp(app, "db", "backup", str(target), "--json")
    assert single_error_line(result) == f"Error: {target} already exists; choose a new file name"
    assert target.read_text() == "yesterday's backup"
    assert sorted(os.listdir(tmp_path)) == sorted(["idp.backup", "instance"])  # no partial copy left


@pytest.mark.sqlite_only
def test_text_output_names_the_file(app, tmp_path):
    result = run_idp(app, "db", "backup", str(tmp_path / "copy.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Backed up the SQLite database to {tmp_path / 'copy.sqlite3'} (")


@pytest.mark.sqlite_only
def test_postgresql_is_refused_with_one_line_pointing_to_pg_dump(app, tmp_path):
    result = run_idp(app, "db", "backup", str(tmp_path / "copy"), "--json",
                     database_url="postgresql+psycopg2://idp:s3cret@127.0.0.1:1/idp")
    line = single_error_line(result)
    assert "pg_dump" in line and "SQLite databases only" in line and "s3cret" not in line
    assert not (tmp_path / "copy").exists()
