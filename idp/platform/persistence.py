"""Rows written with one Core statement on the hot paths (token, authorization and SAML SSO endpoints),
where the unit of work's flush bookkeeping costs more than the statements themselves."""
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

from idp.platform.extensions import db


def connection():
    """The session's connection for a Core statement, after writing what the unit of work holds (as an
    ORM statement's autoflush would), so rows it refers to exist; a no-op when nothing is pending."""
    db.session.flush()
    return db.session.connection()


def insert_now(obj):
    """INSERT a new instance's row with one Core statement (column defaults included) and set its id:
    the row the unit of work would write, without the flush bookkeeping that costs more than the
    statement on the token and authorization endpoints' paths. The instance is not (or no longer)
    in the session afterwards: callers only read it, and adding it again would insert a second row."""
    state = inspect(obj)
    if state.pending:
        db.session.expunge(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        if attr.key == "id":
            continue
        if attr.key not in obj.__dict__:
            default = attr.columns[0].default
            set_committed_value(obj, attr.key, default.arg if default is not None and default.is_scalar else None)
        values[attr.key] = obj.__dict__[attr.key]
    table = state.mapper.local_table
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = table.insert()  # built once per table (its cache key too)
    obj.id = connection().execute(statement, values).inserted_primary_key[0]
    return obj


_INSERTS = {}


def written(obj, **values):
    """Tell the session that `obj`'s row already holds `values` (a Core UPDATE wrote them): the instance
    shows them without marking them changed, so the commit does not write them again."""
    for key, value in values.items():
        set_committed_value(obj, key, value)
