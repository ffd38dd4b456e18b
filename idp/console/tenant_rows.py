"""Look-ups of a tenant's rows by id for the admin services.

Every look-up is bounded by the tenant, so the id of another tenant's row is simply 'not there';
the callers turn that into their own NotFound or form error.
"""
from sqlalchemy import select

from idp.platform.extensions import db


def tenant_row(model, tenant, row_id):
    """The row of `model` with this id in `tenant`, or None."""
    return db.session.scalar(select(model).where(model.tenant_id == tenant.id, model.id == row_id))


def tenant_rows(model, tenant, ids, order_by=()):
    """The rows of `model` in `tenant` with these ids: [] for no ids, None when any id is not the tenant's."""
    wanted = {int(i) for i in ids}
    if not wanted:
        return []
    found = db.session.scalars(select(model).where(model.tenant_id == tenant.id, model.id.in_(wanted))
                               .order_by(*order_by)).all()
    return found if len(found) == len(wanted) else None
