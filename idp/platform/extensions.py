"""Flask extensions, created unbound and hooked in by the app factory."""
import os

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Every constraint gets a predictable name, so a migration can drop or alter it later (SQLite batch mode
# recreates tables and needs the names; PostgreSQL would otherwise pick its own, e.g. `accounts_tenant_id_fkey`).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# The Alembic scripts live in the package, so they are installed with it (docs/database.md).
MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A database that went away (PostgreSQL restarted) must cost one quick 503, not a hang or a run of 500s:
# every pooled connection is pinged before use (a stale one is replaced, so requests recover by themselves
# once the server is back) and a PostgreSQL connection attempt gives up after CONNECT_TIMEOUT seconds
# (a black-holed host would otherwise hold a request for minutes). idp/web/errors.py answers the 503.
ENGINE_OPTIONS = {"pool_pre_ping": True}
CONNECT_TIMEOUT = 3  # seconds (libpq's connect_timeout)
db = SQLAlchemy(model_class=Base, engine_options=ENGINE_OPTIONS)
csrf = CSRFProtect()
babel = Babel()


@event.listens_for(Engine, "do_connect")
def _connect_timeout(dialect, _record, _cargs, cparams):
    if dialect.name == "postgresql":
        cparams.setdefault("connect_timeout", CONNECT_TIMEOUT)
