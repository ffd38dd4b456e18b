"""Alembic environment of the idp schema: Flask-Migrate's, plus what start-up and SQLite need.

Run by `idp db …` (on its own connection, logging from alembic.ini) and by idp.platform.schema at start-up
(on the connection it hands in through `config.attributes`, inside its locks and transaction).
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
logger = logging.getLogger("alembic.env")
migrate_config = current_app.extensions["migrate"]
target_metadata = migrate_config.db.metadata


def skip_empty_revision(_context, _revision, directives):
    """`idp db migrate` with no model change writes no empty script."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def configure_args():
    args = dict(migrate_config.configure_args)
    args.setdefault("process_revision_directives", skip_empty_revision)
    return args


def run_migrations_offline():
    """`idp db upgrade --sql`: print the SQL for the app's database dialect."""
    context.configure(dialect_name=migrate_config.db.engine.dialect.name, target_metadata=target_metadata,
                      literal_binds=True, **configure_args())
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection):
    # SQLite batch mode copies a table, drops the old one and renames the copy. With foreign keys enforced,
    # dropping a parent table would cascade-delete its children, so enforcement is off meanwhile (the pragma is
    # ignored inside a transaction: this runs before any write) and the result is checked before turning it on.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args())
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows with dangling foreign keys: {broken[:5]}")
        connection.commit()  # when the connection was already in a transaction, Alembic left the commit to us
    except BaseException:
        connection.rollback()
        raise
    finally:
        if sqlite:  # outside any transaction now, so the pragma applies (the connection goes back to the pool)
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    if config.config_file_name:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    with migrate_config.db.engine.connect() as connection:
        run_on(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
